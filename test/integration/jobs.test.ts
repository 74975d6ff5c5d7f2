import { expectNoUnexpectedJobs, registryWith } from '../support/registry';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JsonObject } from '../../src/entities/columns';
import { Job } from '../../src/entities/Job';
import { JobAbortedError, LeaseLostError, PermanentJobError } from '../../src/jobs/errors';
import { type JobContext, type JobHandler, type JobOutcome } from '../../src/jobs/registry';
import { Worker } from '../../src/jobs/Worker';
import type { Runtime } from '../../src/runtime';
import { JobKind, JobState } from '../../src/schema/enums';
import { openTestRuntime, type TestRuntime } from '../support/runtime';
import { waitFor } from '../support/wait';

// The job engine against the real database, with handlers that script each scenario.

let runtime: Runtime;
let testRuntime: TestRuntime;
let subjectSeq = 0;

beforeAll(async () => {
  testRuntime = await openTestRuntime({
    JOB_LEASE_MS: '600',
    JOB_BACKOFF_BASE_MS: '100',
    JOB_BACKOFF_MAX_MS: '400',
  });
  runtime = testRuntime.runtime;
});
afterAll(async () => {
  await testRuntime?.close();
});
// A test that fails half-way must not leave its worker claiming the next test's jobs.
const started: Worker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((worker) => worker.stop()));
  expectNoUnexpectedJobs();
});

async function enqueue(maxAttempts = 3): Promise<Job> {
  const subject = `test:${++subjectSeq}`;
  const { job } = await runtime.db.transaction((m) =>
    runtime.queue.enqueue(m, { kind: JobKind.INGEST, subject, maxAttempts }),
  );
  runtime.queue.announce([job]);
  return job;
}

function scripted(run: (context: JobContext) => Promise<JobOutcome>): JobHandler {
  return { kind: JobKind.INGEST, run };
}

function startWorker(handler: JobHandler, concurrency = 1): Worker {
  const worker = new Worker(runtime.queue, registryWith(handler), runtime.pubsub, {
    concurrency,
    pollMs: 30,
    leaseMs: 600,
    shutdownGraceMs: 200,
  });
  void worker.start();
  started.push(worker);
  return worker;
}

type MockLike = (...args: unknown[]) => unknown;

const reload = (id: number) => runtime.queue.get(id);
const settled = (id: number, state: JobState) =>
  waitFor(
    async () => ((await reload(id)).state === state ? reload(id) : null),
    `job ${id} to be ${state}`,
  );

