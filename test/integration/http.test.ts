import { Readable } from 'node:stream';
import { serverAudits } from 'graphql-http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFile } from '../../src/entities/DataFile';
import { ReplicaState } from '../../src/schema/enums';
import { startTestGateway, type TestGateway } from '../support/gateway';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe('GraphQL over HTTP', () => {
  // Every MUST and every SHOULD of the audit suite that ships with graphql-http (a SHOULD
  // that is not met comes back as 'warn', which fails here too).
  const audits = serverAudits({ url: () => `${gw.url}/graphql`, fetchFn: fetch }).filter(
    (audit) => audit.name.startsWith('MUST') || audit.name.startsWith('SHOULD'),
  );

  it('runs the whole audit: 23 SHOULDs beside the MUSTs', () => {
    expect(audits.filter((audit) => audit.name.startsWith('SHOULD'))).toHaveLength(23);
  });

  it.each(audits.map((audit) => [audit.name, audit] as const))('%s', async (_name, audit) => {
    const result = await audit.fn();
    expect(result.status, 'reason' in result ? result.reason : '').toBe('ok');
  });

  it('answers GET queries and application/graphql-response+json', async () => {
    const res = await request(gw.url)
      .get('/graphql')
      .query({ query: '{ runs(first: 1) { totalCount } }' })
      .set('accept', 'application/graphql-response+json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/graphql-response\+json/);
    expect(res.body.data.runs.totalCount).toBe(0);
  });

  it('refuses mutations over GET', async () => {
    const res = await request(gw.url)
      .get('/graphql')
      .query({ query: 'mutation { startRun(input: { runNumber: 5 }) { id } }' });
    expect(res.status).toBe(405);
    expect((await gw.gql('{ run(runNumber: 5) { id } }')).data.run).toBeNull();
  });

  it('refuses a body over the size limit with a JSON error', async () => {
    const res = await request(gw.url)
      .post('/graphql')
      .set('content-type', 'application/json')
      .send(
        JSON.stringify({
          query: `{ runs { totalCount } }`,
          variables: { pad: 'x'.repeat(2 * 1024 * 1024) },
        }),
      );
    expect(res.status).toBe(413);
    expect(res.body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('hides internals of unexpected errors', async () => {
    const store = gw.server.runtime.store;
    const original = store.presign.bind(store);
    store.presign = async () => {
      throw new Error('secret internal detail at /srv/keys');
    };
    try {
      const run = await gw.gql(`mutation { closeRun(input: { runNumber: 1 }) { id } }`);
      await gw.server.runtime.db.write((m) =>
        m.insert(DataFile, {
          runId: Number(run.data.closeRun.id),
          name: 'x.mid',
          cloudState: ReplicaState.AVAILABLE,
          objectKey: 'LNGS/x.mid',
        }),
      );
      const res = await gw.gql(`{ files(filter: { runNumber: 1 }) { nodes { downloadUrl } } }`);
      expect(res.errors?.[0]).toMatchObject({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(res.errors)).not.toContain('secret');
    } finally {
      store.presign = original;
    }
  });
});

describe('health and downloads', () => {
  it('/healthz says alive and /readyz checks every backend', async () => {
    expect((await request(gw.url).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(gw.url).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', failures: {} });
  });

  it('/readyz reports a backend that stopped answering (503)', async () => {
    const store = gw.server.runtime.store;
    const original = store.ping.bind(store);
    store.ping = async () => {
      throw new Error('store unreachable');
    };
    try {
      const res = await request(gw.url).get('/readyz');
      expect(res.status).toBe(503);
      expect(res.body.failures).toEqual({ objectStore: 'store unreachable' });
    } finally {
      store.ping = original;
    }
  });

  it("downloads an object through the store's presigned URL", async () => {
    const store = gw.server.runtime.store;
    await store.put('LNGS/run00076.mid.gz', Readable.from([Buffer.from('raw data of run 76')]), 18);
    const res = await fetch(await store.presign('LNGS/run00076.mid.gz', 60));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('raw data of run 76');
  });

  it('serves objects behind gateway-signed, expiring URLs, and refuses tampered ones', async () => {
    const { store, signer } = gw.server.runtime;
    await store.put('LNGS/run00077.mid.gz', Readable.from([Buffer.from('raw data of run 77')]), 18);
    const url = signer.sign('LNGS/run00077.mid.gz', 60);
    expect(url.startsWith(`${gw.url}/objects/`)).toBe(true);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('raw data of run 77');
    expect((await fetch(url.replace('run00077', 'run00078'))).status).toBe(403);
    expect((await fetch(url.replace(/expires=\d+/, 'expires=1000'))).status).toBe(403);
    expect((await fetch(url.replace(/signature=[^&]+/, 'signature=forged'))).status).toBe(403);
  });
});
