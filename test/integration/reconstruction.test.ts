import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterTable } from '../../src/reco/clusterTable';
import type { RunTruth } from '../../src/reco/simulation';
import { Topic } from '../../src/pubsub';
import { startTestGateway, type Subscription, type TestGateway } from '../support/gateway';
import { takeSimulatedRun } from '../support/simulatedRuns';

interface LiveEvent {
  runNumber: number;
  serial: number;
  clusterCount: number;
  spark: boolean;
  clusters: Array<{ integral: number; xMean: number; yMean: number }>;
}
import { waitFor } from '../support/wait';

// The reconstruction stage end to end on the real gateway: simulated runs go through INGEST,
// PEDESTAL and RECONSTRUCT (worker threads included), and what comes out is checked against
// the simulator's ground truth.
const SIDE = 512;
let gw: TestGateway;
const SHIFTER = 'shifter-token-for-tests';
const READER = 'reader-token-for-tests-x';

beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      API_TOKENS: `shifter:${SHIFTER},daq:daq-token-for-tests,reader:reader-token-for-tests-x`,
    },
  });
});
afterAll(async () => {
  await gw?.close();
});

function takeRun(
  runNumber: number,
  spec: { events: number; pedestal: boolean; side?: number },
): Promise<RunTruth> {
  return takeSimulatedRun(gw, runNumber, {
    ...spec,
    side: spec.side ?? SIDE,
    daqToken: 'daq-token-for-tests',
  });
}

const RUN = `query($n: Int!) { run(runNumber: $n) {
  recoStatus quality
  jobs { kind state lastError result }
  files { name kind cloudState objectKey sizeBytes }
  dqMetrics { name value }
  qualityFlags { subsystem status source comment }
  qualityHistory { subsystem status source setBy comment cause }
} }`;

async function runWhenDone(runNumber: number, kind: string) {
  return waitFor(
    async () => {
      const run = (await gw.gql(RUN, { n: runNumber }, READER)).data.run;
      const job = run?.jobs.find((j: { kind: string }) => j.kind === kind);
      if (job?.state === 'FAILED')
        throw new Error(`${kind} of run ${runNumber} failed: ${job.lastError}`);
      return job?.state === 'SUCCEEDED' && run.recoStatus === 'DONE' ? run : null;
    },
    `${kind} of run ${runNumber}`,
    60_000,
  );
}

const metric = (run: { dqMetrics: Array<{ name: string; value: number }> }, name: string) =>
  run.dqMetrics.find((m) => m.name === name)?.value;

