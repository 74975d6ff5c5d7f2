import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createDataSource } from '../../src/db/dataSource';
import { GatewayServer } from '../../src/server';
import { measurePairs } from './pairs';

/** A benchmark of one GraphQL request: the gateway against a baseline, on one SQLite file. */
export interface PairBench {
  /** The benchmark's own file (`__filename`): servers run as forks of it. */
  file: string;
  name: string;
  /** The request both servers answer, checked equal before measuring. */
  body: string;
  /** Ratio gateway/baseline the gateway should reach. */
  target: number;
  defaultConcurrency: number;
  /** Fills the migrated database. */
  seed(dbFile: string): void;
  /** The baseline server, in its own process, on the same file. */
  startBaseline(dbFile: string): Promise<http.Server>;
  /** The line printed before measuring. */
  describe(options: { concurrency: number; seconds: number; rounds: number }): string;
}

async function serve(bench: PairBench, mode: string, dbFile: string): Promise<void> {
  if (mode === 'baseline') {
    const server = await bench.startBaseline(dbFile);
    process.send!({ port: (server.address() as { port: number }).port });
    return;
  }
  const dir = path.dirname(dbFile);
  const server = await GatewayServer.start(
    loadConfig({
      PORT: '0',
      DATABASE_URL: `sqlite:${dbFile}`,
      OBJECT_STORE_URL: `file:${path.join(dir, 'objects')}`,
      DAQ_BUFFER_DIR: dir,
      WORKERS: '0',
      LOG_LEVEL: 'silent',
    }),
  );
  process.send!({ port: server.port });
}

function spawnServer(
  bench: PairBench,
  mode: string,
  dbFile: string,
): Promise<{ child: ChildProcess; url: string }> {
  // BENCH_PROFILE=dir writes a CPU profile of each gateway process there.
  const profile =
    process.env.BENCH_PROFILE && mode === 'gateway'
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
      : [];
  const child = fork(bench.file, ['--serve', mode, dbFile], {
    // Both servers run as in production (graphql-js skips its development-mode checks).
    env: { ...process.env, LOG_LEVEL: 'silent', NODE_ENV: 'production' },
    execArgv: profile,
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) =>
      resolve({ child, url: `http://127.0.0.1:${m.port}/graphql` }),
    );
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

async function answer(url: string, body: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return JSON.stringify(await res.json());
}

async function main(bench: PairBench): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cygno-bench-${bench.name}-`));
  const dbFile = path.join(dir, 'bench.sqlite');
  const ds = createDataSource(`sqlite:${dbFile}`);
  await ds.initialize();
  await ds.runMigrations();
  await ds.destroy();
  bench.seed(dbFile);
  const options = {
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? bench.defaultConcurrency),
    seconds: Number(process.env.BENCH_SECONDS ?? 1.5),
    rounds: Number(process.env.BENCH_ROUNDS ?? 15),
  };
  console.log(bench.describe(options));
  const gateway = await spawnServer(bench, 'gateway', dbFile);
  const baseline = await spawnServer(bench, 'baseline', dbFile);
  try {
    // Both servers must return the very same data for the comparison to hold.
    if ((await answer(gateway.url, bench.body)) !== (await answer(baseline.url, bench.body)))
      throw new Error('gateway and baseline answer differently');
    await measurePairs({ gateway: gateway.url, baseline: baseline.url }, bench.body, {
      ...options,
      target: bench.target,
    });
  } finally {
    gateway.child.kill('SIGINT');
    baseline.child.kill('SIGINT');
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs the benchmark: as the measuring process, or (`--serve MODE FILE`) as one of its servers.
 * Each server runs in its own process; the measuring process generates the load.
 */
export function runPairBench(bench: PairBench): void {
  if (process.argv[2] === '--serve') {
    process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
    serve(bench, process.argv[3], process.argv[4]).catch((error) => {
      console.error(error);
      process.exit(1);
    });
    return;
  }
  main(bench).then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
