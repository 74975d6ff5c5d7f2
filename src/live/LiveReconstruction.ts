import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/Database';
import type { JsonObject } from '../entities/columns';
import { DataFile } from '../entities/DataFile';
import type { Event } from '../entities/Event';
import { Run } from '../entities/Run';
import { isSourceRun } from '../jobs/handlers/recoRuns';
import { logger } from '../logger';
import { Topic, type PubSub } from '../pubsub';
import { cameraImageOf } from '../reco/cameraBank';
import { RunSummary, type Fe55Options } from '../reco/dq';
import { RecoInputError, type ImageReconstruction, type RecoParameters } from '../reco/image';
import type { MidasEvent } from '../reco/midas';
import { ImagePool } from '../reco/parallel';
import type { PedestalMap } from '../reco/image';
import type { ImagePreview } from '../reco/image/preview';
import { encodeGreyPng } from '../reco/png';
import { PreviewSampler } from '../jobs/handlers/PreviewSampler';
import type { LivePreview } from '../resolvers/EventResolver';
import { FileKind, RunState, Severity } from '../schema/enums';
import type { AlarmService } from '../services/AlarmService';
import type { DqService } from '../services/DqService';
import type { PedestalService } from '../services/PedestalService';
import type { RunService } from '../services/RunService';
import { LiveLease } from './LiveLease';
import { storeLiveResults, type LiveResult } from './liveResults';
import type { RunFile } from './runFiles';
import type { ReductionParameters } from '../reco/reduction/parameters';
import { liveRunEvents } from './runEvents';

export interface LiveOptions {
  bufferDir: string;
  cameraBank: string;
  parameters: RecoParameters;
  fe55: Fe55Options;
  threads: number;
  pollMs: number;
  leaseMs: number;
  /** Counters, metrics and position written (and runUpdated published) at most this often. */
  updateMs: number;
  /** Console previews: the first image, then one per interval (as RECONSTRUCT's). */
  previewEveryMs: number;
  previewRebin: number;
  /** As RECONSTRUCT's (REDUCTION): each live result carries its region of interest too. */
  reduction: ReductionParameters | null;
}

/** How often a follower without a pedestal map looks for one again. */
const PEDESTAL_RETRY_MS = 5_000;

/**
 * The live reconstruction (issue 19): from startRun to closeRun, one gateway (the holder of
 * the run's lease) follows the run's files in the DAQ buffer as the logger writes them and
 * reconstructs each camera image with the RECONSTRUCT job's code and parameters, against the
 * newest pedestal map. Each result goes to `eventReconstructed` subscribers at once; the run's
 * live counters and DQ metrics are updated (`runUpdated`) and out-of-band metrics raise their
 * alarms mid-run. Images that come faster than its threads are skipped and counted, never
 * queued: the live path cannot fall behind, and RECONSTRUCT at closeRun still reconstructs
 * every image. A restarted or replacing gateway goes on from the recorded position.
 */
