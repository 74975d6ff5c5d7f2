import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topic } from '../../src/pubsub';
import { encodeDataEvent, TID } from '../../src/reco/midas';
import {
  cameraConditions,
  cameraImage,
  Random,
  writeSimulatedRun,
} from '../../src/reco/simulation';
import { startTestGateway, type Subscription, type TestGateway } from '../support/gateway';
import { takeSimulatedRun } from '../support/simulatedRuns';
import { waitFor } from '../support/wait';

// The live reconstruction of open runs (issue 19), on the real gateway: the test plays MIDAS'
// logger, appending a run's gzip bytes to the DAQ buffer in pieces cut anywhere, while the
// gateway follows the file between startRun and closeRun.

const SIDE = 256;
const DAQ = 'daq-token-for-tests';
const READER = 'reader-token-for-tests-x';
const LIVE_ENV = {
  API_TOKENS: `daq:${DAQ},reader:${READER},shifter:shifter-token-for-tests`,
  LIVE_RECO: 'true',
  LIVE_RECO_THREADS: '1',
  LIVE_POLL_MS: '100',
  LIVE_UPDATE_MS: '100',
  LIVE_LEASE_MS: '1500',
  LOG_LEVEL: process.env.LIVE_LOG ?? 'silent',
};
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-live-'));

interface LiveEvent {
  id: string;
  runNumber: number;
  serial: number;
  fileOffset: number;
  clusterCount: number;
  clusters: Array<{ integral: number; xMean: number; yMean: number }>;
  preview: { url: string; width: number; height: number; rebin: number } | null;
}

const LIVE_QUERY = `subscription($n: Int) { eventReconstructed(runNumber: $n) {
  id runNumber serial fileOffset clusterCount clusters { integral xMean yMean }
  preview { url width height rebin } } }`;
const RUN_QUERY = `query($n: Int!) { run(runNumber: $n) {
  state recoStatus liveImages liveSkipped liveMetrics liveError jobs { kind state lastError result }
} }`;
const EVENTS_QUERY = `query($n: Int!) { events(runNumber: $n, first: 100) { nodes {
  serial fileOffset clusterCount imageIntegral imageMean imageRms spark
  clusters { integral xMean yMean energy length width nhits size rms theta
    longitudinalRms transverseRms xMin xMax yMin yMax } } } }`;

const runName = (runNumber: number, subrun?: number) =>
  `run${String(runNumber).padStart(5, '0')}${subrun === undefined ? '' : `_${String(subrun).padStart(3, '0')}`}.mid.gz`;

/** A whole simulated gzip run, written outside the buffer: its bytes, for appending. */
async function simulatedBytes(runNumber: number, events: number, seed = runNumber) {
  const file = path.join(scratch, `${runNumber}-${seed}-${events}.mid.gz`);
  await writeSimulatedRun(file, {
    runNumber,
    events,
    side: SIDE,
    pedestal: false,
    gzip: true,
    seed,
    rateHz: 2,
    startTime: 1_795_600_000 + runNumber * 1000,
  });
  return fs.readFileSync(file);
}

/** The DAQ's logger: appends `bytes` to the buffer file in pieces cut at odd places. */
function append(gw: TestGateway, name: string, bytes: Buffer): void {
  fs.appendFileSync(path.join(gw.bufferDir, name), bytes);
}

async function startRun(gw: TestGateway, runNumber: number): Promise<void> {
  const started = await gw.gql(
    `mutation($input: StartRunInput!) { startRun(input: $input) { id } }`,
    { input: { runNumber, description: 'S003:DATA:live' } },
    DAQ,
  );
  expect(started.errors).toBeUndefined();
}

async function closeRun(gw: TestGateway, runNumber: number, files: string[]): Promise<void> {
  const closed = await gw.gql(
    `mutation($input: CloseRunInput!) { closeRun(input: $input) { id } }`,
    { input: { runNumber, files: files.map((name) => ({ path: name })) } },
    DAQ,
  );
  expect(closed.errors).toBeUndefined();
}

async function run(gw: TestGateway, runNumber: number) {
  const response = await gw.gql(RUN_QUERY, { n: runNumber }, READER);
  expect(response.errors).toBeUndefined();
  return response.data.run;
}

