import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topic } from '../../src/pubsub';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { takeSimulatedRun } from '../support/simulatedRuns';
import { startSlurm, type SlurmCluster } from '../support/slurm';
import { waitFor } from '../support/wait';

// Reprocessing campaigns on a real single-node Slurm 22.05 cluster (munged, slurmctld, slurmd,
// slurmrestd with JWT), started once for this file (issue 18). The batch jobs run the real
// `cygno-gateway batch-run` on the "node" and reach the gateway only over HTTP.
//
// The jobs run through a small wrapper (the test's own, not a stand-in for Slurm): before it
// execs batch-run it waits while a hold file for the job (or for all jobs) exists, then exits
// with the code written in the job's exit file if there is one. That is how a test keeps a job running in Slurm long enough to
// scancel it, to let it time out or to restart the controller under it.
const ADMIN = 'admin-token-for-slurm-tests';
const DAQ = 'daq-token-for-slurm-tests-x';
const PRODUCTION = 'production-token-for-slurm';

let slurm: SlurmCluster;
let gw: TestGateway;
let control: string;
let batchEnv: Record<string, string>;

beforeAll(async () => {
  slurm = await startSlurm({ cpus: 4 });
  control = path.join(slurm.dir, 'control');
  fs.mkdirSync(control, { mode: 0o777 });
  const wrapper = path.join(slurm.dir, 'batch-node.sh');
  const bin = path.resolve(__dirname, '../../bin/cygno-gateway.js');
  fs.writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      '# args: batch-run --job ID[,ID…]',
      `control=${control}`,
      'while [ -f "$control/hold-all" ]; do sleep 0.2; done',
      'for job in $(echo "$3" | tr , " "); do',
      '  while [ -f "$control/hold-$job" ]; do sleep 0.2; done',
      '  if [ -f "$control/exit-$job" ]; then exit "$(cat "$control/exit-$job")"; fi',
      'done',
      `exec ${process.execPath} ${bin} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  batchEnv = {
    API_TOKENS: `admin:${ADMIN},daq:${DAQ},production:${PRODUCTION}`,
    BATCH: 'slurm',
    BATCH_SLURM_REST_URL: slurm.restUrl,
    BATCH_SLURM_USER: 'root',
    BATCH_SLURM_TOKEN: slurm.token,
    BATCH_COMMAND: wrapper,
    BATCH_WORKDIR: path.join(slurm.dir, 'jobs'),
    BATCH_CPUS: '1',
    BATCH_MEMORY_MB: '512',
    BATCH_TIME_LIMIT_MINUTES: '1',
    BATCH_POLL_MS: '300',
    BATCH_VANISH_GRACE_MS: '20000',
    JOB_MAX_ATTEMPTS: '3',
    BATCH_RUNS_PER_JOB: '1', // one run per batch job, but in the last describe
    RECO_THREADS: '1',
  };
  gw = await startTestGateway({ env: batchEnv });
  await takeRuns();
}, 180_000);

/** A pedestal and the data runs 2–6, reconstructed online by the local workers (version 1). */
async function takeRuns() {
  await takeSimulatedRun(gw, 1, { pedestal: true, events: 4, daqToken: DAQ });
  for (const runNumber of [2, 3, 4, 5, 6])
    await takeSimulatedRun(gw, runNumber, { pedestal: false, events: 6, daqToken: DAQ });
  for (const runNumber of [2, 3, 4, 5, 6]) await recoDone(runNumber);
}

afterAll(async () => {
  await gw?.close();
  await slurm?.close();
});

const recoDone = (runNumber: number) =>
  waitFor(
    async () => {
      const run = (
        await gw.gql(
          `query($n: Int!) { run(runNumber: $n) { recoStatus } }`,
          { n: runNumber },
          ADMIN,
        )
      ).data.run;
      if (run?.recoStatus === 'FAILED')
        throw new Error(`run ${runNumber} failed its reconstruction`);
      return run?.recoStatus === 'DONE';
    },
    `the online reconstruction of run ${runNumber}`,
    60_000,
  );

interface CampaignJob {
  id: string;
  runNumber: number;
  state: string;
  attempts: number;
  batchId: string | null;
  batchState: string | null;
  lastError: string | null;
}

const CAMPAIGN = `query($id: ID!) { campaign(id: $id) {
  id version state executor runNumbers
  progress { total queued running done failed cancelled }
  jobs { id runNumber state attempts batchId batchState lastError }
} }`;

/**
 * A campaign of these runs with the configured parameters. With `held`, each job waits in the
 * wrapper until released: every job is held from before the campaign exists (their ids are not
 * known yet), then each by its own hold file.
 */
async function reprocess(runNumbers: number[], held = false) {
  if (held) hold('all');
  const res = await gw.gql(
    `mutation($input: ReprocessInput!) { reprocess(input: $input) { id version jobs { id runNumber } } }`,
    {
      input: {
        runs: { runNumbers },
        parameters: { nsigma: 1.3 },
        description: `slurm test ${runNumbers.join(',')}`,
      },
    },
    PRODUCTION,
  );
  expect(res.errors).toBeUndefined();
  const campaign = res.data.reprocess as {
    id: string;
    version: number;
    jobs: Array<{ id: string; runNumber: number }>;
  };
  if (held) {
    for (const job of campaign.jobs) hold(job.id);
    release('all');
  }
  return campaign;
}

async function campaign(id: string) {
  const res = await gw.gql(CAMPAIGN, { id }, ADMIN);
  expect(res.errors).toBeUndefined();
  return res.data.campaign as {
    id: string;
    version: number;
    state: string;
    progress: Record<string, number>;
    jobs: CampaignJob[];
  };
}

const hold = (jobId: string) => fs.writeFileSync(path.join(control, `hold-${jobId}`), '');
const release = (jobId: string) => fs.rmSync(path.join(control, `hold-${jobId}`), { force: true });

async function jobOf(campaignId: string, runNumber: number): Promise<CampaignJob> {
  return (await campaign(campaignId)).jobs.find((j) => j.runNumber === runNumber)!;
}

const slurmStateOf = (batchId: string) => slurm.jobs().find((j) => j.id === batchId)?.state;

/** Waits until the job's attempt is running in Slurm (the wrapper holding it). */
const runningInSlurm = (campaignId: string, runNumber: number) =>
  waitFor(
    async () => {
      const job = await jobOf(campaignId, runNumber);
      return job.batchId && slurmStateOf(job.batchId) === 'RUNNING' ? job : null;
    },
    `run ${runNumber}'s batch job to run`,
    30_000,
    200,
  );

const finished = (id: string, timeoutMs = 90_000) =>
  waitFor(
    async () => {
      const c = await campaign(id);
      return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(c.state) ? c : null;
    },
    `campaign ${id} to finish`,
    timeoutMs,
    300,
  );

/** A run's clusters of one version, in a fixed order, without ids and version. */
async function clusterRows(runNumber: number, version: number) {
  const rows: Array<Record<string, unknown>> = await gw.server.runtime.db.manager.query(
    `SELECT c.* FROM clusters c JOIN runs r ON r.id = c.runId
     WHERE r.runNumber = ? AND c.recoVersion = ? ORDER BY c.eventId, c.xMin, c.yMin, c.xMax, c.yMax`,
    [runNumber, version],
  );
  return rows.map(({ id: _id, recoVersion: _version, ...rest }) => rest);
}

describe('a reprocessing campaign on Slurm', () => {
  it('runs every job as a Slurm batch job, with progress seen by a subscriber, and gives the same clusters as the local workers', async () => {
    // Subscribed after the jobs exist and before any can finish: held until then.
    hold('all');
    const created = await reprocess([2, 3, 4]);
    const sub = await gw.subscribe(
      `subscription($id: ID!) { campaignUpdated(id: $id) { id state progress { total done running queued } } }`,
      { id: created.id },
      Topic.CampaignUpdated,
      ADMIN,
    );
    release('all');
    const done = await finished(created.id);
    expect(done.state).toBe('COMPLETED');
    expect(done.progress).toMatchObject({ total: 3, done: 3, failed: 0, queued: 0, running: 0 });
    for (const job of done.jobs) {
      expect(job.state).toBe('SUCCEEDED');
      expect(job.batchId).toMatch(/^\d+$/);
      // The job settles through the API just before its process exits.
      await waitFor(() => slurmStateOf(job.batchId!) === 'COMPLETED', 'Slurm COMPLETED', 10_000);
      // What slurmrestd was asked for is what Slurm gave: CPUs, memory, time, the campaign.
      const shown = slurm.run('scontrol', ['-o', 'show', 'job', job.batchId!]);
      expect(shown).toMatch(/ NumCPUs=1 /);
      expect(shown).toMatch(/ MinMemoryNode=512M /);
      expect(shown).toMatch(/ TimeLimit=00:01:00 /);
      expect(shown).toContain(` Comment=cygno-campaign-${created.id} `);
      expect(shown).toContain(` JobName=cygno-reconstruct-${job.runNumber}-j${job.id} `);
    }
    await waitFor(
      () => sub.received.some((c) => c.state === 'COMPLETED' && c.progress.done === 3),
      'the subscriber to see the campaign complete',
      10_000,
    );
    const seenDone = sub.received.map((c) => c.progress.done);
    expect(seenDone[0]).toBeLessThan(3); // it saw progress, not only the end
    expect([...seenDone].sort((a, b) => a - b)).toEqual(seenDone);
    sub.close();

    // Identical cluster tables: the batch node ran the same code with the same numbers
    // (nsigma 1.3 is the configured default, so version 2 must equal version 1).
    for (const runNumber of [2, 3, 4]) {
      const local = await clusterRows(runNumber, 1);
      expect(local.length).toBeGreaterThan(0);
      expect(await clusterRows(runNumber, created.version)).toEqual(local);
    }
    // Not current until promoted.
    const before = await gw.gql(`{ run(runNumber: 2) { recoVersion } }`, {}, ADMIN);
    expect(before.data.run.recoVersion).toBe(1);
    const promoted = await gw.gql(
      `mutation($id: ID!) { promoteCampaign(id: $id) { state } }`,
      { id: created.id },
      ADMIN,
    );
    expect(promoted.errors).toBeUndefined();
    expect(promoted.data.promoteCampaign.state).toBe('PROMOTED');
    const after = await gw.gql(`{ run(runNumber: 2) { recoVersion recoStatus } }`, {}, ADMIN);
    expect(after.data.run).toEqual({ recoVersion: created.version, recoStatus: 'DONE' });
  }, 120_000);

  it('retries a job whose batch job was scancel-led, and completes it', async () => {
    const created = await reprocess([5], true);
    const first = await runningInSlurm(created.id, 5);
    slurm.run('scancel', [first.batchId!]);
    const retried = await waitFor(
      async () => {
        const job = await jobOf(created.id, 5);
        return job.attempts >= 2 && job.batchId !== first.batchId ? job : null;
      },
      'a second attempt after scancel',
      30_000,
      200,
    );
    expect(retried.lastError).toMatch(new RegExp(`slurm job ${first.batchId} ended CANCELLED`));
    release(retried.id);
    const done = await finished(created.id);
    expect(done.state).toBe('COMPLETED');
    expect(done.jobs[0]).toMatchObject({ state: 'SUCCEEDED', attempts: 2 });
  }, 90_000);

  it('records a non-zero exit with its exit code, retries it, and fails the job when attempts run out', async () => {
    const created = await reprocess([6], true);
    fs.writeFileSync(path.join(control, `exit-${created.jobs[0].id}`), '3');
    release(created.jobs[0].id);
    const done = await finished(created.id, 60_000);
    expect(done.state).toBe('FAILED');
    expect(done.jobs[0].state).toBe('FAILED');
    expect(done.jobs[0].attempts).toBe(3);
    expect(done.jobs[0].batchState).toBe('FAILED');
    expect(done.jobs[0].lastError).toMatch(/slurm job \d+ ended FAILED, exit code 3/);
    // A failed campaign job leaves the run's current reconstruction alone.
    const run = await gw.gql(`{ run(runNumber: 6) { recoStatus recoVersion } }`, {}, ADMIN);
    expect(run.data.run).toEqual({ recoStatus: 'DONE', recoVersion: 1 });
  }, 90_000);

  it('cancelCampaign cancels the batch jobs: none is left in the Slurm queue', async () => {
    const created = await reprocess([2, 3, 4, 5], true);
    const jobs = await waitFor(
      async () => {
        const c = await campaign(created.id);
        return c.jobs.every((j) => j.batchId) ? c.jobs : null;
      },
      'every job submitted',
      30_000,
      200,
    );
    const cancelled = await gw.gql(
      `mutation($id: ID!) { cancelCampaign(id: $id) { id } }`,
      { id: created.id },
      PRODUCTION,
    );
    expect(cancelled.errors).toBeUndefined();
    const ids = new Set(jobs.map((j) => j.batchId!));
    await waitFor(
      () =>
        slurm
          .jobs()
          .filter((j) => ids.has(j.id))
          .every((j) => j.state === 'CANCELLED'),
      'every batch job of the campaign cancelled in Slurm',
      20_000,
      200,
    );
    const done = await finished(created.id, 20_000);
    expect(done.state).toBe('CANCELLED');
    expect(done.jobs.every((j) => j.state === 'CANCELLED')).toBe(true);
    for (const job of jobs) release(job.id);
  }, 60_000);

  it('completes a campaign across a restart of the Slurm controller', async () => {
    const created = await reprocess([3, 4], true);
    await runningInSlurm(created.id, 3);
    await runningInSlurm(created.id, 4);
    await slurm.restartController();
    for (const job of created.jobs) release(job.id);
    const done = await finished(created.id, 90_000);
    expect(done.state).toBe('COMPLETED');
  }, 120_000);

  it('refuses a job-scoped token for any other job, and revokes it when its job settles', async () => {
    const created = await reprocess([2, 3], true);
    const [a, b] = await Promise.all([
      runningInSlurm(created.id, 2),
      runningInSlurm(created.id, 3),
    ]);
    // The token as a thief would find it: in the batch script Slurm keeps for the job.
    const script = path.join(slurm.dir, `script-${a.batchId}.sh`);
    slurm.run('scontrol', ['write', 'batch_script', a.batchId!, script]);
    const token = /CYGNO_JOB_TOKEN='?([^'\n]+)'?/.exec(fs.readFileSync(script, 'utf8'))![1];
    const post = (jobId: string, route: string) =>
      fetch(`${gw.url}/batch/jobs/${jobId}/${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
    for (const route of ['claim', 'heartbeat', 'complete', 'fail'])
      expect((await post(b.id, route)).status, route).toBe(403);
    // Not an API token either.
    const asApi = await gw.gql(`{ runs { totalCount } }`, {}, token);
    expect(asApi.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    for (const job of created.jobs) release(job.id);
    expect((await finished(created.id)).state).toBe('COMPLETED');
    // Settled: the token is revoked, even for its own job.
    expect((await post(a.id, 'heartbeat')).status).toBe(401);
  }, 90_000);

  it('submits each job once when two gateways on one database dispatch', async () => {
    const second = await startTestGateway({
      database: gw.database,
      bufferDir: gw.bufferDir,
      env: {
        ...batchEnv,
        OBJECT_STORE_URL: gw.config.objectStoreUrl,
        TAPE_URL: gw.config.tapeUrl,
        MIGRATE_ON_START: 'false',
      },
    });
    try {
      const before = new Set(slurm.jobs().map((j) => j.id));
      const created = await reprocess([2, 3, 4, 5]);
      const done = await finished(created.id);
      expect(done.state).toBe('COMPLETED');
      expect(done.jobs.map((j) => j.attempts)).toEqual([1, 1, 1, 1]);
      const submitted = slurm.jobs().filter((j) => !before.has(j.id));
      expect(submitted).toHaveLength(4);
      expect(new Set(submitted.map((j) => j.id))).toEqual(new Set(done.jobs.map((j) => j.batchId)));
    } finally {
      await second.close();
    }
  }, 90_000);

  it('retries a job whose batch job vanished (the controller lost its state)', async () => {
    const created = await reprocess([6], true);
    const first = await runningInSlurm(created.id, 6);
    await slurm.restartController({ forget: true });
    await waitFor(() => !slurmStateOf(first.batchId!), 'Slurm to have forgotten the job', 20_000);
    const retried = await waitFor(
      async () => {
        const job = await jobOf(created.id, 6);
        return job.attempts >= 2 ? job : null;
      },
      'the vanished job to be retried (BATCH_VANISH_GRACE_MS 20 s)',
      60_000,
      500,
    );
    expect(retried.lastError).toMatch(
      new RegExp(`slurm job ${first.batchId} vanished from the batch system`),
    );
    release(retried.id);
    expect((await finished(created.id)).state).toBe('COMPLETED');
  }, 120_000);

  it('records TIMEOUT when a job exceeds its time limit, and retries it', async () => {
    const created = await reprocess([5], true);
    const first = await runningInSlurm(created.id, 5);
    const retried = await waitFor(
      async () => {
        const job = await jobOf(created.id, 5);
        return job.attempts >= 2 ? job : null;
      },
      'the time limit (1 minute; Slurm checks it about every 30 s)',
      150_000,
      1000,
    );
    expect(retried.lastError).toMatch(new RegExp(`slurm job ${first.batchId} ended TIMEOUT`));
    expect(slurmStateOf(first.batchId!)).toBe('TIMEOUT');
    release(retried.id);
    expect((await finished(created.id)).state).toBe('COMPLETED');
  }, 240_000);
});

describe('several runs in one batch job (BATCH_RUNS_PER_JOB=3)', () => {
  let first: TestGateway;
  beforeAll(async () => {
    // A deployment of its own: the helpers above work on `gw`.
    first = gw;
    gw = await startTestGateway({ env: { ...batchEnv, BATCH_RUNS_PER_JOB: '3' } });
    await takeRuns();
  }, 180_000);
  afterAll(async () => {
    await gw?.close();
    gw = first;
  });

  it('reconstructs three runs in one Slurm job, each settled with its own token, clusters as local', async () => {
    const created = await reprocess([2, 3, 4]);
    const done = await finished(created.id);
    expect(done.state).toBe('COMPLETED');
    const batchIds = new Set(done.jobs.map((j) => j.batchId));
    expect(batchIds.size).toBe(1);
    const [batchId] = [...batchIds];
    await waitFor(() => slurmStateOf(batchId!) === 'COMPLETED', 'Slurm COMPLETED', 10_000);
    expect(slurm.run('scontrol', ['-o', 'show', 'job', batchId!])).toContain(
      ` JobName=cygno-reconstruct-2-to-4-j${done.jobs[0].id}+2 `,
    );
    for (const runNumber of [2, 3, 4])
      expect(await clusterRows(runNumber, created.version)).toEqual(
        await clusterRows(runNumber, 1),
      );
  }, 90_000);

  it('cancels one job of a batch job without cancelling the others', async () => {
    const created = await reprocess([4, 5, 6], true);
    const [a, b, c] = created.jobs;
    await runningInSlurm(created.id, 4);
    const cancelled = await gw.gql(
      `mutation($id: ID!) { cancelJob(id: $id) { id } }`,
      { id: b.id },
      ADMIN,
    );
    expect(cancelled.errors).toBeUndefined();
    await waitFor(
      async () => (await jobOf(created.id, 5)).state === 'CANCELLED',
      'the job cancelled',
      10_000,
      200,
    );
    for (const job of [a, b, c]) release(job.id);
    const done = await finished(created.id);
    expect(done.jobs.map((j) => j.state)).toEqual(['SUCCEEDED', 'CANCELLED', 'SUCCEEDED']);
    const batchId = done.jobs[0].batchId!;
    // The batch job went on with the third run and ended well.
    await waitFor(() => slurmStateOf(batchId) === 'COMPLETED', 'Slurm COMPLETED', 10_000);
  }, 90_000);
});

describe('without slurmrestd: sbatch, squeue --json and scancel', () => {
  let first: TestGateway;
  beforeAll(async () => {
    first = gw;
    // The commands find the cluster through SLURM_CONF, as on a submit host.
    process.env.SLURM_CONF = slurm.env.SLURM_CONF;
    const { BATCH_SLURM_REST_URL: _rest, BATCH_SLURM_TOKEN: _token, ...cliEnv } = batchEnv;
    gw = await startTestGateway({ env: cliEnv });
    await takeRuns();
  }, 180_000);
  afterAll(async () => {
    await gw?.close();
    gw = first;
  });

  it('runs a campaign through the commands, and retries a job scancel-led', async () => {
    const created = await reprocess([2, 3], true);
    const [a, b] = created.jobs;
    release(a.id);
    const victim = await runningInSlurm(created.id, 3);
    expect(slurm.run('scontrol', ['-o', 'show', 'job', victim.batchId!])).toMatch(
      new RegExp(` JobName=cygno-reconstruct-3-j${b.id} .* NumCPUs=1 `),
    );
    slurm.run('scancel', [victim.batchId!]);
    const retried = await waitFor(
      async () => {
        const job = await jobOf(created.id, 3);
        return job.attempts >= 2 && job.batchId !== victim.batchId ? job : null;
      },
      'a second attempt after scancel',
      30_000,
      200,
    );
    expect(retried.lastError).toMatch(new RegExp(`slurm job ${victim.batchId} ended CANCELLED`));
    release(b.id);
    const done = await finished(created.id);
    expect(done.state).toBe('COMPLETED');
    for (const runNumber of [2, 3])
      expect(await clusterRows(runNumber, created.version)).toEqual(
        await clusterRows(runNumber, 1),
      );
  }, 90_000);
});
