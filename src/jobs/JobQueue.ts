import type { EntityManager, FindOptionsWhere, UpdateQueryBuilder } from 'typeorm';
import { isDeadlock, type Database } from '../db/Database';
import { Job } from '../entities/Job';
import type { JsonObject } from '../entities/columns';
import { ConflictError, NotFoundError } from '../errors';
import { logger } from '../logger';
import { Topic, type PubSub } from '../pubsub';
import { JobExecutor, JobKind, JobState } from '../schema/enums';
import { backoffMs } from './backoff';
import { LeaseLostError, PermanentJobError } from './errors';

export interface JobSpec {
  kind: JobKind;
  /** What the job works on; with kind and version, the natural key that makes enqueue idempotent. */
  subject: string;
  version?: number;
  runId?: number | null;
  runNumber?: number | null;
  payload?: JsonObject;
  maxAttempts?: number;
  /** Where it runs (default LOCAL: the gateway's workers). */
  executor?: JobExecutor;
  campaignId?: number | null;
}

export interface QueueOptions {
  leaseMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface HeartbeatResult {
  leaseHeld: boolean;
  cancelRequested: boolean;
}

/**
 * The durable job queue (the Oban / graphile-worker pattern): jobs are rows; a worker claims
 * one with an atomic conditional update that also takes a lease, renews the lease while it
 * works, and settles the job only while it still holds the lease. A worker that dies simply
 * stops renewing, and the job becomes claimable again when the lease runs out.
 */
export class JobQueue {
  private readonly log = logger('jobs');
  private readonly useSkipLocked: boolean;

  constructor(
    private readonly db: Database,
    private readonly pubsub: PubSub,
    private readonly options: QueueOptions,
  ) {
    this.useSkipLocked = db.dialect === 'mariadb';
  }

  /**
   * Adds a job inside the caller's transaction unless one with the same (kind, subject,
   * version) exists; returns the job either way. Call `announce` after the commit.
   */
  async enqueue(manager: EntityManager, spec: JobSpec): Promise<{ job: Job; created: boolean }> {
    const key = { kind: spec.kind, subject: spec.subject, version: spec.version ?? 1 };
    const existing = await manager.findOneBy(Job, key);
    if (existing) return { job: existing, created: false };
    const job = manager.create(Job, {
      ...key,
      runId: spec.runId ?? null,
      runNumber: spec.runNumber ?? null,
      payload: spec.payload ?? {},
      maxAttempts: spec.maxAttempts ?? this.options.maxAttempts,
      executor: spec.executor ?? JobExecutor.LOCAL,
      campaignId: spec.campaignId ?? null,
      state: JobState.QUEUED,
      nextAttemptAt: new Date(),
    });
    await manager.insert(Job, job);
    return { job, created: true };
  }

  /** Tells subscribers and idle workers about jobs committed by `enqueue`. */
  announce(jobs: Job[]): void {
    for (const job of jobs) {
      this.pubsub.publish(Topic.JobUpdated, job);
      this.pubsub.publish(Topic.JobEnqueued, { kind: job.kind });
    }
  }

  /** Tells subscribers about the jobs `where` selects, as they are now (changed elsewhere). */
  async publishCurrent(where: FindOptionsWhere<Job>): Promise<void> {
    for (const job of await this.db.manager.findBy(Job, where))
      this.pubsub.publish(Topic.JobUpdated, job);
  }

  async get(id: number): Promise<Job> {
    const job = await this.db.manager.findOneBy(Job, { id });
    if (!job) throw new NotFoundError('job', id);
    return job;
  }

