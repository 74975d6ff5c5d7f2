import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topic } from '../../src/pubsub';
import { Severity } from '../../src/schema/enums';
import { launchChromium } from '../support/browser';
import { startAlertmanager, type MonitoringServer } from '../support/monitoring';
import { followChanges, type ChangeFeed } from '../support/changeFeed';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { startReplicationPair, type ReplicationPair } from '../support/mariadbReplication';
import { smallMidasRun } from '../support/midasFixtures';
import { waitFor } from '../support/wait';

// A lab and a cloud on real MariaDB GTID replication (issue 23): two private mariadbd
// processes, a primary gateway (with its worker) on the primary, a replica gateway on the
// read-only replica. Runs with the MariaDB services suites (MARIADB_URL set: .ci/run), as
// mariadb-server provides the programs.

const LINK_DOWN_MS = 30_000;
const keep = { drop: async () => undefined };

let pair: ReplicationPair;
let primary: TestGateway;
let replica: TestGateway;
let alertmanager: MonitoringServer;
const feeds: ChangeFeed[] = [];

/** Alertmanager's active alerts of one alertname (API v2). */
async function activeAlerts(name: string) {
  const filter = encodeURIComponent(`alertname="${name}"`);
  const res = await fetch(`${alertmanager.url}/api/v2/alerts?active=true&filter=${filter}`);
  return (await res.json()) as Array<{ labels: Record<string, string> }>;
}

beforeAll(async () => {
  // The cloud's Alertmanager (Debian's), where the replica pushes the alarms it holds itself.
  alertmanager = await startAlertmanager(`
route:
  receiver: nobody
receivers:
  - name: nobody
`);
  pair = await startReplicationPair();
  primary = await startTestGateway({
    database: { url: pair.primary.url, ...keep },
    env: { CHANGE_POLL_MS: '100' },
  });
  await pair.caughtUp(); // the schema, migrated on the primary, reaches the replica
  replica = await startTestGateway({
    database: { url: pair.replica.url, ...keep },
    env: {
      GATEWAY_ROLE: 'replica',
      PRIMARY_URL: primary.url,
      CHANGE_POLL_MS: '100',
      REPLICA_MAX_LAG_SECONDS: '5',
      ALERTMANAGER_URL: alertmanager.url,
      ALERTMANAGER_RESEND_MS: '1000',
    },
  });
}, 120_000);

afterAll(async () => {
  for (const feed of feeds) feed.close();
  await replica?.close();
  await primary?.close();
  await pair?.stop();
  await alertmanager?.close();
}, 60_000);

const CLOSE_RUN = `mutation($input: CloseRunInput!) { closeRun(input: $input) { runNumber } }`;
const LAG = `{ replicationLag { role status seconds newestChangeId ioRunning sqlRunning lastError primaryUrl } }`;

async function closeRunWithFile(runNumber: number): Promise<void> {
  const name = `run${String(runNumber).padStart(5, '0')}.mid`;
  primary.writeBufferFile(name, smallMidasRun(runNumber));
  const closed = await primary.gql(CLOSE_RUN, { input: { runNumber, files: [{ path: name }] } });
  expect(closed.errors).toBeUndefined();
}

async function primaryChangeIds(after: number): Promise<number[]> {
  const rows = await pair.primary.sql<Array<{ id: number }>>(
    'SELECT id FROM cygno.change_log WHERE id > ? ORDER BY id',
    [after],
  );
  return rows.map((row) => Number(row.id));
}

async function jobsSettled(runNumbers: number[]): Promise<boolean> {
  const jobs = (
    await primary.gql(`{ jobs(first: 500) { nodes { state runNumber } } }`)
  ).data.jobs.nodes.filter((job: { runNumber: number }) => runNumbers.includes(job.runNumber));
  return (
    jobs.length > 0 &&
    jobs.every((job: { state: string }) => job.state === 'SUCCEEDED' || job.state === 'FAILED')
  );
}

