import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { startS3, type TestS3 } from '../support/s3';
import { readWhenDone, waitFor } from '../support/wait';

// The object store (S3: Ceph RGW with TEST_OBJECT_STORE=rgw, else s3rver) goes down during
// ingestion and comes back.

let s3: TestS3;
let gw: TestGateway;

beforeAll(async () => {
  s3 = await startS3('outage-bucket', { outage: true });
  gw = await startTestGateway({
    env: {
      OBJECT_STORE_URL: s3.url,
      JOB_BACKOFF_BASE_MS: '200',
      JOB_BACKOFF_MAX_MS: '400',
      JOB_MAX_ATTEMPTS: '20',
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await s3?.stop();
});

describe('object store outage', () => {
  it('retries with backoff while the store is down, registers nothing, and succeeds when it returns', async () => {
    await s3.down();
    gw.writeBufferFile('run00301.mid', smallMidasRun(301));
    await gw.gql(
      `mutation { closeRun(input: { runNumber: 301, files: [{ path: "run00301.mid" }] }) { id } }`,
    );

    // Read again once it holds (the next attempt is 200 ms away): the files of the polling
    // query are read before its jobs and may show the attempt that was still running.
    const failing = await readWhenDone(
      async () => (await gw.gql(RUN)).data.run,
      (run) => run.jobs[0].attempts >= 2 && run.jobs[0].state === 'QUEUED',
      'two failed attempts',
      20_000,
    );
    expect(failing.jobs[0].state).toBe('QUEUED');
    expect(failing.jobs[0].lastError).toMatch(/ECONNREFUSED|ECONNRESET|connect/);
    expect(failing.files[0]).toMatchObject({
      cloudState: null,
      objectKey: null,
      downloadUrl: null,
    });
    expect((await gw.gql(`{ readiness: runs(first: 0) { totalCount } }`)).errors).toBeUndefined();

    await s3.up();
    const done = await waitFor(
      async () => {
        const run = (await gw.gql(RUN)).data.run;
        return run.jobs[0].state === 'SUCCEEDED' ? run : null;
      },
      'the ingest to succeed once the store is back',
      20_000,
    );
    const run = (await gw.gql(RUN)).data.run;
    expect(done.jobs[0].attempts).toBeGreaterThanOrEqual(3);
    expect(run.files[0]).toMatchObject({ cloudState: 'AVAILABLE', objectKey: 'LNGS/run00301.mid' });
    expect((await gw.server.runtime.store.stat('LNGS/run00301.mid'))?.size).toBe(
      smallMidasRun(301).length,
    );
  });
});

const RUN = `{ run(runNumber: 301) { files { cloudState objectKey downloadUrl } jobs { state attempts lastError } } }`;
