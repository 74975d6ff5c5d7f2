import { In } from 'typeorm';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { Database } from '../../db/Database';
import { readRows } from '../../db/readRows';
import { DataFile } from '../../entities/DataFile';
import { Event } from '../../entities/Event';
import { Job } from '../../entities/Job';
import { Run } from '../../entities/Run';
import type { Fe55Options } from '../../reco/dq';
import { RecoInputError, type ImageReconstruction, type RecoParameters } from '../../reco/image';
import { ImagePool, reconstructEvents } from '../../reco/parallel';
import { checkReducible, reconstructReduced } from '../../reco/reduction/fromReduced';
import type { ReductionParameters } from '../../reco/reduction/parameters';
import { readReducedRun, ReducedRunWriter, type ReducedRun } from '../../reco/reduction/reducedRun';
import { binGridOf } from '../../reco/reduction/binGrid';
import { Topic, type PubSub } from '../../pubsub';
import {
  FileKind,
  FlagSource,
  JobKind,
  JobState,
  QualityStatus,
  RecoSource,
  RecoStatus,
  ReplicaState,
} from '../../schema/enums';
import type { DqService } from '../../services/DqService';
import type { PedestalService } from '../../services/PedestalService';
import type { PreviewService } from '../../services/PreviewService';
import { executorOf, provenanceFile } from '../../provenance/record';
import { PreviewSampler } from './PreviewSampler';
import { RecoSink } from './recoSink';
import type { QualityService } from '../../services/QualityService';
import type { RunService } from '../../services/RunService';
import { derivedKey, type DerivedFile } from '../../services/derivedFiles';
import { clearResults } from '../../services/recoResults';
import { storedEvents } from '../../services/runEvents';
import { clearLiveResults, liveResultsOf } from '../../live/liveResults';
import { reconstructedEvent } from './reconstructedEvent';
import type { MidasEvent } from '../../reco/midas';
import type { ObjectStore } from '../../storage/ObjectStore';
import { readObject } from '../../storage/readObject';
import { DeferJobError, PermanentJobError } from '../errors';
import type { JobContext, JobHandler, JobOutcome } from '../registry';
import {
  finishReconstruction,
  isCurrentVersion,
  isSourceRun,
  jobParameters,
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
  /** Region-of-interest files made from raw reconstructions; null: none. */
  reduction: ReductionParameters | null;
  /** A preview for the console at most this often (the first image always gets one). */
  previewEveryMs: number;
  previewRebin: number;
}

interface EventIndex {
  byOffset: Map<string, Event>;
  cameraEvents: number;
}

