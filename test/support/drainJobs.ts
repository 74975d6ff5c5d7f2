import type { Job } from '../../src/entities/Job';
import { Worker } from '../../src/jobs/Worker';
import type { Runtime } from '../../src/runtime';
import type { JobKind } from '../../src/schema/enums';

/**
 * Runs the runnable jobs of `kinds` one after another in this process, through the real
 * worker (its lease, heartbeat and settle paths), until none is left: a deterministic worker
 * for tests that step the pipeline by hand. A job that comes round again (deferred with no
 * delay, or retried at once) is run again, up to `limit` runs in all.
 */
export async function drainJobs(runtime: Runtime, kinds: JobKind[], limit = 200): Promise<Job[]> {
  const worker = new Worker(runtime.queue, runtime.registry, runtime.pubsub, {
    concurrency: 1,
    pollMs: runtime.config.jobPollMs,
    leaseMs: runtime.config.jobLeaseMs,
  });
  const ran: Job[] = [];
  for (let i = 0; i < limit; i++) {
    const job = await worker.runOne(kinds);
    if (!job) return ran;
    ran.push(job);
  }
  throw new Error(`more than ${limit} jobs: is one looping?`);
}
