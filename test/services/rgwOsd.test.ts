import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore } from '../../src/storage/createObjectStore';
import { UrlSigner } from '../../src/storage/signedUrls';
import { startCephRgw, type OsdControl } from '../support/cephRgw';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { readWhenDone, waitFor } from '../support/wait';

// Runs with TEST_OBJECT_STORE=rgw. Ceph's OSD goes down under a running gateway: radosgw then
// answers nothing at all (it holds every request until its placement groups are active again),
// so the gateway must give up on a silent request itself (S3_TIMEOUT_MS) and retry the job.
// This file starts a cluster of its own (about 20 s): stopping the run's shared OSD would stall
// every other suite using it.

let cluster: Awaited<ReturnType<typeof startCephRgw>>;
let osd: OsdControl;
let gw: TestGateway;

beforeAll(async () => {
  cluster = await startCephRgw();
  osd = cluster.osd;
  const { endpoint, accessKey, secretKey } = cluster.cluster;
  const url = `s3://${accessKey}:${secretKey}@${new URL(endpoint).host}/osd-down?ssl=false&region=us-east-1`;
  // A fresh cluster takes seconds to make its first bucket's pools: done before the short
  // timeout applies, with a first object so that the data pool is there too.
  const store = await createObjectStore(url, 5 << 20, new UrlSigner('secret', 'http://x'));
  await store.put('warm-up', Readable.from([Buffer.from('warm')]), 4);
  gw = await startTestGateway({
    env: {
      OBJECT_STORE_URL: url,
      S3_TIMEOUT_MS: '1500',
      JOB_BACKOFF_BASE_MS: '200',
      JOB_BACKOFF_MAX_MS: '500',
      JOB_MAX_ATTEMPTS: '30',
    },
  });
}, 120_000);
afterAll(async () => {
  await gw?.close();
  await cluster?.stop();
});

const RUN = `{ run(runNumber: 801) { files { cloudState objectKey } jobs { kind state attempts lastError } } }`;

describe('Ceph OSD down', () => {
  it('an ingest does not hang on a silent store: it fails its attempts with a clear error, then succeeds once the OSD is back', async () => {
    await osd.stop();
    try {
      gw.writeBufferFile('run00801.mid', smallMidasRun(801));
      const closed = await gw.gql(
        `mutation { closeRun(input: { runNumber: 801, files: [{ path: "run00801.mid" }] }) { id } }`,
      );
      expect(closed.errors).toBeUndefined();
      const failing = await readWhenDone(
        async () => (await gw.gql(RUN)).data.run,
        (run) => run.jobs[0].attempts >= 2 && run.jobs[0].state === 'QUEUED',
        'two attempts to time out',
        30_000,
      );
      expect(failing.jobs[0].lastError).toMatch(
        /the object store sent nothing for 1500 ms \(S3_TIMEOUT_MS\)/,
      );
      expect(failing.files[0]).toMatchObject({ cloudState: null, objectKey: null });
      // The readiness probe says so too, instead of hanging.
      const ready = await fetch(`${gw.url}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      await osd.start();
    }
    const done = await waitFor(
      async () => {
        const run = (await gw.gql(RUN)).data.run;
        return run.jobs[0].state === 'SUCCEEDED' ? run : null;
      },
      'the ingest to succeed once the OSD is back',
      90_000,
      250,
    );
    expect(done.files[0]).toMatchObject({
      cloudState: 'AVAILABLE',
      objectKey: 'LNGS/run00801.mid',
    });
    expect((await gw.server.runtime.store.stat('LNGS/run00801.mid'))?.size).toBe(
      smallMidasRun(801).length,
    );
  }, 180_000);
});
