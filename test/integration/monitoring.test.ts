import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topic } from '../../src/pubsub';
import { sharedStats } from '../../src/subscriptions/sharedSubscribe';
import { startTestGateway, type TestGateway } from '../support/gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

const RECORD = `mutation($samples: [MetricInput!]!) { recordMetrics(samples: $samples) }`;
const SERIES = `query($name: String!, $from: DateTime!, $to: DateTime!, $intervalMs: Int, $maxDataPoints: Int) {
  metricSeries(name: $name, from: $from, to: $to, intervalMs: $intervalMs, maxDataPoints: $maxDataPoints) { time value min max count } }`;
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0); // aligned to any interval up to an hour

describe('metrics', () => {
  it('records in bulk and bins in the database: mean, min, max, count per aligned bin', async () => {
    const samples = Array.from({ length: 10 }, (_, i) => ({
      name: 'gas.pressure',
      value: i,
      time: T0 + i * 1000,
    }));
    expect((await gw.gql(RECORD, { samples })).data.recordMetrics).toBe(10);
    const res = await gw.gql(SERIES, {
      name: 'gas.pressure',
      from: new Date(T0).toISOString(),
      to: T0 + 60_000,
      intervalMs: 5000,
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.metricSeries).toEqual([
      { time: new Date(T0).toISOString(), value: 2, min: 0, max: 4, count: 5 },
      { time: new Date(T0 + 5000).toISOString(), value: 7, min: 5, max: 9, count: 5 },
    ]);
    const coarse = await gw.gql(SERIES, {
      name: 'gas.pressure',
      from: T0,
      to: T0 + 10_000,
      maxDataPoints: 1,
    });
    expect(coarse.data.metricSeries).toEqual([
      { time: new Date(T0).toISOString(), value: 4.5, min: 0, max: 9, count: 10 },
    ]);
    expect((await gw.gql(`{ metricNames }`)).data.metricNames).toContain('gas.pressure');
  });

  it('refuses bad input with clear errors and stores nothing of a bad batch', async () => {
    const metrics = gw.server.runtime.services.metrics;
    await expect(
      metrics.record([
        { name: 'gas.flow', value: 1 },
        { name: 'gas.flow', value: Number.NaN },
      ]),
    ).rejects.toThrow(/samples\[1\]\.value: NaN is not a finite number/);
    await expect(metrics.record([{ name: 'gas.flow', value: Infinity }])).rejects.toThrow(
      /not a finite/,
    );
    expect((await gw.gql(`{ metricNames }`)).data.metricNames).not.toContain('gas.flow');

    const bad = async (variables: Record<string, unknown>) =>
      (await gw.gql(SERIES, { name: 'gas.pressure', from: T0, to: T0 + 60_000, ...variables }))
        .errors?.[0];
    expect(await bad({ name: 'no.such.metric' })).toMatchObject({
      message: 'metric no.such.metric not found',
      extensions: { code: 'NOT_FOUND' },
    });
    expect(await bad({ from: T0 + 60_000, to: T0 })).toMatchObject({
      message: 'from must be before to',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect((await bad({ intervalMs: 10, maxDataPoints: 100 }))?.message).toMatch(
      /6000 bins of 10 ms .* exceed maxDataPoints 100/,
    );
    const name = await gw.gql(RECORD, { samples: [{ name: 'bad name!', value: 1 }] });
    expect(name.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('streams samples to metricSamples subscribers, filtered by name', async () => {
    const sub = await gw.subscribe(
      `subscription { metricSamples(names: ["hv.anode"]) { name value time } }`,
      {},
      Topic.MetricSample,
    );
    await gw.gql(RECORD, {
      samples: [
        { name: 'hv.cathode', value: 1 },
        { name: 'hv.anode', value: 420.5, time: T0 },
      ],
    });
    expect(await sub.next()).toEqual({
      name: 'hv.anode',
      value: 420.5,
      time: new Date(T0).toISOString(),
    });
    sub.close();
  });
});

describe('alarms', () => {
  const RAISE = `mutation($input: RaiseAlarmInput!) { raiseAlarm(input: $input) { id state count severity } }`;

  it('goes FIRING → (REPEATED) → ACKNOWLEDGED, each change on alarmEvents', async () => {
    const sub = await gw.subscribe(
      `subscription { alarmEvents(minSeverity: WARNING) { type alarm { id fingerprint state count acknowledgedBy acknowledgeComment } } }`,
      {},
      Topic.AlarmEvent,
    );
    const input = {
      fingerprint: 'daq:mfe-camera',
      name: 'Camera frontend error',
      severity: 'CRITICAL',
      source: 'midas',
      message: 'frame timeout',
      labels: { program: 'fe-camera' },
    };
    const first = (await gw.gql(RAISE, { input })).data.raiseAlarm;
    const again = (await gw.gql(RAISE, { input })).data.raiseAlarm;
    expect(again).toEqual({ ...first, count: 2 });
    await gw.gql(RAISE, { input: { ...input, fingerprint: 'info:x', severity: 'INFO' } }); // filtered out
    const ack = await gw.gql(
      `mutation($id: ID!) { acknowledgeAlarm(id: $id, comment: "power-cycling the camera") { state acknowledgedBy } }`,
      { id: first.id },
    );
    expect(ack.data.acknowledgeAlarm).toEqual({
      state: 'ACKNOWLEDGED',
      acknowledgedBy: 'loopback',
    });
    const events = [await sub.next(), await sub.next(), await sub.next()];
    expect(events.map((e) => [e.type, e.alarm.state, e.alarm.count])).toEqual([
      ['RAISED', 'FIRING', 1],
      ['REPEATED', 'FIRING', 2],
      ['ACKNOWLEDGED', 'ACKNOWLEDGED', 2],
    ]);
    expect(events[2].alarm.acknowledgeComment).toBe('power-cycling the camera');
    sub.close();
    const twice = await gw.gql(`mutation($id: ID!) { acknowledgeAlarm(id: $id) { id } }`, {
      id: first.id,
    });
    expect(twice.errors?.[0].extensions?.code).toBe('CONFLICT');

    const listed = await gw.gql(
      `{ alarms(filter: { states: [ACKNOWLEDGED], minSeverity: CRITICAL }) { totalCount nodes { fingerprint } } }`,
    );
    expect(listed.data.alarms.nodes).toEqual([{ fingerprint: 'daq:mfe-camera' }]);
  });

  it('fires a threshold rule held for its duration and resolves it when the value returns', async () => {
    const rule = await gw.gql(
      `mutation { setAlarmRule(input: { name: "gas-temperature", kind: THRESHOLD, metric: "gas.temperature", above: 30, forSeconds: 60, severity: CRITICAL }) { name forSeconds } }`,
    );
    expect(rule.errors).toBeUndefined();
    const engine = gw.server.runtime.services.alarmEngine;
    const now = Date.now();
    await gw.gql(RECORD, {
      samples: [
        { name: 'gas.temperature', value: 25, time: now - 300_000 },
        { name: 'gas.temperature', value: 31, time: now - 30_000 }, // above for 30 s only
      ],
    });
    await engine.evaluate(new Date(now));
    expect(await openAlarm('rule:gas-temperature')).toBeUndefined();
    await gw.gql(RECORD, { samples: [{ name: 'gas.temperature', value: 32, time: now - 90_000 }] });
    await engine.evaluate(new Date(now)); // now above since 90 s
    expect(await openAlarm('rule:gas-temperature')).toMatchObject({
      state: 'FIRING',
      severity: 'CRITICAL',
      message: 'gas.temperature = 31 above 30 for 60 s',
    });
    await gw.gql(RECORD, { samples: [{ name: 'gas.temperature', value: 22, time: now + 1000 }] });
    await engine.evaluate(new Date(now + 2000));
    expect(await openAlarm('rule:gas-temperature')).toBeUndefined();
  });

  it('says a program is not running when its heartbeat stops, and resolves when it is back', async () => {
    await gw.gql(
      `mutation { setAlarmRule(input: { name: "mlogger-alive", kind: HEARTBEAT, metric: "daq.mlogger.alive", forSeconds: 30 }) { name } }`,
    );
    const engine = gw.server.runtime.services.alarmEngine;
    const now = Date.now();
    await gw.gql(RECORD, {
      samples: [{ name: 'daq.mlogger.alive', value: 1, time: now - 120_000 }],
    });
    await engine.evaluate(new Date(now));
    expect((await openAlarm('rule:mlogger-alive'))?.message).toMatch(
      /^program not running: no daq.mlogger.alive heartbeat since /,
    );
    await gw.gql(RECORD, { samples: [{ name: 'daq.mlogger.alive', value: 1, time: now }] });
    await engine.evaluate(new Date(now + 1000));
    expect(await openAlarm('rule:mlogger-alive')).toBeUndefined();
  });

  it('raises an alarm for a job that failed after its last attempt, once', async () => {
    const content = Buffer.from('not a MIDAS file at all');
    gw.writeBufferFile('run00700.mid', content);
    await gw.gql(
      `mutation { closeRun(input: { runNumber: 700, files: [{ path: "run00700.mid" }] }) { id } }`,
    );
    const job = await waitForFailedJob(700);
    const engine = gw.server.runtime.services.alarmEngine;
    await engine.evaluate();
    await engine.evaluate(); // a second pass does not count it again
    const alarm = await openAlarm(`job-failed:${job.id}`);
    expect(alarm).toMatchObject({ severity: 'CRITICAL', count: 1 });
    expect(alarm!.message).toMatch(/^INGEST run:700 failed after 1 attempt\(s\): run00700\.mid: /);
  });

  it('matches silences on labels, exactly or by /regex/, within their window', async () => {
    const { alarms, silences } = gw.server.runtime.services;
    const silence = await gw.gql(
      `mutation($input: SilenceInput!) { createSilence(input: $input) { id createdBy } }`,
      {
        input: {
          matchers: { program: '/fe-.*/', severity: 'CRITICAL' },
          endsAt: Date.now() + 3_600_000,
          comment: 'camera work',
        },
      },
    );
    expect(silence.errors).toBeUndefined();
    const camera = await alarms.raise({
      fingerprint: 'daq:fe-pmt',
      name: 'PMT frontend error',
      severity: 'CRITICAL' as never,
      source: 'midas',
      message: 'x',
      labels: { program: 'fe-pmt' },
    });
    expect(await silences.isSilenced(camera)).toBe(true);
    expect(await silences.isSilenced({ ...camera, severity: 'WARNING' as never })).toBe(false);
    expect(await silences.isSilenced(camera, new Date(Date.now() + 7_200_000))).toBe(false);
    const bad = await gw.gql(
      `mutation { createSilence(input: { matchers: {}, endsAt: 1 }) { id } }`,
    );
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

async function openAlarm(fingerprint: string) {
  const nodes = (
    await gw.gql(
      `{ alarms(filter: { states: [FIRING, ACKNOWLEDGED] }, first: 500) { nodes { fingerprint state severity message count } } }`,
    )
  ).data.alarms.nodes as Array<{
    fingerprint: string;
    state: string;
    severity: string;
    message: string;
    count: number;
  }>;
  return nodes.find((a) => a.fingerprint === fingerprint);
}

async function waitForFailedJob(runNumber: number): Promise<{ id: string }> {
  for (let i = 0; i < 200; i++) {
    const jobs = (
      await gw.gql(
        `query($n: Int) { jobs(filter: { runNumber: $n, kinds: [INGEST] }) { nodes { id state } } }`,
        {
          n: runNumber,
        },
      )
    ).data.jobs.nodes;
    if (jobs[0]?.state === 'FAILED') return jobs[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the job did not fail');
}

describe('metric retention', () => {
  it('keeps old samples as 1-minute means, deletes the oldest, and is idempotent', async () => {
    const metrics = gw.server.runtime.services.metrics;
    const base = Date.UTC(2026, 0, 1, 0, 0, 0);
    await metrics.record([
      ...Array.from({ length: 120 }, (_, i) => ({
        name: 'pmt.rate',
        value: i,
        time: new Date(base + i * 1000),
      })),
      { name: 'pmt.rate', value: 7, time: new Date(base - 86_400_000) }, // a day older
    ]);
    const compact = () =>
      metrics.compact({
        downsampleBefore: new Date(base + 3_600_000),
        deleteBefore: new Date(base - 3_600_000),
      });
    expect(await compact()).toBe(1 + 118); // the old one deleted, 120 samples became 2
    expect(await compact()).toBe(0);
    const points = await metrics.series({
      name: 'pmt.rate',
      from: new Date(base - 2 * 86_400_000),
      to: new Date(base + 3_600_000),
      intervalMs: 60_000,
      maxDataPoints: 10_000,
    });
    expect(points).toEqual([
      { time: new Date(base), value: 29.5, min: 29.5, max: 29.5, count: 1 },
      { time: new Date(base + 60_000), value: 89.5, min: 89.5, max: 89.5, count: 1 },
    ]);
  });
});

describe('shared subscription execution', () => {
  it('executes and serializes an event once per distinct subscription, whatever the number of subscribers', async () => {
    const query = `subscription { alarmEvents { type alarm { fingerprint message } } }`;
    const same = await Promise.all([1, 2, 3].map(() => gw.subscribe(query, {}, Topic.AlarmEvent)));
    const other = await gw.subscribe(
      `subscription { alarmEvents(minSeverity: INFO) { alarm { fingerprint severity } } }`,
      {},
      Topic.AlarmEvent,
    );
    const before = { ...sharedStats };
    await gw.gql(
      `mutation { raiseAlarm(input: { fingerprint: "shared:1", name: "n", severity: WARNING, source: "test", message: "once" }) { id } }`,
    );
    const received = await Promise.all(same.map((s) => s.next()));
    expect(received).toEqual(
      [0, 1, 2].map(() => ({
        type: 'RAISED',
        alarm: { fingerprint: 'shared:1', message: 'once' },
      })),
    );
    expect(await other.next()).toEqual({ alarm: { fingerprint: 'shared:1', severity: 'WARNING' } });
    expect(sharedStats.executions - before.executions).toBe(2); // two distinct subscriptions
    expect(sharedStats.deliveries - before.deliveries).toBe(4); // four subscribers
    expect(sharedStats.serializations - before.serializations).toBe(2); // once per execution
    for (const s of [...same, other]) s.close();
  });
});
