import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import { getIntrospectionQuery } from 'graphql';
import WebSocket from 'ws';
import { Topic } from '../../src/pubsub';
import {
  CHANGE_FEED,
  startTestGateway,
  type SubscriptionSource,
  type TestGateway,
} from '../support/gateway';

const TOKENS = {
  reader: 'reader-token-0123456789',
  shifter: 'shifter-token-0123456789',
  daq: 'daq-token-0123456789abcd',
  production: 'production-token-012345',
  admin: 'admin-token-0123456789ab',
};
type RoleName = keyof typeof TOKENS;
const ROLES = Object.keys(TOKENS) as RoleName[];

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      API_TOKENS: Object.entries(TOKENS)
        .map(([role, token]) => `${role}:${token}`)
        .join(','),
      CHANGE_LOG: 'true',
    },
  });
});
afterAll(async () => {
  await gw?.close();
});

const START = `mutation { startRun(input: { runNumber: 7 }) { runNumber } }`;

/**
 * Every mutation, admin-only query and subscription with the roles that may use it (admins may
 * use everything). The test below fails when the schema gains an operation this table lacks.
 */
const MUTATIONS: Record<string, [string, RoleName[]]> = {
  startRun: [START, ['daq']],
  closeRun: [`mutation { closeRun(input: { runNumber: 8 }) { runNumber } }`, ['daq']],
  recordMetrics: [`mutation { recordMetrics(samples: [{ name: "x", value: 1 }]) }`, ['daq']],
  raiseAlarm: [
    `mutation { raiseAlarm(input: { fingerprint: "auth-test", name: "t", severity: INFO, source: "test", message: "m" }) { id } }`,
    ['daq', 'shifter'],
  ],
  resolveAlarm: [
    `mutation { resolveAlarm(fingerprint: "nothing-open") { id } }`,
    ['daq', 'shifter'],
  ],
  acknowledgeAlarm: [`mutation { acknowledgeAlarm(id: "999") { id } }`, ['shifter']],
  createSilence: [
    `mutation { createSilence(input: { matchers: { source: "test" }, endsAt: 4102444800000 }) { id } }`,
    ['shifter'],
  ],
  expireSilence: [`mutation { expireSilence(id: "999") { id } }`, ['shifter']],
  setQualityFlag: [
    `mutation { setQualityFlag(input: { runNumber: 1, subsystem: "camera", status: GOOD }) { id } }`,
    ['shifter'],
  ],
  retryJob: [`mutation { retryJob(id: "999") { id } }`, ['shifter']],
  cancelJob: [`mutation { cancelJob(id: "999") { id } }`, ['shifter']],
  reconstructRun: [`mutation { reconstructRun(runNumber: 999) { id } }`, ['shifter']],
  requestRecall: [`mutation { requestRecall(fileId: "999") { id } }`, ['shifter']],
  reprocess: [
    `mutation { reprocess(input: { runs: { runNumbers: [999] }, parameters: { nsigma: 1.5 } }) { id } }`,
    ['production'],
  ],
  cancelCampaign: [`mutation { cancelCampaign(id: "999") { id } }`, ['production']],
  promoteCampaign: [`mutation { promoteCampaign(id: "999") { id } }`, []],
  setAlarmRule: [
    `mutation { setAlarmRule(input: { name: "auth-test", kind: HEARTBEAT, metric: "x", forSeconds: 60 }) { id } }`,
    [],
  ],
  deleteAlarmRule: [`mutation { deleteAlarmRule(name: "x") }`, []],
  createApiToken: [
    `mutation { createApiToken(input: { name: "matrix", roles: [READER] }) { token { id } } }`,
    [],
  ],
  revokeApiToken: [`mutation { revokeApiToken(id: "999") { id } }`, []],
};
const ADMIN_QUERIES: Record<string, string> = {
  apiTokens: `{ apiTokens { id } }`,
  auditLog: `{ auditLog(first: 1) { totalCount } }`,
};
const SUBSCRIPTIONS: Record<string, [string, SubscriptionSource]> = {
  runUpdated: [`subscription { runUpdated { runNumber } }`, Topic.RunUpdated],
  jobUpdated: [`subscription { jobUpdated { id } }`, Topic.JobUpdated],
  eventReconstructed: [`subscription { eventReconstructed { id } }`, Topic.EventReconstructed],
  alarmEvents: [`subscription { alarmEvents { type } }`, Topic.AlarmEvent],
  metricSamples: [`subscription { metricSamples { name } }`, Topic.MetricSample],
  campaignUpdated: [`subscription { campaignUpdated { id } }`, Topic.CampaignUpdated],
  changes: [`subscription { changes { id } }`, CHANGE_FEED],
};

