/**
 * A batch system the gateway hands jobs to (issue 18): Slurm (REST or CLI) or HTCondor. It
 * submits one attempt, tells the states of the attempts it holds, and cancels one. Everything
 * else — attempts, retries, results — stays in the gateway's job queue.
 */
export interface BatchSystem {
  /** For logs and errors: "slurm (slurmrestd http://…)". */
  readonly description: string;
  submit(submission: BatchSubmission): Promise<string>;
  /** The states of the given attempts; an attempt the system does not know is absent. */
  states(ids: readonly string[]): Promise<Map<string, BatchJobState>>;
  /** Cancels an attempt; one that is already gone is not an error. */
  cancel(id: string): Promise<void>;
}

export interface BatchSubmission {
  /** The job's name in the batch system ("cygno-reco-run42"). */
  name: string;
  /** Groups a campaign's jobs (HTCondor JobBatchName, Slurm comment). */
  group: string | null;
  /** Program and arguments run on the node. */
  command: readonly string[];
  environment: Readonly<Record<string, string>>;
  cpus: number;
  memoryMb: number;
  timeLimitMinutes: number;
  /** Where the node writes the attempt's output (stdout and stderr). */
  workDir: string;
  partition?: string;
}

export interface BatchJobState {
  /** The batch system's own word for it (PENDING, RUNNING, TIMEOUT; Idle, Held, …). */
  state: string;
  terminal: boolean;
  /** Terminal and a success (exit code 0, not cancelled). */
  succeeded: boolean;
  exitCode: number | null;
  signal: number | null;
  /** The system's reason (Slurm state_reason, HTCondor HoldReason), when it gives one. */
  reason: string | null;
}

/** Slurm's terminal states (the recipe's list): everything else is still on its way. */
export const SLURM_TERMINAL = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
]);

/** A Slurm job's state from its name, raw wait status and reason (squeue --json, REST). */
export function slurmState(
  state: string,
  waitStatus: number | null,
  reason: string | null,
): BatchJobState {
  // Slurm gives the raw wait status: exit code in the high byte, the signal in the low bits.
  const exitCode = waitStatus == null ? null : (waitStatus >> 8) & 0xff;
  const signal = waitStatus == null ? null : waitStatus & 0x7f;
  const terminal = SLURM_TERMINAL.has(state);
  return {
    state,
    terminal,
    succeeded: state === 'COMPLETED',
    exitCode,
    signal: signal || null,
    reason: reason && reason !== 'None' ? reason : null,
  };
}

/** How a terminal attempt reads in the job's lastError. */
export function describeEnd(system: string, id: string, end: BatchJobState): string {
  const parts = [`${system} job ${id} ended ${end.state}`];
  if (end.exitCode) parts.push(`exit code ${end.exitCode}`);
  if (end.signal) parts.push(`signal ${end.signal}`);
  if (end.reason) parts.push(`reason ${end.reason}`);
  return parts.join(', ');
}

/**
 * The states of the wanted ids among a Slurm job list (REST /jobs, `squeue --json`: both list
 * every job the controller holds, so the filtering is here).
 */
export function slurmStatesOf(
  jobs: ReadonlyArray<Record<string, unknown>>,
  ids: readonly string[],
): Map<string, BatchJobState> {
  const wanted = new Set(ids);
  const states = new Map<string, BatchJobState>();
  for (const job of jobs) {
    const id = String(job.job_id);
    if (!wanted.has(id)) continue;
    states.set(
      id,
      slurmState(
        String(job.job_state),
        typeof job.exit_code === 'number' ? job.exit_code : null,
        typeof job.state_reason === 'string' ? job.state_reason : null,
      ),
    );
  }
  return states;
}