/** Waits until the live reconstruction has taken `images` camera images (reconstructed or not). */
function liveTaken(gw: TestGateway, runNumber: number, images: number) {
  return waitFor(
    async () => {
      const r = await run(gw, runNumber);
      return r.liveImages + r.liveSkipped >= images ? r : null;
    },
    `run ${runNumber}: ${images} images taken live`,
    30_000,
  );
}

function liveDone(gw: TestGateway, runNumber: number) {
  return waitFor(
    async () => {
      const follow = await gw.server.runtime.db.manager.query(
        'SELECT done FROM live_follows WHERE runId = (SELECT id FROM runs WHERE runNumber = ?)',
        [runNumber],
      );
      return follow[0] && Boolean(Number(follow[0].done)) ? run(gw, runNumber) : null;
    },
    `run ${runNumber}: live reconstruction finished`,
    30_000,
  );
}

async function openAlarms(gw: TestGateway) {
  const response = await gw.gql(
    `{ alarms(first: 50) { nodes { name message state } } }`,
    {},
    'shifter-token-for-tests',
  );
  expect(response.errors).toBeUndefined();
  return response.data.alarms.nodes as Array<{ name: string; message: string; state: string }>;
}

/**
 * The run's events and clusters as they are now (RECONSTRUCT having taken live results), and
 * its reduced file, equal those of a reconstruction from scratch (forced, with the live results
 * gone), event by event.
 */