async function fieldsOf(type: 'mutationType' | 'subscriptionType'): Promise<string[]> {
  const res = await gw.gql(`{ __schema { ${type} { fields { name } } } }`, {}, TOKENS.reader);
  return res.data.__schema[type].fields.map((f: { name: string }) => f.name).sort();
}

describe('API tokens over HTTP', () => {
  it('refuses a request without a token (UNAUTHENTICATED, HTTP 401)', async () => {
    const res = await gw.gql(`{ runs { totalCount } }`);
    expect(res.status).toBe(401);
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gw.gql(START)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unknown token (UNAUTHENTICATED)', async () => {
    const res = await gw.gql(`{ runs { totalCount } }`, {}, 'not-a-real-token-at-all');
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets every role read', async () => {
    for (const token of Object.values(TOKENS)) {
      const res = await gw.gql(`{ runs { totalCount } }`, {}, token);
      expect(res.errors).toBeUndefined();
    }
  });
});

describe('the role matrix', () => {
  it('covers every mutation and subscription of the schema', async () => {
    expect(await fieldsOf('mutationType')).toEqual(Object.keys(MUTATIONS).sort());
    expect(await fieldsOf('subscriptionType')).toEqual(Object.keys(SUBSCRIPTIONS).sort());
  });

  it('checks every mutation against every role (FORBIDDEN unless allowed)', async () => {
    for (const [name, [mutation, allowed]] of Object.entries(MUTATIONS)) {
      for (const role of ROLES) {
        const code = (await gw.gql(mutation, {}, TOKENS[role])).errors?.[0].extensions?.code;
        const may = role === 'admin' || allowed.includes(role);
        // An allowed call may still fail on its arguments (NOT_FOUND, CONFLICT), never on the role.
        if (may) expect(code, `${role} ${name}`).not.toBe('FORBIDDEN');
        else expect(code, `${role} ${name}`).toBe('FORBIDDEN');
      }
    }
  });

  it('keeps token management and the audit log to admins', async () => {
    for (const [name, query] of Object.entries(ADMIN_QUERIES)) {
      for (const role of ROLES) {
        const res = await gw.gql(query, {}, TOKENS[role]);
        if (role === 'admin') expect(res.errors, name).toBeUndefined();
        else expect(res.errors?.[0].extensions?.code, `${role} ${name}`).toBe('FORBIDDEN');
      }
    }
  });

  it('lets every role subscribe to every subscription', async () => {
    for (const [name, [query, topic]] of Object.entries(SUBSCRIPTIONS)) {
      for (const role of ROLES) {
        const sub = await gw.subscribe(query, {}, topic, TOKENS[role]).catch((e: Error) => e);
        expect(sub, `${role} ${name}`).not.toBeInstanceOf(Error);
        if (!(sub instanceof Error)) sub.close();
      }
    }
  });
});

const closeCode = async (connectionParams: Record<string, unknown>) =>
  (await gw.socketClose(connectionParams)).code;

describe('tokens over graphql-ws', () => {
  it('accepts a token in connection_init', async () => {
    const sub = await gw.subscribe(
      `subscription { runUpdated(runNumber: 9) { runNumber state } }`,
      {},
      Topic.RunUpdated,
      TOKENS.reader,
    );
    await gw.gql(`mutation { startRun(input: { runNumber: 9 }) { runNumber } }`, {}, TOKENS.daq);
    expect(await sub.next()).toEqual({ runNumber: 9, state: 'RUNNING' });
    sub.close();
  });

  it('closes the socket with 4401 without a valid token', async () => {
    expect(await closeCode({})).toBe(4401);
    expect(await closeCode({ authorization: 'Bearer wrong-token-0123456789' })).toBe(4401);
  });
});

const CREATE = `mutation($input: ApiTokenInput!) { createApiToken(input: $input) { secret token { id name roles fingerprint expiresAt } } }`;