/** What one source of images was: the pedestal used, the files read, the reduced file made. */
interface SourceRead {
  source: RecoSource;
  pedestalRun: Run;
  pedestalFile: DataFile;
  inputs: DataFile[];
  reduced?: Omit<DerivedFile, 'runId' | 'name'>;
  /** Images whose live reconstruction was taken instead of being made again. */
  liveReused?: number;
}

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
    const current = isCurrentVersion(run, context.job);
    return withRecoStatus(
      this.db,
      this.runs,
      run,
      context,
      () => this.reconstruct(run, context, current),
      current,
    );
  }

  private async reconstruct(run: Run, context: JobContext, current: boolean): Promise<JobOutcome> {
    const startedAt = new Date();
    const version = context.job.version;
    const parameters = jobParameters(context.job, this.options.parameters);
    const index = await this.eventIndex(run.id);
    // A campaign's version is not shown live: the live display is the current reconstruction.
    const announce = current
      ? (event: Event, outcome: ImageReconstruction) =>
          this.publishLive(run, event, outcome, version)
      : () => undefined;
    const sink = new RecoSink(this.db, run, version, announce, current);
    const read =
      context.job.payload?.source === RecoSource.REDUCED
        ? await this.fromReduced(run, context, index, sink, parameters)
        : await this.fromRaw(run, context, index, sink, parameters, current);
    await sink.flush();

    const arrow = sink.table.toArrowFile();
    const key = derivedKey(this.options.site, 'reco', run.runNumber, `_v${version}_clusters.arrow`);
    await this.store.put(key, Readable.from([Buffer.from(arrow)]), arrow.length);
    const metrics = {
      ...sink.summary.metrics({ source: isSourceRun(run), fe55: this.options.fe55 }),
      pedestalRun: read.pedestalRun.runNumber,
    };
    return finishReconstruction(
      { runs: this.runs, dq: this.dq },
      {
        run,
        version,
        current,
        output: {
          kind: FileKind.RECO,
          bucket: this.store.bucket,
          objectKey: key,
          sizeBytes: arrow.length,
          md5: createHash('md5').update(arrow).digest('hex'),
        },
        extraOutputs: read.reduced ? [read.reduced] : [],
        metrics,
        setBy: 'reconstruction',
        result: {
          clustersFile: key,
          ...(read.reduced ? { reducedFile: read.reduced.objectKey } : {}),
          source: read.source,
          ...(read.liveReused !== undefined ? { liveReused: read.liveReused } : {}),
          ...metrics,
          badImages: sink.badImages.slice(0, 5),
        },
        provenance: {
          kind: JobKind.RECONSTRUCT,
          version,
          parameters: { ...parameters, cameraBank: this.options.cameraBank },
          pedestal: { runNumber: read.pedestalRun.runNumber, md5: read.pedestalFile.md5 },
          inputs: read.inputs.map(provenanceFile),
          executor: executorOf(context.job, this.options.threads),
          startedAt,
        },
        also: async (manager) => {
          await clearLiveResults(manager, run.id, version);
          if (sink.summary.imageCount === 0 && sink.badImages.length === 0) {
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

  /**
   * The camera images of the raw files, streamed from the object store and reconstructed on
   * every core; with REDUCTION on, each image's region of interest goes into the run's reduced
   * file, uploaded once the run is done.
   */
  private async fromRaw(
    run: Run,
    context: JobContext,
    index: EventIndex,
    sink: RecoSink,
    parameters: RecoParameters,
    current: boolean,
  ): Promise<SourceRead> {
    const { map, pedestalRun, pedestalFile } = await this.pedestalFor(run);
    const files = await rawFilesToRead(this.db, run);
    await this.clear(run, context);
    const reduction = this.options.reduction;
    const reduced = reduction ? new ReducedRunWriter() : undefined;
    const pool = new ImagePool(map, parameters, this.options.threads, reduction ?? undefined);
    const previews = new PreviewSampler<unknown>(map, {
      ...this.options,
      // A campaign's version makes no previews: the console shows the current reconstruction.
      previewEveryMs: current ? this.options.previewEveryMs : Infinity,
    });
    // What the live reconstruction made while the run was open, with these parameters and this
    // pedestal map, is taken for the events whose bytes it belongs to (file, offset, size and
    // serial as the index has them), not made again.
    const live = pedestalFile.md5
      ? await liveResultsOf(this.db, run.id, context.job.version, pedestalFile.md5)
      : new Map();
    let liveReused = 0;
    const liveOf = (file: Pick<DataFile, 'id' | 'name'>, offset: number, dataSize: number) => {
      const result = live.get(`${file.name}:${offset}`);
      const indexed = result && index.byOffset.get(`${file.id}:${offset}`);
      const same =
        result &&
        indexed &&
        indexed.sizeBytes === result.sizeBytes &&
        indexed.serial === result.serial &&
        16 + dataSize === result.sizeBytes &&
        (!reduction || result.outcome.roi);
      return same ? result.outcome : undefined;
    };
    const known = ({
      file,
      event,
    }: {
      file: DataFile;
      event: { offset: number; dataSize: number };
    }) => {
      const outcome = liveOf(file, event.offset, event.dataSize);
      if (outcome) liveReused++;
      return outcome;
    };
    // With every camera image made live, the files need not be read at all: the index says
    // where each event lies, and that is all the results are checked against.
    const cameraEvents = indexedCameraEvents(index, files, this.options.cameraBank);
    const allLive =
      cameraEvents.length > 0 &&
      cameraEvents.every(({ file, event }) => liveOf(file, event.offset, event.dataSize));
    let done = 0;
    try {
      const events = allLive
        ? fromIndex(cameraEvents)
        : storedEvents(this.store, files, context.signal);
      for await (const { item, event, outcome } of reconstructEvents(
        events,
        pool,
        this.options.cameraBank,
        (item, image) => previews.offer(item, image),
        known,
      )) {
        context.progress(Math.min(0.97, ++done / Math.max(1, index.cameraEvents)));
        if (outcome instanceof RecoInputError) {
          previews.take(item);
          sink.bad(outcome.message);
          continue;
        }
        const indexed = index.byOffset.get(`${item.file.id}:${event.offset}`);
        if (!indexed) {
          throw new PermanentJobError(
            `run ${run.runNumber}: event at offset ${event.offset} of ${item.file.name} is not in the event index; ingest the run again`,
          );
        }
        if (reduced && outcome.roi) {
          const { serial, sizeBytes: size } = indexed;
          const at = { serial, file: item.file.name, offset: event.offset, size };
          reduced.add({ ...at, summary: outcome.summary }, outcome.roi);
        }
        await sink.add(indexed, outcome, event.time);
        const preview = previews.take(item);
        if (preview) await this.previews.save(run, indexed.id, preview);
      }
    } finally {
      await pool.close();
    }
    const read: SourceRead = {
      source: RecoSource.RAW,
      pedestalRun,
      pedestalFile,
      inputs: files,
      liveReused,
    };
    if (reduced && reduction && reduced.events > 0) {
      const bytes = reduced.finish({
        runNumber: run.runNumber,
        recoVersion: context.job.version,
        recoParameters: parameters,
        reduction,
        pedestal: { runNumber: pedestalRun.runNumber, md5: pedestalFile.md5 },
        image: { width: map.width, height: map.height },
        grid: binGridOf(map, parameters),
        reference: { nsigma: parameters.nsigma },
      });
      read.reduced = await this.upload(run, context.job.version, bytes);
    }
    return read;
  }

  /**
   * The run's reduced file instead of its raw ones (raw files may be on tape only): each event
   * must be the one the index holds (file, offset and size), the pedestal map the one the file
   * was cut against (md5), and the parameters within what the reduction kept.
   */
  private async fromReduced(
    run: Run,
    context: JobContext,
    index: EventIndex,
    sink: RecoSink,
    parameters: RecoParameters,
  ): Promise<SourceRead> {
    const file = await this.db.manager.findOne(DataFile, {
      where: { runId: run.id, kind: FileKind.REDUCED, cloudState: ReplicaState.AVAILABLE },
      order: { id: 'DESC' },
    });
    if (!file?.objectKey)
      throw new PermanentJobError(`run ${run.runNumber}: no reduced file in the object store`);
    const bytes = await readObject(this.store, file.objectKey);
    let reducedRun: ReducedRun;
    try {
      reducedRun = readReducedRun(bytes);
    } catch (error) {
      throw new PermanentJobError(
        `run ${run.runNumber}: ${file.name}: ${(error as Error).message}`,
      );
    }
    const { metadata } = reducedRun;
    const pedestalRun =
      metadata.pedestal.runNumber === null
        ? null
        : await this.db.manager.findOneBy(Run, { runNumber: metadata.pedestal.runNumber });
    const pedestalFile = pedestalRun && (await this.pedestals.mapFileOf(pedestalRun.id));
    if (!pedestalRun || !pedestalFile || pedestalFile.md5 !== metadata.pedestal.md5)
      throw new PermanentJobError(
        `run ${run.runNumber}: the pedestal map ${file.name} was cut against (run ${metadata.pedestal.runNumber}, md5 ${metadata.pedestal.md5}) is not in the object store any more; reconstruct from the raw files`,
      );
    const map = await this.pedestals.load(pedestalFile);
    try {
      checkReducible(metadata, parameters, map);
    } catch (error) {
      throw new PermanentJobError((error as Error).message);
    }
    // Only now, with everything checked: a refused reduced file overwrites nothing.
    await this.clear(run, context);
    const rawIds = new Map(
      (await this.db.manager.find(DataFile, { where: { runId: run.id, kind: FileKind.RAW } })).map(
        (raw) => [raw.name, raw.id],
      ),
    );
    const pool = new ImagePool(map, parameters, this.options.threads);
    let done = 0;
    try {
      for await (const { event, outcome } of reconstructReduced(
        reducedRun,
        map,
        parameters,
        pool,
      )) {
        context.signal?.throwIfAborted();
        context.progress(Math.min(0.97, ++done / Math.max(1, metadata.events)));
        const indexed = index.byOffset.get(`${rawIds.get(event.file)}:${event.offset}`);
        if (!indexed || indexed.sizeBytes !== event.size || indexed.serial !== event.serial)
          throw new PermanentJobError(
            `run ${run.runNumber}: event ${event.serial} of ${file.name} (${event.file} at ${event.offset}) is not the indexed event there; reconstruct from the raw files`,
          );
        await sink.add(indexed, outcome, new Date(indexed.timestamp).getTime() / 1000);
      }
    } catch (error) {
      if (error instanceof RecoInputError) throw new PermanentJobError(error.message);
      throw error;
    } finally {
      await pool.close();
    }
    return { source: RecoSource.REDUCED, pedestalRun, pedestalFile, inputs: [file] };
  }

  /** A new attempt first clears what an earlier one of the same version wrote. */
  private async clear(run: Run, context: JobContext): Promise<void> {
    await this.db.write((m) => clearResults(m, run.id, context.job.version));
  }

  private async upload(run: Run, version: number, bytes: Buffer[]) {
    const key = derivedKey(this.options.site, 'reco', run.runNumber, `_v${version}_roi.npz`);
    const sizeBytes = bytes.reduce((sum, b) => sum + b.length, 0);
    const md5 = createHash('md5');
    for (const b of bytes) md5.update(b);
    await this.store.put(key, Readable.from(bytes), sizeBytes);
    return {
      kind: FileKind.REDUCED,
      bucket: this.store.bucket,
      objectKey: key,
      sizeBytes,
      md5: md5.digest('hex'),
    };
  }

  /** The live event display: the event with its clusters, before they reach the database. */
  private publishLive(run: Run, event: Event, outcome: ImageReconstruction, version: number): void {
    this.pubsub.publish(Topic.EventReconstructed, reconstructedEvent(run, event, outcome, version));
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
  private async eventIndex(runId: number): Promise<EventIndex> {
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

/** The run's camera events as the index has them, in file order, shaped as the reader's. */
function indexedCameraEvents(index: EventIndex, files: readonly DataFile[], cameraBank: string) {
  const order = new Map(files.map((file, k) => [file.id, k]));
  return [...index.byOffset.values()]
    .filter((event) => order.has(event.fileId) && event.bankNames.includes(cameraBank))
    .sort((a, b) => order.get(a.fileId)! - order.get(b.fileId)! || a.fileOffset - b.fileOffset)
    .map((event, k) => ({
      file: files[order.get(event.fileId)!],
      event: {
        index: k,
        offset: event.fileOffset,
        kind: 'DATA' as const,
        eventId: event.eventId,
        triggerMask: event.triggerMask,
        serial: event.serial,
        time: Math.floor(new Date(event.timestamp).getTime() / 1000),
        dataSize: event.sizeBytes - 16,
        // Never read: every one of these events has its live result (see `known`).
        data: new Uint8Array(0),
        banks: [],
      } satisfies MidasEvent,
    }));
}

async function* fromIndex<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
