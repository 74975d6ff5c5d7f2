import type { Database } from '../db/Database';
import type { JobQueue } from '../jobs/JobQueue';
import type { PubSub } from '../pubsub';
import type { ObjectStore } from '../storage/ObjectStore';
import { AlarmService } from './AlarmService';
import { EventService } from './EventService';
import { FileService } from './FileService';
import { IngestService } from './IngestService';
import { JobService } from './JobService';
import { QualityService } from './QualityService';
import { RunService } from './RunService';

export interface Services {
  runs: RunService;
  files: FileService;
  jobs: JobService;
  quality: QualityService;
  alarms: AlarmService;
  ingest: IngestService;
  events: EventService;
}

export function createServices(deps: {
  db: Database;
  queue: JobQueue;
  pubsub: PubSub;
  store: ObjectStore;
  daqBufferDir: string;
  maxPageSize: number;
}): Services {
  const { db, queue, pubsub, store, daqBufferDir, maxPageSize } = deps;
  return {
    runs: new RunService(db, queue, pubsub, { daqBufferDir, maxPageSize }),
    files: new FileService(db, store, maxPageSize),
    jobs: new JobService(db, queue, maxPageSize),
    quality: new QualityService(db),
    alarms: new AlarmService(db),
    ingest: new IngestService(store),
    events: new EventService(db, maxPageSize),
  };
}