describe('API tokens kept in the database', () => {
  it('creates a token whose secret is shown once and stored only as a hash', async () => {
    const created = await gw.gql(
      CREATE,
      { input: { name: 'grafana', roles: ['READER'] } },
      TOKENS.admin,
    );
    expect(created.errors).toBeUndefined();
    const { secret, token } = created.data.createApiToken;
    expect(secret).toMatch(/^cyg_[\w-]{40,}$/);
    expect(token).toMatchObject({ name: 'grafana', roles: ['READER'], expiresAt: null });

    expect((await gw.gql(`{ runs { totalCount } }`, {}, secret)).errors).toBeUndefined();
    expect((await gw.gql(START, {}, secret)).errors?.[0].extensions?.code).toBe('FORBIDDEN');

    // The database holds the hash and never the secret; the API has no field that shows either.
    const rows = await gw.server.runtime.db.manager.query('SELECT * FROM api_tokens');
    expect(JSON.stringify(rows)).not.toContain(secret.slice(4));
    expect(rows.some((r: { sha256: string }) => r.sha256.startsWith(token.fingerprint))).toBe(true);
    const typeFields = await gw.gql(
      `{ __type(name: "ApiToken") { fields { name } } }`,
      {},
      TOKENS.admin,
    );
    expect(typeFields.data.__type.fields.map((f: { name: string }) => f.name)).not.toContain(
      'sha256',
    );
    const listed = await gw.gql(`{ apiTokens { name } }`, {}, TOKENS.admin);
    expect(JSON.stringify(listed)).not.toContain(secret);
    const audit = await gw.gql(
      `{ auditLog(filter: { operation: "createApiToken" }) { nodes { arguments } } }`,
      {},
      TOKENS.admin,
    );
    expect(JSON.stringify(audit)).not.toContain(secret);

    const revoked = await gw.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`,
      { id: token.id },
      TOKENS.admin,
    );
    expect(revoked.data.revokeApiToken.revokedAt).not.toBeNull();
    const after = await gw.gql(`{ runs { totalCount } }`, {}, secret);
    expect(after.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an expired token, and ends its subscription when it expires', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const { secret } = (
      await gw.gql(
        CREATE,
        { input: { name: 'short-lived', roles: ['READER'], expiresAt } },
        TOKENS.admin,
      )
    ).data.createApiToken;
    const started = Date.now();
    expect(await closeCode({ authorization: `Bearer ${secret}` })).toBe(4401);
    expect(Date.now() - started).toBeGreaterThan(700); // open until the expiry, then closed
    const res = await gw.gql(`{ runs { totalCount } }`, {}, secret);
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('ends the subscriptions of a token the moment it is revoked', async () => {
    const { secret, token } = (
      await gw.gql(CREATE, { input: { name: 'revoked-live', roles: ['READER'] } }, TOKENS.admin)
    ).data.createApiToken;
    let connected!: () => void;
    const open = new Promise<void>((resolve) => (connected = resolve));
    const closed = gw.socketClose(
      { authorization: `Bearer ${secret}` },
      { onConnected: connected },
    );
    await open; // accepted first: the close below is the revocation's, not a refusal
    await gw.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`,
      { id: token.id },
      TOKENS.admin,
    );
    const stillOpen = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error('the socket stayed open after the revocation')),
        5000,
      ).unref(),
    );
    expect(await Promise.race([closed, stillOpen])).toMatchObject({
      code: 4401,
      reason: 'the token has been revoked',
    });
  });

  it('refuses bad token specifications', async () => {
    const past = await gw.gql(
      CREATE,
      { input: { name: 'x', roles: ['READER'], expiresAt: '2001-01-01T00:00:00Z' } },
      TOKENS.admin,
    );
    expect(past.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const none = await gw.gql(CREATE, { input: { name: 'x', roles: [] } }, TOKENS.admin);
    expect(none.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('the audit log', () => {
  it('records who did what, when, from where, with which arguments — refusals too', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    await gw.gql(
      `mutation($n: Int!) { startRun(input: { runNumber: $n, description: "audit me" }) { runNumber } }`,
      { n: 4242 },
      TOKENS.daq,
    );
    await gw.gql(MUTATIONS.setAlarmRule[0], {}, TOKENS.shifter); // refused
    const res = await gw.gql(
      `query($since: DateTime!) { auditLog(filter: { from: $since }, first: 50) { nodes { at principal address operation arguments outcome } } }`,
      { since },
      TOKENS.admin,
    );
    const entries = res.data.auditLog.nodes;
    const started = entries.find((e: { operation: string }) => e.operation === 'startRun');
    expect(started).toMatchObject({
      principal: expect.stringMatching(/^token:/),
      address: expect.stringMatching(/127\.0\.0\.1/),
      arguments: { startRun: { input: { runNumber: 4242, description: 'audit me' } } },
      outcome: 'OK',
    });
    expect(Date.parse(started.at)).toBeGreaterThanOrEqual(Date.parse(since));
    expect(
      entries.find((e: { operation: string }) => e.operation === 'setAlarmRule'),
    ).toMatchObject({
      outcome: 'FORBIDDEN',
    });
  });
});

describe('abuse limits', () => {
  it('refuses a deep query before it runs (QUERY_TOO_COMPLEX)', async () => {
    let selection = 'runNumber';
    for (let i = 0; i < 8; i++) selection = `files { run { ${selection} } }`;
    const res = await gw.gql(`{ runs { nodes { ${selection} } } }`, {}, TOKENS.reader);
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(res.errors?.[0].message).toMatch(/depth \d+ exceeds the limit of 12/);
  });

  it('refuses a wide query by its estimated cost, variables included', async () => {
    const query = `query($n: Int) { runs(first: $n) { nodes { runNumber files { name tapeCopies { state } deletions { location reason } } } } }`;
    const res = await gw.gql(query, { n: 500 }, TOKENS.reader);
    expect(res.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(res.errors?.[0].message).toMatch(/cost \d+ exceeds the limit of 100000/);
    expect((await gw.gql(query, { n: 2 }, TOKENS.reader)).errors).toBeUndefined();
  });

  it('keeps introspection available (Grafana checks its datasource with it)', async () => {
    const res = await gw.gql(getIntrospectionQuery(), {}, TOKENS.reader);
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.queryType.name).toBe('Query');
  });

  it('caps first and the request body', async () => {
    const res = await gw.gql(`{ runs(first: 100000) { totalCount } }`, {}, TOKENS.reader);
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const huge = await gw.gql(
      `{ runs { totalCount } } # ${'x'.repeat(1_100_000)}`,
      {},
      TOKENS.reader,
    );
    expect(huge.status).toBe(413);
  });
});

describe('abuse limits per caller and per connection', () => {
  let small: TestGateway;
  beforeAll(async () => {
    small = await startTestGateway({
      env: {
        API_TOKENS: `daq:${TOKENS.daq},reader:${TOKENS.reader}`,
        MUTATION_RATE_PER_MINUTE: '5',
        MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
      },
    });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('rate-limits mutations per token (RATE_LIMITED, HTTP 429)', async () => {
    const metric = `mutation { recordMetrics(samples: [{ name: "rate.test", value: 1 }]) }`;
    for (let i = 0; i < 5; i++)
      expect((await small.gql(metric, {}, TOKENS.daq)).errors, `call ${i}`).toBeUndefined();
    const limited = await small.gql(metric, {}, TOKENS.daq);
    expect(limited.status).toBe(429);
    expect(limited.errors?.[0].extensions).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: expect.any(Number),
    });
    // Reads are not limited, and neither is another caller.
    expect((await small.gql(`{ runs { totalCount } }`, {}, TOKENS.daq)).errors).toBeUndefined();
  });

  it('limits subscriptions per connection and refuses mutations over the socket', async () => {
    const client = createClient({
      url: `${small.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${TOKENS.reader}` },
      retryAttempts: 0,
    });
    const outcome = (query: string) =>
      new Promise<string>((resolve) => {
        client.subscribe(
          { query },
          {
            next: (value) => resolve(JSON.stringify(value)),
            error: (error) => resolve(JSON.stringify(error)),
            complete: () => resolve('complete'),
          },
        );
        setTimeout(() => resolve('open'), 500);
      });
    expect(await outcome('subscription { runUpdated { runNumber } }')).toBe('open');
    expect(await outcome('subscription { jobUpdated { id } }')).toBe('open');
    expect(await outcome('subscription { alarmEvents { type } }')).toMatch(
      /at most 2 subscriptions per connection/,
    );
    await client.dispose();

    const other = createClient({
      url: `${small.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${TOKENS.daq}` },
      retryAttempts: 0,
    });
    const mutation = await new Promise<string>((resolve) =>
      other.subscribe(
        { query: `mutation { startRun(input: { runNumber: 77 }) { runNumber } }` },
        {
          next: (value) => resolve(JSON.stringify(value)),
          error: (error) => resolve(JSON.stringify(error)),
          complete: () => undefined,
        },
      ),
    );
    expect(mutation).toMatch(/mutations go over HTTP/);
    await other.dispose();
  });
});