  /**
   * Claims the next runnable job of the given kinds for `workerId`, or returns null: a LOCAL
   * job for the gateway's workers, a batch system's for its dispatcher.
   */
  async claim(
    workerId: string,
    kinds: readonly JobKind[],
    executor = JobExecutor.LOCAL,
  ): Promise<Job | null> {
    if (kinds.length === 0) return null;
    if (executor === JobExecutor.LOCAL) await this.failAbandonedLastAttempts();
    for (let attempt = 0; attempt < 5; attempt++) {
      const claimed = await this.db
        .transaction(async (manager): Promise<number | 'raced' | null> => {
          const now = new Date();
          const runnable = runnableCondition(kinds, now, executor);
          const candidate = manager
            .createQueryBuilder(Job, 'job')
            .select('job.id', 'id')
            .where(runnable.sql('job.'), runnable.params)
            .orderBy('job.nextAttemptAt', 'ASC')
            .addOrderBy('job.id', 'ASC')
            .limit(1);
          // On MariaDB, competing workers skip each other's locked rows instead of queueing on them.
          const [sql, params] = candidate.getQueryAndParameters();
          const rows: Array<{ id: number }> = await manager.query(
            this.useSkipLocked ? `${sql} FOR UPDATE SKIP LOCKED` : sql,
            params,
          );
          if (rows.length === 0) return null;
          const id = Number(rows[0].id);
          // On SQLite the same condition again, so that only one of two racing workers gets the
          // row; on MariaDB the row lock already guarantees it, and updating by primary key only
          // keeps InnoDB from taking gap locks that deadlock competing claimers.
          const update = manager
            .createQueryBuilder()
            .update(Job)
            .set({
              state: JobState.RUNNING,
              leaseOwner: workerId,
              leaseUntil: new Date(now.getTime() + this.options.leaseMs),
              attempts: () => 'attempts + 1',
              startedAt: now,
              cancelRequested: false,
            })
            .where('id = :id', { id });
          if (!this.useSkipLocked) update.andWhere(runnable.sql(''), runnable.params);
          const result = await update.execute();
          return result.affected === 1 ? id : 'raced';
        })
        .catch((error: unknown) => {
          // InnoDB may still pick a claimer as a deadlock victim: it simply tries again.
          if (isDeadlock(error)) return 'raced' as const;
          throw error;
        });
      if (claimed === null) return null;
      if (claimed === 'raced') continue; // another worker took it between our read and write
      const job = await this.get(claimed);
      this.log.info(
        { jobId: job.id, kind: job.kind, subject: job.subject, attempt: job.attempts, workerId },
        'job claimed',
      );
      this.pubsub.publish(Topic.JobUpdated, job);
      return job;
    }
    return null;
  }

  /** A job whose worker died during its last attempt cannot be retried: it fails, with a reason. */
  private async failAbandonedLastAttempts(): Promise<void> {
    const now = new Date();
    const abandoned = await this.db.manager
      .createQueryBuilder(Job, 'job')
      .where(
        'job.state = :running AND job.leaseUntil < :now AND job.attempts >= job.maxAttempts AND job.executor = :local',
        { running: JobState.RUNNING, now, local: JobExecutor.LOCAL },
      )
      .getMany();
    for (const job of abandoned) {
      const result = await this.db.write((manager) =>
        manager
          .createQueryBuilder()
          .update(Job)
          .set({
            state: JobState.FAILED,
            finishedAt: now,
            ...LEASE_RETURNED,
            lastError: `worker ${job.leaseOwner} stopped responding during the last attempt (${job.attempts}/${job.maxAttempts})`,
          })
          .where('id = :id AND state = :running AND leaseUntil < :now', {
            id: job.id,
            running: JobState.RUNNING,
            now,
          })
          .execute(),
      );
      if (result.affected === 1) this.pubsub.publish(Topic.JobUpdated, await this.get(job.id));
    }
  }

  /** Renews the lease and records progress; tells the worker whether to stop. */
  async heartbeat(job: Job, workerId: string, progress: number): Promise<HeartbeatResult> {
    const held = await this.db.write((manager) =>
      this.updateHeld(manager, job, workerId, {
        leaseUntil: new Date(Date.now() + this.options.leaseMs),
        progress: clamp01(progress),
      }),
    );
    if (!held) return { leaseHeld: false, cancelRequested: false };
    const current = await this.get(job.id);
    this.pubsub.publish(Topic.JobUpdated, current); // live progress for subscribers
    return { leaseHeld: true, cancelRequested: current.cancelRequested };
  }

