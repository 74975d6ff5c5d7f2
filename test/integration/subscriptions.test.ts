import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Topic } from '../../src/pubsub';
import { deliveryStats } from '../../src/subscriptions/wsTransport';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe('subscriptions over graphql-ws on the HTTP port', () => {
  it('runUpdated(runNumber) delivers changes of that run only', async () => {
    const mine = await gw.subscribe(RUN_UPDATED, { runNumber: 31 }, Topic.RunUpdated);
    const all = await gw.subscribe(RUN_UPDATED, {}, Topic.RunUpdated);
    await gw.gql(START_RUN, { input: { runNumber: 30 } });
    await gw.gql(START_RUN, { input: { runNumber: 31, startedAt: '2026-11-24T18:00:00Z' } });
    expect(await mine.next()).toEqual({
      runNumber: 31,
      state: 'RUNNING',
      startedAt: '2026-11-24T18:00:00.000Z',
      files: [],
    });
    expect((await all.next()).runNumber).toBe(30);
    expect((await all.next()).runNumber).toBe(31);

    gw.writeBufferFile('run00031.mid', smallMidasRun(31));
    await gw.gql(CLOSE_RUN, { input: { runNumber: 31, files: [{ path: 'run00031.mid' }] } });
    const closed = await mine.next();
    expect(closed).toMatchObject({
      runNumber: 31,
      state: 'CLOSED',
      files: [{ name: 'run00031.mid', localState: 'EXPECTED' }],
    });
    // Ingestion updates the run again (COPYING, then PRESENT); the subscription's loaders are
    // not cached across events.
    let ingested = await mine.next();
    while (ingested.files[0].localState !== 'PRESENT') ingested = await mine.next();
    expect(ingested.files).toEqual([{ name: 'run00031.mid', localState: 'PRESENT' }]);
    expect(mine.received.every((run: { runNumber: number }) => run.runNumber === 31)).toBe(true);
    mine.close();
    all.close();
  });

  it('jobUpdated(runNumber, kind) follows a job from QUEUED to SUCCEEDED', async () => {
    const jobs = await gw.subscribe(
      JOB_UPDATED,
      { runNumber: 32, kind: 'INGEST' },
      Topic.JobUpdated,
    );
    const otherRun = await gw.subscribe(JOB_UPDATED, { runNumber: 999 }, Topic.JobUpdated);
    gw.writeBufferFile('run00032.mid', smallMidasRun(32));
    await gw.gql(CLOSE_RUN, { input: { runNumber: 32, files: [{ path: 'run00032.mid' }] } });
    const states: string[] = [];
    for (;;) {
      const job = await jobs.next();
      expect(job).toMatchObject({ kind: 'INGEST', runNumber: 32 });
      states.push(job.state);
      if (job.state === 'SUCCEEDED') break;
    }
    expect(states[0]).toBe('QUEUED');
    expect(states).toContain('RUNNING');
    expect(otherRun.received).toEqual([]);
    jobs.close();
    otherRun.close();
  });
});

const START_RUN = `mutation($input: StartRunInput!) { startRun(input: $input) { runNumber } }`;
const CLOSE_RUN = `mutation($input: CloseRunInput!) { closeRun(input: $input) { runNumber } }`;
const RUN_UPDATED = `subscription($runNumber: Int) { runUpdated(runNumber: $runNumber) { runNumber state startedAt files { name localState } } }`;
const JOB_UPDATED = `subscription($runNumber: Int, $kind: JobKind) { jobUpdated(runNumber: $runNumber, kind: $kind) { id kind state runNumber progress } }`;

describe('a subscriber that stops reading', () => {
  it('neither delays the others nor grows the gateway without bound', async () => {
    const query = `subscription { alarmEvents { alarm { fingerprint message } } }`;
    // The stalled client: subscribes, then never reads its socket again.
    const stalled = new WebSocket(
      `${gw.url.replace('http', 'ws')}/graphql`,
      'graphql-transport-ws',
    );
    await new Promise((resolve) => stalled.once('open', resolve));
    stalled.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise((resolve) => stalled.once('message', resolve)); // connection_ack
    const pubsub = gw.server.runtime.pubsub;
    // Registered before the live one subscribes: else the live one's wait for its own
    // registration could end on the stalled one's, and it would miss the first events.
    await gw.registered(Topic.AlarmEvent, () =>
      stalled.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } })),
    );
    const live = await gw.subscribe(query, {}, Topic.AlarmEvent);
    (stalled as unknown as { _socket: { pause(): void } })._socket.pause();

    const EVENTS = 12_000; // 2 KB each: 24 MB, three times what a stalled socket may hold
    const text = 'x'.repeat(2000);
    const dropped = deliveryStats.dropped;
    for (let i = 0; i < EVENTS; i++) {
      pubsub.publish(Topic.AlarmEvent, {
        type: 'RAISED',
        alarm: { id: i, fingerprint: `flood:${i}`, message: text, severity: 'WARNING' },
      } as never);
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitForCount(live.received, EVENTS, 20_000);
    expect(live.received.at(-1).alarm.fingerprint).toBe(`flood:${EVENTS - 1}`);
    expect(deliveryStats.dropped - dropped).toBeGreaterThan(0); // the stalled one lost some
    stalled.terminate();
    live.close();
  });
});

async function waitForCount(list: unknown[], count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (list.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${list.length} of ${count} events arrived`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
