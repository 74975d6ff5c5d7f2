import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarm } from '../../src/entities/Alarm';
import { AlarmState } from '../../src/schema/enums';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startTestGateway, type TestGateway } from '../support/gateway';

// Two gateways on one database (two replicas of a deployment: MariaDB in the services run,
// one SQLite file otherwise) raise, acknowledge, resolve and expire at the same moment. The
// database decides every race: one open alarm per fingerprint, every repeat counted, a
// lifecycle step taken once and the loser told CONFLICT.

let database: TestDatabase;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase();
  a = await startTestGateway({ database, env: { WORKERS: '0' } });
  b = await startTestGateway({ database, env: { WORKERS: '0' } });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

const raise = (gw: TestGateway, input: Record<string, unknown>) => gw.gql(RAISE, { input });
const both = (i: number) => (i % 2 === 0 ? a : b);
const openRows = (fingerprint: string) =>
  a.server.runtime.db.manager.find(Alarm, {
    where: [
      { fingerprint, state: AlarmState.FIRING },
      { fingerprint, state: AlarmState.ACKNOWLEDGED },
    ],
  });

describe('alarms raised, acknowledged and resolved by two replicas at once', () => {
  it('opens one alarm per fingerprint and counts every concurrent raise', async () => {
    const raises = 40;
    const responses = await Promise.all(
      Array.from({ length: raises }, (_, i) =>
        raise(both(i), { ...HV_TRIP, message: `trip ${i}` }),
      ),
    );
    for (const res of responses) expect(res.errors).toBeUndefined();
    const ids = new Set(responses.map((res) => res.data.raiseAlarm.id));
    expect(ids.size).toBe(1);
    const open = await openRows('race:hv');
    expect(open).toHaveLength(1);
    expect(open[0].count).toBe(raises);
    // Exactly one of the raises opened it; every other one was told it repeated.
    const counts = responses.map((res) => res.data.raiseAlarm.count).sort((x, y) => x - y);
    expect(counts).toEqual(Array.from({ length: raises }, (_, i) => i + 1));
  });

  it('resolves once when both replicas resolve at once; a later raise opens a new alarm', async () => {
    const [first, second] = await Promise.all([
      a.gql(RESOLVE, { fingerprint: 'race:hv' }),
      b.gql(RESOLVE, { fingerprint: 'race:hv' }),
    ]);
    const resolved = [first.data.resolveAlarm, second.data.resolveAlarm].filter(Boolean);
    // Only the replica whose update took the alarm from open to RESOLVED reports (and announces) it.
    expect(resolved).toHaveLength(1);
    expect(resolved[0].state).toBe('RESOLVED');
    const again = await raise(b, HV_TRIP);
    expect(again.data.raiseAlarm).toMatchObject({ count: 1, state: 'FIRING' });
    expect(again.data.raiseAlarm.id).not.toBe(resolved[0].id);
  });

  it('acknowledges a FIRING alarm once; a resolved alarm is never flipped back', async () => {
    const { id } = (await raise(a, { ...HV_TRIP, fingerprint: 'race:ack' })).data.raiseAlarm;
    const acks = await Promise.all([a.gql(ACK, { id }), b.gql(ACK, { id })]);
    const codes = acks.map((res) => res.errors?.[0]?.extensions?.code ?? 'OK').sort();
    expect(codes).toEqual(['CONFLICT', 'OK']);

    const { id: other } = (await raise(b, { ...HV_TRIP, fingerprint: 'race:resolved' })).data
      .raiseAlarm;
    await a.gql(RESOLVE, { fingerprint: 'race:resolved' });
    const late = await b.gql(ACK, { id: other });
    expect(late.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(late.errors?.[0].message).toMatch(/is RESOLVED/);
    const row = await a.server.runtime.db.manager.findOneByOrFail(Alarm, { id: Number(other) });
    expect(row.state).toBe(AlarmState.RESOLVED);
    expect(row.acknowledgedBy).toBeNull();
  });

  it('derives the fingerprint from source, name and labels when the sender gives none', async () => {
    const bare = { name: 'PMT rate low', severity: 'WARNING', source: 'midas', message: 'x' };
    const first = await raise(a, { ...bare, labels: { pmt: '1', board: 'v1742' } });
    const second = await raise(b, { ...bare, labels: { board: 'v1742', pmt: '1' } });
    const other = await raise(a, { ...bare, labels: { pmt: '2', board: 'v1742' } });
    expect(first.errors).toBeUndefined();
    expect(first.data.raiseAlarm.fingerprint).toMatch(/^auto:[0-9a-f]{16}$/);
    expect(second.data.raiseAlarm).toMatchObject({ id: first.data.raiseAlarm.id, count: 2 });
    expect(other.data.raiseAlarm.fingerprint).not.toBe(first.data.raiseAlarm.fingerprint);
  });

  it('expires a silence once', async () => {
    // Twenty times: the window where a replica whose clock is a few ms behind sees the silence
    // the other has just expired still in force is narrow.
    for (let round = 0; round < 20; round++) {
      const created = await a.gql(
        `mutation { createSilence(input: { matchers: { source: "midas" }, endsAt: 4102444800000 }) { id } }`,
      );
      const { id } = created.data.createSilence;
      const expired = await Promise.all([a.gql(EXPIRE, { id }), b.gql(EXPIRE, { id })]);
      const codes = expired.map((res) => res.errors?.[0]?.extensions?.code ?? 'OK').sort();
      expect(codes).toEqual(['CONFLICT', 'OK']);
    }
    expect(await a.server.runtime.services.silences.active()).toHaveLength(0);
    const missing = await a.gql(EXPIRE, { id: '999999' });
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

const HV_TRIP = {
  fingerprint: 'race:hv',
  name: 'GEM1 trip',
  severity: 'CRITICAL',
  source: 'midas',
  message: 'current above limit',
};
const RAISE = `mutation($input: RaiseAlarmInput!) {
  raiseAlarm(input: $input) { id fingerprint count state }
}`;
const RESOLVE = `mutation($fingerprint: String!) { resolveAlarm(fingerprint: $fingerprint) { id state } }`;
const ACK = `mutation($id: ID!) { acknowledgeAlarm(id: $id) { id state } }`;
const EXPIRE = `mutation($id: ID!) { expireSilence(id: $id) { id endsAt } }`;
