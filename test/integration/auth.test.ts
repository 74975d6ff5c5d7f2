import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { Topic } from '../../src/pubsub';
import { startTestGateway, type TestGateway } from '../support/gateway';

const TOKENS = {
  reader: 'reader-token-0123456789',
  shifter: 'shifter-token-0123456789',
  daq: 'daq-token-0123456789abcd',
  admin: 'admin-token-0123456789ab',
};

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      API_TOKENS: Object.entries(TOKENS)
        .map(([role, token]) => `${role}:${token}`)
        .join(','),
    },
  });
});
afterAll(async () => {
  await gw?.close();
});

const START = `mutation { startRun(input: { runNumber: 7 }) { runNumber } }`;

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

  it('checks the role on every mutation (FORBIDDEN)', async () => {
    const cases: Array<[string, keyof typeof TOKENS, boolean]> = [
      [START, 'reader', false],
      [START, 'shifter', false],
      [START, 'daq', true],
      [START, 'admin', true],
      [`mutation { closeRun(input: { runNumber: 8 }) { runNumber } }`, 'reader', false],
      [`mutation { closeRun(input: { runNumber: 8 }) { runNumber } }`, 'daq', true],
      [`mutation { retryJob(id: "1") { id } }`, 'reader', false],
      [`mutation { retryJob(id: "1") { id } }`, 'daq', false],
      [`mutation { cancelJob(id: "1") { id } }`, 'reader', false],
      [`mutation { cancelJob(id: "1") { id } }`, 'daq', false],
      [`mutation { reconstructRun(runNumber: 1) { id } }`, 'reader', false],
      [`mutation { reconstructRun(runNumber: 1) { id } }`, 'daq', false],
      [SET_FLAG, 'reader', false],
      [SET_FLAG, 'daq', false],
      [`mutation { requestRecall(fileId: "1") { id } }`, 'reader', false],
      [`mutation { requestRecall(fileId: "1") { id } }`, 'daq', false],
      [`mutation { recordMetrics(samples: [{ name: "x", value: 1 }]) }`, 'reader', false],
      [`mutation { recordMetrics(samples: [{ name: "x", value: 1 }]) }`, 'shifter', false],
      [`mutation { recordMetrics(samples: [{ name: "x", value: 1 }]) }`, 'daq', true],
      [RAISE, 'reader', false],
      [RAISE, 'daq', true],
      [RAISE, 'shifter', true],
      [`mutation { acknowledgeAlarm(id: "1") { id } }`, 'reader', false],
      [`mutation { acknowledgeAlarm(id: "1") { id } }`, 'daq', false],
      [SILENCE, 'reader', false],
      [SILENCE, 'daq', false],
      [SILENCE, 'shifter', true],
      [RULE, 'shifter', false],
      [RULE, 'daq', false],
      [RULE, 'admin', true],
      [`mutation { deleteAlarmRule(name: "x") }`, 'shifter', false],
      [`mutation { deleteAlarmRule(name: "x") }`, 'admin', true],
    ];
    for (const [mutation, role, allowed] of cases) {
      const res = await gw.gql(mutation, {}, TOKENS[role]);
      const code = res.errors?.[0].extensions?.code;
      if (allowed) expect(code, `${role}: ${mutation}`).toBeUndefined();
      else expect(code, `${role}: ${mutation}`).toBe('FORBIDDEN');
    }
    // Shifters and admins pass the role check on job mutations (the job may still be in the wrong state).
    for (const role of ['shifter', 'admin'] as const) {
      for (const mutation of [
        `mutation { retryJob(id: "1") { id } }`,
        `mutation { reconstructRun(runNumber: 1) { id } }`,
        `mutation { requestRecall(fileId: "1") { id } }`,
        SET_FLAG,
      ]) {
        const code = (await gw.gql(mutation, {}, TOKENS[role])).errors?.[0].extensions?.code;
        expect(code, `${role}: ${mutation}`).not.toBe('FORBIDDEN');
      }
    }
  });

  it('keeps every mutation behind a role check (no mutation is open to readers)', async () => {
    const schema = (
      await gw.gql(`{ __schema { mutationType { fields { name } } } }`, {}, TOKENS.reader)
    ).data;
    const names: string[] = schema.__schema.mutationType.fields.map(
      (f: { name: string }) => f.name,
    );
    expect(names.sort()).toEqual([
      'acknowledgeAlarm',
      'cancelJob',
      'closeRun',
      'createSilence',
      'deleteAlarmRule',
      'raiseAlarm',
      'reconstructRun',
      'recordMetrics',
      'requestRecall',
      'retryJob',
      'setAlarmRule',
      'setQualityFlag',
      'startRun',
    ]);
  });
});

describe('API tokens over graphql-ws', () => {
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

  it('closes the socket (4403) without a valid token', async () => {
    for (const connectionParams of [{}, { authorization: 'Bearer wrong-token-0123456789' }]) {
      const code = await new Promise<number>((resolve) => {
        const client = createClient({
          url: `${gw.url.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams,
          retryAttempts: 0,
          lazy: false,
          onNonLazyError: () => undefined,
          on: { closed: (event) => resolve((event as { code: number }).code) },
        });
        client.subscribe(
          { query: 'subscription { runUpdated { runNumber } }' },
          { next: () => undefined, error: () => undefined, complete: () => undefined },
        );
      });
      expect(code).toBe(4403);
    }
  });
});

const SET_FLAG = `mutation { setQualityFlag(input: { runNumber: 1, subsystem: "camera", status: GOOD }) { id } }`;
const RAISE = `mutation { raiseAlarm(input: { fingerprint: "auth-test", name: "t", severity: INFO, source: "test", message: "m" }) { id } }`;
const SILENCE = `mutation { createSilence(input: { matchers: { source: "test" }, endsAt: 4102444800000 }) { id } }`;
const RULE = `mutation { setAlarmRule(input: { name: "auth-test", kind: HEARTBEAT, metric: "x", forSeconds: 60 }) { id } }`;
