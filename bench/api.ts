import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { createDataSource } from '../src/db/dataSource';
import { GatewayServer } from '../src/server';
import { startBaseline } from './support/baselineServer';
import { measurePairs } from './support/pairs';
import { seedRuns } from './support/seed';

// npm run bench:api — the notebook query over HTTP against 10,000 runs on SQLite, served by the
// gateway and, in the same run, by a minimal node:http + graphql-js baseline with hand-batched
// SQL on the same driver. Each server runs in its own process; this process generates the load.
// Short measurements alternate gateway/baseline so that drift of the shared machine hits both alike.

const QUERY = `query Notebook { runs(first: 100) { nodes { runNumber startedAt files { name sizeBytes cloudState } qualityFlags { subsystem status } } } }`;
const RUNS = 10_000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

async function serve(mode: string, dbFile: string): Promise<void> {
  if (mode === 'baseline') {
    const server = await startBaseline(dbFile);
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

function spawnServer(mode: string, dbFile: string): Promise<{ child: ChildProcess; url: string }> {
  // BENCH_PROFILE=dir writes a CPU profile of each gateway process there.
  const profile =
    process.env.BENCH_PROFILE && mode === 'gateway'
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
      : [];
  const child = fork(__filename, ['--serve', mode, dbFile], {
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

async function post(url: string): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY }),
  });
  return res.json();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bench-api-'));
  const dbFile = path.join(dir, 'bench.sqlite');
  const ds = createDataSource(`sqlite:${dbFile}`);
  await ds.initialize();
  await ds.runMigrations();
  await ds.destroy();
  seedRuns(dbFile, RUNS);
  console.log(
    `bench:api — ${RUNS} runs on SQLite, ${CONCURRENCY} connections, ${SECONDS} s per measurement, ${ROUNDS} rounds, ${os.cpus().length} cores`,
  );

  const body = JSON.stringify({ query: QUERY });
  const gateway = await spawnServer('gateway', dbFile);
  const baseline = await spawnServer('baseline', dbFile);
  try {
    // Both servers must return the very same data for the comparison to hold.
    if (JSON.stringify(await post(gateway.url)) !== JSON.stringify(await post(baseline.url))) {
      throw new Error('gateway and baseline answer differently');
    }
    await measurePairs({ gateway: gateway.url, baseline: baseline.url }, body, {
      rounds: ROUNDS,
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      target: 0.5,
    });
  } finally {
    gateway.child.kill('SIGINT');
    baseline.child.kill('SIGINT');
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

if (process.argv[2] === '--serve') {
  process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
  serve(process.argv[3], process.argv[4]).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
