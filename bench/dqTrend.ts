import 'reflect-metadata';
import http from 'node:http';
import Database from 'better-sqlite3';
import { runPairBench } from './support/pairBench';
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

runPairBench({
  file: __filename,
  name: 'dqtrend',
  body: JSON.stringify({ query: QUERY }),
  target: 0.25,
  defaultConcurrency: 4,
  seed: (dbFile) => {
    seedRuns(dbFile, RUNS);
    seedMetrics(dbFile);
  },
  startBaseline: startFloor,
  describe: ({ concurrency, rounds }) =>
    `bench:dqtrend — ${RUNS} runs × 2 versions × ${METRICS.length} DQ metrics on SQLite, page of 500, ${concurrency} connections, ${rounds} rounds`,
});
