import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { loadConfig } from '../src/config';
import { Job } from '../src/entities/Job';
import { Run } from '../src/entities/Run';
import { Topic } from '../src/pubsub';
import { indexMidasEvents } from '../src/reco/midas';
import { writeSimulatedRun } from '../src/reco/simulation';
import { GatewayServer } from '../src/server';

// npm run bench:live — issue 19: the live reconstruction of an open run. The DAQ's logger is
// played by appending a gzip run to the buffer one camera event at a time, at 1 image/s and at
// 2 images/s (each event's compressed bytes are made beforehand, with a sync flush after each
// event as a logger does for a reader that follows it, so that the writing costs no CPU here:
// on CYGNO the DAQ is another machine). Measured: from an event's bytes reaching the file to
// its eventReconstructed (as a subscriber of the gateway's pub/sub hears it), p50 and p99; the
// fraction of images the live path skipped; and the time from closeRun to recoStatus DONE
// (INGEST, then RECONSTRUCT taking the live results) against the same run reconstructed from
// scratch (reconstructRun force, once the live results are gone) in the same process.

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20);
const SIDE = Number(process.env.BENCH_SIDE ?? 2304);
const RATES = [1, 2];

const quantile = (xs: number[], q: number) =>
  xs.length === 0
    ? NaN
    : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bench-live-'));
  const buffer = path.join(dir, 'buffer');
  fs.mkdirSync(buffer);
  const server = await GatewayServer.start(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${path.join(dir, 'gateway.sqlite')}`,
      OBJECT_STORE_URL: `file:${path.join(dir, 'objects')}`,
      TAPE_URL: `file:${path.join(dir, 'tape')}`,
      DAQ_BUFFER_DIR: buffer,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      JOB_POLL_MS: '100',
      ALARM_EVAL_MS: '0',
      PIPELINE_GAUGE_MS: '0',
      LIVE_RECO: 'true',
    }),
  );
  const { runs, reco } = server.runtime.services;
  const bench = { name: 'bench', roles: [] };
  const db = server.runtime.db;
  // closeRun leaves recoStatus NONE, a forced reconstruction QUEUED, until the job is done.
  const waitDone = async (runNumber: number) => {
    for (;;) {
      const run = await db.manager.findOneBy(Run, { runNumber });
      if (run?.recoStatus === 'DONE') return run;
      if (run?.recoStatus === 'FAILED') throw new Error(`run ${runNumber}: reconstruction failed`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    console.log(
      `bench:live — ${EVENTS} images of ${SIDE}² per run, gzip, ${os.cpus().length} cores, LIVE_RECO_THREADS=${server.runtime.config.live.threads}`,
    );
    // A pedestal run first: the live path reconstructs against the newest map before the run.
    const pedestalName = 'run00001.mid.gz';
    const pedestal = await writeSimulatedRun(path.join(buffer, pedestalName), {
      runNumber: 1,
      events: 4,
      side: SIDE,
      pedestal: true,
      gzip: true,
    });
    await runs.start({ runNumber: 1, description: 'S001:PED:pedestal', pedestal: true }, bench);
    await runs.close({ runNumber: 1, files: [{ path: pedestalName, md5: pedestal.md5 }] }, bench);
    await waitDone(1);

    const received = new Map<string, number>();
    await server.runtime.pubsub.listen(Topic.EventReconstructed, (payload) => {
      const event = payload as { id: number; runNumber: number; fileOffset: number };
      if (event.id < 0) received.set(`${event.runNumber}:${event.fileOffset}`, Date.now());
    });

    const rows: string[] = [];
    for (const [k, rate] of RATES.entries()) {
      const runNumber = 2 + k;
      const { chunks, offsets } = await loggerChunks(dir, runNumber);
      const name = `run${String(runNumber).padStart(5, '0')}.mid.gz`;
      const file = path.join(buffer, name);
      const written = new Map<string, number>();
      await runs.start({ runNumber, description: 'S003:DATA:bench live' }, bench);
      const t0 = Date.now();
      for (let e = 0; e < chunks.length; e++) {
        const due = t0 + (e * 1000) / rate;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
        fs.appendFileSync(file, chunks[e]);
        if (offsets[e] !== undefined) written.set(`${runNumber}:${offsets[e]}`, Date.now());
      }
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // the last image's reconstruction
      const closedAt = Date.now();
      await runs.close({ runNumber, files: [{ path: name }] }, bench);
      const closed = await waitDone(runNumber);
      const jobs = await db.manager.find(Job, { where: { runId: closed.id } });
      const seconds = (kind: string) => {
        const job = jobs.find((j) => j.kind === kind)!;
        return (job.finishedAt!.getTime() - job.startedAt!.getTime()) / 1000;
      };
      const ingest = seconds('INGEST');
      const reconstructLive = seconds('RECONSTRUCT');
      const liveReused = jobs.find((j) => j.kind === 'RECONSTRUCT')!.result!.liveReused as number;
      const closeToDone = (Date.now() - closedAt) / 1000;
      const latencies: number[] = [];
      for (const [key, at] of written) {
        const got = received.get(key);
        if (got !== undefined) latencies.push((got - at) / 1000);
      }
      const scratchAt = Date.now();
      await reco.request(runNumber, true);
      await waitDone(runNumber);
      const fromScratch = (Date.now() - scratchAt) / 1000;
      // Without the live reconstruction, closeRun → DONE is INGEST and then all of RECONSTRUCT.
      const withoutLive = ingest + fromScratch;
      const total = closed.liveImages + closed.liveSkipped;
      rows.push(
        `${rate} Hz   ${String(closed.liveImages).padStart(4)}/${total}   ${String(liveReused).padStart(6)}   ${(closed.liveSkipped / Math.max(1, total)).toFixed(2).padStart(7)}   ${quantile(latencies, 0.5).toFixed(2).padStart(6)}   ${quantile(latencies, 0.99).toFixed(2).padStart(6)}   ${closeToDone.toFixed(2).padStart(12)}   ${ingest.toFixed(2).padStart(6)} + ${reconstructLive.toFixed(2).padStart(5)}   ${fromScratch.toFixed(2).padStart(12)}   ${(reconstructLive / fromScratch).toFixed(2).padStart(5)}×   ${(closeToDone / withoutLive).toFixed(2).padStart(5)}×`,
      );
    }
    console.log(
      'rate   live/images   reused   skipped   p50 s    p99 s    closeRun→DONE s   INGEST + RECONSTRUCT s   RECONSTRUCT from scratch s   RECONSTRUCT ratio   closeRun→DONE vs without live',
    );
    for (const row of rows) console.log(row);
    console.log(
      'targets: p99 < 2 s at 1 Hz with nothing skipped; closeRun→DONE ≤ 0.2× from scratch',
    );
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A run as the logger writes it: the gzip bytes that reach the file after each event (sync
 * flush), and the uncompressed offset of each camera event (undefined for BOR, EOR, slow
 * control).
 */
async function loggerChunks(dir: string, runNumber: number) {
  const plainFile = path.join(dir, `plain${runNumber}.mid`);
  await writeSimulatedRun(plainFile, {
    runNumber,
    events: EVENTS,
    side: SIDE,
    pedestal: false,
    gzip: false,
    rateHz: 1,
    slowControlEvery: EVENTS + 1,
  });
  const plain = fs.readFileSync(plainFile);
  fs.rmSync(plainFile);
  const events: Array<{ offset: number; size: number; camera: boolean }> = [];
  for await (const event of indexMidasEvents(Readable.from([plain]))) {
    events.push({
      offset: event.offset,
      size: 16 + event.dataSize,
      camera: event.banks.some((bank) => bank.name === 'CAM0'),
    });
  }
  const gzip = zlib.createGzip({ level: 6 });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const chunks: Buffer[] = [];
  const offsets: Array<number | undefined> = [];
  for (const [i, event] of events.entries()) {
    gzip.write(plain.subarray(event.offset, event.offset + event.size));
    if (i === events.length - 1) {
      gzip.end();
      await new Promise((resolve) => gzip.on('end', resolve));
    } else {
      await new Promise<void>((resolve) => gzip.flush(() => resolve()));
    }
    // The BOR goes with the first camera event, as it would reach the disk just before it.
    if (i === 0) continue;
    chunks.push(Buffer.concat(out.splice(0)));
    offsets.push(event.camera ? event.offset : undefined);
  }
  return { chunks, offsets };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
