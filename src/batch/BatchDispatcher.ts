import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Database } from '../db/Database';
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import type { JobQueue } from '../jobs/JobQueue';
import { isCurrentVersion } from '../jobs/handlers/recoRuns';
import { logger } from '../logger';
import { Topic, type PubSub } from '../pubsub';
import { JobExecutor, JobState, RecoStatus, type JobKind } from '../schema/enums';
import { describeEnd, type BatchJobState, type BatchSystem } from './BatchSystem';
import { mintJobToken } from './jobTokens';
import { batchLeaseOwner } from './leaseOwners';

export interface DispatcherOptions {
  system: JobExecutor;
  kinds: readonly JobKind[];
  pollMs: number;
  vanishGraceMs: number;
  /** How long a job-scoped token lives: the time limit and some. */
  tokenTtlMs: number;
  /** Jobs that go together in one batch job (BATCH_RUNS_PER_JOB). */
  jobsPerSubmission: number;
  /** How the attempt is submitted: everything but the job's own id and token. */
  submission: {
    command: readonly string[];
    gatewayUrl: () => string;
    cpus: number;
    memoryMb: number;
    timeLimitMinutes: number;
    workDir: string;
    partition?: string;
  };
}

/** A group's claims that found nothing, tried again this often, this far apart. */
const CLAIM_RETRIES = 4;
const CLAIM_RETRY_MS = 25;

/** Jobs submitted per pass at most, so that following the others is never starved. */
const SUBMISSIONS_PER_PASS = 50;

/**
 * Hands the jobs of a batch executor to the batch system and follows them there (issue 18).
 * Submitting takes the job like a worker's claim (one dispatcher wins, whatever the number of
 * gateways), mints the attempt's job-scoped token and records the batch id. Following asks the
 * batch system about every attempt it holds at once; an attempt that ends without having
 * settled its job through the API — failed, timed out, cancelled, killed, or vanished from
 * the controller — is the job's failed attempt, retried with the usual backoff. Every write is
 * conditional on the job still being that attempt, so two gateways following the same jobs
 * settle each once.
 */
