import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config';
import { createDataSource } from '../src/db/dataSource';
import { GatewayServer } from '../src/server';
import { measurePairs } from './support/pairs';
import { seedRuns } from './support/seed';

// npm run bench:dqtrend — Grafana's DQ-trend panel: 500 runs with their DQ metrics of the newest
// reconstruction version, over HTTP, against 2,000 runs (each reconstructed at two versions, six
// metrics each) on SQLite. The gateway is measured against, in the same run, a floor: node:http
// answering the same JSON from two hand-written SQL statements on the same driver, no GraphQL.
// Before the DataLoader for Run.dqMetrics this page cost two SELECTs per run (about a thousand).

const QUERY = `query DqTrend { runs(first: 500) { nodes { runNumber dqMetrics { name value } } } }`;
const RUNS = 2_000;
const METRICS = [
  'clusters',
  'images',
  'pedestalMean',
  'pedestalNoise',
  'sparkFraction',
  'fe55PeakAdc',
];

function seedMetrics(dbFile: string): void {
  const db = new Database(dbFile);
  const insert = db.prepare(
    'INSERT INTO dq_metrics (runId, name, value, recoVersion, createdAt) VALUES (?, ?, ?, ?, ?)',
  );
  db.transaction(() => {
    for (let run = 1; run <= RUNS; run++)
      for (const version of [1, 2])
        METRICS.forEach((name, i) =>
          insert.run(run, name, run * 10 + i + version / 10, version, '2026-01-01 00:00:00.000'),
        );
  })();
  db.close();
}

/** The floor: the page and its metrics in two statements, the JSON the gateway answers. */
function startFloor(dbFile: string): Promise<http.Server> {
  const db = new Database(dbFile, { readonly: true });
  const page = db.prepare('SELECT id, runNumber FROM runs ORDER BY runNumber DESC LIMIT 500');
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const runs = page.all() as Array<{ id: number; runNumber: number }>;
      const ids = runs.map((r) => r.id);
      const rows = db
        .prepare(
          `SELECT m.runId, m.name, m.value FROM dq_metrics m WHERE m.runId IN (${ids.map(() => '?').join(',')})
           AND m.recoVersion = (SELECT MAX(n.recoVersion) FROM dq_metrics n WHERE n.runId = m.runId)
           ORDER BY m.runId, m.name`,
        )
        .all(...ids) as Array<{ runId: number; name: string; value: number }>;
      const byRun = new Map<number, Array<{ name: string; value: number }>>(
        ids.map((id) => [id, []]),
      );
      for (const row of rows) byRun.get(row.runId)!.push({ name: row.name, value: row.value });
      const nodes = runs.map((r) => ({ runNumber: r.runNumber, dqMetrics: byRun.get(r.id) }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { runs: { nodes } } }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function serve(mode: string, dbFile: string): Promise<void> {
  if (mode === 'baseline') {
    const server = await startFloor(dbFile);
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
  const child = fork(__filename, ['--serve', mode, dbFile], {
    env: { ...process.env, LOG_LEVEL: 'silent', NODE_ENV: 'production' },
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) =>
      resolve({ child, url: `http://127.0.0.1:${m.port}/graphql` }),
    );
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bench-dq-'));
  const dbFile = path.join(dir, 'bench.sqlite');
  const ds = createDataSource(`sqlite:${dbFile}`);
  await ds.initialize();
  await ds.runMigrations();
  await ds.destroy();
  seedRuns(dbFile, RUNS);
  seedMetrics(dbFile);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
  const seconds = Number(process.env.BENCH_SECONDS ?? 1.5);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
  console.log(
    `bench:dqtrend — ${RUNS} runs × 2 versions × ${METRICS.length} DQ metrics on SQLite, page of 500, ${concurrency} connections, ${rounds} rounds`,
  );
  const body = JSON.stringify({ query: QUERY });
  const gateway = await spawnServer('gateway', dbFile);
  const baseline = await spawnServer('baseline', dbFile);
  try {
    const answer = async (url: string) =>
      JSON.stringify(
        await (
          await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          })
        ).json(),
      );
    if ((await answer(gateway.url)) !== (await answer(baseline.url)))
      throw new Error('gateway and floor answer differently');
    await measurePairs({ gateway: gateway.url, baseline: baseline.url }, body, {
      rounds,
      seconds,
      concurrency,
      target: 0.25,
    });
  } finally {
    gateway.child.kill('SIGINT');
    baseline.child.kill('SIGINT');
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

if (process.argv[2] === '--serve') {
  process.on('SIGINT', () => process.exit(0));
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
