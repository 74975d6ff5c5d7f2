import 'reflect-metadata';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { loadConfig } from '../src/config';
import { DataFile } from '../src/entities/DataFile';
import { Run } from '../src/entities/Run';
import { ClusterTable } from '../src/reco/clusterTable';
import { CLUSTER_FEATURE_NAMES } from '../src/reco/image/features';
import { FileKind, ReplicaState } from '../src/schema/enums';
import { GatewayServer } from '../src/server';
import { seedClusters } from '../test/support/clusterRows';
import { createTestDatabase } from '../test/support/database';

// npm run bench:export — a notebook pulling a million clusters into a pandas DataFrame, on SQLite
// and (when MARIADB_URL is set) on MariaDB: through the Arrow export, against reading the same
// rows from the per-run Arrow files the reconstruction writes (the baseline, measured in the same
// run), and through GraphQL pages. Python is Debian's, with the client's numpy Arrow reader
// unless pyarrow is installed.

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const CLIENT = path.join(__dirname, '..', '..', 'clients', 'python');
const SCRIPT = path.join(__dirname, '..', '..', 'bench', 'support', 'export_client.py');
const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const EVENTS_PER_RUN = 1000;
const CLUSTERS_PER_EVENT = 20;
const GRAPHQL_ROWS = 100_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TYPICAL = 'runNumber,serial,integral,size,length,width,xMean,yMean';

interface Measured {
  rows: number;
  columns: number;
  seconds: number;
  reader: string;
}

function python(mode: string, url: string, columns = '', limit?: number): Promise<Measured> {
  const args = [SCRIPT, mode, url, '', columns, ...(limit ? [String(limit)] : [])];
  return new Promise((resolve, reject) =>
    execFile(
      PYTHON,
      args,
      { env: { PATH: process.env.PATH, PYTHONPATH: CLIENT }, maxBuffer: 1 << 20 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    ),
  );
}

/** What the reconstruction writes per run: its clusters as an Arrow file, in the object store. */
async function writeRecoFiles(server: GatewayServer): Promise<void> {
  const { db, store } = server.runtime;
  for (const run of await db.manager.find(Run, { order: { runNumber: 'ASC' } })) {
    const rows: Array<Record<string, number>> = await db.manager.query(
      `SELECT c.*, e.serial AS serial FROM clusters c JOIN events e ON e.id = c.eventId WHERE c.runId = ? ORDER BY c.id`,
      [run.id],
    );
    const table = new ClusterTable();
    for (const row of rows) {
      const features = Object.fromEntries(CLUSTER_FEATURE_NAMES.map((f) => [f, Number(row[f])]));
      table.add({ run: run.runNumber, event: Number(row.serial) }, [features as never]);
    }
    const bytes = Buffer.from(table.toArrowFile());
    const key = `bench/reco/run${run.runNumber}_v1_clusters.arrow`;
    await store.put(key, Readable.from([bytes]), bytes.length);
    await db.write((m) =>
      m.insert(DataFile, {
        runId: run.id,
        name: path.basename(key),
        kind: FileKind.RECO,
        cloudState: ReplicaState.AVAILABLE,
        objectKey: key,
        sizeBytes: bytes.length,
        md5: createHash('md5').update(bytes).digest('hex'),
      }),
    );
  }
}

const rate = (m: Measured) => m.rows / m.seconds;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function benchBackend(label: string, databaseUrl: string | undefined): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bench-export-'));
  const database = databaseUrl ? await createTestDatabase() : undefined;
  const server = await GatewayServer.start(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database?.url ?? `sqlite:${path.join(dir, 'bench.sqlite')}`,
      OBJECT_STORE_URL: `file:${path.join(dir, 'objects')}`,
      TAPE_URL: 'none',
      DAQ_BUFFER_DIR: path.join(dir, 'buffer'),
      WORKERS: '0',
      LOG_LEVEL: 'warn',
      ALARM_EVAL_MS: '0',
      PIPELINE_GAUGE_MS: '0',
    }),
  );
  try {
    const seedStart = Date.now();
    await seedClusters(server.runtime.db, {
      runs: RUNS,
      eventsPerRun: EVENTS_PER_RUN,
      clustersPerEvent: CLUSTERS_PER_EVENT,
    });
    await writeRecoFiles(server);
    const total = RUNS * EVENTS_PER_RUN * CLUSTERS_PER_EVENT;
    console.log(
      `\n${label}: ${total.toLocaleString('en')} clusters in ${RUNS} runs (seeded in ${((Date.now() - seedStart) / 1000).toFixed(0)} s)`,
    );
    if (databaseUrl) {
      const [{ pool }] = await server.runtime.db.manager.query(
        'SELECT @@innodb_buffer_pool_size AS pool',
      );
      const [{ bytes }] = await server.runtime.db.manager.query(
        `SELECT SUM(data_length + index_length) AS bytes FROM information_schema.TABLES WHERE table_schema = DATABASE() AND table_name IN ('clusters', 'events')`,
      );
      const mb = (n: unknown) => `${Math.round(Number(n) / 2 ** 20)} MB`;
      console.log(
        `innodb_buffer_pool_size ${mb(pool)}, clusters and events ${mb(bytes)}${Number(pool) < Number(bytes) ? ' — they do not fit: the figures below measure InnoDB reading pages, not the export' : ''}`,
      );
    }
    const url = server.url;
    const samples: Record<string, Measured[]> = { all: [], typical: [], files: [] };
    // Alternating, so that drift of the shared machine hits every path alike.
    for (let round = 0; round < ROUNDS; round++) {
      samples.files.push(await python('files', url));
      samples.all.push(await python('export', url));
      samples.typical.push(await python('export', url, TYPICAL));
    }
    const graphql = await python('graphql', url, '', GRAPHQL_ROWS);
    const files = median(samples.files.map(rate));
    console.log(
      `path (Python DataFrame, ${samples.all[0].reader} reader)     rows   cols   rows/s (median of ${ROUNDS})   vs per-run files`,
    );
    const line = (name: string, m: Measured, r: number) =>
      console.log(
        `${name.padEnd(42)} ${String(m.rows).padStart(8)} ${String(m.columns).padStart(5)}   ${Math.round(r).toLocaleString('en').padStart(12)}            ${(r / files).toFixed(2)}×`,
      );
    line('per-run Arrow files (baseline)', samples.files[0], files);
    line('export, all columns', samples.all[0], median(samples.all.map(rate)));
    line('export, 8 columns', samples.typical[0], median(samples.typical.map(rate)));
    line(`GraphQL pages (first ${GRAPHQL_ROWS.toLocaleString('en')})`, graphql, rate(graphql));
    for (const [name, list] of [
      ['all columns', samples.all],
      ['8 columns', samples.typical],
    ] as const) {
      const r = median(list.map(rate));
      console.log(
        `targets, ${name}: ≥ 1,000,000 rows/s ${r >= 1e6 ? 'met' : 'NOT met'}; ≥ 0.5× the per-run files ${r / files >= 0.5 ? 'met' : 'NOT met'}`,
      );
    }
  } finally {
    await server.close();
    await database?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`bench:export — ${os.cpus().length} cores, Python ${PYTHON}`);
  await benchBackend('SQLite', undefined);
  if (process.env.MARIADB_URL) await benchBackend('MariaDB', process.env.MARIADB_URL);
  else
    console.log(
      '\nMariaDB: not run (set MARIADB_URL to a server where the user may create databases)',
    );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
