import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchClaim } from '../../src/batch/BatchJobService';
import { Job } from '../../src/entities/Job';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { takeSimulatedRun } from '../support/simulatedRuns';
import { waitFor } from '../support/wait';

// The batch node's API (issue 18) on the embedded default, with the test playing the node: what
// a real batch system cannot be made to do on purpose — a second claim, a stolen or revoked
// token, tampered uploads — and the real `batch-run` for the rest. The batch system is
// BATCH=htcondor on stand-in condor_* commands (HTCondor cannot run here): condor_submit records
// the submit description and answers a job id; condor_q and condor_history know no job, which
// the dispatcher would call vanished only after BATCH_VANISH_GRACE_MS (10 minutes here).
const ADMIN = 'admin-token-for-batch-api';
const DAQ = 'daq-token-for-batch-api-xx';
const BIN = path.resolve(__dirname, '../../bin/cygno-gateway.js');

let gw: TestGateway;
let condor: string;
let work: string;

beforeAll(async () => {
  condor = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-condor-'));
  work = path.join(condor, 'work');
  const tool = (name: string, body: string) =>
    fs.writeFileSync(path.join(condor, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  tool(
    'condor_submit',
    `n=$(cat ${condor}/counter 2>/dev/null || echo 100); n=$((n+1)); echo $n > ${condor}/counter; echo "$n.0 - $n.0"`,
  );
  tool('condor_q', 'exit 0');
  tool('condor_history', 'exit 0');
  tool('condor_rm', 'exit 0');
  process.env.BATCH_HTCONDOR_BIN = condor;
  gw = await startTestGateway({
    env: {
      API_TOKENS: `admin:${ADMIN},daq:${DAQ}`,
      BATCH: 'htcondor',
      BATCH_WORKDIR: work,
      BATCH_RUNS_PER_JOB: '1',
      BATCH_POLL_MS: '200',
      BATCH_VANISH_GRACE_MS: '600000',
      RECO_THREADS: '1',
    },
  });
  for (const [runNumber, pedestal] of [
    [1, true],
    [2, false],
    [3, false],
  ] as const)
    await takeSimulatedRun(gw, runNumber, { events: 4, pedestal, daqToken: DAQ });
  for (const n of [2, 3])
    await waitFor(
      async () =>
        (await gw.gql(`query($n: Int!) { run(runNumber: $n) { recoStatus } }`, { n }, ADMIN)).data
          .run.recoStatus === 'DONE',
      `run ${n} reconstructed online`,
      60_000,
    );
}, 120_000);

afterAll(async () => {
  await gw?.close();
  delete process.env.BATCH_HTCONDOR_BIN;
  fs.rmSync(condor, { recursive: true, force: true });
});

interface BatchJob {
  id: string;
  runNumber: number;
  state: string;
  attempts: number;
  batchId: string | null;
  lastError: string | null;
}

const jobsOf = async (id: string): Promise<BatchJob[]> =>
  (
    await gw.gql(
      `query($id: ID!) { campaign(id: $id) { jobs { id runNumber state attempts batchId lastError } } }`,
      { id },
      ADMIN,
    )
  ).data.campaign.jobs;

/** The job's token as the node gets it: in the submit description of its current attempt. */
function tokenOf(job: BatchJob): string {
  const file = fs.readdirSync(work).find((f) => f.endsWith('.sub') && f.includes(`-j${job.id}`));
  const text = fs.readFileSync(path.join(work, file!), 'utf8');
  return /CYGNO_JOB_TOKEN=(cjt\.\d+\.[\w-]{43})/.exec(text)![1];
}

/** What the batch routes answer: a claim, a heartbeat, a settled job, or the errors. */
type BatchAnswer = Partial<BatchClaim> & {
  errors?: Array<{ message: string }>;
  leaseHeld?: boolean;
  cancelRequested?: boolean;
  state?: string;
};

const call = async (jobId: string, name: string, token?: string, body: unknown = {}) => {
  const res = await fetch(`${gw.url}/batch/jobs/${jobId}/${name}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as BatchAnswer };
};

function batchRun(jobId: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'batch-run', '--job', jobId], {
      env: { PATH: process.env.PATH, GATEWAY_URL: gw.url, CYGNO_JOB_TOKEN: token },
      stdio: 'ignore',
    });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

const md5 = (bytes: Buffer | string) => createHash('md5').update(bytes).digest('hex');

describe('the batch node API', () => {
  let campaignId: string;
  let a: BatchJob;
  let b: BatchJob;
  let claim: BatchClaim;

  beforeAll(async () => {
    const res = await gw.gql(
      `mutation { reprocess(input: { runs: { runNumbers: [2, 3] }, parameters: { nsigma: 1.3 } }) { id executor } }`,
      {},
      ADMIN,
    );
    expect(res.data.reprocess.executor).toBe('HTCONDOR');
    campaignId = res.data.reprocess.id;
    [a, b] = await waitFor(
      async () => {
        const jobs = await jobsOf(campaignId);
        return jobs.every((j) => j.batchId) ? jobs : null;
      },
      'both jobs submitted',
      20_000,
    );
  });

  it('wrote an HTCondor submit description per attempt, readable by its owner only', () => {
    const file = fs.readdirSync(work).find((f) => f.includes(`-j${a.id}.sub`))!;
    expect(fs.statSync(path.join(work, file)).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(path.join(work, file), 'utf8');
    expect(text).toContain(`arguments = "${BIN} batch-run --job ${a.id}"`);
    expect(text).toContain(`+JobBatchName = "cygno-campaign-${campaignId}"`);
    expect(a.batchId).toMatch(/^\d+\.0$/);
  });

  it('refuses a missing, foreign or expired token, and a second claim', async () => {
    expect((await call(a.id, 'claim')).status).toBe(401);
    expect((await call(a.id, 'claim', 'not-a-job-token')).status).toBe(401);
    expect((await call(a.id, 'claim', tokenOf(b))).status).toBe(403);
    const claimed = await call(a.id, 'claim', tokenOf(a));
    expect(claimed.status).toBe(200);
    claim = claimed.body as BatchClaim;
    expect(claimed.body.job).toMatchObject({ id: Number(a.id), runNumber: 2, attempt: 1 });
    expect(claimed.body.events).toHaveLength(4);
    const again = await call(a.id, 'claim', tokenOf(a));
    expect(again.status).toBe(409);
    expect(again.body.errors?.[0].message).toMatch(/claimed already/);
    // An expired token (a job that waited in the queue past BATCH_TOKEN_TTL_HOURS) opens nothing.
    const { manager } = gw.server.runtime.db;
    const valid = (await manager.findOneByOrFail(Job, { id: Number(b.id) })).batchTokenExpiresAt;
    await manager.update(Job, Number(b.id), { batchTokenExpiresAt: new Date(Date.now() - 1000) });
    const expired = await call(b.id, 'claim', tokenOf(b));
    expect(expired.status).toBe(401);
    expect(expired.body.errors?.[0].message).toMatch(/expired/);
    await manager.update(Job, Number(b.id), { batchTokenExpiresAt: valid });
    const beat = await call(a.id, 'heartbeat', tokenOf(a), { progress: 0.5 });
    expect(beat.status).toBe(200);
    expect(beat.body).toMatchObject({ leaseHeld: true, cancelRequested: false });
  });

  it('hands inputs and uploads only through signed URLs, and refuses tampered results', async () => {
    const token = tokenOf(a);
    const input = await fetch(claim.inputs[0].url);
    expect(input.status).toBe(200);
    expect(md5(Buffer.from(await input.arrayBuffer()))).toBe(
      md5(fs.readFileSync(path.join(gw.bufferDir, 'run00002.mid.gz'))),
    );
    const forged = claim.inputs[0].url.replace(/signature=[^&]+/i, 'signature=forged');
    expect((await fetch(forged)).status).toBe(403);

    const put = async (url: string, bytes: Buffer) =>
      (await fetch(url, { method: 'PUT', body: new Uint8Array(bytes) })).status;
    const garbage = Buffer.from('not a results file');
    expect(
      await put(claim.uploads.results.replace(/signature=[^&]+/i, 'signature=x'), garbage),
    ).toBe(403);
    expect(await put(claim.uploads.results, garbage)).toBeLessThan(300);
    expect(await put(claim.uploads.clusters, garbage)).toBeLessThan(300);
    const sent = { sizeBytes: garbage.length, md5: md5(garbage) };
    const wrong = await call(a.id, 'complete', token, {
      clusters: sent,
      results: { ...sent, md5: md5('something else') },
    });
    expect(wrong.status).toBe(409);
    expect(wrong.body.errors?.[0].message).toMatch(/md5 .* stored, .* sent/);
    const unreadable = await call(a.id, 'complete', token, { clusters: sent, results: sent });
    expect(unreadable.status).toBe(409);
    expect(unreadable.body.errors?.[0].message).toMatch(/results file cannot be read/);
    expect((await jobsOf(campaignId))[0]).toMatchObject({ state: 'RUNNING', attempts: 1 });

    // The node gives up: a failed attempt, retried; its token opens nothing any more.
    const failed = await call(a.id, 'fail', token, { message: 'node ran out of scratch space' });
    expect(failed.status).toBe(200);
    expect(failed.body.state).toBe('QUEUED');
    expect((await call(a.id, 'heartbeat', token)).status).toBe(401);
    const retried = await waitFor(
      async () => {
        const job = (await jobsOf(campaignId))[0];
        return job.attempts === 2 && job.batchId && job.batchId !== a.batchId ? job : null;
      },
      'job a submitted again',
      20_000,
    );
    expect(retried.lastError).toContain('node ran out of scratch space');
    expect(tokenOf(retried)).not.toBe(token);
    a = retried;
  });

  it('lets the real batch-run complete its jobs, and refuses it once a job is settled', async () => {
    expect(await batchRun(b.id, tokenOf(b))).toBe(0);
    const token = tokenOf(a);
    expect(await batchRun(a.id, token)).toBe(0);
    const jobs = await jobsOf(campaignId);
    expect(jobs.map((j) => j.state)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    // Settled: the token is revoked, a late duplicate of the attempt is refused (exit 3).
    expect(await batchRun(a.id, token)).toBe(3);
    const version = (
      await gw.gql(`query($id: ID!) { campaign(id: $id) { version } }`, { id: campaignId }, ADMIN)
    ).data.campaign.version;
    for (const runNumber of [2, 3]) {
      const count = async (v: number) =>
        (
          await gw.gql(
            `query($f: ClusterFilter!) { clusters(filter: $f) { totalCount } }`,
            { f: { runNumberFrom: runNumber, runNumberTo: runNumber, recoVersion: v } },
            ADMIN,
          )
        ).data.clusters.totalCount;
      expect(await count(version)).toBe(await count(1));
    }
  });
});
