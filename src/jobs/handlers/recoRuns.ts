import type { Database } from '../../db/Database';
import { Run } from '../../entities/Run';
import { RecoStatus } from '../../schema/enums';
import type { RunService } from '../../services/RunService';
import type { JobContext } from '../registry';
import { PermanentJobError } from '../errors';

/** The run a PEDESTAL or RECONSTRUCT job works on. */
export async function jobRun(db: Database, context: JobContext): Promise<Run> {
  const { runId } = context.job;
  const run = runId == null ? null : await db.manager.findOneBy(Run, { id: runId });
  if (!run) throw new PermanentJobError(`job ${context.job.id} names no existing run`);
  return run;
}

/**
 * Runs a reconstruction step with the run's recoStatus kept true: RUNNING while it works,
 * FAILED when it fails for good (a permanent error or its last attempt), QUEUED when it
 * will be tried again. DONE is set by the step's own commit.
 */
export async function withRecoStatus<T>(
  db: Database,
  runs: RunService,
  run: Run,
  context: JobContext,
  work: () => Promise<T>,
): Promise<T> {
  const set = async (status: RecoStatus) => {
    await db.write((m) => m.update(Run, run.id, { recoStatus: status }));
    await runs.publish(run.id);
  };
  await set(RecoStatus.RUNNING);
  try {
    return await work();
  } catch (error) {
    const final =
      error instanceof PermanentJobError || context.job.attempts >= context.job.maxAttempts;
    await set(final ? RecoStatus.FAILED : RecoStatus.QUEUED).catch(() => undefined);
    throw error;
  }
}

/** Source runs (⁵⁵Fe) get the peak metrics: CYGNO marks them in the run type or description. */
export function isSourceRun(run: Pick<Run, 'runType' | 'description'>): boolean {
  return (
    /^(CAL|FE|SRC|SOURCE)/i.test(run.runType ?? '') ||
    /55\s*-?\s*Fe|Fe\s*-?\s*55|Fe source/i.test(run.description ?? '')
  );
}