  /**
   * Marks the job SUCCEEDED and runs `commit` (the handler's results, the next jobs) in the same
   * transaction, only while the worker still holds the lease: a worker whose lease expired
   * cannot settle a job another worker now owns, so each job's effects are committed once.
   */
  async complete(
    job: Job,
    workerId: string,
    result: JsonObject | null,
    commit?: (manager: EntityManager) => Promise<Job[] | void>,
  ): Promise<Job> {
    const followUps = await this.db.transaction(async (manager) => {
      const held = await this.updateHeld(manager, job, workerId, {
        state: JobState.SUCCEEDED,
        progress: 1,
        finishedAt: new Date(),
        ...LEASE_RETURNED,
        result,
        lastError: null,
      });
      if (!held) throw new LeaseLostError(job.id);
      return (await commit?.(manager)) ?? [];
    });
    const done = await this.get(job.id);
    this.log.info({ jobId: job.id, kind: job.kind, subject: job.subject }, 'job succeeded');
    this.pubsub.publish(Topic.JobUpdated, done);
    this.announce(followUps);
    return done;
  }

  /** Records a failure: back to QUEUED after a backoff while attempts remain, else FAILED. */
  async fail(job: Job, workerId: string, error: Error): Promise<Job> {
    const message = error.message.slice(0, 4000);
    const permanent = error instanceof PermanentJobError;
    const { exhausted, values } = this.failedAttempt(job, message, permanent);
    const held = await this.db.write((manager) =>
      this.updateHeld(manager, job, workerId, { ...values, ...LEASE_RETURNED }),
    );
    if (!held) throw new LeaseLostError(job.id);
    const failed = await this.get(job.id);
    const level = exhausted ? 'error' : 'warn';
    this.log[level](
      {
        jobId: job.id,
        kind: job.kind,
        subject: job.subject,
        attempt: job.attempts,
        maxAttempts: job.maxAttempts,
        err: message,
      },
      exhausted ? 'job failed' : 'job attempt failed; will retry',
    );
    this.pubsub.publish(Topic.JobUpdated, failed);
    return failed;
  }

  /**
   * What a failed attempt makes of its job: QUEUED again after the backoff while attempts
   * remain, else FAILED (a worker's failure and a batch attempt's end alike).
   */
  failedAttempt(
    job: Job,
    message: string,
    permanent = false,
  ): { exhausted: boolean; values: Partial<Job> } {
    const exhausted = permanent || job.attempts >= job.maxAttempts;
    const now = Date.now();
    return {
      exhausted,
      values: exhausted
        ? { state: JobState.FAILED, finishedAt: new Date(now), lastError: message }
        : {
            state: JobState.QUEUED,
            nextAttemptAt: new Date(
              now + backoffMs(job.attempts, this.options.backoffBaseMs, this.options.backoffMaxMs),
            ),
            lastError: message,
          },
    };
  }

  /**
   * Gives a job back without counting the attempt: at graceful shutdown of its worker, or
   * deferred by `delayMs` with a reason when it waits for another job.
   */
  async release(
    job: Job,
    workerId: string,
    defer?: { delayMs: number; reason: string },
  ): Promise<void> {
    const held = await this.db.write((manager) =>
      this.updateHeld(manager, job, workerId, {
        state: JobState.QUEUED,
        attempts: () => 'attempts - 1',
        ...LEASE_RETURNED,
        nextAttemptAt: new Date(Date.now() + (defer?.delayMs ?? 0)),
        ...(defer ? { lastError: defer.reason.slice(0, 4000) } : {}),
      }),
    );
    if (held) this.pubsub.publish(Topic.JobUpdated, await this.get(job.id));
  }

  /** Settles a running job whose handler stopped on a cancellation request. */
  async markCancelled(job: Job, workerId: string): Promise<void> {
    const held = await this.db.write((manager) =>
      this.updateHeld(manager, job, workerId, {
        state: JobState.CANCELLED,
        finishedAt: new Date(),
        ...LEASE_RETURNED,
      }),
    );
    if (held) this.pubsub.publish(Topic.JobUpdated, await this.get(job.id));
  }

  /** Cancels a queued job at once; asks a running one to stop (its worker sees it at the next heartbeat). */
  async cancel(id: number): Promise<Job> {
    // A queued job may be claimed between our read and our update: then ask the worker instead.
    for (let attempt = 0; attempt < 3; attempt++) {
      const job = await this.get(id);
      let updated: Job | null;
      if (job.state === JobState.QUEUED) {
        updated = await this.setStateIf(id, JobState.QUEUED, {
          state: JobState.CANCELLED,
          finishedAt: new Date(),
        });
      } else if (job.state === JobState.RUNNING) {
        updated = await this.setStateIf(id, JobState.RUNNING, { cancelRequested: true });
      } else {
        throw new ConflictError(`job ${id} is ${job.state} and cannot be cancelled`);
      }
      if (updated) {
        this.pubsub.publish(Topic.JobUpdated, updated);
        return updated;
      }
    }
    throw new ConflictError(`job ${id} keeps changing state; try again`);
  }

