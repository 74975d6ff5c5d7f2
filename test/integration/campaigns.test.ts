import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { takeSimulatedRun } from '../support/simulatedRuns';
import { waitFor } from '../support/wait';

// Reprocessing campaigns on the gateway's own workers (executor LOCAL; the Slurm suite runs
// them on a real batch system): versions, run selection, progress, promotion, cancellation.
const ADMIN = 'admin-token-for-campaigns';
const DAQ = 'daq-token-for-campaigns-xx';
const PRODUCTION = 'production-token-campaigns';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    env: { API_TOKENS: `admin:${ADMIN},daq:${DAQ},production:${PRODUCTION}`, RECO_THREADS: '1' },
  });
  await takeSimulatedRun(gw, 1, { events: 4, pedestal: true, daqToken: DAQ });
  for (const runNumber of [2, 3, 4])
    await takeSimulatedRun(gw, runNumber, { events: 4, pedestal: false, daqToken: DAQ });
  // Run 5 stays open: a campaign must not take it.
  await gw.gql(
    `mutation { startRun(input: { runNumber: 5, description: "S003:DATA:open" }) { id } }`,
    {},
    DAQ,
  );
  for (const runNumber of [2, 3, 4])
    await waitFor(
      async () => (await runOf(runNumber)).recoStatus === 'DONE',
      `the online reconstruction of run ${runNumber}`,
      60_000,
    );
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

const runOf = async (runNumber: number) => (await runAndEvents(runNumber)).run;

const runAndEvents = async (runNumber: number) =>
  (
    await gw.gql(
      `query($n: Int!) { run(runNumber: $n) { recoStatus recoVersion }
        events(runNumber: $n, first: 50) { nodes { serial clusterCount } } }`,
      { n: runNumber },
      ADMIN,
    )
  ).data;

const clusterCount = async (runNumber: number, recoVersion?: number) =>
  (
    await gw.gql(
      `query($f: ClusterFilter!) { clusters(filter: $f, first: 1) { totalCount } }`,
      { f: { runNumberFrom: runNumber, runNumberTo: runNumber, recoVersion } },
      ADMIN,
    )
  ).data.clusters.totalCount as number;

const REPROCESS = `mutation($input: ReprocessInput!) { reprocess(input: $input) {
  id version executor runNumbers selection createdBy state
  progress { total queued running done failed cancelled fraction }
} }`;

const CAMPAIGN = `query($id: ID!) { campaign(id: $id) {
  id version state progress { total done failed cancelled fraction }
  jobs { runNumber state executor version }
} }`;

const campaign = async (id: string) => (await gw.gql(CAMPAIGN, { id }, ADMIN)).data.campaign;

const finished = (id: string) =>
  waitFor(
    async () => {
      const c = await campaign(id);
      return c.state === 'RUNNING' ? null : c;
    },
    `campaign ${id} to finish`,
    60_000,
  );

