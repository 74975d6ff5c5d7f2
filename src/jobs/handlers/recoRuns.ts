import type { EntityManager } from 'typeorm';
import type { Database } from '../../db/Database';
import type { DataFile } from '../../entities/DataFile';
import type { Job } from '../../entities/Job';
import { Run } from '../../entities/Run';
import { recoParameters, type RecoParameters } from '../../reco/image';
import { RecoStatus } from '../../schema/enums';
import type { RecordedAlarm } from '../../services/AlarmService';
import type { DqService } from '../../services/DqService';
import type { RunService } from '../../services/RunService';
import { recordDerivedFile, type DerivedFile } from '../../services/derivedFiles';
import { recordReconstruction, type ProvenanceDraft } from '../../provenance/record';
import { storedRawFiles } from '../../services/runEvents';
import type { JobContext, JobOutcome } from '../registry';
import { PermanentJobError } from '../errors';

/** The run a PEDESTAL or RECONSTRUCT job works on. */
export async function jobRun(db: Database, context: JobContext): Promise<Run> {
  const { runId } = context.job;
  const run = runId == null ? null : await db.manager.findOneBy(Run, { id: runId });
  if (!run) throw new PermanentJobError(`job ${context.job.id} names no existing run`);
  return run;
}

/**
 * Whether a job reconstructs its run's current version (the one physicists see): the run's
 * own, or — for a run never reconstructed — any version but a campaign's, which becomes
 * current only when promoted.
 */
export function isCurrentVersion(
  run: Pick<Run, 'recoVersion'>,
  job: Pick<Job, 'version' | 'campaignId'>,
): boolean {
  return run.recoVersion === job.version || (run.recoVersion === null && job.campaignId === null);
}

/**
 * Runs a reconstruction step with the run's recoStatus kept true: RUNNING while it works,
 * FAILED when it fails for good (a permanent error or its last attempt), QUEUED when it
 * will be tried again. DONE is set by the step's own commit. A version that is not the run's
 * current one (a campaign's) leaves the run's status alone: its campaign tells its progress.
 */
export async function withRecoStatus<T>(
  db: Database,
  runs: RunService,
  run: Run,
  context: JobContext,
  work: () => Promise<T>,
  current = true,
): Promise<T> {
  if (!current) return work();
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

/**
 * The reconstruction parameters a job runs with: its campaign's (in its payload, checked when the
 * campaign was made) or the gateway's configured ones.
 */
export function jobParameters(
  job: Pick<Job, 'payload'>,
  configured: RecoParameters,
): RecoParameters {
  const given = job.payload?.parameters as Record<string, unknown> | undefined;
  if (!given) return configured;
  const checked = recoParameters(given);
  if ('problems' in checked)
    throw new PermanentJobError(`the job's parameters are invalid: ${checked.problems.join('; ')}`);
  return checked.parameters;
}

/** Source runs (⁵⁵Fe) get the peak metrics: CYGNO marks them in the run type or description. */
export function isSourceRun(run: Pick<Run, 'runType' | 'description'>): boolean {
  return (
    /^(CAL|FE|SRC|SOURCE)/i.test(run.runType ?? '') ||
    /55\s*-?\s*Fe|Fe\s*-?\s*55|Fe source/i.test(run.description ?? '')
  );
}

/** The run's raw files in the object store; a run with none cannot be reconstructed. */
export async function rawFilesToRead(db: Database, run: Run): Promise<DataFile[]> {
  const files = await storedRawFiles(db, run.id);
  if (files.length === 0)
    throw new PermanentJobError(`run ${run.runNumber}: no raw file in the object store`);
  return files;
}

/**
 * How a PEDESTAL or RECONSTRUCT job ends: in the commit that settles the job, its output file,
 * its DQ metrics (with their flags and alarms), anything `also` adds, and recoStatus DONE with
 * the version as the run's current one; after the commit, the run's change and the alarms are
 * announced. A version that is not current (a campaign's) keeps its file and metrics only:
 * flags, alarms and the run's status follow it when it is promoted.
 */
export function finishReconstruction(
  deps: { runs: RunService; dq: DqService },
  step: {
    run: Run;
    version: number;
    /** False for a version that is not the run's current one (see isCurrentVersion). */
    current: boolean;
    output: Omit<DerivedFile, 'runId' | 'name'>;
    /** More outputs recorded with it (the run's reduced file). */
    extraOutputs?: ReadonlyArray<Omit<DerivedFile, 'runId' | 'name'>>;
    metrics: Readonly<Record<string, number | null>>;
    setBy: string;
    result: Record<string, unknown>;
    /** What made it, recorded with its output (Run.reconstructions). */
    provenance: ProvenanceDraft;
    also?: (manager: EntityManager) => Promise<void>;
  },
): JobOutcome {
  const { run, output } = step;
  let alarms: RecordedAlarm[] = [];
  return {
    result: step.result,
    commit: async (manager) => {
      const recorded = [];
      for (const file of [output, ...(step.extraOutputs ?? [])]) {
        const name = file.objectKey.slice(file.objectKey.lastIndexOf('/') + 1);
        const fileId = await recordDerivedFile(manager, { ...file, runId: run.id, name });
        recorded.push({ fileId, name, kind: file.kind, md5: file.md5 });
      }
      await recordReconstruction(manager, run, step.provenance, recorded);
      alarms = await deps.dq.record(manager, run, step.version, step.metrics, step.setBy, {
        judge: step.current,
      });
      if (!step.current) return;
      await step.also?.(manager);
      await manager.update(Run, run.id, {
        recoStatus: RecoStatus.DONE,
        recoVersion: step.version,
      });
    },
    afterCommit: async () => {
      if (step.current) await deps.runs.publish(run.id);
      deps.dq.announce(alarms);
    },
  };
}
