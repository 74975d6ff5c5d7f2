import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Job } from '../entities/Job';
import { logger } from '../logger';
import type { JobKind } from '../schema/enums';
import { Topic, type PubSub } from '../pubsub';
import { DeferJobError, JobAbortedError, LeaseLostError } from './errors';
import type { JobQueue } from './JobQueue';
import type { HandlerRegistry, JobContext, JobOutcome } from './registry';

export interface WorkerOptions {
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  /** How long stop() waits for running jobs before giving them back to the queue. */
  shutdownGraceMs?: number;
}

const PROGRESS_WRITE_INTERVAL_MS = 500;

/**
 * Runs jobs from the queue: `concurrency` loops that claim a job, run its handler with a lease
 * heartbeat, and settle it. Idle loops sleep until a JobEnqueued event or the poll interval.
 */
export class Worker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly log = logger('worker');
  private running = false;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();
  private unlisten?: () => void;
  private readonly active = new Map<number, AbortController>();

  constructor(
    private readonly queue: JobQueue,
    private readonly registry: HandlerRegistry,
    private readonly pubsub: PubSub,
    private readonly options: WorkerOptions,
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.unlisten = await this.pubsub.listen(Topic.JobEnqueued, () => this.wakeAll());
    this.loops = Array.from({ length: this.options.concurrency }, (_, slot) => this.loop(slot));
    this.log.info(
      { workerId: this.id, concurrency: this.options.concurrency, kinds: this.registry.kinds },
      'worker started',
    );
  }

  /** Stops claiming; lets running jobs finish for the grace period, then gives them back. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unlisten?.();
    this.wakeAll();
    const grace = this.options.shutdownGraceMs ?? 10_000;
    const timer = setTimeout(() => {
      for (const controller of this.active.values())
        controller.abort(new JobAbortedError('shutdown'));
    }, grace);
    await Promise.allSettled(this.loops);
    clearTimeout(timer);
    this.log.info({ workerId: this.id }, 'worker stopped');
  }

  private wakeAll(): void {
    for (const wake of this.wakers) wake();
    this.wakers.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private async loop(slot: number): Promise<void> {
    while (this.running) {
      let job: Job | null = null;
      try {
        job = await this.queue.claim(this.id, this.registry.kinds);
      } catch (error) {
        this.log.error(
          { err: error, slot },
          'claiming a job failed; retrying after the poll interval',
        );
      }
      if (!job) {
        await this.sleep(this.options.pollMs);
        continue;
      }
      await this.execute(job);
    }
  }

  /**
   * Claims one runnable job of `kinds` and runs it exactly as the loops do (lease, heartbeat,
   * settle); null when there is none. For tools and tests that step the pipeline by hand.
   */
  async runOne(kinds: readonly JobKind[] = this.registry.kinds): Promise<Job | null> {
    const job = await this.queue.claim(this.id, [...kinds]);
    if (job) await this.execute(job);
    return job;
  }

  private async execute(job: Job): Promise<void> {
    const controller = new AbortController();
    this.active.set(job.id, controller);
    let progress = job.progress;
    let lastWrite = 0;
    let beat: Promise<void> = Promise.resolve();
    const heartbeat = () => {
      lastWrite = Date.now();
      beat = beat.then(async () => {
        try {
          const state = await this.queue.heartbeat(job, this.id, progress);
          if (!state.leaseHeld) controller.abort(new JobAbortedError('lease-lost'));
          else if (state.cancelRequested) controller.abort(new JobAbortedError('cancelled'));
        } catch (error) {
          this.log.warn({ err: error, jobId: job.id }, 'heartbeat failed');
        }
      });
    };
    const timer = setInterval(heartbeat, Math.max(50, Math.floor(this.options.leaseMs / 3)));
    const context: JobContext = {
      job,
      signal: controller.signal,
      progress: (fraction) => {
        progress = fraction;
        if (Date.now() - lastWrite >= PROGRESS_WRITE_INTERVAL_MS) heartbeat();
      },
      throwIfAborted: () => {
        if (controller.signal.aborted) throw controller.signal.reason;
      },
    };
    let outcome: JobOutcome;
    try {
      outcome = await this.registry.get(job.kind).run(context);
      clearInterval(timer);
      await beat;
      context.throwIfAborted();
      await this.queue.complete(job, this.id, outcome.result ?? null, outcome.commit);
    } catch (error) {
      clearInterval(timer);
      await beat;
      await this.settleFailure(job, controller.signal.reason ?? error, error);
      return;
    } finally {
      this.active.delete(job.id);
    }
    await this.afterCommit(job, outcome);
  }

  /**
   * Runs what a handler does once its job has committed (announcements). The job has succeeded
   * by then and stays so: a failure here is logged for what it is, not mistaken for a lost lease.
   */
  private async afterCommit(job: Job, outcome: JobOutcome): Promise<void> {
    try {
      await outcome.afterCommit?.();
    } catch (error) {
      this.log.error(
        { err: error, jobId: job.id, kind: job.kind },
        'the job committed, but what it does after its commit failed',
      );
    }
  }

  private async settleFailure(job: Job, reason: unknown, error: unknown): Promise<void> {
    try {
      if (reason instanceof JobAbortedError && reason.reason === 'cancelled') {
        await this.queue.markCancelled(job, this.id);
      } else if (reason instanceof JobAbortedError && reason.reason === 'shutdown') {
        await this.queue.release(job, this.id);
      } else if (error instanceof DeferJobError) {
        this.log.info({ jobId: job.id, reason: error.message }, 'job deferred');
        await this.queue.release(job, this.id, { delayMs: error.delayMs, reason: error.message });
      } else if (reason instanceof JobAbortedError || error instanceof LeaseLostError) {
        this.log.warn(
          { jobId: job.id },
          'lease lost; the job is left to the worker that holds it now',
        );
      } else {
        await this.queue.fail(
          job,
          this.id,
          error instanceof Error ? error : new Error(String(error)),
        );
      }
    } catch (settleError) {
      if (settleError instanceof LeaseLostError) {
        this.log.warn({ jobId: job.id }, 'lease lost before the failure could be recorded');
      } else {
        this.log.error(
          { err: settleError, jobId: job.id },
          'could not record the job failure; its lease will expire',
        );
      }
    }
  }
}
