import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindDate } from '../../src/db/bulkInsert';
import { Topic } from '../../src/pubsub';
import { ChangeFollower, type Change } from '../../src/replication/changeFollower';
import { openTestRuntime, type TestRuntime } from '../support/runtime';
import { waitFor } from '../support/wait';

// Ids of the change log are taken when a row is inserted, not when it commits: a follower
// must hand on a change that commits after a later-numbered one, once, and not wait for ever
// for an id whose insert rolled back.

let test: TestRuntime;
let follower: ChangeFollower;
const handed: Change[] = [];
const republished: unknown[] = [];

beforeAll(async () => {
  test = await openTestRuntime();
  const { runtime } = test;
  // Missing ids are waited for 100 ms of the primary's clock (10 s in production).
  follower = new ChangeFollower(runtime.db, 20, runtime.pubsub, 100);
  await runtime.pubsub.listen(Topic.RunUpdated, (payload) => republished.push(payload));
  await follower.start();
  await follower.listen((change) => handed.push(change));
});
afterAll(async () => {
  await follower?.stop();
  await test?.close();
});

async function insert(id: number, topic = Topic.RunUpdated): Promise<void> {
  await test.runtime.db.write((m) =>
    m.query('INSERT INTO change_log (id, topic, payload, createdAt) VALUES (?, ?, ?, ?)', [
      id,
      topic,
      JSON.stringify({ runNumber: id }),
      bindDate(m, new Date()),
    ]),
  );
}

async function setHeartbeat(at: Date): Promise<void> {
  await test.runtime.db.write((m) =>
    m.query(
      test.runtime.db.dialect === 'sqlite'
        ? 'INSERT INTO replication_heartbeat (id, beatAt) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET beatAt = excluded.beatAt'
        : 'INSERT INTO replication_heartbeat (id, beatAt) VALUES (1, ?) ON DUPLICATE KEY UPDATE beatAt = VALUES(beatAt)',
      [bindDate(m, at)],
    ),
  );
}

const ids = () => handed.map((change) => change.id);

describe('ChangeFollower', () => {
  it('hands on each change once, a late-committed lower id included, and republishes it locally', async () => {
    const now = new Date();
    await setHeartbeat(now);
    await insert(1);
    await waitFor(() => handed.length === 1, 'change 1');
    await insert(3); // 2 is numbered but not committed yet
    await waitFor(() => handed.length === 2, 'change 3');
    await insert(2);
    await waitFor(() => handed.length === 3, 'change 2, late');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ids()).toEqual([1, 3, 2]);
    expect(republished).toEqual([{ runNumber: 1 }, { runNumber: 3 }, { runNumber: 2 }]);
  });

  it("gives up on a missing id once the primary's clock has moved on, never before", async () => {
    const now = Date.now();
    await setHeartbeat(new Date(now));
    await insert(5); // 4 missing
    await waitFor(() => ids().includes(5), 'change 5');
    // Replication stopped: the replica's heartbeat does not move, so waiting here (3× the gap
    // wait by the wall clock) is no reason to give up on 4.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await insert(4);
    await waitFor(() => ids().includes(4), 'change 4 after a wait that the primary never saw');
    await insert(7); // 6 missing; its insert "rolled back"
    await waitFor(() => ids().includes(7), 'change 7');
    await setHeartbeat(new Date(now + 1_000));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await insert(6);
    await insert(8);
    await waitFor(() => ids().includes(8), 'change 8');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ids().slice(3)).toEqual([5, 4, 7, 8]);
  });
});