export class LiveReconstruction {
  private readonly log = logger('live');
  private readonly lease: LiveLease;
  private readonly following = new Map<number, Following>();
  private readonly closedRuns = new Set<number>();
  private readonly notOursUntil = new Map<number, number>();
  private subscription?: AsyncIterableIterator<unknown>;
  private scanTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly pubsub: PubSub,
    private readonly runs: RunService,
    private readonly pedestals: PedestalService,
    private readonly dq: DqService,
    private readonly alarms: AlarmService,
    private readonly options: LiveOptions,
    owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
  ) {
    this.lease = new LiveLease(db, owner, options.leaseMs);
  }

  /** Follows the runs that are running now, and each run that starts from here on. */
  async start(): Promise<void> {
    this.subscription = this.pubsub.subscribe(Topic.RunUpdated);
    void this.listen(this.subscription);
    await this.scan();
    // Also a takeover: a run whose follower (another gateway) stopped renewing its lease.
    this.scanTimer = setInterval(() => void this.scan(), Math.max(100, this.options.leaseMs / 3));
  }

  /** Stops every follower and lets go of its run, so that another gateway may go on with it. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.scanTimer);
    await this.subscription?.return?.();
    const all = [...this.following.values()];
    for (const following of all) following.controller.abort();
    await Promise.allSettled(all.map((following) => following.done));
  }

  /** Runs being followed by this gateway (for tests and the log). */
  get followedRuns(): number[] {
    return [...this.following.keys()];
  }

  private async listen(subscription: AsyncIterableIterator<unknown>): Promise<void> {
    for await (const payload of subscription) {
      const run = payload as Run;
      if (run.state === RunState.CLOSED) this.closedRuns.add(run.id);
      else if (run.state === RunState.RUNNING) this.follow(run);
    }
  }

  private async scan(): Promise<void> {
    if (this.stopped) return;
    try {
      const running = await this.db.manager.find(Run, { where: { state: RunState.RUNNING } });
      for (const run of running) this.follow(run);
    } catch (error) {
      this.log.warn({ err: error }, 'looking for running runs failed; trying again');
    }
  }

  private follow(run: Run): void {
    if (this.stopped || run.pedestal || this.following.has(run.id)) return;
    // Followed elsewhere: its runUpdated comes every LIVE_UPDATE_MS; the scan looks again.
    if ((this.notOursUntil.get(run.id) ?? 0) > Date.now()) return;
    const controller = new AbortController();
    const following: Following = { controller, done: Promise.resolve() };
    this.following.set(run.id, following);
    following.done = this.followRun(run, controller.signal)
      .catch((error: Error) =>
        this.log.error({ err: error, runNumber: run.runNumber }, 'live reconstruction failed'),
      )
      .finally(() => this.following.delete(run.id));
  }

  private async followRun(run: Run, signal: AbortSignal): Promise<void> {
    const state = await this.lease.claim(run.id);
    if (!state) {
      // Another gateway follows it, or it is done: asked again by the scan.
      this.notOursUntil.set(run.id, Date.now() + this.options.leaseMs / 3 - 50);
      return;
    }
    this.notOursUntil.delete(run.id);
    this.log.info({ runNumber: run.runNumber, resume: state.fileName }, 'following the open run');
    const live = new LiveRun(this, run, signal);
    live.images = run.liveImages;
    live.skipped = run.liveSkipped;
    try {
      await live.follow(
        state.fileName ? { fileName: state.fileName, offset: state.fileOffset } : undefined,
      );
    } finally {
      await live.close();
      if (!live.done) await this.lease.release(run.id).catch(() => undefined);
    }
  }

  // What LiveRun uses of the service (kept here: one place holds the collaborators).

  /** Whether the run was closed: told by runUpdated, or read (at most every pollMs). */
  closedCheck(runId: number): () => Promise<boolean> {
    let readAt = 0;
    let closed = false;
    return async () => {
      if (closed || this.closedRuns.has(runId)) return true;
      if (Date.now() - readAt < this.options.pollMs) return false;
      readAt = Date.now();
      const run = await this.db.manager.findOne(Run, {
        where: { id: runId },
        select: { id: true, state: true },
      });
      closed = !run || run.state === RunState.CLOSED;
      return closed;
    };
  }

  async poolFor(
    run: Run,
  ): Promise<{ pool: ImagePool; map: PedestalMap; pedestalMd5: string } | undefined> {
    const pedestalRun = await this.pedestals.pedestalRunBefore(run.runNumber);
    const file = pedestalRun ? await this.pedestals.mapFileOf(pedestalRun.id) : null;
    if (!pedestalRun || !file) return undefined;
    const map = await this.pedestals.load(file);
    this.log.info(
      { runNumber: run.runNumber, pedestalRun: pedestalRun.runNumber },
      'live reconstruction against the pedestal map',
    );
    const { parameters, threads, reduction } = this.options;
    const pool = new ImagePool(map, parameters, threads, reduction ?? undefined);
    return { pool, map, pedestalMd5: file.md5! };
  }

  publishEvent(
    run: Run,
    event: Event,
    outcome: ImageReconstruction,
    preview: ImagePreview | undefined,
  ): void {
    this.pubsub.publish(Topic.EventReconstructed, {
      ...event,
      ...(preview ? { livePreview: livePreview(run, event, preview) } : {}),
      runNumber: run.runNumber,
      clusterCount: outcome.clusters.length,
      imageIntegral: outcome.summary.integral,
      imageMean: outcome.summary.mean,
      imageRms: outcome.summary.rms,
      spark: outcome.summary.spark,
      liveClusters: outcome.clusters.map((cluster, k) => ({
        ...cluster,
        id: -(k + 1),
        eventId: event.id,
        runId: run.id,
        recoVersion: this.options.parameters.version,
      })),
    });
  }

  /** Writes the counters and metrics, renews the lease with the position; false: lease lost. */
  async record(live: LiveRun, done = false): Promise<boolean> {
    // The results first: a position recorded is never ahead of what was kept.
    await storeLiveResults(this.db, live.takeResults());
    const metrics = live.summary.imageCount > 0 ? live.metrics() : null;
    await this.db.write((manager) =>
      manager.update(Run, live.run.id, {
        liveImages: live.images,
        liveSkipped: live.skipped,
        ...(metrics ? { liveMetrics: metrics as JsonObject } : {}),
      }),
    );
    const kept = await this.lease.renew(live.run.id, { ...live.position, done });
    await this.runs.publish(live.run.id);
    if (metrics) await this.dq.raiseLive(live.run, metrics, live.raisedBands);
    return kept;
  }

  pedestalFailed(live: LiveRun, error: Error): void {
    this.log.warn(
      { err: error, runNumber: live.run.runNumber },
      `reading the pedestal map failed; its images are skipped until it is read (tried again in ${PEDESTAL_RETRY_MS / 1000} s)`,
    );
  }

  recordFailed(live: LiveRun, error: Error): void {
    this.log.warn(
      { err: error, runNumber: live.run.runNumber },
      'recording the live reconstruction failed; trying again',
    );
  }

  /** Following stopped on bad input: said on the run, and an alarm for the shift. */
  async failed(live: LiveRun, message: string): Promise<void> {
    this.log.warn(
      { runNumber: live.run.runNumber, reason: message },
      'live reconstruction stopped',
    );
    await this.db.write((manager) =>
      manager.update(Run, live.run.id, { liveError: message.slice(0, 500) }),
    );
    await this.alarms.raise({
      fingerprint: `live:${live.run.runNumber}`,
      name: 'Live reconstruction stopped',
      severity: Severity.WARNING,
      source: 'live',
      message: `run ${live.run.runNumber}: ${message}. The run's files will be reconstructed in full after closeRun; check the DAQ's file.`,
      labels: { run: String(live.run.runNumber) },
    });
  }

  /** Raw files closeRun declared that the follower never saw: said on the run. */
  async declaredButUnseen(run: Run, seen: ReadonlySet<string>): Promise<string[]> {
    const declared = await this.db.manager.find(DataFile, {
      where: { runId: run.id, kind: FileKind.RAW },
      select: { id: true, name: true },
    });
    return declared.map((file) => file.name).filter((name) => !seen.has(name));
  }

  get settings(): LiveOptions {
    return this.options;
  }
}

