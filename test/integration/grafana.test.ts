import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway';
import {
  fifemonFrames,
  fifemonRequest,
  wildFrames,
  wildRequest,
  type Frame,
  type TimeRange,
} from '../support/grafanaPlugins';

// The provisioned dashboards, replayed as both Grafana GraphQL plugins send them.

const DASHBOARDS = path.join(__dirname, '..', '..', 'deploy', 'grafana', 'dashboards');
const load = (name: string) => JSON.parse(fs.readFileSync(path.join(DASHBOARDS, name), 'utf8'));
const wild = load('cygno-overview.json');
const fifemon = load('cygno-overview-fifemon.json');

const TOKEN = 'grafana-reader-token-0123';
const ADMIN = 'admin-token-for-seeding-0123';
const NOW = Date.now();
/** Last 24 h as Grafana asks for it: 1,000 points, its interval rounded down to a nice 60 s. */
const RANGE: TimeRange = {
  from: NOW - 86_400_000,
  to: NOW + 60_000, // the panels load a moment after the seeding below
  intervalMs: 60_000,
  maxDataPoints: 1000,
};

let gw: TestGateway;

async function post(body: unknown) {
  const res = await request(gw.url)
    .post('/graphql')
    .set('content-type', 'application/json')
    .set('authorization', `Bearer ${TOKEN}`)
    .send(body as object);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_TOKENS: `reader:${TOKEN},admin:${ADMIN}` } });
  const samples = [];
  for (let i = 0; i < 48; i++) {
    const time = NOW - 3_600_000 * 23 + i * 1_800_000;
    samples.push({ name: 'slow.gas.flow', value: 20 + (i % 5) * 0.1, time });
    samples.push({ name: 'slow.hv.gem1', value: 420 + (i % 3), time });
    for (const kind of ['INGEST', 'TAPE_COPY', 'RECONSTRUCT'])
      samples.push({ name: `pipeline.queued.${kind}`, value: i % 4, time });
  }
  const seed = (query: string, variables = {}) => gw.gql(query, variables, ADMIN);
  expect(
    (await seed(`mutation($s: [MetricInput!]!) { recordMetrics(samples: $s) }`, { s: samples }))
      .errors,
  ).toBeUndefined();
  for (const runNumber of [101, 102]) {
    await seed(
      `mutation($n: Int!) { startRun(input: { runNumber: $n, description: "Fe55 source" }) { runNumber } }`,
      { n: runNumber },
    );
    await seed(`mutation($n: Int!) { closeRun(input: { runNumber: $n }) { runNumber } }`, {
      n: runNumber,
    });
  }
  await seed(
    `mutation { raiseAlarm(input: { fingerprint: "hv:gem1", name: "GEM1 trip", severity: CRITICAL, source: "midas", message: "GEM1 current above limit" }) { id } }`,
  );
});
afterAll(async () => {
  await gw?.close();
});

function expectTimeSeries(frames: Frame[], numeric: string[]): void {
  for (const frame of frames) {
    const time = frame.fields.find((f) => f.type === 'time');
    expect(time, JSON.stringify(frame)).toBeDefined();
    expect(time!.values.length).toBeGreaterThan(0);
    for (const v of time!.values) expect(v).toBeGreaterThan(RANGE.from - 3_600_000);
    for (const name of numeric)
      expect(
        frame.fields.find((f) => f.name === name)?.type,
        `${name} in ${JSON.stringify(frame.fields.map((f) => [f.name, f.type]))}`,
      ).toBe('number');
  }
}

const NUMERIC: Record<string, string[]> = {
  Runs: ['runNumber'],
  'Gas flow (slow.gas.flow)': ['value', 'min', 'max'],
  'GEM HV (slow.hv.gem1)': ['value'],
  'Pipeline backlog (queued jobs)': ['value'],
  'Runs waiting, per step': ['runs', 'failed'],
  'Open alarms': ['count'],
};

describe('Wild GraphQL Data Source', () => {
  it('turns every panel of the provisioned dashboard into frames with time and numbers', async () => {
    for (const panel of wild.panels) {
      for (const target of panel.targets) {
        const body = await post(wildRequest(target.queryText, RANGE, target.refId));
        const frames = wildFrames(body, target.parsingOptions);
        const timed = target.parsingOptions.some(
          (o: { timeFields?: unknown[] }) => o.timeFields?.length,
        );
        if (timed) expectTimeSeries(frames, NUMERIC[panel.title]);
        else
          for (const name of NUMERIC[panel.title])
            expect(frames[0].fields.find((f) => f.name === name)?.type).toBe('number');
      }
    }
  });

  it('draws runs as annotation regions (start and end times)', async () => {
    const annotation = wild.annotations.list[0].target;
    const body = await post(wildRequest(annotation.queryText, RANGE, 'Anno'));
    const [frame] = wildFrames(body, annotation.parsingOptions);
    const times = frame.fields.filter((f) => f.type === 'time').map((f) => f.name);
    expect(times).toEqual(['startedAt', 'stoppedAt']);
    expect(frame.fields.find((f) => f.name === 'runNumber')?.values).toEqual(
      expect.arrayContaining([101, 102]),
    );
  });

  it('passes the health check (introspection, no errors)', async () => {
    const body = await post({
      query: '{\n  __schema{\n    queryType{name}\n  }\n}',
      variables: {},
    });
    expect(body.errors).toBeUndefined();
  });
});

describe('fifemon GraphQL datasource', () => {
  it('turns every panel of its dashboard into frames (no variables, interpolated times)', async () => {
    for (const panel of fifemon.panels) {
      for (const target of panel.targets) {
        const sent = fifemonRequest(target.queryText, RANGE);
        expect(Object.keys(sent)).toEqual(['query']);
        const body = await post(sent);
        expect(body.errors, panel.title).toBeUndefined();
        const frames = fifemonFrames(body, target.dataPath, target.timePath);
        if (panel.type === 'timeseries' || target.queryText.includes('Time:'))
          expectTimeSeries(frames, NUMERIC[panel.title]);
        else
          for (const name of NUMERIC[panel.title])
            expect(frames[0].fields.find((f) => f.name === name)?.type).toBe('number');
      }
    }
  });

  it('reads run regions with Time and TimeEnd from epoch-ms strings in the query text', async () => {
    const annotation = fifemon.annotations.list[0];
    const body = await post(fifemonRequest(annotation.queryText, RANGE));
    const [frame] = fifemonFrames(body, annotation.dataPath, 'Time', ['TimeEnd']);
    expect(frame.fields.filter((f) => f.type === 'time').map((f) => f.name)).toEqual([
      'Time',
      'TimeEnd',
    ]);
    expect(frame.fields.find((f) => f.name === 'text')?.values).toContain('Fe55 source');
  });

  it("accepts $timeFrom/$timeTo as bare epoch-ms numbers (the plugin's own macros)", async () => {
    const body = await post(
      fifemonRequest(
        '{ metricSeries(name: "slow.gas.flow", from: $timeFrom, to: $timeTo, maxDataPoints: 100) { Time: time value } }',
        RANGE,
      ),
    );
    expectTimeSeries(fifemonFrames(body, 'metricSeries'), ['value']);
  });
});