describe('a primary gateway and a read-only replica gateway on MariaDB replication', () => {
  it('a run closed on the primary reaches a subscriber of the replica gateway within 2 s', async () => {
    const updates = await replica.subscribe(
      `subscription { runUpdated(runNumber: 1) { runNumber state } }`,
      {},
      Topic.RunUpdated,
    );
    const started = Date.now();
    await closeRunWithFile(1);
    const first = await updates.next(2_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(first).toMatchObject({ runNumber: 1, state: 'CLOSED' });
    // And the replica's own queries read it from the replica database.
    const run = await replica.gql(`{ run(runNumber: 1) { runNumber state } }`);
    expect(run.data.run).toEqual({ runNumber: 1, state: 'CLOSED' });
    updates.close();
  });

  it('refuses mutations, naming the primary, and says it is a replica', async () => {
    const refused = await replica.gql(CLOSE_RUN, { input: { runNumber: 2 } });
    expect(refused.status).toBe(403);
    expect(refused.errors?.[0].extensions).toMatchObject({
      code: 'READ_ONLY_REPLICA',
      primaryUrl: primary.url,
    });
    expect(refused.errors?.[0].message).toContain(primary.url);
    const webhook = await fetch(`${replica.url}/alertmanager/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(webhook.status).toBe(403);
    expect((await webhook.json()).errors[0].extensions.code).toBe('READ_ONLY_REPLICA');
    const lag = (await replica.gql(LAG)).data.replicationLag;
    expect(lag).toMatchObject({ role: 'REPLICA', status: 'OK', primaryUrl: primary.url });
    expect(lag.seconds).toBeLessThan(5);
    expect((await primary.gql(LAG)).data.replicationLag).toMatchObject({ role: 'PRIMARY' });
  });

  it('the link down for 30 s: the primary finishes everything, the replica reports lag, then every missed change arrives once, in order', async () => {
    // Everything before is done and followed, so that all the feed gets from here is new.
    await waitFor(() => jobsSettled([1]), 'run 1 to be done', 30_000, 100);
    await pair.caughtUp();
    const newest = (await primaryChangeIds(0)).pop();
    await waitFor(
      () => replica.server.runtime.changeFollower!.position === newest,
      'the replica gateway to follow everything',
    );
    const start = newest!;
    const feed = await followChanges(replica);
    feeds.push(feed);
    const alarms = await replica.subscribe(
      `subscription { alarmEvents { type alarm { name severity } } }`,
      {},
      Topic.AlarmEvent,
    );
    const runUpdates = await replica.subscribe(
      `subscription { runUpdated { runNumber state } }`,
      {},
      Topic.RunUpdated,
    );

    await pair.replica.sql('STOP SLAVE');
    const linkDown = Date.now();
    const runs = [11, 12, 13, 14, 15];
    for (const runNumber of runs) await closeRunWithFile(runNumber);
    // The lab's alarms fire while the cloud cannot hear them.
    await primary.server.runtime.services.alarms.raise({
      fingerprint: 'gem-spark-during-outage',
      name: 'GemSpark',
      severity: Severity.CRITICAL,
      source: 'test',
      message: 'a GEM sparked while the link was down',
    });
    await waitFor(() => jobsSettled(runs), 'the primary to finish the five runs', 60_000, 200);
    const jobs = (
      await primary.gql(`{ jobs(first: 500) { nodes { kind state runNumber lastError } } }`)
    ).data.jobs.nodes.filter((j: { runNumber: number }) => runs.includes(j.runNumber));
    // (No pedestal run was taken, so RECONSTRUCT fails for good: settled all the same.)
    for (const runNumber of runs)
      for (const kind of ['INGEST', 'TAPE_COPY'])
        expect(jobs).toContainEqual(
          expect.objectContaining({ runNumber, kind, state: 'SUCCEEDED' }),
        );

    // The replica says its data is old, and how old; it never shows the runs it has not got.
    const lagging = await waitFor(
      async () => {
        const lag = (await replica.gql(LAG)).data.replicationLag;
        return lag.seconds > 5 && lag;
      },
      'the replica to report its lag',
      20_000,
      200,
    );
    expect(lagging).toMatchObject({ status: 'STOPPED', ioRunning: false, sqlRunning: false });
    const raised = await alarms.next(5_000);
    expect(raised).toMatchObject({ type: 'RAISED', alarm: { name: 'ReplicationLag' } });
    // …and in the cloud's Alertmanager, as the replica's own alert.
    const [alert] = await waitFor(
      async () => {
        const active = await activeAlerts('ReplicationLag');
        return active.length > 0 ? active : undefined;
      },
      'the lag alert in Alertmanager',
      20_000,
      200,
    );
    expect(alert.labels).toMatchObject({ severity: 'warning', source: 'replica-gateway' });
    const ready = await fetch(`${replica.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'degraded',
      replication: { status: 'STOPPED' },
    });
    const metrics = await (await fetch(`${replica.url}/metrics`)).text();
    const lagSample = metrics.match(/^cygno_replication_lag_seconds (\S+)$/m);
    expect(Number(lagSample?.[1])).toBeGreaterThan(5);
    expect((await replica.gql(`{ run(runNumber: 13) { runNumber } }`)).data.run).toBeNull();
    // The console's header says it, in words a shifter reads.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${replica.url}/console/`);
      await page.waitForFunction(() =>
        /replica · stopped · lag \d+\.\d s/.test(
          document.querySelector('#replication')?.textContent ?? '',
        ),
      );
      expect(await page.isVisible('#replication')).toBe(true);
    } finally {
      await browser.close();
    }
    expect(feed.received.filter((c) => Number(c.id) > start)).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, LINK_DOWN_MS - (Date.now() - linkDown)));
    await pair.replica.sql('START SLAVE');
    await pair.caughtUp(30_000);

    const expected = await primaryChangeIds(start);
    expect(expected.length).toBeGreaterThan(20);
    await waitFor(
      () => feed.received.length >= expected.length,
      'every missed change to reach the subscriber',
      10_000,
      50,
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show
    expect(feed.errors).toEqual([]);
    expect(feed.received.map((c) => Number(c.id))).toEqual(expected);
    // The ordinary subscriptions heard every run's change too, in order.
    const closedRuns = runUpdates.received
      .filter((run: { state: string }) => run.state === 'CLOSED')
      .map((run: { runNumber: number }) => run.runNumber);
    expect([...new Set(closedRuns)]).toEqual(runs);
    expect(alarms.received).toContainEqual({
      type: 'RAISED',
      alarm: { name: 'GemSpark', severity: 'CRITICAL' },
    });
    await waitFor(
      () => alarms.received.some((e: { type: string }) => e.type === 'RESOLVED'),
      'the lag alarm to resolve',
      10_000,
    );
    expect((await replica.gql(LAG)).data.replicationLag.status).toBe('OK');
    await waitFor(
      async () => (await activeAlerts('ReplicationLag')).length === 0,
      'the lag alert resolved in Alertmanager',
      20_000,
      200,
    );
    // The primary's alarms are the primary's to push: the replica pushed only its own.
    expect(await activeAlerts('GemSpark')).toEqual([]);
  }, 150_000);

  it('a subscriber that reconnects with the last id it saw gets what it missed; an unknown or too old id is refused', async () => {
    const all = await primaryChangeIds(0);
    const lastSeen = all[all.length - 10];
    const resumed = await followChanges(replica, { after: String(lastSeen) });
    feeds.push(resumed);
    await waitFor(() => resumed.received.length >= 9, 'the missed changes to be replayed');
    expect(resumed.received.map((c) => Number(c.id))).toEqual(all.slice(-9));

    const unknown = await followChanges(replica, { after: String(all[all.length - 1] + 1000) });
    feeds.push(unknown);
    await waitFor(() => unknown.errors.length > 0, 'the refusal');
    expect(unknown.errors[0]).toMatchObject({
      extensions: { code: 'CHANGE_ID_UNAVAILABLE', reason: 'UNKNOWN' },
    });

    // The primary trims its log (CHANGE_LOG_KEEP_HOURS); the trim replicates.
    await pair.primary.sql('DELETE FROM cygno.change_log WHERE id <= ?', [all[5]]);
    await pair.caughtUp();
    const tooOld = await followChanges(replica, { after: String(all[1]) });
    feeds.push(tooOld);
    await waitFor(() => tooOld.errors.length > 0, 'the refusal');
    expect(tooOld.errors[0]).toMatchObject({
      extensions: { code: 'CHANGE_ID_UNAVAILABLE', reason: 'TOO_OLD' },
    });
    expect((tooOld.errors[0] as { message: string }).message).toMatch(/re-query/);
  });

  it('a replica gateway refuses to start on a writable database unless told', async () => {
    await expect(
      startTestGateway({
        database: { url: pair.primary.url, ...keep },
        env: { GATEWAY_ROLE: 'replica', PRIMARY_URL: primary.url },
      }),
    ).rejects.toThrow(/writable database.*REPLICA_ALLOW_WRITABLE/);
  });

  it('a diverged replica (replication stopped by an error) raises its alarm and is not ready', async () => {
    const alarms = await replica.subscribe(
      `subscription { alarmEvents { type alarm { name severity message } } }`,
      {},
      Topic.AlarmEvent,
    );
    // A row written on the replica behind replication's back, then the same key on the primary.
    await pair.replica.sql(
      'INSERT INTO cygno.replication_heartbeat (id, beatAt) VALUES (7, UTC_TIMESTAMP(3))',
    );
    await pair.primary.sql(
      'INSERT INTO cygno.replication_heartbeat (id, beatAt) VALUES (7, UTC_TIMESTAMP(3))',
    );
    const broken = await waitFor(
      () =>
        alarms.received.find(
          (e: { alarm: { name: string } }) => e.alarm.name === 'ReplicationBroken',
        ),
      'the broken-replication alarm',
      15_000,
    );
    expect(broken).toMatchObject({ type: 'RAISED', alarm: { severity: 'CRITICAL' } });
    expect(broken.alarm.message).toMatch(/1062|Duplicate/);
    const ready = await fetch(`${replica.url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).failures.replication).toMatch(/stopped by an error/);
    expect((await replica.gql(LAG)).data.replicationLag.status).toBe('BROKEN');
  });
});
