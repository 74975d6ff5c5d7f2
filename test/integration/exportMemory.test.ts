import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { RecordBatchReader } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCursors } from '../../src/export/rowCursor';
import { seedClusters } from '../support/clusterRows';
import { gatewayProcessEnv, startTestGateway, type TestGateway } from '../support/gateway';
import { waitFor } from '../support/wait';

// A million clusters through the export: memory stays flat (rows go out batch by batch as the
// cursor yields them), and a client that hangs up releases the cursor. The memory is that of a
// gateway process of its own (`serve`, its heap capped), read from the kernel's peak RSS.

const CLI = path.join(__dirname, '..', '..', 'bin', 'cygno-gateway.js');
const ROWS = 1_000_000;
const HEAP_MB = 96;
let gw: TestGateway;
let child: ChildProcess | undefined;
let childUrl = '';

beforeAll(async () => {
  gw = await startTestGateway({ env: { WORKERS: '0' } });
  await seedClusters(gw.server.runtime.db, { runs: 50, eventsPerRun: 1000, clustersPerEvent: 20 });
  let output = '';
  child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, CLI, 'serve'], {
    env: {
      ...gatewayProcessEnv(gw),
      WORKERS: '0',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await waitFor(
    () => /"url":"(http[^"]+)"/.test(output) || child!.exitCode !== null,
    'the gateway process listening',
    30_000,
  );
  const url = /"url":"(http[^"]+)"/.exec(output)?.[1];
  if (!url) throw new Error(`the gateway process did not start:\n${output}`);
  childUrl = url;
}, 300_000);
afterAll(async () => {
  child?.kill('SIGTERM');
  await gw?.close();
});

function open(
  base: string,
  path: string,
): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, (res) => resolve({ req, res }));
    req.on('error', reject);
  });
}

/** Reads an Arrow export batch by batch, as a notebook would, keeping nothing. */
async function readExport(path: string): Promise<{ rows: number; bytes: number }> {
  const { res } = await open(childUrl, path);
  expect(res.statusCode).toBe(200);
  let bytes = 0;
  const counted = res.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    }),
  );
  let rows = 0;
  for await (const batch of await RecordBatchReader.from(counted)) rows += batch.numRows;
  return { rows, bytes };
}

/** The process's peak resident set so far (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('a million-row export', () => {
  it('streams a million rows through a gateway whose heap could not hold them', async () => {
    const before = peakRssMb(child!.pid!);
    const whole = await readExport('/export/clusters.arrow');
    expect(whole.rows).toBe(ROWS);
    const afterWhole = peakRssMb(child!.pid!);
    // The export is ~130 MB of Arrow, and several times that as the rows the database driver
    // hands out; the gateway's heap is capped at HEAP_MB and each export thread's at 32 MB, so
    // an export held in memory would not finish. Streamed, each thread holds a batch or two.
    expect(whole.bytes / 2 ** 20).toBeGreaterThan(120);
    expect(afterWhole - before).toBeLessThan(250);
    expect(child!.exitCode).toBeNull();
  }, 120_000);

  it('releases the cursor (and on MariaDB ends the query) when the client hangs up', async () => {
    expect(openCursors.count).toBe(0);
    const { req, res } = await open(gw.url, '/export/clusters.csv');
    expect(res.statusCode).toBe(200);
    await new Promise((resolve) => res.once('data', resolve));
    expect(openCursors.count).toBe(1);
    req.destroy();
    await waitFor(() => openCursors.count === 0, 'the export cursor released', 10_000);
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(
      /^cygno_export_requests_total\{kind="clusters",format="csv",outcome="abandoned"\} 1$/m,
    );
    if (gw.server.runtime.db.dialect === 'mariadb') {
      const running = async () =>
        (
          (await gw.server.runtime.db.manager.query(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE '%FROM `clusters`%' AND ID <> CONNECTION_ID()",
          )) as unknown[]
        ).length;
      await waitFor(async () => (await running()) === 0, 'the export query ended', 10_000);
    }
    // The gateway goes on serving exports, with the export threads the abandoned one had: three
    // at once (the first takes the threads, the others read in the gateway's own), each whole.
    const exports = await Promise.all(
      [1, 2, 3].map(async () => {
        const { res: again } = await open(gw.url, '/export/clusters.csv?columns=id');
        let lines = 0;
        for await (const chunk of again)
          lines += (chunk as Buffer).toString().split('\n').length - 1;
        return lines;
      }),
    );
    expect(exports).toEqual([ROWS + 1, ROWS + 1, ROWS + 1]);
    expect(openCursors.count).toBe(0);
  }, 60_000);

  it('fails an export whose thread dies, instead of leaving the client waiting, and goes on', async () => {
    // The pool's threads (private: this is a fault only a test provokes). Both must be idle, so
    // that this export takes them (a thread still closing the last test's export would leave
    // it one, or none, and the thread killed below might not be this export's).
    const pool = (
      gw.server.runtime.services.exports as unknown as {
        threads: { all: Set<Worker>; idle: Worker[] };
      }
    ).threads;
    await waitFor(() => pool.idle.length === 2, 'both export threads idle', 15_000);
    const { req, res } = await open(gw.url, '/export/clusters.csv?columns=id,integral');
    expect(res.statusCode).toBe(200);
    const cut = new Promise<string>((resolve) => {
      res.on('error', (error) => resolve(error.message));
      res.on('aborted', () => resolve('aborted'));
      res.on('end', () => resolve('ended'));
    });
    await new Promise((resolve) => res.once('data', resolve));
    // The client stops reading: the gateway waits on its socket, the threads stop two batches
    // ahead with most runs still to read — then one of them dies.
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const busy = [...pool.all].filter((worker) => !pool.idle.includes(worker));
    expect(busy).toHaveLength(2);
    await busy[0].terminate();
    res.resume();
    expect(await cut).not.toBe('ended');
    req.destroy();
    await waitFor(() => openCursors.count === 0, 'the export closed', 15_000);
    const { res: again } = await open(gw.url, '/export/clusters.csv?columns=id');
    let lines = 0;
    for await (const chunk of again) lines += (chunk as Buffer).toString().split('\n').length - 1;
    expect(lines).toBe(ROWS + 1);
  }, 60_000);
});