async function expectSameAsFromScratch(runNumber: number, before: unknown[]): Promise<void> {
  const reducedMd5 = async () =>
    (
      await gw.gql(
        `query($n: Int!) { run(runNumber: $n) { files { kind md5 } } }`,
        { n: runNumber },
        READER,
      )
    ).data.run.files.find((f: { kind: string }) => f.kind === 'REDUCED')?.md5;
  const liveReduced = await reducedMd5();
  expect(liveReduced).toMatch(/^[0-9a-f]{32}$/);
  const forced = await gw.gql(
    `mutation($n: Int!) { reconstructRun(runNumber: $n, force: true) { id } }`,
    { n: runNumber },
    'shifter-token-for-tests',
  );
  expect(forced.errors).toBeUndefined();
  await waitFor(
    async () => {
      const r = await run(gw, runNumber);
      const job = r.jobs.find((j: { kind: string }) => j.kind === 'RECONSTRUCT');
      return r.recoStatus === 'DONE' && job.result?.liveReused === 0 ? r : null;
    },
    `RECONSTRUCT of run ${runNumber} from scratch`,
    60_000,
  );
  const scratch = await gw.gql(EVENTS_QUERY, { n: runNumber }, READER);
  expect(scratch.data.events.nodes).toEqual(before);
  expect(await reducedMd5()).toBe(liveReduced); // the regions of interest too, byte for byte
}

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ env: LIVE_ENV });
  await takeSimulatedRun(gw, 1, { events: 4, pedestal: true, side: SIDE, daqToken: DAQ });
  await waitFor(
    async () => ((await run(gw, 1)).recoStatus === 'DONE' ? true : null),
    'the pedestal map',
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await gw?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('live reconstruction of an open run', () => {
  let live: Subscription<LiveEvent>;
  afterAll(() => live?.close());

  it('sends each image clusters while the run is open, the same RECONSTRUCT finds after closeRun', async () => {
    live = await gw.subscribe<LiveEvent>(LIVE_QUERY, { n: 2 }, Topic.EventReconstructed, READER);
    const bytes = await simulatedBytes(2, 8);
    await startRun(gw, 2);
    const name = runName(2);
    const cut = Math.floor(bytes.length * 0.45) + 7; // mid-block, mid-event
    append(gw, name, bytes.subarray(0, cut));
    const first = await live.next(20_000);
    expect(first.runNumber).toBe(2);
    expect(Number(first.id)).toBeLessThan(0); // provisional: not indexed yet
    // The console's camera panel: the first image's preview travels with it, as a PNG.
    expect(first.preview).toMatchObject({ width: SIDE / 8, height: SIDE / 8, rebin: 8 });
    const png = Buffer.from(first.preview!.url.replace(/^data:image\/png;base64,/, ''), 'base64');
    expect(png.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    expect((await run(gw, 2)).state).toBe('RUNNING');
    append(gw, name, bytes.subarray(cut));
    await liveTaken(gw, 2, 8);
    const open = await run(gw, 2);
    expect(open.state).toBe('RUNNING');
    expect(open.liveMetrics.images).toBe(open.liveImages);
    await closeRun(gw, 2, [name]);
    await waitFor(
      async () => {
        const r = await run(gw, 2);
        return r.recoStatus === 'DONE' ? r : null;
      },
      'RECONSTRUCT of run 2',
      60_000,
    );
    const final = await liveDone(gw, 2);
    expect(final.liveError).toBeNull();
    expect(final.liveImages + final.liveSkipped).toBe(8);
    // Every image sent live has the clusters RECONSTRUCT stored for its event.
    const events = await gw.gql(EVENTS_QUERY, { n: 2 }, READER);
    expect(events.errors).toBeUndefined();
    const stored = new Map<number, unknown>(
      events.data.events.nodes.map((e: { fileOffset: number; clusters: unknown }) => [
        e.fileOffset,
        e.clusters,
      ]),
    );
    // RECONSTRUCT announces its events too, with their ids; the live ones have provisional ids.
    const sentLive = live.received.filter((event) => Number(event.id) < 0);
    expect(sentLive.length).toBe(final.liveImages);
    for (const event of sentLive) {
      const clusters = stored.get(event.fileOffset) as LiveEvent['clusters'];
      expect(clusters).toHaveLength(event.clusters.length);
      // MariaDB gives doubles back to 16 digits: the last one may differ.
      event.clusters.forEach((cluster, k) => {
        expect(clusters[k].integral).toBe(cluster.integral);
        expect(clusters[k].xMean).toBeCloseTo(cluster.xMean, 9);
        expect(clusters[k].yMean).toBeCloseTo(cluster.yMean, 9);
      });
    }
    expect(sentLive.some((event) => event.clusterCount > 0)).toBe(true);

    // RECONSTRUCT took the live results instead of making them again (item 3 of issue 19)…
    const reco = (await run(gw, 2)).jobs.find((j: { kind: string }) => j.kind === 'RECONSTRUCT');
    expect(reco.result.liveReused).toBe(final.liveImages);
    await expectSameAsFromScratch(2, events.data.events.nodes);
  }, 120_000);

  it('with every image made live, RECONSTRUCT reads no file and finds what a reconstruction from scratch finds', async () => {
    const bytes = await simulatedBytes(13, 5);
    await startRun(gw, 13);
    for (let k = 1; k <= 10; k++) {
      append(
        gw,
        runName(13),
        bytes.subarray(((k - 1) * bytes.length) / 10, (k * bytes.length) / 10),
      );
      await new Promise((resolve) => setTimeout(resolve, 250)); // slowly: nothing is skipped
    }
    await liveTaken(gw, 13, 5);
    await closeRun(gw, 13, [runName(13)]);
    const done = await waitFor(
      async () => {
        const r = await run(gw, 13);
        return r.recoStatus === 'DONE' ? r : null;
      },
      'RECONSTRUCT of run 13',
      60_000,
    );
    expect(done.liveSkipped).toBe(0);
    const reco = done.jobs.find((j: { kind: string }) => j.kind === 'RECONSTRUCT');
    expect(reco.result.liveReused).toBe(5);
    const events = await gw.gql(EVENTS_QUERY, { n: 13 }, READER);
    expect(
      events.data.events.nodes.filter(
        (e: { clusterCount: number | null }) => e.clusterCount !== null,
      ),
    ).toHaveLength(5);
    await expectSameAsFromScratch(13, events.data.events.nodes);
  }, 120_000);

  it('skips and counts what comes faster than its thread, and is done at closeRun', async () => {
    const bytes = await simulatedBytes(3, 40);
    await startRun(gw, 3);
    append(gw, runName(3), bytes); // 40 images at once
    await closeRun(gw, 3, [runName(3)]);
    const done = await liveDone(gw, 3);
    expect(done.liveImages + done.liveSkipped).toBe(40);
    expect(done.liveSkipped).toBeGreaterThan(0);
    expect(done.liveImages).toBeGreaterThan(0);
    expect(done.liveError).toBeNull();
  }, 60_000);

  it('follows subruns in order, waiting for each', async () => {
    const first = await simulatedBytes(4, 3, 41);
    const second = await simulatedBytes(4, 5, 42);
    await startRun(gw, 4);
    append(gw, runName(4, 0), first);
    await liveTaken(gw, 4, 3);
    append(gw, runName(4, 1), second.subarray(0, 1000));
    await new Promise((resolve) => setTimeout(resolve, 300));
    append(gw, runName(4, 1), second.subarray(1000));
    await closeRun(gw, 4, [runName(4, 0), runName(4, 1)]);
    const done = await liveDone(gw, 4);
    expect(done.liveImages + done.liveSkipped).toBe(8);
    expect(done.liveError).toBeNull();
  }, 60_000);

  it('goes on where it stopped after a restart, without repeating an event', async () => {
    const subscription = await gw.subscribe<LiveEvent>(
      LIVE_QUERY,
      { n: 5 },
      Topic.EventReconstructed,
      READER,
    );
    try {
      const bytes = await simulatedBytes(5, 12);
      await startRun(gw, 5);
      const cut = Math.floor(bytes.length / 2);
      append(gw, runName(5), bytes.subarray(0, cut));
      const before = await liveTaken(gw, 5, 3);
      await gw.server.runtime.stopLive();
      append(gw, runName(5), bytes.subarray(cut));
      await gw.server.runtime.startLive();
      await closeRun(gw, 5, [runName(5)]);
      const done = await liveDone(gw, 5);
      expect(done.liveImages + done.liveSkipped).toBe(12);
      expect(done.liveImages).toBeGreaterThanOrEqual(before.liveImages);
      const offsets = subscription.received
        .filter((event) => Number(event.id) < 0)
        .map((event) => event.fileOffset);
      expect(new Set(offsets).size).toBe(offsets.length);
    } finally {
      subscription.close();
    }
  }, 60_000);
});

describe('bad input to the live reconstruction', () => {
  it('flags a file shortened under it, raises an alarm, and goes on with other runs', async () => {
    const bytes = await simulatedBytes(6, 10);
    await startRun(gw, 6);
    append(gw, runName(6), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await liveTaken(gw, 6, 2);
    fs.truncateSync(path.join(gw.bufferDir, runName(6)), 1000);
    const flagged = await waitFor(
      async () => {
        const r = await run(gw, 6);
        return r.liveError ? r : null;
      },
      'the live error of run 6',
      20_000,
    );
    expect(flagged.liveError).toMatch(/shortened from \d+ to 1000 bytes/);
    expect(await openAlarms(gw)).toContainEqual(
      expect.objectContaining({
        name: 'Live reconstruction stopped',
        message: expect.stringContaining('run 6:'),
      }),
    );
    // The gateway still follows other runs.
    const other = await simulatedBytes(7, 2);
    await startRun(gw, 7);
    append(gw, runName(7), other);
    await closeRun(gw, 7, [runName(7)]);
    expect((await liveDone(gw, 7)).liveImages + (await run(gw, 7)).liveSkipped).toBe(2);
  }, 60_000);

  it('flags garbage after the end of the compressed stream', async () => {
    const bytes = await simulatedBytes(8, 2);
    await startRun(gw, 8);
    append(
      gw,
      runName(8),
      Buffer.concat([bytes, Buffer.from('not gzip at all, the DAQ went wild')]),
    );
    await closeRun(gw, 8, [runName(8)]);
    const done = await liveDone(gw, 8);
    expect(done.liveError).toMatch(/gzip/);
    expect(await openAlarms(gw)).toContainEqual(
      expect.objectContaining({ message: expect.stringContaining('run 8:') }),
    );
  }, 60_000);

  it('flags a file cut mid-event by a DAQ crash once the run is closed', async () => {
    const bytes = await simulatedBytes(9, 3);
    await startRun(gw, 9);
    const plain = zlib.gunzipSync(bytes);
    append(gw, runName(9), zlib.gzipSync(plain.subarray(0, plain.length - 5000)));
    await closeRun(gw, 9, [runName(9)]);
    const done = await liveDone(gw, 9);
    expect(done.liveError).toMatch(/truncated/);
  }, 60_000);

  it('counts an image of the wrong size as bad, goes on, and raises the DQ band alarm mid-run', async () => {
    const conditions = cameraConditions(new Random(5), SIDE);
    const random = new Random(6);
    const image = () => cameraImage(random, conditions, { spots: 2, tracks: 0 }).image;
    const events = [image(), new Uint16Array(100 * 100), image()].map((data, serial) =>
      encodeDataEvent({ eventId: 1, triggerMask: 1, serial, time: 1_795_610_000 + serial }, [
        { name: 'CAM0', type: TID.UINT16, data },
      ]),
    );
    await startRun(gw, 10);
    append(gw, runName(10), zlib.gzipSync(Buffer.concat(events)));
    // badImageFraction > 0 is out of the default DQ bands: the shift hears of it now.
    const alarm = await waitFor(
      async () =>
        (await openAlarms(gw)).find(
          (a) => a.name === 'DQ badImageFraction out of band' && a.message.includes('run 10:'),
        ) ?? null,
      'the live DQ alarm of run 10',
      20_000,
    );
    expect(alarm.message).toMatch(/live, mid-run/);
    expect((await run(gw, 10)).state).toBe('RUNNING');
    await closeRun(gw, 10, [runName(10)]);
    const done = await liveDone(gw, 10);
    expect(done.liveError).toBeNull();
    expect(done.liveMetrics.badImages).toBe(1);
    expect(done.liveImages + done.liveSkipped).toBe(2);
  }, 60_000);

  it('says when closeRun declares a file it never saw', async () => {
    await startRun(gw, 11);
    const bytes = await simulatedBytes(11, 1);
    fs.writeFileSync(path.join(gw.bufferDir, 'camera_11.mid.gz'), bytes); // not a logger name
    await closeRun(gw, 11, ['camera_11.mid.gz']);
    const done = await liveDone(gw, 11);
    expect(done.liveError).toMatch(/closeRun declared camera_11\.mid\.gz, which the live/);
  }, 60_000);
});

describe('the live reconstruction on two gateways', () => {
  it('follows a run on one of them only: the database holds the lease', async () => {
    const second = await startTestGateway({
      // One deployment: the same database, buffer and object store.
      env: { ...LIVE_ENV, OBJECT_STORE_URL: gw.config.objectStoreUrl },
      database: gw.database,
      bufferDir: gw.bufferDir,
    });
    const gateways = [gw, second];
    const subscriptions = await Promise.all(
      gateways.map((g) =>
        g.subscribe<LiveEvent>(LIVE_QUERY, { n: 12 }, Topic.EventReconstructed, READER),
      ),
    );
    try {
      const bytes = await simulatedBytes(12, 6);
      await startRun(gw, 12);
      // Slowly, so that every image is reconstructed, by whichever gateway follows.
      for (let k = 1; k <= 6; k++) {
        append(
          gw,
          runName(12),
          bytes.subarray(((k - 1) * bytes.length) / 6, (k * bytes.length) / 6),
        );
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      await closeRun(gw, 12, [runName(12)]);
      const done = await liveDone(gw, 12);
      expect(done.liveImages + done.liveSkipped).toBe(6);
      const offsets = subscriptions.map((sub) =>
        sub.received.filter((event) => Number(event.id) < 0).map((event) => event.fileOffset),
      );
      for (const seen of offsets) expect(new Set(seen).size).toBe(seen.length); // never twice
      if (!process.env.REDIS_URL) {
        // In-process events: each subscriber hears its own gateway only; one of them followed.
        expect(offsets.filter((seen) => seen.length > 0)).toHaveLength(1);
        expect(offsets.flat()).toHaveLength(done.liveImages);
      }
    } finally {
      for (const sub of subscriptions) sub.close();
      await second.close();
    }
  }, 60_000);
});

describe('a pedestal map that appears mid-run', () => {
  it('skips the images before it and reconstructs those after it', async () => {
    const fresh = await startTestGateway({ env: LIVE_ENV });
    try {
      const bytes = await simulatedBytes(31, 6);
      await startRun(fresh, 31);
      const cut = Math.floor(bytes.length / 2);
      append(fresh, runName(31), bytes.subarray(0, cut));
      const before = await liveTaken(fresh, 31, 2);
      expect(before.liveImages).toBe(0); // no pedestal run before run 31 yet
      await takeSimulatedRun(fresh, 30, { events: 4, pedestal: true, side: SIDE, daqToken: DAQ });
      await waitFor(
        async () => ((await run(fresh, 30)).recoStatus === 'DONE' ? true : null),
        'the pedestal map of run 30',
        30_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 5_500)); // the follower looks again
      append(fresh, runName(31), bytes.subarray(cut));
      await closeRun(fresh, 31, [runName(31)]);
      const done = await liveDone(fresh, 31);
      expect(done.liveImages + done.liveSkipped).toBe(6);
      expect(done.liveSkipped).toBeGreaterThanOrEqual(before.liveSkipped);
      expect(done.liveImages).toBeGreaterThan(0);
      expect(done.liveError).toBeNull();
    } finally {
      await fresh.close();
    }
  }, 90_000);
});
