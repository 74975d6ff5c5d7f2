import { In } from 'typeorm';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { Database } from '../../db/Database';
import { readRows } from '../../db/readRows';
import { Event } from '../../entities/Event';
import { Job } from '../../entities/Job';
import { Run } from '../../entities/Run';
import { ClusterTable } from '../../reco/clusterTable';
import { RunSummary, type Fe55Options } from '../../reco/dq';
import { RecoInputError, type ImageReconstruction, type RecoParameters } from '../../reco/image';
import { ImagePool, reconstructEvents } from '../../reco/parallel';
import { Topic, type PubSub } from '../../pubsub';
import {
  FileKind,
  FlagSource,
  JobKind,
  JobState,
  QualityStatus,
  RecoStatus,
} from '../../schema/enums';
import type { DqService } from '../../services/DqService';
import type { PedestalService } from '../../services/PedestalService';
import type { PreviewService } from '../../services/PreviewService';
import { executorOf, provenanceFile } from '../../provenance/record';
import { PreviewSampler } from './PreviewSampler';
import type { QualityService } from '../../services/QualityService';
import type { RunService } from '../../services/RunService';
import { derivedKey } from '../../services/derivedFiles';
import { clearResults, writeResults, type EventResult } from '../../services/recoResults';
import { storedEvents } from '../../services/runEvents';
import type { ObjectStore } from '../../storage/ObjectStore';
import { DeferJobError, PermanentJobError } from '../errors';
import type { JobContext, JobHandler, JobOutcome } from '../registry';
import {
  finishReconstruction,
  isSourceRun,
  jobRun,
  rawFilesToRead,
  withRecoStatus,
} from './recoRuns';

export interface ReconstructOptions {
  site: string;
  cameraBank: string;
  parameters: RecoParameters;
  threads: number;
  fe55: Fe55Options;
  /** How long a run waits before looking again for its pedestal map. */
  pedestalWaitMs: number;
  /** A preview for the console at most this often (the first image always gets one). */
  previewEveryMs: number;
  previewRebin: number;
}

/** Events whose results are written per database round trip. */
const WRITE_BATCH = 200;

/**
 * RECONSTRUCT: the camera images of a data run, streamed from the object store, reconstructed
 * on every core against the newest pedestal map before the run. Clusters and event summaries
 * are written in batches as the run goes (a new attempt first clears what an earlier one of
 * the same version wrote), `eventReconstructed` fires per event, and at the end the run gets
 * an Arrow file of its clusters, its DQ metrics, AUTO flags and an alarm per metric out of
 * band, all in the commit that ends the job.
 */
