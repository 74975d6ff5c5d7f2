import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_COLUMNS, EVENT_COLUMNS } from '../../src/export/columns';
import { seedClusters } from '../support/clusterRows';
import { startTestGateway, type TestGateway } from '../support/gateway';

// The bulk export (/export/{clusters,events}.{arrow,csv}): the same rows as the GraphQL pages
// for the same filter, streamed from a database cursor.

const READER = 'reader-export-token-0123456789';
const LIMITED = 'limited-export-token-0123456789';
const ADMIN = 'admin-export-token-0123456789';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      API_TOKENS: `reader:${READER},shifter:${LIMITED},admin:${ADMIN}`,
      EXPORT_ROW_LIMITS: 'shifter=100',
      EXPORT_BATCH_ROWS: '1000',
      WORKERS: '0',
    },
  });
  await seedClusters(gw.server.runtime.db, { runs: 4, eventsPerRun: 300, clustersPerEvent: 3 });
  await seedClusters(gw.server.runtime.db, {
    firstRun: 10,
    runs: 1,
    eventsPerRun: 100,
    clustersPerEvent: 2,
    runType: 'CAL',
  });
  // A run with events and no clusters: it adds nothing, and breaks nothing.
  await seedClusters(gw.server.runtime.db, {
    firstRun: 20,
    runs: 1,
    eventsPerRun: 10,
    clustersPerEvent: 0,
  });
}, 60_000);
afterAll(async () => gw?.close());