describe('reprocessing campaigns on the local workers', () => {
  let version: number;
  let id: string;

  it('reconstructs the selected runs under a new version, skipping what cannot be reprocessed', async () => {
    const res = await gw.gql(
      REPROCESS,
      {
        input: {
          runs: { runNumbers: [1, 2, 3, 4, 5, 99] },
          parameters: { nsigma: 3 },
          description: 'tighter zero suppression',
        },
      },
      PRODUCTION,
    );
    expect(res.errors).toBeUndefined();
    const created = res.data.reprocess;
    expect(created).toMatchObject({
      version: 2,
      executor: 'LOCAL', // no BATCH configured
      runNumbers: [2, 3, 4],
      state: 'RUNNING',
      progress: { total: 3 },
    });
    expect(created.createdBy).toMatch(/^token:[0-9a-f]{8}$/); // the caller, by fingerprint
    expect(created.selection.skipped).toEqual(
      expect.arrayContaining([
        { runNumber: 99, reason: 'no such run' },
        { runNumber: 1, reason: 'a pedestal run' },
        { runNumber: 5, reason: 'still running' },
      ]),
    );
    ({ version, id } = created);
    const done = await finished(id);
    expect(done.state).toBe('COMPLETED');
    expect(done.progress).toMatchObject({ total: 3, done: 3, failed: 0, fraction: 1 });
    expect(done.jobs.every((j: { version: number }) => j.version === 2)).toBe(true);
  });

  it('leaves what physicists see on the current version until the campaign is promoted', async () => {
    const before = await runOf(2);
    expect(before).toMatchObject({ recoStatus: 'DONE', recoVersion: 1 });
    const currentClusters = await clusterCount(2);
    expect(currentClusters).toBe(await clusterCount(2, 1));
    // nsigma 3 instead of 1.3 keeps fewer pixels: the new version's clusters differ.
    const newClusters = await clusterCount(2, version);
    expect(newClusters).toBeGreaterThan(0);

    const promoted = await gw.gql(
      `mutation($id: ID!) { promoteCampaign(id: $id) { state } }`,
      { id },
      ADMIN,
    );
    expect(promoted.errors).toBeUndefined();
    expect(promoted.data.promoteCampaign.state).toBe('PROMOTED');
    const after = await runAndEvents(2);
    expect(after.run.recoVersion).toBe(version);
    expect(await clusterCount(2)).toBe(newClusters);
    // The event summaries follow the version: each event's clusterCount is the new version's.
    const total = after.events.nodes.reduce(
      (sum: number, e: { clusterCount: number }) => sum + e.clusterCount,
      0,
    );
    expect(total).toBe(newClusters);
    const again = await gw.gql(
      `mutation($id: ID!) { promoteCampaign(id: $id) { state } }`,
      { id },
      ADMIN,
    );
    expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('goes back to an earlier version by promoting a campaign of that version', async () => {
    const res = await gw.gql(
      REPROCESS,
      { input: { runs: { from: 2, to: 2 }, version: 1 } },
      PRODUCTION,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.reprocess.version).toBe(1);
    const done = await finished(res.data.reprocess.id);
    expect(done.state).toBe('COMPLETED');
    await gw.gql(
      `mutation($id: ID!) { promoteCampaign(id: $id) { state } }`,
      { id: done.id },
      ADMIN,
    );
    expect((await runOf(2)).recoVersion).toBe(1);
    expect(await clusterCount(2)).toBe(await clusterCount(2, 1));
  });

  it('gives two campaigns asked for at once two different versions', async () => {
    const both = await Promise.all(
      [4, 5].map((nsigma) =>
        gw.gql(
          REPROCESS,
          { input: { runs: { runNumbers: [nsigma === 4 ? 3 : 4] }, parameters: { nsigma } } },
          PRODUCTION,
        ),
      ),
    );
    for (const res of both) expect(res.errors).toBeUndefined();
    const versions = both.map((res) => res.data.reprocess.version);
    expect(new Set(versions).size).toBe(2);
    expect(Math.min(...versions)).toBeGreaterThan(version);
    for (const res of both) await finished(res.data.reprocess.id);
  });

  it('refuses bad requests with clear errors', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ runs: { runNumbers: [2] } }, 'give either parameters'],
      [{ runs: { runNumbers: [2] }, parameters: { nsigma: 2 }, version: 1 }, 'give either'],
      [{ runs: {}, parameters: { nsigma: 2 } }, 'select runs'],
      [{ runs: { runNumbers: [1, 5] }, parameters: { nsigma: 2 } }, 'no run to reprocess'],
      [{ runs: { runNumbers: [2] }, version: 77 }, 'version 77'],
      [{ runs: { runNumbers: [2] }, parameters: { nsigma: -1 } }, 'parameters'],
      [
        { runs: { runNumbers: [2] }, parameters: { nsigma: 2 }, executor: 'SLURM' },
        'not configured',
      ],
    ];
    for (const [input, message] of cases) {
      const res = await gw.gql(REPROCESS, { input }, PRODUCTION);
      expect(res.errors?.[0].extensions?.code, JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0].message).toContain(message);
    }
  });

  it('cancels a campaign: nothing left to run, and it cannot be promoted whole', async () => {
    // Paused workers: the jobs stay queued, so the cancellation is certain to find them.
    await gw.server.runtime.stopWorkers();
    const res = await gw.gql(
      REPROCESS,
      { input: { runs: { runNumbers: [2, 3, 4] }, parameters: { nsigma: 6 } } },
      PRODUCTION,
    );
    const cancelled = await gw.gql(
      `mutation($id: ID!) { cancelCampaign(id: $id) { state progress { queued cancelled } } }`,
      { id: res.data.reprocess.id },
      PRODUCTION,
    );
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data.cancelCampaign).toEqual({
      state: 'CANCELLED',
      progress: { queued: 0, cancelled: 3 },
    });
    const promote = await gw.gql(
      `mutation($id: ID!) { promoteCampaign(id: $id) { state } }`,
      { id: res.data.reprocess.id },
      ADMIN,
    );
    expect(promote.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(promote.errors?.[0].message).toMatch(/did not succeed/);
    const list = await gw.gql(`{ campaigns { id state } }`, {}, ADMIN);
    expect(list.data.campaigns[0]).toEqual({ id: res.data.reprocess.id, state: 'CANCELLED' });
  });
});
