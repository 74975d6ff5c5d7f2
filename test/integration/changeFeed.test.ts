import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrimaryHeartbeat } from '../../src/replication/primaryHeartbeat';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { followChanges, type ChangeFeed } from '../support/changeFeed';
import { waitFor } from '../support/wait';

// The change log on one gateway (SQLite by default, MariaDB in the services run): what replica
// gateways follow (test/services/mariadbReplication.test.ts runs real replication).

let gw: TestGateway;
let off: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ env: { CHANGE_LOG: 'true', CHANGE_POLL_MS: '50' } });
  off = await startTestGateway({ env: { CHANGE_LOG: 'false' } });
});
afterAll(async () => {
  for (const feed of feeds) feed.close();
  await gw?.close();
  await off?.close();
});

const feeds: ChangeFeed[] = [];
async function follow(
  target: TestGateway,
  variables: { after?: string; topics?: string[] },
): Promise<ChangeFeed> {
  const feed = await followChanges(target, variables);
  feeds.push(feed);
  return feed;
}

async function closeRun(runNumber: number): Promise<void> {
  const name = `run${String(runNumber).padStart(5, '0')}.mid`;
  gw.writeBufferFile(name, smallMidasRun(runNumber));
  const closed = await gw.gql(
    `mutation($input: CloseRunInput!) { closeRun(input: $input) { runNumber } }`,
    { input: { runNumber, files: [{ path: name }] } },
  );
  expect(closed.errors).toBeUndefined();
}

describe('the change log and the changes subscription', () => {
  it('numbers every change, in order, and filters by topic', async () => {
    const all = await follow(gw, {});
    const runsOnly = await follow(gw, { topics: ['RUN_UPDATED'] });
    await closeRun(31);
    await waitFor(
      () => all.received.some((c) => c.topic === 'JOB_UPDATED') && runsOnly.received.length > 0,
      'the changes',
    );
    const ids = all.received.map((c) => Number(c.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(runsOnly.received[0]).toMatchObject({ topic: 'RUN_UPDATED', run: { runNumber: 31 } });
    expect(runsOnly.received.every((c) => c.topic === 'RUN_UPDATED')).toBe(true);
    const lag = (await gw.gql(`{ replicationLag { role status seconds newestChangeId } }`)).data
      .replicationLag;
    expect(lag).toMatchObject({ role: 'PRIMARY', status: 'OK', seconds: 0 });
  });

  it('resumes after the last id seen with exactly what was missed; refuses ids it cannot honour', async () => {
    const live = await follow(gw, {});
    await closeRun(32);
    await waitFor(() => live.received.length >= 3, 'some changes');
    const ids = live.received.map((c) => c.id);
    const resumed = await follow(gw, { after: ids[0] });
    await waitFor(() => resumed.received.length >= ids.length - 1, 'the replay');
    expect(resumed.received.slice(0, ids.length - 1).map((c) => c.id)).toEqual(ids.slice(1));

    const unknown = await follow(gw, { after: '99999999' });
    expect(unknown.errors[0]).toMatchObject({
      extensions: { code: 'CHANGE_ID_UNAVAILABLE', reason: 'UNKNOWN' },
    });
    const bad = await follow(gw, { after: 'yesterday' });
    expect(bad.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });

    // Entries past CHANGE_LOG_KEEP_HOURS are trimmed; a resume point among them is refused.
    await gw.server.runtime.db.write((m) =>
      m.query(`UPDATE change_log SET createdAt = ? WHERE id <= ?`, [
        gw.server.runtime.db.dialect === 'sqlite' ? '2000-01-01 00:00:00.000' : new Date(0),
        Number(ids[1]),
      ]),
    );
    expect(await new PrimaryHeartbeat(gw.server.runtime.db, 1).prune()).toBeGreaterThan(0);
    const tooOld = await follow(gw, { after: ids[0] });
    expect(tooOld.errors[0]).toMatchObject({
      extensions: { code: 'CHANGE_ID_UNAVAILABLE', reason: 'TOO_OLD' },
    });
  });

  it('a gateway without a change log says so', async () => {
    const refused = await follow(off, {});
    expect(refused.errors[0].message).toMatch(/CHANGE_LOG=false/);
    const lag = (await off.gql(`{ replicationLag { role lastError } }`)).data.replicationLag;
    expect(lag.role).toBe('PRIMARY');
  });
});