async function get(path: string, token = READER) {
  const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

async function post(path: string, body: unknown, token = READER) {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/**
 * Doubles as the export sends them and as the API's JSON has them: equal on SQLite; on MariaDB
 * the API's values come through the text protocol, which prints a double with at most 15-16
 * significant digits (the last bit can differ), while the export reads the binary protocol.
 */
function expectSameDoubles(got: unknown[], expected: unknown[]) {
  expect(got).toHaveLength(expected.length);
  if (!process.env.MARIADB_URL) return expect(got).toEqual(expected);
  got.forEach((value, i) => {
    const want = expected[i] as number | null;
    if (want === null) expect(value).toBeNull();
    else expect(Math.abs((value as number) - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-14);
  });
}

function columnsOf(bytes: Buffer): Record<string, unknown[]> {
  const table = tableFromIPC(bytes);
  const out: Record<string, unknown[]> = {};
  for (const field of table.schema.fields) out[field.name] = [...table.getChild(field.name)!]; // iteration gives nulls as null
  return out;
}

async function graphqlClusters(filter: Record<string, unknown>) {
  const nodes: Array<Record<string, unknown>> = [];
  let after: string | null = null;
  for (;;) {
    const res: { data?: any; errors?: unknown } = await gw.gql(
      `query($f: ClusterFilter!, $after: String) { clusters(filter: $f, first: 500, after: $after) {
         nodes { id eventId runNumber serial recoVersion integral energy size length xMin }
         pageInfo { hasNextPage endCursor } } }`,
      { f: filter, after },
      READER,
    );
    expect(res.errors).toBeUndefined();
    nodes.push(...res.data.clusters.nodes);
    if (!res.data.clusters.pageInfo.hasNextPage) return nodes;
    after = res.data.clusters.pageInfo.endCursor;
  }
}

describe('cluster export', () => {
  it('streams the same rows as the GraphQL pages, in the same order, with run and version', async () => {
    const filter = { runNumberFrom: 2, runNumberTo: 3, minIntegral: 5000 };
    const expected = await graphqlClusters(filter);
    expect(expected.length).toBeGreaterThan(1000);
    const res = await post('/export/clusters.arrow', { filter });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(res.body);
    expect(table.schema.fields.map((f) => f.name)).toEqual(CLUSTER_COLUMNS.map((c) => c.name));
    expect(table.batches.length).toBeGreaterThan(1); // EXPORT_BATCH_ROWS=1000: streamed in batches
    const got = columnsOf(res.body);
    expect(got.id.map(Number)).toEqual(expected.map((n) => Number(n.id)));
    expect(got.eventId.map(Number)).toEqual(expected.map((n) => Number(n.eventId)));
    expect(got.serial.map(Number)).toEqual(expected.map((n) => n.serial));
    expect(got.runNumber).toEqual(expected.map((n) => n.runNumber));
    expectSameDoubles(
      got.integral,
      expected.map((n) => n.integral),
    );
    expectSameDoubles(
      got.energy,
      expected.map((n) => n.energy),
    );
    expect(got.size).toEqual(expected.map((n) => n.size));
    expectSameDoubles(
      got.length,
      expected.map((n) => n.length),
    );
    expect(got.xMin).toEqual(expected.map((n) => n.xMin));
    expect(new Set(got.runNumber)).toEqual(new Set([2, 3]));
    expect(new Set(got.recoVersion)).toEqual(new Set([1]));
    // Nulls travel as nulls (a third of the seeded energies are unknown).
    expect(got.energy.filter((e) => e === null).length).toBeGreaterThan(0);
    expect(table.schema.fields.find((f) => f.name === 'energy')!.nullable).toBe(true);
  });

  it('takes the filter as GET parameters, with the columns asked for in the order asked', async () => {
    const res = await get(
      '/export/clusters.arrow?runTypes=CAL&columns=integral,runNumber,serial&limit=50',
    );
    expect(res.status).toBe(200);
    const got = columnsOf(res.body);
    expect(Object.keys(got)).toEqual(['integral', 'runNumber', 'serial']);
    expect(got.runNumber).toHaveLength(50);
    expect(new Set(got.runNumber)).toEqual(new Set([10]));
    expect(res.headers.get('x-cygno-columns')).toBe('integral,runNumber,serial');
  });

  it('answers a filter that matches nothing with an empty stream that still has the schema', async () => {
    const res = await get('/export/clusters.arrow?runNumberFrom=999&columns=id,integral');
    expect(res.status).toBe(200);
    const table = tableFromIPC(res.body);
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => [f.name, String(f.type)])).toEqual([
      ['id', 'Int64'],
      ['integral', 'Float64'],
    ]);
  });

  it('writes CSV for spreadsheets: header, nulls as empty fields', async () => {
    const res = await get(
      '/export/clusters.csv?runNumberFrom=1&runNumberTo=1&columns=id,runNumber,energy&limit=6',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = res.body.toString().trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,runNumber,energy');
    expect(lines).toHaveLength(7);
    const arrow = columnsOf(
      (
        await get(
          '/export/clusters.arrow?runNumberFrom=1&runNumberTo=1&columns=id,runNumber,energy&limit=6',
        )
      ).body,
    );
    lines.slice(1).forEach((line, i) => {
      const [id, run, energy] = line.split(',');
      expect(Number(id)).toBe(Number(arrow.id[i]));
      expect(Number(run)).toBe(1);
      expect(energy === '' ? null : Number(energy)).toBe(arrow.energy[i]);
    });
  });

  it('names unknown columns and bad filters (400), before any byte of data', async () => {
    const columns = await get('/export/clusters.arrow?columns=integral,bogus,alsoBogus');
    expect(columns.status).toBe(400);
    const body = JSON.parse(columns.body.toString());
    expect(body.errors[0].extensions.unknown).toEqual(['bogus', 'alsoBogus']);
    expect(body.errors[0].message).toMatch(/bogus, alsoBogus/);

    const field = await post('/export/clusters.arrow', { filter: { runNumberFrmo: 3 } });
    expect(field.status).toBe(400);
    expect(JSON.parse(field.body.toString()).errors[0].message).toMatch(/runNumberFrmo/);

    const type = await get('/export/clusters.arrow?minIntegral=lots');
    expect(type.status).toBe(400);
    expect(JSON.parse(type.body.toString()).errors[0].message).toMatch(/minIntegral/);

    expect((await get('/export/runs.arrow')).status).toBe(404);
    expect((await get('/export/clusters.xlsx')).status).toBe(404);
  });

  it('needs the API token like the API, and keeps a role to its row limit (413 naming it)', async () => {
    const anonymous = await fetch(`${gw.url}/export/clusters.arrow`);
    expect(anonymous.status).toBe(401);
    const bad = await get('/export/clusters.arrow', 'not-a-token');
    expect(bad.status).toBe(401);

    const tooMany = await get('/export/clusters.arrow?runNumberFrom=1', LIMITED);
    expect(tooMany.status).toBe(413);
    const error = JSON.parse(tooMany.body.toString()).errors[0];
    expect(error.extensions).toMatchObject({ code: 'EXPORT_TOO_LARGE', limit: 100 });
    expect(error.message).toMatch(/more than 100 rows/);
    // Within the limit: the narrowed export, or the first rows asked for with limit.
    expect(
      (await get('/export/clusters.arrow?runNumberFrom=10&maxIntegral=1000', LIMITED)).status,
    ).toBe(200);
    const first = await get('/export/clusters.arrow?limit=100&columns=id', LIMITED);
    expect(first.status).toBe(200);
    expect(tableFromIPC(first.body).numRows).toBe(100);
    // Roles without a configured limit are not limited.
    expect(tableFromIPC((await get('/export/clusters.arrow?columns=id', ADMIN)).body).numRows).toBe(
      3800,
    );
    // Prometheus counts them: refusals, and the rows sent.
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const value = (series: string) =>
      Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(
      value('cygno_export_requests_total{kind="clusters",format="arrow",outcome="refused"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(value('cygno_export_rows_total{kind="clusters",format="arrow"}')).toBeGreaterThanOrEqual(
      3800 + 100,
    );
  });
});

describe('event export', () => {
  it('streams events with run filters and event filters, the same rows as the GraphQL pages', async () => {
    const res = await post('/export/events.arrow', {
      filter: { runTypes: ['DATA'], minRunNumber: 4, minSerial: 10, maxSerial: 19 },
    });
    expect(res.status).toBe(200);
    const got = columnsOf(res.body);
    expect(Object.keys(got)).toEqual(EVENT_COLUMNS.map((c) => c.name));
    const page = await gw.gql(
      `{ events(runNumber: 4, first: 100, filter: { minSerial: 10, maxSerial: 19 }) {
           nodes { id serial timestamp bankNames clusterCount spark imageIntegral } } }`,
      {},
      READER,
    );
    const nodes = page.data.events.nodes as Array<Record<string, unknown>>;
    expect(got.id.map(Number)).toEqual(nodes.map((n) => Number(n.id)));
    expect(got.serial.map(Number)).toEqual(nodes.map((n) => n.serial));
    expect(got.timestamp.map((t) => new Date(Number(t)).toISOString())).toEqual(
      nodes.map((n) => n.timestamp),
    );
    expect(got.bankNames).toEqual(nodes.map((n) => (n.bankNames as string[]).join(',')));
    expect(got.clusterCount).toEqual(nodes.map((n) => n.clusterCount));
    expect(got.spark).toEqual(nodes.map((n) => n.spark));
    expectSameDoubles(
      got.imageIntegral,
      nodes.map((n) => n.imageIntegral),
    );
    expect(new Set(got.runNumber)).toEqual(new Set([4]));
    // No reconstruction job has run on the seeded runs: the version is unknown, not invented.
    expect(new Set(got.recoVersion)).toEqual(new Set([null]));
  });

  it('accepts GET filters of both kinds and CSV', async () => {
    const res = await get(
      '/export/events.csv?runTypes=CAL&bankName=CAM0&columns=runNumber,serial,timestamp,spark&limit=3',
    );
    expect(res.status).toBe(200);
    expect(res.body.toString().split('\r\n').slice(0, 4)).toEqual([
      'runNumber,serial,timestamp,spark',
      '10,0,2026-11-01T10:00:00.000Z,true',
      '10,1,2026-11-01T10:00:00.500Z,false',
      '10,2,2026-11-01T10:00:01.000Z,false',
    ]);
    // A text field holding commas is quoted; a list may also come as repeated parameters.
    const banks = await get(
      '/export/events.csv?runTypes=DATA&runTypes=CAL&minRunNumber=10&columns=runNumber,bankNames&limit=1',
    );
    expect(banks.body.toString()).toBe('runNumber,bankNames\r\n10,"CAM0,DGH0"\r\n');
  });
});
