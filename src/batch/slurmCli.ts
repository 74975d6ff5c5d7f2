import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  slurmState,
  type BatchJobState,
  type BatchSubmission,
  type BatchSystem,
} from './BatchSystem';
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
    const states = new Map<string, BatchJobState>();
    if (ids.length === 0) return states;
    const wanted = new Set(ids);
    const parsed = JSON.parse(await this.run('squeue', ['--json'])) as {
      jobs?: Array<Record<string, unknown>>;
    };
    for (const job of parsed.jobs ?? []) {
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

  async cancel(id: string): Promise<void> {
    await this.run('scancel', [id]).catch((error: Error) => {
      if (!/Invalid job id/i.test(error.message)) throw error;
    });
  }

  private run(command: string, args: string[], input?: string): Promise<string> {
    // A SLURM_JWT in the environment silently switches the commands to JWT auth: never pass it.
    const env = { ...this.environment };
    delete env.SLURM_JWT;
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', (error) => reject(new Error(`${command}: ${error.message}`)));
      child.on('close', (code) => {
        if (code === 0) resolve(stdout);
        else reject(new Error(`${command} exited ${code}: ${stderr.trim().slice(0, 500)}`));
      });
      child.stdin.end(input ?? '');
    });
  }
}