export class BatchDispatcher {
  readonly id = `dispatch:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly log = logger('batch');
  private timer?: NodeJS.Timeout;
  private running = false;
  private pass: Promise<void> = Promise.resolve();
  private unlisten?: () => void;
  private systemName: string;

  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    private readonly pubsub: PubSub,
    private readonly system: BatchSystem,
    private readonly options: DispatcherOptions,
  ) {
    this.systemName = options.system.toLowerCase();
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.unlisten = await this.pubsub.listen(Topic.JobEnqueued, () => this.wake());
    this.schedule(0);
    this.log.info(
      { system: this.system.description, kinds: this.options.kinds },
      'batch dispatcher started',
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unlisten?.();
    clearTimeout(this.timer);
    await this.pass;
  }

  /** Runs a pass soon (a job was queued, a campaign cancelled). */
  wake(): void {
    if (this.running) this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.pass = this.pass.then(() => this.runPass());
    }, ms);
  }

  private async runPass(): Promise<void> {
    if (!this.running) return;
    try {
      await this.step();
    } catch (error) {
      this.log.error({ err: error }, 'batch pass failed; trying again after the poll interval');
    }
    if (this.running) this.schedule(this.options.pollMs);
  }

  /** One pass, for tests and tools that step the dispatcher by hand. */
  async step(): Promise<void> {
    await this.follow();
    await this.submitDue();
  }

  /**
   * Submits the due jobs of the batch executor: up to `jobsPerSubmission` claimed jobs go
   * together as one batch job, which runs them one after the other (the batch system's own
   * scheduling and start-up, about a second or two, then count once for all of them).
   */
  async submitDue(): Promise<number> {
    let submitted = 0;
    while (submitted < SUBMISSIONS_PER_PASS) {
      const group: Job[] = [];
      let misses = 0;
      while (group.length < this.options.jobsPerSubmission) {
        const job = await this.queue.claim(this.id, this.options.kinds, this.options.system);
        if (job) {
          group.push(job);
          continue;
        }
        // On MariaDB a claim skips the rows another claimer's scan holds locked for a moment
        // (the local workers poll the same index): ask again briefly before sending a group
        // short, so that a campaign's jobs go together.
        if (group.length === 0 || ++misses > CLAIM_RETRIES) break;
        await new Promise((resolve) => setTimeout(resolve, CLAIM_RETRY_MS));
      }
      if (group.length === 0) break;
      await this.submit(group);
      submitted += group.length;
      if (group.length < this.options.jobsPerSubmission) break;
    }
    return submitted;
  }

  /** One batch job for the claimed jobs; each gets its own job-scoped token. */
  private async submit(claimed: readonly Job[]): Promise<void> {
    const group: Array<{ job: Job; token: string }> = [];
    for (const job of claimed) {
      const minted = mintJobToken(job.id, this.options.tokenTtlMs);
      const prepared = await this.updateClaimed(job, {
        batchTokenHash: minted.hash,
        batchTokenExpiresAt: minted.expiresAt,
        batchId: null,
        batchState: null,
      });
      if (prepared) group.push({ job, token: minted.token });
    }
    if (group.length === 0) return; // cancelled meanwhile
    const first = group[0].job;
    const last = group[group.length - 1].job;
    const { submission } = this.options;
    const label = (job: Job) => job.runNumber ?? job.id;
    let batchId: string;
    try {
      batchId = await this.system.submit({
        name:
          group.length === 1
            ? `cygno-${first.kind.toLowerCase()}-${label(first)}-j${first.id}`
            : `cygno-${first.kind.toLowerCase()}-${label(first)}-to-${label(last)}-j${first.id}+${group.length - 1}`,
        group: first.campaignId != null ? `cygno-campaign-${first.campaignId}` : null,
        command: [
          ...submission.command,
          'batch-run',
          '--job',
          group.map(({ job }) => job.id).join(','),
        ],
        environment: {
          GATEWAY_URL: submission.gatewayUrl(),
          CYGNO_JOB_TOKEN: group.map(({ token }) => token).join(','),
        },
        cpus: submission.cpus,
        memoryMb: submission.memoryMb,
        timeLimitMinutes: submission.timeLimitMinutes,
        workDir: submission.workDir,
        partition: submission.partition,
      });
    } catch (error) {
      this.log.warn(
        { err: error, jobIds: group.map(({ job }) => job.id) },
        'batch submission failed',
      );
      const failure = new Error(
        `${this.system.description}: submission failed: ${(error as Error).message}`,
      );
      for (const { job } of group)
        await this.queue
          .fail(job, this.id, failure)
          .catch((settle: Error) =>
            this.log.warn({ err: settle, jobId: job.id }, 'could not record the failed submission'),
          );
      return;
    }
    let recorded = 0;
    for (const { job } of group) {
      const ok = await this.updateClaimed(job, {
        batchId,
        batchState: 'SUBMITTED',
        leaseOwner: batchLeaseOwner(batchId, 'pending'),
      });
      if (!ok) continue; // cancelled meanwhile: its token opens nothing any more
      recorded++;
      this.log.info(
        { jobId: job.id, batchId, runNumber: job.runNumber },
        'job submitted to the batch system',
      );
      await this.queue.publishCurrent({ id: job.id });
    }
    // Every job of it changed under us (cancelled): the batch job must not run on.
    if (recorded === 0) await this.system.cancel(batchId).catch(() => undefined);
  }

  /** Asks the batch system about every attempt it holds and settles those that ended. */
  async follow(): Promise<void> {
    const jobs = await this.db.manager
      .createQueryBuilder(Job, 'job')
      .where('job.state = :running AND job.executor = :executor AND job.batchId IS NOT NULL', {
        running: JobState.RUNNING,
        executor: this.options.system,
      })
      .getMany();
    if (jobs.length === 0) return;
    const states = await this.system.states(jobs.map((job) => job.batchId!));
    for (const job of jobs) {
      const state = states.get(job.batchId!);
      try {
        if (job.cancelRequested) await this.cancelAttempt(job);
        else if (!state) await this.vanished(job);
        else if (state.terminal) await this.ended(job, state);
        else if (state.state !== job.batchState) await this.recordState(job, state.state);
      } catch (error) {
        this.log.error(
          { err: error, jobId: job.id, batchId: job.batchId },
          'could not follow a batch job',
        );
      }
    }
  }

  /** Cancels the attempts of jobs cancelled in the gateway (cancelCampaign, cancelJob). */
  async cancelNow(jobs: readonly Job[]): Promise<void> {
    for (const job of jobs) if (job.batchId) await this.cancelAttempt(job);
    this.wake();
  }

  private async cancelAttempt(job: Job): Promise<void> {
    // A batch job running several jobs goes on with the others: this one's token is revoked
    // below, so the node's next call for it is refused and it moves to the next job.
    const others = await this.db.manager
      .createQueryBuilder(Job, 'job')
      .where(
        'job.batchId = :batchId AND job.id <> :id AND job.state = :running AND job.cancelRequested = :no',
        { batchId: job.batchId, id: job.id, running: JobState.RUNNING, no: false },
      )
      .getCount();
    if (others === 0) await this.system.cancel(job.batchId!);
    const settled = await this.settle(job, {
      state: JobState.CANCELLED,
      finishedAt: new Date(),
      batchState: 'CANCELLED',
    });
    if (settled) this.log.info({ jobId: job.id, batchId: job.batchId }, 'batch job cancelled');
  }

  private async vanished(job: Job): Promise<void> {
    const since = job.startedAt ? Date.now() - new Date(job.startedAt).getTime() : Infinity;
    if (since < this.options.vanishGraceMs) return;
    await this.failAttempt(
      job,
      `${this.systemName} job ${job.batchId} vanished from the batch system (purged, or its controller lost it)`,
      'VANISHED',
    );
  }

  /** The attempt ended; if its job is still running, it ended without settling it: a failure. */
  private async ended(job: Job, state: BatchJobState): Promise<void> {
    const message = state.succeeded
      ? `${this.systemName} job ${job.batchId} ended COMPLETED without reporting its result`
      : describeEnd(this.systemName, job.batchId!, state);
    // HTCondor keeps a held job in its queue: remove it before its job is tried again.
    if (!state.succeeded && state.state === 'HELD')
      await this.system.cancel(job.batchId!).catch(() => undefined);
    await this.failAttempt(job, message, state.state);
  }

  private async failAttempt(job: Job, message: string, batchState: string): Promise<void> {
    const { exhausted, values } = this.queue.failedAttempt(job, message);
    const settled = await this.settle(job, { ...values, batchState });
    if (!settled) return;
    this.log[exhausted ? 'error' : 'warn'](
      {
        jobId: job.id,
        batchId: job.batchId,
        attempt: job.attempts,
        maxAttempts: job.maxAttempts,
        err: message,
      },
      exhausted ? 'batch job failed' : 'batch attempt failed; will retry',
    );
    if (!exhausted || job.runId == null) return;
    const run = await this.db.manager.findOneBy(Run, { id: job.runId });
    if (run && isCurrentVersion(run, job))
      await this.db.write((m) => m.update(Run, run.id, { recoStatus: RecoStatus.FAILED }));
  }

  private async recordState(job: Job, batchState: string): Promise<void> {
    if (await this.updateAttempt(job, { batchState }))
      await this.queue.publishCurrent({ id: job.id });
  }

  /** Settles the attempt if the job is still it (running, same batch id); revokes its token. */
  private async settle(job: Job, values: Partial<Job>): Promise<boolean> {
    const settled = await this.updateAttempt(job, {
      ...values,
      leaseOwner: null,
      leaseUntil: null,
      batchTokenHash: null,
      batchTokenExpiresAt: null,
    });
    if (!settled) return false;
    await this.queue.publishCurrent({ id: job.id });
    if (values.state === JobState.QUEUED)
      this.pubsub.publish(Topic.JobEnqueued, { kind: job.kind });
    return true;
  }

  /** Changes a job this dispatcher has claimed and not yet handed to the batch system. */
  private updateClaimed(job: Job, values: Partial<Job>): Promise<boolean> {
    return this.updateIf(job, values, 'leaseOwner = :owner', { owner: this.id });
  }

  /** Changes a job only while it is still the attempt `job.batchId` names. */
  private updateAttempt(job: Job, values: Partial<Job>): Promise<boolean> {
    return this.updateIf(job, values, 'batchId = :batchId', { batchId: job.batchId });
  }

  private async updateIf(
    job: Job,
    values: Partial<Job>,
    condition: string,
    parameters: Record<string, unknown>,
  ): Promise<boolean> {
    const result = await this.db.write((m) =>
      m
        .createQueryBuilder()
        .update(Job)
        .set(values)
        .where(`id = :id AND state = :running AND ${condition}`, {
          id: job.id,
          running: JobState.RUNNING,
          ...parameters,
        })
        .execute(),
    );
    return result.affected === 1;
  }
}
