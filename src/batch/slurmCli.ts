import path from 'node:path';
import {
  slurmStatesOf,
  type BatchJobState,
  type BatchSubmission,
  type BatchSystem,
} from './BatchSystem';
import { runCommand } from './runCommand';
import { batchScript } from './shellScript';

/**
 * Slurm through its commands, where slurmrestd is not offered: `sbatch --parsable` (the script
 * on stdin, so that the token is on no command line), `squeue --json` (machine-readable; it
 * lists every job, filtered here) and `scancel`.
 */
export class SlurmCli implements BatchSystem {
  readonly description = 'slurm (sbatch/squeue/scancel)';

  constructor(private readonly environment: NodeJS.ProcessEnv = process.env) {}

  async submit(submission: BatchSubmission): Promise<string> {
    const out = path.join(submission.workDir, `${submission.name}-%j.out`);
    const args = [
      '--parsable',
      `--job-name=${submission.name}`,
      `--chdir=${submission.workDir}`,
      `--output=${out}`,
      `--error=${out}`,
      `--time=${submission.timeLimitMinutes}`,
      `--cpus-per-task=${submission.cpus}`,
      `--mem=${submission.memoryMb}`,
      '--export=NONE',
    ];
    if (submission.group) args.push(`--comment=${submission.group}`);
    if (submission.partition) args.push(`--partition=${submission.partition}`);
    const printed = await this.run(
      'sbatch',
      args,
      batchScript(submission.command, {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...submission.environment,
      }),
    );
    const id = printed.trim().split(';')[0];
    if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: ${printed.slice(0, 200)}`);
    return id;
  }

  async states(ids: readonly string[]): Promise<Map<string, BatchJobState>> {
    if (ids.length === 0) return new Map();
    const parsed = JSON.parse(await this.run('squeue', ['--json'])) as {
      jobs?: Array<Record<string, unknown>>;
    };
    return slurmStatesOf(parsed.jobs ?? [], ids);
  }

  async cancel(id: string): Promise<void> {
    await this.run('scancel', [id]).catch((error: Error) => {
      if (!/Invalid job id/i.test(error.message)) throw error;
    });
  }

  private run(command: string, args: string[], input?: string): Promise<string> {
    // A SLURM_JWT in the environment silently switches the commands to JWT auth: never pass it.
    const env = { ...this.environment };
    delete env.SLURM_JWT;
    return runCommand(command, args, { env, input });
  }
}
