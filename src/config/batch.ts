import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobExecutor, JobKind } from '../schema/enums';
import type { EnvReader } from './index';

/** Where and how batch jobs run (issue 18); null in Config when BATCH is none. */
export interface BatchSettings {
  system: JobExecutor.SLURM | JobExecutor.HTCONDOR;
  /** Job kinds that go to the batch system by default (only RECONSTRUCT can today). */
  kinds: readonly JobKind[];
  /** slurmrestd: http(s)://host:port or unix:/path/to.sock; unset: sbatch/squeue/scancel. */
  slurmRestUrl: string | undefined;
  /** The Slurm user the jobs run as, and its JWT (scontrol token) for slurmrestd over TCP. */
  slurmUser: string;
  slurmToken: string | undefined;
  partition: string | undefined;
  timeLimitMinutes: number;
  cpus: number;
  memoryMb: number;
  /** A directory the batch nodes can write: their output files. */
  workDir: string;
  /** The gateway's URL as the batch nodes reach it. */
  gatewayUrl: string | undefined;
  /** What runs `batch-run` on a node (program and leading arguments, space separated). */
  command: string[];
  /**
   * How long a job-scoped token stays valid beyond the time limit: the batch job may wait that
   * long in the queue of a busy cluster before it starts.
   */
  tokenTtlHours: number;
  /** Jobs (runs) one batch job reconstructs one after the other. */
  runsPerJob: number;
  /** How often the batch system is asked about the jobs it holds. */
  pollMs: number;
  /** A job the batch system no longer knows is called vanished only this long after submission. */
  vanishGraceMs: number;
}

const BATCH_CAPABLE: readonly JobKind[] = [JobKind.RECONSTRUCT];

/** BATCH and its companions; records problems instead of throwing. */
export function readBatch(reader: EnvReader, problems: string[]): BatchSettings | null {
  const system = reader.oneOf('BATCH', 'none', ['none', 'slurm', 'htcondor']);
  if (system === 'none') return null;
  const kinds = reader
    .string('BATCH_KINDS', JobKind.RECONSTRUCT)
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  for (const kind of kinds)
    if (!(BATCH_CAPABLE as string[]).includes(kind))
      problems.push(
        `BATCH_KINDS: ${kind} cannot run on a batch system (only ${BATCH_CAPABLE.join(', ')})`,
      );
  const slurmRestUrl = reader.optionalString('BATCH_SLURM_REST_URL');
  if (slurmRestUrl && !/^(https?:\/\/|unix:\/)/.test(slurmRestUrl))
    problems.push('BATCH_SLURM_REST_URL: expected http(s)://host:port or unix:/path/to.sock');
  return {
    system: system === 'slurm' ? JobExecutor.SLURM : JobExecutor.HTCONDOR,
    kinds: kinds as JobKind[],
    slurmRestUrl,
    slurmUser: reader.string('BATCH_SLURM_USER', os.userInfo().username),
    slurmToken: reader.optionalString('BATCH_SLURM_TOKEN'),
    partition: reader.optionalString('BATCH_PARTITION'),
    timeLimitMinutes: reader.int('BATCH_TIME_LIMIT_MINUTES', 60, { min: 1 }),
    cpus: reader.int('BATCH_CPUS', 2, { min: 1, max: 256 }),
    memoryMb: reader.int('BATCH_MEMORY_MB', 4096, { min: 64 }),
    workDir: reader.string('BATCH_WORKDIR', path.join(os.tmpdir(), 'cygno-batch')),
    gatewayUrl: reader.optionalUrl('BATCH_GATEWAY_URL', ['http:', 'https:']),
    command: reader.string('BATCH_COMMAND', defaultCommand()).split(' ').filter(Boolean),
    // Four 20-image runs per batch job pay Slurm's scheduling and the node's start-up (about
    // 1.5 s) once: 3% overhead against the local workers instead of 70% (bench:campaign).
    tokenTtlHours: reader.int('BATCH_TOKEN_TTL_HOURS', 72, { min: 1, max: 24 * 90 }),
    runsPerJob: reader.int('BATCH_RUNS_PER_JOB', 4, { min: 1, max: 100 }),
    pollMs: reader.int('BATCH_POLL_MS', 2_000, { min: 50 }),
    vanishGraceMs: reader.int('BATCH_VANISH_GRACE_MS', 30_000, { min: 0 }),
  };
}

/**
 * This checkout's `node bin/cygno-gateway.js` (found above src/config, compiled or not), or the
 * `cygno-gateway` on the PATH of an installed copy.
 */
function defaultCommand(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const bin = path.join(dir, 'bin', 'cygno-gateway.js');
    if (fs.existsSync(bin)) return `${process.execPath} ${bin}`;
  }
  return 'cygno-gateway';
}
