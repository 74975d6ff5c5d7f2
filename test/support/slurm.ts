import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { debianBinary } from './debianBinary';
import { freePort } from './ports';
import { waitFor } from './wait';

/**
 * A real single-node Slurm cluster for the tests (Debian's Slurm 22.05): munged, slurmctld,
 * slurmd and slurmrestd (JWT over TCP) as child processes, every file in one temp directory,
 * no cgroups, no slurmdbd. Recipe and traps: shared/recipes/slurm-single-node.md.
 */
export interface SlurmCluster {
  dir: string;
  /** slurmrestd over TCP, for JWT: http://127.0.0.1:PORT */
  restUrl: string;
  /** A root JWT for slurmrestd. */
  token: string;
  /** The environment the CLI tools need (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm command (squeue, scancel, scontrol…) against this cluster; its stdout. */
  run(command: string, args: string[]): string;
  /** Every job the controller holds: id, name, state, reason, raw exit status. */
  jobs(): SlurmJob[];
  /**
   * Stops and starts slurmctld on the same state directory (the jobs survive), or with
   * `forget` from a cleared state (`slurmctld -c`: every job is lost, as in a controller
   * whose state directory is gone).
   */
  restartController(options?: { forget?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export interface SlurmJob {
  id: string;
  name: string;
  state: string;
  reason: string;
  exitCode: number;
}

const PACKAGES = 'slurmctld slurmd slurm-client munge slurmrestd slurm-wlm-jwt-plugin';

export async function startSlurm(options: { cpus?: number } = {}): Promise<SlurmCluster> {
  const binaries = Object.fromEntries(
    ['munged', 'mungekey', 'slurmctld', 'slurmd', 'slurmrestd', 'sbatch', 'scontrol'].map((b) => [
      b,
      debianBinary(b, PACKAGES),
    ]),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-slurm-'));
  fs.chmodSync(dir, 0o755); // munged wants o+x on every ancestor of its socket
  for (const sub of ['munge', 'etc', 'state', 'spool', 'log', 'rest', 'jobs'])
    fs.mkdirSync(path.join(dir, sub), { mode: 0o755 });
  fs.chmodSync(path.join(dir, 'jobs'), 0o777);
  const socket = path.join(dir, 'munge', 'munge.socket.2');
  const key = path.join(dir, 'munge', 'munge.key');
  spawnSync(binaries.mungekey, ['-c', '-k', key], { stdio: 'ignore' });
  fs.chmodSync(key, 0o600);
  const jwtKey = path.join(dir, 'etc', 'jwt_hs256.key');
  fs.writeFileSync(jwtKey, randomBytes(32), { mode: 0o600 });
  const [ctldPort, slurmdPort, restPort] = [await freePort(), await freePort(), await freePort()];
  const realMemory =
    /RealMemory=(\d+)/.exec(spawnSync(binaries.slurmd, ['-C']).stdout.toString())?.[1] ?? '1024';
  const conf = path.join(dir, 'etc', 'slurm.conf');
  fs.writeFileSync(
    conf,
    [
      'ClusterName=cygnotest',
      'SlurmctldHost=localhost(127.0.0.1)',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      'AuthAltTypes=auth/jwt',
      `AuthAltParameters=jwt_key=${jwtKey}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/state/slurmctld.pid`,
      `SlurmdPidFile=${dir}/spool/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      'MailProg=/bin/true',
      'ProctrackType=proctrack/pgid',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/filetxt',
      `JobCompLoc=${dir}/log/jobcomp.txt`,
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'SchedulerType=sched/backfill',
      'SchedulerParameters=batch_sched_delay=0',
      'SlurmdParameters=config_overrides',
      'MpiDefault=none',
      'ReturnToService=2',
      'MinJobAge=3600',
      'KillWait=5',
      'InactiveLimit=0',
      `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${options.cpus ?? 2} RealMemory=${realMemory} State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf };
  delete env.SLURM_JWT;
  const children: ChildProcess[] = [];
  const daemon = (program: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const log = fs.openSync(
      path.join(dir, 'log', `${path.basename(program)}.${children.length}.out`),
      'a',
    );
    const child = spawn(program, args, {
      env: { ...env, ...extraEnv },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    children.push(child);
    return child;
  };
  daemon(binaries.munged, [
    '-F',
    `--socket=${socket}`,
    `--key-file=${key}`,
    `--pid-file=${dir}/munge/munged.pid`,
    `--seed-file=${dir}/munge/munged.seed`,
    `--log-file=${dir}/log/munged.log`,
  ]);
  await waitFor(() => fs.existsSync(socket), 'munged to start', 10_000);
  let slurmctld = daemon(binaries.slurmctld, ['-D', '-f', conf]);
  daemon(binaries.slurmd, ['-D', '-N', 'localhost', '-f', conf]);
  const run = (command: string, args: string[]): string => {
    const result = spawnSync(command, args, { env, encoding: 'utf8', timeout: 20_000 });
    if (result.status !== 0)
      throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error?.message}`);
    return result.stdout;
  };
  const jobs = (): SlurmJob[] => {
    const parsed = JSON.parse(run('squeue', ['--json'])) as {
      jobs: Array<Record<string, unknown>>;
    };
    return parsed.jobs.map((job) => ({
      id: String(job.job_id),
      name: String(job.name),
      state: String(job.job_state),
      reason: String(job.state_reason),
      exitCode: Number(job.exit_code),
    }));
  };
  // Ready when a probe job has completed: munge credential → slurmd → slurmstepd all work.
  const probe = run(binaries.sbatch, [
    '--parsable',
    '--wrap',
    'true',
    `--output=${dir}/jobs/probe-%j.out`,
  ]).trim();
  await waitFor(
    () => jobs().some((job) => job.id === probe && job.state === 'COMPLETED'),
    'the probe job to complete on the new Slurm cluster',
    30_000,
    100,
  );
  fs.chownSync(path.join(dir, 'rest'), uid('slurm'), gid('slurm'));
  fs.chownSync(jwtKey, 0, 0);
  daemon(
    binaries.slurmrestd,
    [
      '-f',
      conf,
      '-u',
      'slurm',
      '-g',
      'slurm',
      '-s',
      'openapi/v0.0.38',
      '-a',
      'rest_auth/jwt',
      `127.0.0.1:${restPort}`,
    ],
    {
      SLURM_JWT: 'daemon',
    },
  );
  const token = /SLURM_JWT=(\S+)/.exec(
    run(binaries.scontrol, ['token', 'username=root', 'lifespan=86400']),
  )![1];
  const restUrl = `http://127.0.0.1:${restPort}`;
  await waitFor(
    async () =>
      fetch(`${restUrl}/slurm/v0.0.38/ping`, {
        headers: { 'X-SLURM-USER-NAME': 'root', 'X-SLURM-USER-TOKEN': token },
      })
        .then((res) => res.ok)
        .catch(() => false),
    'slurmrestd to answer',
    15_000,
    100,
  );
  return {
    dir,
    restUrl,
    token,
    env,
    run,
    jobs,
    async restartController({ forget = false } = {}) {
      await stop(slurmctld);
      slurmctld = daemon(binaries.slurmctld, ['-D', '-f', conf, ...(forget ? ['-c'] : [])]);
      await waitFor(
        () => /UP/.test(run('scontrol', ['ping'])),
        'slurmctld to come back',
        20_000,
        200,
      );
    },
    async close() {
      try {
        const ids = jobs()
          .filter((job) => ['PENDING', 'RUNNING'].includes(job.state))
          .map((job) => job.id);
        if (ids.length) run('scancel', ids);
        await waitFor(
          () => !fs.readdirSync(path.join(dir, 'spool')).some((f) => /_\d+\.\d+$/.test(f)),
          'the job steps to end',
          15_000,
          200,
        ).catch(() => undefined);
      } catch {
        // the controller is already gone: the daemons are stopped anyway
      }
      for (const child of [...children].reverse()) await stop(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function uid(user: string): number {
  return Number(spawnSync('id', ['-u', user]).stdout.toString().trim());
}

function gid(user: string): number {
  return Number(spawnSync('id', ['-g', user]).stdout.toString().trim());
}