export class ReconstructJob implements JobHandler {
  readonly kind = JobKind.RECONSTRUCT;

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly pubsub: PubSub,
    private readonly runs: RunService,
    private readonly pedestals: PedestalService,
    private readonly quality: QualityService,
    private readonly dq: DqService,
    private readonly previews: PreviewService,
    private readonly options: ReconstructOptions,
  ) {}

  async run(context: JobContext): Promise<JobOutcome> {
    const run = await jobRun(this.db, context);
    return withRecoStatus(this.db, this.runs, run, context, () => this.reconstruct(run, context));
  }

  private async reconstruct(run: Run, context: JobContext): Promise<JobOutcome> {
    const startedAt = new Date();
    const version = context.job.version;
    const { map, pedestalRun, pedestalFile } = await this.pedestalFor(run);
    const files = await rawFilesToRead(this.db, run);
    const index = await this.eventIndex(run.id);
    await this.db.write((m) => clearResults(m, run.id, version));

    const summary = new RunSummary();
    const table = new ClusterTable();
    const badImages: string[] = [];
    let batch: EventResult[] = [];
    let done = 0;
    const flush = async () => {
      const results = batch;
      batch = [];
      await this.db.write((m) => writeResults(m, run.id, version, results));
    };

    const pool = new ImagePool(map, this.options.parameters, this.options.threads);
    const previews = new PreviewSampler<unknown>(map, this.options);
    try {
      const events = storedEvents(this.store, files, context.signal);
      for await (const { item, event, outcome } of reconstructEvents(
        events,
        pool,
        this.options.cameraBank,
        (item, image) => previews.offer(item, image),
      )) {
        context.progress(Math.min(0.97, ++done / Math.max(1, index.cameraEvents)));
        if (outcome instanceof RecoInputError) {
          previews.take(item);
          summary.addBadImage();
          badImages.push(outcome.message);
          continue;
        }
        const indexed = index.byOffset.get(`${item.file.id}:${event.offset}`);
        if (!indexed) {
          throw new PermanentJobError(
            `run ${run.runNumber}: event at offset ${event.offset} of ${item.file.name} is not in the event index; ingest the run again`,
          );
        }
        summary.add(outcome.summary, outcome.clusters, event.time);
        table.add({ run: run.runNumber, event: event.serial }, outcome.clusters);
        batch.push({ eventId: indexed.id, summary: outcome.summary, clusters: outcome.clusters });
        const preview = previews.take(item);
        if (preview) await this.previews.save(run, indexed.id, preview);
        this.publishLive(run, indexed, outcome, context.job.version);
        if (batch.length >= WRITE_BATCH) await flush();
      }
      await flush();
    } finally {
      await pool.close();
    }

    const arrow = table.toArrowFile();
    const key = derivedKey(this.options.site, 'reco', run.runNumber, `_v${version}_clusters.arrow`);
    await this.store.put(key, Readable.from([Buffer.from(arrow)]), arrow.length);
    const metrics = {
      ...summary.metrics({ source: isSourceRun(run), fe55: this.options.fe55 }),
      pedestalRun: pedestalRun.runNumber,
    };
    return finishReconstruction(
      { runs: this.runs, dq: this.dq },
      {
        run,
        version,
        output: {
          kind: FileKind.RECO,
          bucket: this.store.bucket,
          objectKey: key,
          sizeBytes: arrow.length,
          md5: createHash('md5').update(arrow).digest('hex'),
        },
        metrics,
        setBy: 'reconstruction',
        result: { clustersFile: key, ...metrics, badImages: badImages.slice(0, 5) },
        provenance: {
          kind: JobKind.RECONSTRUCT,
          version,
          parameters: { ...this.options.parameters, cameraBank: this.options.cameraBank },
          pedestal: { runNumber: pedestalRun.runNumber, md5: pedestalFile.md5 },
          inputs: files.map(provenanceFile),
          executor: executorOf(context.job, this.options.threads),
          startedAt,
        },
        also: async (manager) => {
          if (summary.imageCount === 0 && badImages.length === 0) {
            await this.quality.add(manager, {
              runId: run.id,
              subsystem: 'camera',
              status: QualityStatus.QUESTIONABLE,
              source: FlagSource.AUTO,
              comment: `no ${this.options.cameraBank} images in the run`,
              cause: 'no-images',
              setBy: 'reconstruction',
            });
          }
        },
      },
    );
  }

  /** The live event display: the event with its clusters, before they reach the database. */
  private publishLive(run: Run, event: Event, outcome: ImageReconstruction, version: number): void {
    this.pubsub.publish(Topic.EventReconstructed, {
      ...event,
      runNumber: run.runNumber,
      clusterCount: outcome.clusters.length,
      imageIntegral: outcome.summary.integral,
      imageMean: outcome.summary.mean,
      imageRms: outcome.summary.rms,
      spark: outcome.summary.spark,
      // Written in batches, so not in the database yet: provisional negative ids.
      liveClusters: outcome.clusters.map((c, k) => ({
        ...c,
        id: -(k + 1),
        eventId: event.id,
        runId: run.id,
        recoVersion: version,
      })),
    });
  }

  /**
   * The newest pedestal run before this one must have its map. While its PEDESTAL job is still
   * to run, this job waits (without using up attempts); with no pedestal run, it fails saying so.
   */
  private async pedestalFor(run: Run) {
    const pedestalRun = await this.pedestals.pedestalRunBefore(run.runNumber);
    if (!pedestalRun) {
      throw new PermanentJobError(
        `run ${run.runNumber}: no pedestal run before it; take one, then reconstructRun(runNumber: ${run.runNumber}, force: true)`,
        'NO_PEDESTAL',
      );
    }
    const file = await this.pedestals.mapFileOf(pedestalRun.id);
    if (file) return { map: await this.pedestals.load(file), pedestalRun, pedestalFile: file };
    const pending = await this.db.manager.findOne(Job, {
      where: {
        runId: pedestalRun.id,
        kind: JobKind.PEDESTAL,
        state: In([JobState.QUEUED, JobState.RUNNING]),
      },
    });
    if (pending || pedestalRun.recoStatus === RecoStatus.NONE) {
      throw new DeferJobError(
        `waiting for the pedestal map of run ${pedestalRun.runNumber}`,
        this.options.pedestalWaitMs,
      );
    }
    throw new PermanentJobError(
      `run ${run.runNumber}: pedestal run ${pedestalRun.runNumber} has no pedestal map (its reconstruction is ${pedestalRun.recoStatus}); fix it, then reconstructRun(runNumber: ${run.runNumber}, force: true)`,
      'NO_PEDESTAL_MAP',
    );
  }

  /** The run's indexed events, found by (file, offset) as the reader meets them. */
  private async eventIndex(runId: number) {
    const events = await readRows(
      this.db.manager.createQueryBuilder(Event, 'event').where('event.runId = :runId', { runId }),
    );
    const byOffset = new Map<string, Event>();
    let cameraEvents = 0;
    for (const event of events) {
      byOffset.set(`${event.fileId}:${event.fileOffset}`, event);
      if (event.bankNames.includes(this.options.cameraBank)) cameraEvents++;
    }
    return { byOffset, cameraEvents };
  }
}