describe('reconstruction pipeline', () => {
  let truth: RunTruth;
  let live: Subscription<LiveEvent>;

  beforeAll(async () => {
    live = await gw.subscribe<LiveEvent>(
      `subscription { eventReconstructed(runNumber: 2) { runNumber serial clusterCount spark clusters { integral xMean yMean } } }`,
      {},
      Topic.EventReconstructed,
      READER,
    );
    // Both at once: the data run has to wait for the pedestal map of the run before it.
    const [, data] = await Promise.all([
      takeRun(1, { events: 6, pedestal: true }),
      takeRun(2, { events: 8, pedestal: false }),
    ]);
    truth = data;
  }, 60_000);
  afterAll(() => live?.close());

  it('turns a pedestal run into a stored pedestal map with its DQ numbers', async () => {
    const run = await runWhenDone(1, 'PEDESTAL');
    expect(run.files).toContainEqual(
      expect.objectContaining({
        kind: 'PEDESTAL_MAP',
        cloudState: 'AVAILABLE',
        objectKey: 'LNGS/pedestals/run00001_pedmap.bin',
        sizeBytes: 24 + 8 * SIDE * SIDE,
      }),
    );
    expect(metric(run, 'pedestalImages')).toBe(6);
    expect(Math.abs(metric(run, 'pedestalMean')! - 99)).toBeLessThan(2.5); // 99 ADC, tilted ±2
    expect(metric(run, 'pedestalNoise')).toBeGreaterThan(2);
    expect(metric(run, 'pedestalNoise')).toBeLessThan(2.6);
    expect(run.qualityFlags).toEqual([
      expect.objectContaining({ subsystem: 'camera', status: 'GOOD', source: 'AUTO' }),
    ]);
    expect(run.quality).toBe('GOOD');
  });

  it('reconstructs a data run: clusters matching the truth, summaries, DQ, an Arrow file', async () => {
    const run = await runWhenDone(2, 'RECONSTRUCT');
    const injected = truth.events.flatMap((e) => e.injected);
    const clusters = (
      await gw.gql(
        `{ clusters(filter: { runNumberFrom: 2, runNumberTo: 2 }, first: 500) { totalCount nodes { integral xMean yMean energy } } }`,
        {},
        READER,
      )
    ).data.clusters;
    const near = injected.filter((t) =>
      clusters.nodes.some(
        (c: { xMean: number; yMean: number }) => Math.hypot(c.xMean - t.x, c.yMean - t.y) <= 3,
      ),
    );
    expect(near.length / injected.length).toBeGreaterThanOrEqual(0.85); // overlaps lose a few
    expect(clusters.totalCount).toBeLessThanOrEqual(injected.length + 2);
    // Run types match whatever their case, as they do for runs(filter: { runTypes }).
    const ofType = async (runTypes: string[]) =>
      (
        await gw.gql(
          `query($t: [String!]) { clusters(filter: { runNumberFrom: 2, runNumberTo: 2, runTypes: $t }) { totalCount } }`,
          { t: runTypes },
          READER,
        )
      ).data.clusters.totalCount;
    expect(await ofType(['data'])).toBe(clusters.totalCount);
    expect(await ofType(['Data'])).toBe(clusters.totalCount);
    expect(await ofType(['cal'])).toBe(0);

    expect(metric(run, 'images')).toBe(8);
    expect(metric(run, 'clusters')).toBe(clusters.totalCount);
    expect(metric(run, 'pedestalRun')).toBe(1);
    expect(metric(run, 'sparkFraction')).toBe(0);
    expect(metric(run, 'badImageFraction')).toBe(0);
    // A source run: the ⁵⁵Fe line (injected at 10,000 ADC, 12% σ) is found among the clusters.
    expect(Math.abs(metric(run, 'fe55PeakAdc')! - 10_000)).toBeLessThan(800);
    expect(metric(run, 'lightYieldAdcPerKeV')).toBeCloseTo(metric(run, 'fe55PeakAdc')! / 5.9, 6);

    const events = (
      await gw.gql(
        `{ events(runNumber: 2, filter: { bankName: "CAM0" }, first: 20) { nodes { serial clusterCount imageIntegral imageRms spark clusters { integral } } } }`,
        {},
        READER,
      )
    ).data.events.nodes;
    expect(events).toHaveLength(8);
    for (const event of events) {
      expect(event.clusterCount).toBe(event.clusters.length);
      expect(event.imageRms).toBeGreaterThan(2);
      expect(event.spark).toBe(false);
    }

    const arrowFile = run.files.find((f: { kind: string }) => f.kind === 'RECO');
    expect(arrowFile).toMatchObject({
      name: 'run00002_v1_clusters.arrow',
      cloudState: 'AVAILABLE',
    });
    const chunks: Buffer[] = [];
    for await (const chunk of await gw.server.runtime.store.get(arrowFile.objectKey))
      chunks.push(chunk as Buffer);
    const table = readClusterTable(Buffer.concat(chunks));
    expect(table.integral).toHaveLength(clusters.totalCount);
    expect(new Set(table.run)).toEqual(new Set([2]));
    expect(Object.keys(table)).toEqual(
      expect.arrayContaining(['event', 'integral', 'length', 'width', 'theta', 'energy']),
    );
  });

  it('leaves a PNG preview of a camera image for the console', async () => {
    const { latestPreview } = (
      await gw.gql(
        `{ run(runNumber: 2) { latestPreview { eventId width height rebin url } } }`,
        {},
        READER,
      )
    ).data.run;
    // The side is the simulated camera's over the rebin.
    expect(latestPreview).toMatchObject({ rebin: 8, width: SIDE / 8, height: SIDE / 8 });
    const png = Buffer.from(await (await fetch(latestPreview.url)).arrayBuffer());
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(SIDE / 8); // IHDR width
    // At most one preview per PREVIEW_EVERY_MS (5 s): this quick run has one, of its first image.
    const events = (
      await gw.gql(
        `{ events(runNumber: 2, filter: { bankName: "CAM0" }, first: 3) { nodes { id preview { eventId } } } }`,
        {},
        READER,
      )
    ).data.events.nodes;
    expect(events[0].preview).toEqual({ eventId: Number(events[0].id) });
    expect(events[1].preview).toBeNull();
  });

  it('streams every event to the live display as it is reconstructed', async () => {
    await waitFor(async () => live.received.length >= 8, 'eight live events', 20_000);
    const received = live.received;
    expect(received.map((e) => e.serial)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const event of received) {
      expect(event.runNumber).toBe(2);
      expect(event.clusters).toHaveLength(event.clusterCount);
    }
  });

  it('re-runs a reconstruction only when forced, replacing its results', async () => {
    const before = (
      await gw.gql(`{ clusters(filter: { runNumberFrom: 2 }) { totalCount } }`, {}, READER)
    ).data.clusters.totalCount;
    const again = await gw.gql(
      `mutation { reconstructRun(runNumber: 2) { kind state version } }`,
      {},
      SHIFTER,
    );
    expect(again.data.reconstructRun).toEqual({
      kind: 'RECONSTRUCT',
      state: 'SUCCEEDED',
      version: 1,
    });
    const forced = await gw.gql(
      `mutation { reconstructRun(runNumber: 2, force: true) { state } }`,
      {},
      SHIFTER,
    );
    expect(forced.data.reconstructRun.state).toBe('QUEUED');
    await waitFor(
      async () => {
        const run = (await gw.gql(RUN, { n: 2 }, READER)).data.run;
        return (
          run.recoStatus === 'DONE' &&
          run.jobs.every((j: { state: string }) => j.state === 'SUCCEEDED')
        );
      },
      'the forced re-run',
      60_000,
    );
    const after = (
      await gw.gql(`{ clusters(filter: { runNumberFrom: 2 }) { totalCount } }`, {}, READER)
    ).data.clusters.totalCount;
    expect(after).toBe(before);
  });

  it('keeps every quality change, lets the shifter sign off, and filters on quality', async () => {
    const set = await gw.gql(
      `mutation($input: QualityFlagInput!) { setQualityFlag(input: $input) { subsystem status source setBy } }`,
      {
        input: {
          runNumber: 2,
          subsystem: 'camera',
          status: 'BAD',
          comment: 'light leak in the top-left corner',
          cause: 'light-leak',
        },
      },
      SHIFTER,
    );
    expect(set.errors).toBeUndefined();
    expect(set.data.setQualityFlag).toMatchObject({ status: 'BAD', source: 'SHIFTER' });
    const run = (await gw.gql(RUN, { n: 2 }, READER)).data.run;
    expect(run.quality).toBe('BAD');
    expect(
      run.qualityHistory
        .filter((f: { subsystem: string }) => f.subsystem === 'camera')
        .map((f: { status: string; source: string }) => `${f.source}:${f.status}`),
    ).toEqual(['AUTO:GOOD', 'AUTO:GOOD', 'SHIFTER:BAD']); // two reconstructions, one shifter
    expect(run.qualityHistory.at(-1)).toMatchObject({
      comment: 'light leak in the top-left corner',
      cause: 'light-leak',
    });

    const good = await gw.gql(
      `{ clusters(filter: { onlyGoodRuns: true }) { totalCount } runs(filter: { quality: [BAD] }) { nodes { runNumber } } }`,
      {},
      READER,
    );
    expect(good.data.clusters.totalCount).toBe(0);
    expect(good.data.runs.nodes).toEqual([{ runNumber: 2 }]);

    // The sign-off (global) decides over the subsystems.
    await gw.gql(
      `mutation { setQualityFlag(input: { runNumber: 2, subsystem: "global", status: GOOD, comment: "leak outside the fiducial area" }) { id } }`,
      {},
      SHIFTER,
    );
    expect((await gw.gql(RUN, { n: 2 }, READER)).data.run.quality).toBe('GOOD');
    const bad = await gw.gql(
      `mutation { setQualityFlag(input: { runNumber: 2, subsystem: "Camera!", status: GOOD }) { id } }`,
      {},
      SHIFTER,
    );
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('reconstruction of bad input', () => {
  it(
    'flags images of the wrong size, raises an alarm, and keeps going',
    { timeout: 90_000 },
    async () => {
      await takeRun(3, { events: 3, pedestal: false, side: 256 });
      const run = await runWhenDone(3, 'RECONSTRUCT');
      expect(metric(run, 'badImages')).toBe(3);
      expect(metric(run, 'badImageFraction')).toBe(1);
      expect(run.qualityFlags).toContainEqual(
        expect.objectContaining({ subsystem: 'camera', status: 'BAD', source: 'AUTO' }),
      );
      const job = run.jobs.find((j: { kind: string }) => j.kind === 'RECONSTRUCT');
      expect(job.result.badImages[0]).toMatch(/65536 pixels, the pedestal map 512×512/);
      const alarms = await gw.server.runtime.db.manager.query(
        `SELECT fingerprint, severity FROM alarms WHERE fingerprint = 'dq:3:badImageFraction'`,
      );
      expect(alarms).toEqual([{ fingerprint: 'dq:3:badImageFraction', severity: 'CRITICAL' }]);
    },
  );

  it('flags a run without camera images instead of failing', { timeout: 90_000 }, async () => {
    await takeRun(4, { events: 0, pedestal: false });
    const run = await runWhenDone(4, 'RECONSTRUCT');
    expect(metric(run, 'images')).toBe(0);
    expect(run.qualityFlags).toContainEqual(
      expect.objectContaining({
        subsystem: 'camera',
        status: 'QUESTIONABLE',
        comment: 'no CAM0 images in the run',
      }),
    );
  });

  it('refuses to reconstruct a run that does not exist or is not stored', async () => {
    const missing = await gw.gql(`mutation { reconstructRun(runNumber: 999) { id } }`, {}, SHIFTER);
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});
