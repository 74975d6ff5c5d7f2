import type { Job } from '../../src/entities/Job';
import { DeferJobError } from '../../src/jobs/errors';
import type { Runtime } from '../../src/runtime';
import type { JobKind } from '../../src/schema/enums';

const WORKER = 'test-drain';

/**
 * Runs the runnable jobs of `kinds` one after another in this process, through the real
 * handlers and the queue's own settle paths, until none is left: a deterministic worker for
 * tests that step the pipeline by hand.
 */
export async function drainJobs(runtime: Runtime, kinds: JobKind[], limit = 200): Promise<Job[]> {
  const ran: Job[] = [];
  for (let i = 0; i < limit; i++) {
    const job = await runtime.queue.claim(WORKER, kinds);
    if (!job) return ran;
    ran.push(job);
    const context = {
      job,
      signal: new AbortController().signal,
      progress: () => undefined,
      throwIfAborted: () => undefined,
    };
    try {
      const outcome = await runtime.registry.get(job.kind).run(context);
      await runtime.queue.complete(job, WORKER, outcome.result ?? null, outcome.commit);
      await outcome.afterCommit?.();
    } catch (error) {
      if (error instanceof DeferJobError)
        await runtime.queue.release(job, WORKER, { delayMs: 60_000, reason: error.message });
      else await runtime.queue.fail(job, WORKER, error as Error);
    }
  }
  throw new Error(`more than ${limit} jobs: is one looping?`);
}