/** A preview that travels with its live event: nothing is stored for a run still open. */
function livePreview(run: Run, event: Event, preview: ImagePreview): LivePreview {
  const png = encodeGreyPng(preview.width, preview.height, preview.pixels);
  return {
    id: event.id,
    runId: run.id,
    eventId: event.id,
    width: preview.width,
    height: preview.height,
    rebin: preview.rebin,
    objectKey: '',
    createdAt: new Date(),
    dataUrl: `data:image/png;base64,${png.toString('base64')}`,
  };
}

interface Following {
  controller: AbortController;
  done: Promise<void>;
}

/** One run being followed: its pool, counters, summary and position. */
class LiveRun {
  images = 0;
  skipped = 0;
  done = false;
  readonly summary = new RunSummary();
  readonly raisedBands = new Set<string>();
  position: { fileName: string | null; fileOffset: number } = { fileName: null, fileOffset: 0 };
  private pool: ImagePool | undefined;
  private pedestalMd5 = '';
  private previews: PreviewSampler<Event> | undefined;
  /** Results not yet stored (with the next record). */
  private results: LiveResult[] = [];
  private poolTriedAt = -Infinity;
  private readonly inFlight = new Set<Promise<void>>();
  private liveIds = 0;
  private recorder?: NodeJS.Timeout;
  private recording?: Promise<void>;
  private leaseLost = false;
  private readonly seen = new Set<string>();

  /** Stopped from outside (shutdown), or on a lost lease. */
  private readonly signal: AbortSignal;
  private readonly leaseGone = new AbortController();

  constructor(
    private readonly service: LiveReconstruction,
    readonly run: Run,
    stopped: AbortSignal,
  ) {
    this.signal = AbortSignal.any([stopped, this.leaseGone.signal]);
  }

  metrics(): Record<string, number | null> {
    return this.summary.metrics({
      source: isSourceRun(this.run),
      fe55: this.service.settings.fe55,
    });
  }

  async follow(resume: { fileName: string; offset: number } | undefined): Promise<void> {
    const { bufferDir, pollMs, cameraBank, updateMs } = this.service.settings;
    const closed = this.service.closedCheck(this.run.id);
    // Counters, metrics and position on a timer: also while waiting for the logger's next
    // bytes, which renews the lease (a follower that waits is still the follower).
    this.recorder = setInterval(() => void this.recordNow(), updateMs);
    await this.poolNow(); // threads and pedestal map ready before the first image comes
    try {
      for await (const { file, event } of liveRunEvents({
        bufferDir,
        runNumber: this.run.runNumber,
        signal: this.signal,
        pollMs,
        closed,
        resume,
        onFile: (file) => this.seen.add(file.name),
      })) {
        this.position = { fileName: file.name, fileOffset: event.offset + 16 + event.dataSize };
        if (event.kind === 'DATA') await this.take(file, event, cameraBank);
      }
      if (this.signal.aborted) return;
      await Promise.allSettled([...this.inFlight]);
      this.done = true;
      clearInterval(this.recorder);
      await this.recording;
      const unseen = await this.service.declaredButUnseen(this.run, this.seen);
      if (unseen.length > 0)
        await this.service.failed(
          this,
          `closeRun declared ${unseen.join(', ')}, which the live reconstruction never saw in the DAQ buffer`,
        );
      await this.service.record(this, true);
    } catch (error) {
      if (this.signal.aborted) return;
      this.done = true;
      clearInterval(this.recorder);
      await this.recording;
      await Promise.allSettled([...this.inFlight]);
      await this.service.failed(this, (error as Error).message);
      await this.service.record(this, true);
    }
  }