  /** Puts a FAILED or CANCELLED job back in the queue with a fresh set of attempts. */
  async retry(id: number): Promise<Job> {
    return this.requeue(id, [JobState.FAILED, JobState.CANCELLED]);
  }

  /** Queues a finished job again, whatever its outcome was (with a new payload when given). */
  async rerun(id: number, payload?: JsonObject): Promise<Job> {
    return this.requeue(id, [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED], payload);
  }

  private async requeue(id: number, from: JobState[], payload?: JsonObject): Promise<Job> {
    const job = await this.get(id);
    if (!from.includes(job.state)) {
      throw new ConflictError(
        `job ${id} is ${job.state}; only ${from.join(' or ')} jobs can be queued again`,
      );
    }
    const updated = await this.setStateIf(id, job.state, {
      ...freshAttempts(),
      ...(payload ? { payload } : {}),
    });
    if (!updated) throw new ConflictError(`job ${id} changed state meanwhile; try again`);
    this.announce([updated]);
    return updated;
  }

  /**
   * Changes a running job only while this worker still holds its lease: the guard of every step
   * a worker takes (heartbeat, success, failure, release, cancellation). False when the lease is
   * gone — it expired and another worker may own the job now.
   */
  private async updateHeld(
    manager: EntityManager,
    job: Pick<Job, 'id'>,
    workerId: string,
    values: Parameters<UpdateQueryBuilder<Job>['set']>[0],
  ): Promise<boolean> {
    const update = await manager
      .createQueryBuilder()
      .update(Job)
      .set(values)
      .where('id = :id AND leaseOwner = :workerId AND state = :running', {
        id: job.id,
        workerId,
        running: JobState.RUNNING,
      })
      .execute();
    return update.affected === 1;
  }

  /**
   * Changes a job only if it is still in the expected state, and returns it as written: read in
   * the same transaction, because a worker may claim a requeued job the moment it commits.
   */
  private async setStateIf(
    id: number,
    expected: JobState,
    values: Partial<Job>,
  ): Promise<Job | null> {
    return this.db.transaction(async (manager) => {
      const update = await manager
        .createQueryBuilder()
        .update(Job)
        .set(values)
        .where('id = :id AND state = :expected', { id, expected })
        .execute();
      return update.affected === 1 ? manager.findOneByOrFail(Job, { id }) : null;
    });
  }
}

/** A job queued again from the start: due now, with a fresh set of attempts. */
export function freshAttempts() {
  return {
    state: JobState.QUEUED,
    attempts: 0,
    progress: 0,
    nextAttemptAt: new Date(),
    finishedAt: null,
    cancelRequested: false,
    lastError: null,
  };
}

/** What settling a job (or giving it back) clears: nobody holds it any more. */
const LEASE_RETURNED = { leaseOwner: null, leaseUntil: null };

/**
 * QUEUED and due, or RUNNING with an expired lease and attempts left; `prefix` is the alias.
 * A batch job's lease says nothing once it is submitted (the batch system holds it, and the
 * dispatcher follows it there): only one whose submission never completed is taken again.
 */
function runnableCondition(kinds: readonly JobKind[], now: Date, executor: JobExecutor) {
  const unsubmitted = (p: string) =>
    executor === JobExecutor.LOCAL ? '' : ` AND ${p}batchId IS NULL`;
  return {
    sql: (p: string) =>
      `${p}kind IN (:...kinds) AND ${p}executor = :executor AND ((${p}state = :queued AND ${p}nextAttemptAt <= :now) OR ` +
      `(${p}state = :running AND ${p}leaseUntil < :now AND ${p}attempts < ${p}maxAttempts${unsubmitted(p)}))`,
    params: { kinds, now, executor, queued: JobState.QUEUED, running: JobState.RUNNING },
  };
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
