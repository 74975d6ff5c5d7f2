import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/Database';
import type { JsonObject } from '../entities/columns';
import { DataFile } from '../entities/DataFile';
import type { Event } from '../entities/Event';
import { Run } from '../entities/Run';
import { reconstructedEvent } from '../jobs/handlers/reconstructedEvent';
import { logger } from '../logger';
import { Topic, type PubSub } from '../pubsub';
import type { Fe55Options } from '../reco/dq';
import type { ImageReconstruction, PedestalMap, RecoParameters } from '../reco/image';
import type { ImagePreview } from '../reco/image/preview';
import { ImagePool } from '../reco/parallel';
import { encodeGreyPng } from '../reco/png';
import type { ReductionParameters } from '../reco/reduction/parameters';
import type { LivePreview } from '../resolvers/EventResolver';
import { FileKind, RunState, Severity } from '../schema/enums';
import type { AlarmService } from '../services/AlarmService';
import type { DqService } from '../services/DqService';
import type { PedestalService } from '../services/PedestalService';
import type { RunService } from '../services/RunService';
import { LiveLease } from './LiveLease';
import { LiveRun, PEDESTAL_RETRY_MS } from './LiveRun';
import { storeLiveResults } from './liveResults';

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
    const payload = reconstructedEvent(run, event, outcome, this.options.parameters.version);
    if (preview) payload.livePreview = livePreview(run, event, preview);
    this.pubsub.publish(Topic.EventReconstructed, payload);
  }

  /** Writes the counters and metrics, renews the lease with the position; false: lease lost. */
  async record(live: LiveRun, done = false): Promise<boolean> {
    // The results first: a position recorded is never ahead of what was kept.
    await storeLiveResults(this.db, live.takeResults());
    // While the logger writes nothing, only the lease is renewed: the run is written (and
    // runUpdated sent, the metrics worked out) when an image was taken since the last record.
    const changed = live.takeChanged();
    const metrics = changed && live.summary.imageCount > 0 ? live.metrics() : null;
    if (changed)
      await this.db.write((manager) =>
        manager.update(Run, live.run.id, {
          liveImages: live.images,
          liveSkipped: live.skipped,
          ...(metrics ? { liveMetrics: metrics as JsonObject } : {}),
        }),
      );
    const kept = await this.lease.renew(live.run.id, { ...live.position, done });
    if (changed) await this.runs.publish(live.run.id);
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
