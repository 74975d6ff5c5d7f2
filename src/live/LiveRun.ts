import { PreviewSampler } from '../jobs/handlers/PreviewSampler';
import { isSourceRun } from '../jobs/handlers/recoRuns';
import type { Event } from '../entities/Event';
import type { Run } from '../entities/Run';
import { cameraImageOf } from '../reco/cameraBank';
import { RunSummary } from '../reco/dq';
import { RecoInputError } from '../reco/image';
import type { MidasEvent } from '../reco/midas';
import type { ImagePool } from '../reco/parallel';
import { eventIndexRow } from '../services/eventIndexRow';
import type { LiveReconstruction } from './LiveReconstruction';
import type { LiveResult } from './liveResults';
import { liveRunEvents } from './runEvents';
import type { RunFile } from './runFiles';

/** How often a follower without a pedestal map looks for one again. */
export const PEDESTAL_RETRY_MS = 5_000;

/** One run being followed: its pool, counters, summary and position. */
export class LiveRun {
  images = 0;
  skipped = 0;
  done = false;
  readonly summary = new RunSummary();
  readonly raisedBands = new Set<string>();
  position: { fileName: string | null; fileOffset: number } = { fileName: null, fileOffset: 0 };
  private pool: ImagePool | undefined;
  private pedestalMd5 = '';
  /** The pedestal map's pixel count: an image of another size is bad, whatever the threads do. */
  private pixels = 0;
  private previews: PreviewSampler<Event> | undefined;
  /** Results not yet stored (with the next record). */
  private results: LiveResult[] = [];
  private poolTriedAt = -Infinity;
  private readonly inFlight = new Set<Promise<void>>();
  private liveIds = 0;
  private recorder?: NodeJS.Timeout;
  private recording?: Promise<void>;
  private leaseLost = false;
  /** Something to write with the next record. */
  private changed = false;
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
  /** Whether an image was taken (counted one way or another) since the last call. */
  takeChanged(): boolean {
    const changed = this.changed;
    this.changed = false;
    return changed;
  }

  private skip(): void {
    this.skipped++;
    this.changed = true;
  }

  private badImage(): void {
    this.summary.addBadImage();
    this.changed = true;
  }

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
      this.badImage();
      return;
    }
    if (!image) return;
    const pool = await this.poolNow();
    if (pool && image.length !== this.pixels) {
      this.badImage(); // not the pedestal map's size: RECONSTRUCT will say so too
      return;
    }
    if (!pool || !pool.canTakeNow) {
      this.skip();
      return;
    }
    const header = this.liveEvent(event);
    this.previews?.offer(header, image); // made before the buffer goes
    const { result } = await pool.submit(image); // handed over: the reader may reuse its buffer
    const done = result.then(
      (outcome) => {
        this.images++;
        this.changed = true;
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
        if (error instanceof RecoInputError) this.badImage();
        else this.skip();
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
      this.pixels = made ? made.map.width * made.map.height : 0;
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
      ...eventIndexRow(event),
      clusterCount: null,
      imageIntegral: null,
      imageMean: null,
      imageRms: null,
      spark: null,
    };
  }
}
