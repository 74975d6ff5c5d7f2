import type { Config } from '../../config';
import type { Database } from '../../db/Database';
import type { PubSub } from '../../pubsub';
import type { Services } from '../../services';
import type { ObjectStore } from '../../storage/ObjectStore';
import { HandlerRegistry } from '../registry';
import { IngestJob } from './IngestJob';
import { PedestalJob } from './PedestalJob';
import { ReconstructJob } from './ReconstructJob';
import { TapeCopyJob } from './TapeCopyJob';
import { TapeRecallJob } from './TapeRecallJob';

/** Every job handler, registered centrally; fails when a job kind has none. */
export function createHandlerRegistry(deps: {
  db: Database;
  services: Services;
  config: Config;
  store: ObjectStore;
  pubsub: PubSub;
}): HandlerRegistry {
  const { db, services, config, store, pubsub } = deps;
  return new HandlerRegistry([
    new TapeCopyJob(
      db,
      store,
      services.tape.tape,
      services.runs,
      services.alarms,
      config.daqBufferDir,
      {
        tokenRetryMs: config.tapeTokenRetryMs,
      },
    ),
    new TapeRecallJob(db, store, services.tape.tape, services.runs, services.tape, services.alarms),
    new IngestJob(
      db,
      services.runs,
      services.ingest,
      services.alarms,
      services.reco,
      services.tape,
      {
        site: config.site,
        objectKeyTemplate: config.objectKeyTemplate,
      },
    ),
    new PedestalJob(db, store, services.runs, services.pedestals, services.dq, {
      site: config.site,
      cameraBank: config.cameraBank,
      cimax: config.recoParameters.cimax,
    }),
    new ReconstructJob(
      db,
      store,
      pubsub,
      services.runs,
      services.pedestals,
      services.quality,
      services.dq,
      services.previews,
      {
        site: config.site,
        cameraBank: config.cameraBank,
        previewEveryMs: config.previewEveryMs,
        previewRebin: config.previewRebin,
        parameters: config.recoParameters,
        reduction: config.reduction,
        threads: config.recoThreads,
        fe55: config.fe55,
        pedestalWaitMs: Math.max(1000, config.jobPollMs * 2),
      },
    ),
  ]);
}
