import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../../src/auth/roles';
import { Topic } from '../../src/pubsub';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { waitFor } from '../support/wait';

// Runs only when REDIS_URL is set (the CI services run); it fails when Redis is unreachable.
const redisUrl = process.env.REDIS_URL!;

let database: TestDatabase;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  const probe = createClient({ url: redisUrl });
  probe.on('error', () => undefined);
  await probe.connect().catch((error: Error) => {
    throw new Error(`REDIS_URL is set but Redis cannot be reached (${error.message})`);
  });
  await probe.quit();
  database = await createTestDatabase();
  // Two replicas on one database and one Redis, as behind a load balancer; only b runs workers.
  a = await startTestGateway({ database, env: { WORKERS: '0' } });
  b = await startTestGateway({ database, env: { WORKERS: '1' }, bufferDir: a.bufferDir });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

describe('two gateway instances on one Redis', () => {
  it('delivers a mutation on one instance to a subscriber on the other', async () => {
    expect(a.config.redisUrl).toBe(redisUrl);
    const sub = await b.subscribe(
      `subscription { runUpdated(runNumber: 41) { runNumber state } }`,
      {},
      Topic.RunUpdated,
    );
    const res = await a.gql(`mutation { startRun(input: { runNumber: 41 }) { runNumber } }`);
    expect(res.errors).toBeUndefined();
    expect(await sub.next()).toEqual({ runNumber: 41, state: 'RUNNING' });
    sub.close();
  });

  it('wakes the worker of the other instance and reports its job back', async () => {
    const sub = await a.subscribe(
      `subscription { jobUpdated(runNumber: 42) { state } }`,
      {},
      Topic.JobUpdated,
    );
    a.writeBufferFile('run00042.mid', smallMidasRun(42));
    await a.gql(
      `mutation { closeRun(input: { runNumber: 42, files: [{ path: "run00042.mid" }] }) { runNumber } }`,
    );
    const states: string[] = [];
    while (!states.includes('SUCCEEDED')) states.push((await sub.next()).state);
    expect(states[0]).toBe('QUEUED');
    expect(states).toContain('RUNNING');
    sub.close();
  });

  it('publishes on channels under its own prefix', async () => {
    const client = createClient({ url: redisUrl });
    await client.connect();
    const prefix = a.config.redisPrefix;
    expect(b.config.redisPrefix).toBe(prefix);
    const channels = await client.pubSubChannels(`${prefix}*`);
    await client.quit();
    expect(channels).toEqual(expect.arrayContaining([`${prefix}${Topic.RunUpdated}`]));
  });
});

describe('limits that hold across replicas', () => {
  let pair: TestDatabase;
  let c: TestGateway;
  let d: TestGateway;
  beforeAll(async () => {
    pair = await createTestDatabase();
    const env = { WORKERS: '0', MUTATION_RATE_PER_MINUTE: '4' };
    c = await startTestGateway({ database: pair, env });
    d = await startTestGateway({ database: pair, env, bufferDir: c.bufferDir });
  });
  afterAll(async () => {
    await c?.close();
    await d?.close();
    await pair?.drop();
  });

  it("counts a caller's mutations on every replica against one rate", async () => {
    // The shared count is per clock minute: start well inside one.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
    const metric = `mutation { recordMetrics(samples: [{ name: "rate.shared", value: 1 }]) }`;
    for (const replica of [c, c, d, d]) expect((await replica.gql(metric)).errors).toBeUndefined();
    // d alone has taken 2 of its 4, but the caller has used the 4 it may across both.
    const limited = await d.gql(metric);
    expect(limited.status).toBe(429);
    expect(limited.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
  });
});

describe('token revocation across replicas', () => {
  it('refuses a revoked token on the other replica at once, not after its cache time', async () => {
    const { secret, token } = await a.server.runtime.services.apiTokens.create(
      { name: 'revoked-elsewhere', roles: [Role.READER] },
      'test',
    );
    const onB = () => b.server.runtime.services.apiTokens.principalFor(secret);
    expect(await onB()).toMatchObject({ roles: [Role.READER] }); // now in b's cache
    await a.server.runtime.services.apiTokens.revoke(token.id);
    // b trusts a looked-up token for 10 s unless it hears of the revocation.
    await waitFor(async () => (await onB()) === null, 'b to refuse the revoked token', 2_000);
  });
});
