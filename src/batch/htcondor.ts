import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { BatchJobState, BatchSubmission, BatchSystem } from './BatchSystem';
import { runCommand } from './runCommand';

/** HTCondor's JobStatus codes (the job ClassAd). */
const JOB_STATUS: Record<number, string> = {
  1: 'IDLE',
  2: 'RUNNING',
  3: 'REMOVED',
  4: 'COMPLETED',
  5: 'HELD',
  6: 'TRANSFERRING_OUTPUT',
  7: 'SUSPENDED',
};

const ATTRIBUTES = [
  'ClusterId',
  'ProcId',
  'JobStatus',
  'ExitCode',
  'ExitBySignal',
  'ExitSignal',
  'HoldReason',
  'HoldReasonCode',
  'RemoveReason',
];

/**
 * HTCondor (what CYGNO uses at CNAF) by the same door as Slurm: a submit description written
 * here, `condor_submit -terse`, and the states from `condor_q -json` for jobs in the queue and
 * `condor_history -json` for jobs that left it. Tested against recorded -json outputs in the
 * documented format only: HTCondor is not packaged for this machine, so this implementation
 * has never met a live schedd.
 */
export class HtCondor implements BatchSystem {
  readonly description = 'htcondor (condor_submit/condor_q/condor_history/condor_rm)';

  /** `bin`: where the condor_* commands are (default: on PATH). */
  constructor(private readonly bin = '') {}

  async submit(submission: BatchSubmission): Promise<string> {
    await fsp.mkdir(submission.workDir, { recursive: true });
    const file = path.join(submission.workDir, `${submission.name}.sub`);
    // The description holds the job's token: readable by its owner only.
    await fsp.writeFile(file, submitDescription(submission), { mode: 0o600 });
    const printed = await this.run('condor_submit', ['-terse', file]);
    // -terse prints "ClusterId.ProcId - ClusterId.ProcId" for the jobs it queued.
    const match = /^\s*(\d+)\.(\d+)\s*-/.exec(printed);
    if (!match) throw new Error(`condor_submit printed no job id: ${printed.slice(0, 200)}`);
    return `${match[1]}.${match[2]}`;
  }

  async states(ids: readonly string[]): Promise<Map<string, BatchJobState>> {
    const states = new Map<string, BatchJobState>();
    if (ids.length === 0) return states;
    const queued = parseCondorJson(
      await this.run('condor_q', ['-json', '-attributes', ATTRIBUTES.join(','), ...ids]),
    );
    for (const ad of queued) states.set(jobIdOf(ad), condorState(ad));
    const missing = ids.filter((id) => !states.has(id));
    if (missing.length > 0) {
      const finished = parseCondorJson(
        await this.run('condor_history', [
          '-json',
          '-attributes',
          ATTRIBUTES.join(','),
          ...missing,
        ]),
      );
      for (const ad of finished) states.set(jobIdOf(ad), condorState(ad));
    }
    return states;
  }

  async cancel(id: string): Promise<void> {
    await this.run('condor_rm', [id]).catch((error: Error) => {
      if (!/not found|Couldn't find/i.test(error.message)) throw error;
    });
  }

  private run(command: string, args: string[]): Promise<string> {
    return runCommand(this.bin ? path.join(this.bin, command) : command, args);
  }
}

/**
 * The submit description of one attempt. Inputs come by URL and outputs go by URL, so nothing
 * is transferred; the time limit is `allowed_execute_duration` (HTCondor ≥ 9.4).
 */
export function submitDescription(submission: BatchSubmission): string {
  const [executable, ...args] = submission.command;
  const base = path.join(submission.workDir, submission.name);
  const lines = [
    'universe = vanilla',
    `executable = ${executable}`,
    `arguments = ${condorQuoted(args.map(condorArgument).join(' '))}`,
    `environment = ${condorQuoted(
      Object.entries(submission.environment)
        .map(([name, value]) => `${name}=${condorArgument(value)}`)
        .join(' '),
    )}`,
    `request_cpus = ${submission.cpus}`,
    `request_memory = ${submission.memoryMb}`,
    `allowed_execute_duration = ${submission.timeLimitMinutes * 60}`,
    'should_transfer_files = NO',
    `output = ${base}.$(ClusterId).out`,
    `error = ${base}.$(ClusterId).err`,
    `log = ${base}.log`,
    ...(submission.group ? [`+JobBatchName = ${condorQuoted(submission.group)}`] : []),
    'queue 1',
    '',
  ];
  return lines.join('\n');
}

/** A word of the "new" arguments/environment syntax: single quotes, ' doubled. */
function condorArgument(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "''")}'`;
}

/** The whole value in double quotes, " doubled (the new syntax's outer quoting). */
function condorQuoted(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** condor_q/condor_history -json print a JSON array of ClassAds, or nothing when none match. */
export function parseCondorJson(printed: string): Array<Record<string, unknown>> {
  const text = printed.trim();
  if (text === '') return [];
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw new Error('expected a JSON array of job ClassAds');
  return parsed as Array<Record<string, unknown>>;
}

function jobIdOf(ad: Record<string, unknown>): string {
  return `${ad.ClusterId}.${ad.ProcId}`;
}

/** A job ClassAd as a batch state: HELD counts as an end (the gateway removes and retries it). */
export function condorState(ad: Record<string, unknown>): BatchJobState {
  const status = Number(ad.JobStatus);
  const state = JOB_STATUS[status] ?? `STATUS_${status}`;
  const bySignal = ad.ExitBySignal === true;
  const exitCode = typeof ad.ExitCode === 'number' ? ad.ExitCode : null;
  const terminal = status === 3 || status === 4 || status === 5;
  const reason =
    status === 5
      ? String(ad.HoldReason ?? 'held')
      : status === 3
        ? String(ad.RemoveReason ?? 'removed')
        : null;
  return {
    state,
    terminal,
    succeeded: status === 4 && !bySignal && exitCode === 0,
    exitCode,
    signal: bySignal && typeof ad.ExitSignal === 'number' ? ad.ExitSignal : null,
    reason,
  };
}