  /**
   * Ends following: the images in flight are finished, and (when it stopped rather than
   * finished) counters and position are recorded together, so that whoever goes on counts
   * every image once.
   */
  async close(): Promise<void> {
    clearInterval(this.recorder);
    await Promise.allSettled([...this.inFlight]);
    await this.recording;
    if (!this.done && !this.leaseLost)
      await this.service
        .record(this)
        .catch((error: Error) => this.service.recordFailed(this, error));
    await this.pool?.close();
  }

  /** One record at a time; a lost lease stops the follower. */
  private async recordNow(): Promise<void> {
    if (this.recording || this.done) return;
    this.recording = this.service
      .record(this)
      .then((kept) => {
        if (kept) return;
        this.leaseLost = true; // another gateway took the run over after this one stalled
        this.leaseGone.abort();
      })
      .catch((error: Error) => this.service.recordFailed(this, error))
      .finally(() => (this.recording = undefined));
    await this.recording;
  }

  /** One camera image: handed to a free thread, or skipped and counted. */
  /** The results made since the last call, for storing. */
  takeResults(): LiveResult[] {
    return this.results.splice(0);
  }

  private async take(file: RunFile, event: MidasEvent, cameraBank: string): Promise<void> {
    let image: Uint16Array | undefined;
    try {
      image = cameraImageOf(event, cameraBank);
    } catch (error) {
      if (!(error instanceof RecoInputError)) throw error;
      this.summary.addBadImage();
      return;
    }
    if (!image) return;
    const pool = await this.poolNow();
    if (!pool || !pool.canTakeNow) {
      this.skipped++;
      return;
    }
    const header = this.liveEvent(event);
    this.previews?.offer(header, image); // made before the buffer goes
    const { result } = await pool.submit(image); // handed over: the reader may reuse its buffer
    const done = result.then(
      (outcome) => {
        this.images++;
        this.summary.add(outcome.summary, outcome.clusters, event.time);
        this.results.push({
          runId: this.run.id,
          recoVersion: this.service.settings.parameters.version,
          fileName: file.name,
          fileOffset: event.offset,
          sizeBytes: 16 + event.dataSize,
          serial: event.serial,
          pedestalMd5: this.pedestalMd5,
          outcome,
        });
        this.service.publishEvent(this.run, header, outcome, this.previews?.take(header));
      },
      (error: Error) => {
        this.previews?.take(header);
        // Wrong size or type: RECONSTRUCT will say so too. A thread that died took this image.
        if (error instanceof RecoInputError) this.summary.addBadImage();
        else this.skipped++;
      },
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  private async poolNow(): Promise<ImagePool | undefined> {
    if (this.pool || Date.now() - this.poolTriedAt < PEDESTAL_RETRY_MS) return this.pool;
    this.poolTriedAt = Date.now();
    try {
      const made = await this.service.poolFor(this.run);
      this.pool = made?.pool;
      this.pedestalMd5 = made?.pedestalMd5 ?? '';
      if (made) this.previews = new PreviewSampler(made.map, this.service.settings);
    } catch (error) {
      // The store may be out for a moment: the images meanwhile are skipped, not the run.
      this.service.pedestalFailed(this, error as Error);
    }
    return this.pool;
  }

  /** What eventReconstructed carries of an event not yet indexed: a provisional negative id. */
  private liveEvent(event: MidasEvent): Event {
    return {
      id: -++this.liveIds,
      runId: this.run.id,
      fileId: 0,
      serial: event.serial,
      eventId: event.eventId,
      triggerMask: event.triggerMask,
      timestamp: new Date(event.time * 1000),
      fileOffset: event.offset,
      sizeBytes: 16 + event.dataSize,
      bankNames: event.banks.map((bank) => bank.name),
      clusterCount: null,
      imageIntegral: null,
      imageMean: null,
      imageRms: null,
      spark: null,
    };
  }
}
