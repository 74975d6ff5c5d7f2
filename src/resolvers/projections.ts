import { Cluster } from '../entities/Cluster';
import { DataFile } from '../entities/DataFile';
import { Event } from '../entities/Event';
import { Job } from '../entities/Job';
import { QualityFlag } from '../entities/QualityFlag';
import { Run } from '../entities/Run';
import { TapeCopy } from '../entities/TapeCopy';
import { Projection } from '../db/projection';

// The columns each GraphQL type needs beyond the selected ones: ids and grouping keys, and what
// field resolvers read. (Sort keys for cursors are added by paginate.)

export const RUN_COLUMNS = new Projection(Run, ['id'], {
  pedestalRun: ['runNumber', 'pedestal'],
});
export const FILE_COLUMNS = new Projection(DataFile, ['id', 'runId'], {
  downloadUrl: ['cloudState', 'objectKey'],
  producedBy: ['md5'],
});
export const TAPE_COPY_COLUMNS = new Projection(TapeCopy, ['id', 'fileId']);
export const QUALITY_FLAG_COLUMNS = new Projection(QualityFlag, [
  'id',
  'runId',
  'subsystem',
  'setAt',
]);
export const JOB_COLUMNS = new Projection(Job, ['id', 'runId']);
export const EVENT_COLUMNS = new Projection(Event, ['id', 'runId']);
export const CLUSTER_COLUMNS = new Projection(Cluster, ['id', 'eventId'], {
  runNumber: ['runId'],
  reconstruction: ['runId', 'recoVersion'],
});