describe('job engine', () => {
  it('never gives one job to two workers claiming at once', async () => {
    const jobs = await Promise.all(Array.from({ length: 20 }, () => enqueue()));
    const ids = new Set(jobs.map((j) => j.id));
    const claimedBy = new Map<number, string>();
    await Promise.all(
      ['w1', 'w2', 'w3', 'w4'].map(async (worker) => {
        for (;;) {
          const job = await runtime.queue.claim(worker, [JobKind.INGEST]);
          if (!job) return;
          if (!ids.has(job.id)) continue;
          expect(claimedBy.has(job.id), `job ${job.id} claimed twice`).toBe(false);
          claimedBy.set(job.id, worker);
          await runtime.queue.complete(job, worker, null);
        }
      }),
    );
    expect(claimedBy.size).toBe(20);
  });

  it('retries with exponential backoff, then fails after the last attempt', async () => {
    const job = await enqueue(3);
    const attempts: number[] = [];
    const worker = startWorker(
      scripted(async ({ job: current }) => {
        attempts.push(Date.now());
        throw new Error(`transient failure ${current.attempts}`);
      }),
    );
    const failed = await settled(job.id, JobState.FAILED);
    await worker.stop();
    expect(failed.attempts).toBe(3);
    expect(failed.lastError).toBe('transient failure 3');
    expect(attempts).toHaveLength(3);
    // Delays of ~100 ms then ~200 ms (base 100 ms, doubling): each gap at least the backoff.
    expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(95);
    expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual(195);
  });

  it('fails at once on a permanent error', async () => {
    const job = await enqueue(5);
    const worker = startWorker(
      scripted(async () => {
        throw new PermanentJobError('checksum mismatch');
      }),
    );
    const failed = await settled(job.id, JobState.FAILED);
    await worker.stop();
    expect(failed).toMatchObject({ attempts: 1, lastError: 'checksum mismatch' });
  });

  it('commits the handler results with the success, and reports progress', async () => {
    const job = await enqueue();
    const progress: number[] = [];
    const worker = startWorker(
      scripted(async (context) => {
        for (let i = 1; i <= 4; i++) {
          context.progress(i / 4);
          await new Promise((resolve) => setTimeout(resolve, 200));
          progress.push((await reload(job.id)).progress);
        }
        return {
          result: { files: 1 },
          commit: async (manager) => {
            await manager.update(Job, job.id, {
              payload: { committedWithSuccess: true } as JsonObject,
            });
          },
        };
      }),
    );
    const done = await settled(job.id, JobState.SUCCEEDED);
    await worker.stop();
    expect(done).toMatchObject({
      progress: 1,
      result: { files: 1 },
      payload: { committedWithSuccess: true },
      leaseOwner: null,
    });
    expect(Math.max(...progress)).toBeGreaterThan(0);
  });

  it('logs a failure after the commit as what it is; the job stays SUCCEEDED', async () => {
    const job = await enqueue();
    const worker = startWorker(
      scripted(async () => ({
        afterCommit: async () => {
          throw new Error('announcing went wrong');
        },
      })),
    );
    const log = (worker as unknown as { log: { error: MockLike; warn: MockLike } }).log;
    const errors = vi.spyOn(log, 'error');
    const warnings = vi.spyOn(log, 'warn');
    await settled(job.id, JobState.SUCCEEDED);
    await waitFor(() => errors.mock.calls.length > 0, 'the error to be logged');
    await worker.stop();
    const [fields, message] = errors.mock.calls[0] as [{ err: Error; jobId: number }, string];
    expect(fields.err.message).toBe('announcing went wrong');
    expect(fields.jobId).toBe(job.id);
    expect(message).toMatch(/committed/);
    expect(warnings.mock.calls.flat().join(' ')).not.toMatch(/lease lost/);
    expect((await reload(job.id)).state).toBe(JobState.SUCCEEDED);
  });

  it('a job of a kind the test has no handler for fails the test', async () => {
    const { job } = await runtime.db.transaction((m) =>
      runtime.queue.enqueue(m, {
        kind: JobKind.TAPE_COPY,
        subject: `test:${++subjectSeq}`,
        maxAttempts: 1,
      }),
    );
    const worker = new Worker(runtime.queue, registryWith(), runtime.pubsub, {
      concurrency: 1,
      pollMs: 30,
      leaseMs: 600,
    });
    expect(await worker.runOne([JobKind.TAPE_COPY])).toMatchObject({ id: job.id });
    expect(() => expectNoUnexpectedJobs()).toThrow(`TAPE_COPY #${job.id}`);
  });

  it('cancels a queued job before it runs, and stops a running one', async () => {
    const queued = await enqueue();
    const cancelled = await runtime.queue.cancel(queued.id);
    expect(cancelled.state).toBe(JobState.CANCELLED);

    const running = await enqueue();
    let sawAbort = false;
    const worker = startWorker(
      scripted(async (context) => {
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          try {
            context.throwIfAborted();
          } catch (error) {
            sawAbort = error instanceof JobAbortedError && error.reason === 'cancelled';
            throw error;
          }
        }
      }),
    );
    await settled(running.id, JobState.RUNNING);
    await runtime.queue.cancel(running.id);
    const stopped = await settled(running.id, JobState.CANCELLED);
    await worker.stop();
    expect(sawAbort).toBe(true);
    expect(stopped.finishedAt).not.toBeNull();
    expect((await reload(queued.id)).attempts).toBe(0);
    await expect(runtime.queue.cancel(running.id)).rejects.toThrow(/cannot be cancelled/);
  });

  it('retryJob requeues a failed job with fresh attempts', async () => {
    const job = await enqueue(1);
    let calls = 0;
    const worker = startWorker(
      scripted(async () => {
        if (++calls === 1) throw new Error('first try fails');
        return {};
      }),
    );
    await settled(job.id, JobState.FAILED);
    const retried = await runtime.queue.retry(job.id);
    expect(retried).toMatchObject({ state: JobState.QUEUED, attempts: 0 });
    const done = await settled(job.id, JobState.SUCCEEDED);
    await worker.stop();
    expect(done.attempts).toBe(1);
    await expect(runtime.queue.retry(job.id)).rejects.toThrow(/only FAILED or CANCELLED/);
  });

  it('gives an expired lease to another worker, and the first can no longer settle the job', async () => {
    const job = await enqueue();
    const first = await runtime.queue.claim('stalled-worker', [JobKind.INGEST]);
    expect(first?.id).toBe(job.id);
    expect(await runtime.queue.claim('other-worker', [JobKind.INGEST])).toBeNull(); // lease still held
    await new Promise((resolve) => setTimeout(resolve, 700));
    const second = await runtime.queue.claim('other-worker', [JobKind.INGEST]);
    expect(second).toMatchObject({ id: job.id, attempts: 2, leaseOwner: 'other-worker' });

    let commits = 0;
    const commit = async () => {
      commits++;
    };
    await expect(
      runtime.queue.complete(first!, 'stalled-worker', null, commit),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      runtime.queue.fail(first!, 'stalled-worker', new Error('late')),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await runtime.queue.complete(second!, 'other-worker', null, commit);
    expect(commits).toBe(1); // only the lease holder's commit ran
    expect((await reload(job.id)).state).toBe(JobState.SUCCEEDED);
  });

  it('fails a job whose worker died on its last attempt instead of running it again', async () => {
    const job = await enqueue(1);
    expect((await runtime.queue.claim('dies', [JobKind.INGEST]))?.id).toBe(job.id);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await runtime.queue.claim('survivor', [JobKind.INGEST])).toBeNull();
    const failed = await reload(job.id);
    expect(failed.state).toBe(JobState.FAILED);
    expect(failed.lastError).toMatch(/stopped responding during the last attempt/);
  });

  it('gives running jobs back on shutdown without counting the attempt', async () => {
    const job = await enqueue();
    const worker = startWorker(
      scripted(async (context) => {
        await new Promise((_, reject) =>
          context.signal.addEventListener('abort', () => reject(context.signal.reason)),
        );
        return {};
      }),
    );
    await settled(job.id, JobState.RUNNING);
    await worker.stop();
    expect(await reload(job.id)).toMatchObject({
      state: JobState.QUEUED,
      attempts: 0,
      leaseOwner: null,
    });
    await runtime.queue.cancel(job.id); // leave nothing runnable for the other tests
  });
});
