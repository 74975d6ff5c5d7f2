import 'reflect-metadata';
import os from 'node:os';
import { startBaseline } from './support/baselineServer';
import { runPairBench } from './support/pairBench';
import { seedRuns } from './support/seed';

// npm run bench:api — the notebook query over HTTP against 10,000 runs on SQLite, served by the
// gateway and, in the same run, by a minimal node:http + graphql-js baseline with hand-batched
// SQL on the same driver. Short measurements alternate gateway/baseline so that drift of the
// shared machine hits both alike.

const QUERY = `query Notebook { runs(first: 100) { nodes { runNumber startedAt files { name sizeBytes cloudState } qualityFlags { subsystem status } } } }`;
const RUNS = 10_000;

runPairBench({
  file: __filename,
  name: 'api',
  body: JSON.stringify({ query: QUERY }),
  target: 0.5,
  defaultConcurrency: 8,
  seed: (dbFile) => seedRuns(dbFile, RUNS),
  startBaseline,
  describe: ({ concurrency, seconds, rounds }) =>
    `bench:api — ${RUNS} runs on SQLite, ${concurrency} connections, ${seconds} s per measurement, ${rounds} rounds, ${os.cpus().length} cores`,
});
