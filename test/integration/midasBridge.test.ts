import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alarmChanges,
  decodeHistoryArrayBuffer,
  midasAlarmsOf,
  parseHistoryVariable,
} from '../../src/alerting/midasAlarms';
import { bridgeOnce, mhttpdHistory, mhttpdReader } from '../../src/cli/midasBridge';
import { staticToken } from '../../src/cli/tokenSource';
import { Alarm } from '../../src/entities/Alarm';
import { startTestGateway, type TestGateway } from '../support/gateway';

// The MIDAS side: CYGNO's real LNGS ODB (../shared/data, not copied into the project: it has no
// licence) read as mhttpd's JSON-RPC serves it. mhttpd cannot run here (MIDAS is not packaged
// for Debian), so a stand-in answers `db_get_values` in MIDAS' documented shape:
// {"jsonrpc":"2.0","result":{"data":[…],"status":[1|312…],"last_written":[…]},"id":n}.

const ODB_FILE = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'cygno_lngs_odb.json');
if (!fs.existsSync(ODB_FILE))
  throw new Error(`${ODB_FILE} is missing: the suite reads CYGNO's real ODB from ../shared/data`);
const realOdb = (): Record<string, any> => JSON.parse(fs.readFileSync(ODB_FILE, 'utf8'));

const DAQ = 'midas-bridge-daq-token-0123';
const VARIABLES = [
  '/Equipment/CATHODE/Variables/Current',
  '/Equipment/HV/Variables/Measured',
  '/Equipment/CameraStatus/Variables/Sensor Temperature',
  '/Equipment/Nowhere/Variables/Missing',
];
let odb = realOdb();
let mhttpd: http.Server;
let mhttpdUrl: string;
let gw: TestGateway;

/** MIDAS history the stand-in serves: per "event:tag[index]", (unix time, value) samples. */
const HISTORY: Record<string, Array<[number, number]>> = {
  'HV:Current[3]': [
    [1_796_000_000, 0.5],
    [1_796_000_060, 0.75],
  ],
  'GasSystem:Measured[0]': [[1_796_000_030, 20.4]],
};

/**
 * hs_read_arraybuffer's answer as mhttpd encodes it: float64 little-endian — a leading word,
 * the number of variables N, N statuses, N sample counts, then (time, value) pairs per variable.
 */
function historyAnswer(params: { events: string[]; tags: string[]; index: number[] }): Buffer {
  const series = params.events.map(
    (event, i) => HISTORY[`${event}:${params.tags[i]}[${params.index[i]}]`] ?? [],
  );
  const words = [0, series.length, ...series.map(() => 1), ...series.map((s) => s.length)];
  for (const samples of series) for (const [time, value] of samples) words.push(time, value);
  return Buffer.from(new Float64Array(words).buffer);
}

/** Stand-in for mhttpd's JSON-RPC (db_get_values, hs_read_arraybuffer), serving `odb`. */
function startMhttpd(): Promise<void> {
  mhttpd = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { method, params, id } = JSON.parse(body);
      if (req.url === '/?mjsonrpc' && method === 'hs_read_arraybuffer') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(historyAnswer(params));
        return;
      }
      if (req.url !== '/?mjsonrpc' || method !== 'db_get_values') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32601, message: 'Method not found' },
            id,
          }),
        );
        return;
      }
      const values = (params.paths as string[]).map((p) =>
        p
          .split('/')
          .filter(Boolean)
          .reduce((node: any, key) => node?.[key], odb),
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          jsonrpc: '2.0',
          result: {
            data: values.map((v) => v ?? null),
            status: values.map((v) => (v === undefined ? 312 : 1)), // 312: DB_NO_KEY
            last_written: values.map(() => Math.floor(Date.now() / 1000)),
          },
          id,
        }),
      );
    });
  });
  return new Promise((resolve) =>
    mhttpd.listen(0, '127.0.0.1', () => {
      mhttpdUrl = `http://127.0.0.1:${(mhttpd.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

beforeAll(async () => {
  await startMhttpd();
  gw = await startTestGateway({ env: { API_TOKENS: `daq:${DAQ}`, WORKERS: '0' } });
});
afterAll(async () => {
  await gw?.close();
  mhttpd?.close();
});

const openMidasAlarms = () =>
  gw.server.runtime.db.manager
    .createQueryBuilder(Alarm, 'alarm')
    .where("alarm.openFingerprint LIKE 'midas:%'")
    .orderBy('alarm.fingerprint')
    .getMany();

describe('the MIDAS bridge', () => {
  it("reads the alarm records of CYGNO's real ODB", () => {
    const alarms = midasAlarmsOf(realOdb().Alarms);
    expect(alarms).toHaveLength(20);
    expect(alarms.find((a) => a.name === 'Logger')).toMatchObject({
      active: true,
      triggered: false,
      type: 2,
      alarmClass: 'DAQ Alarm',
      condition: 'Program not running',
    });
    expect(alarms.find((a) => a.name === 'Gas Alarm 2')).toMatchObject({
      type: 3,
      condition: '/Equipment/GasSystem/Variables/Measured[300] > 0',
    });
    const { raise, resolve } = alarmChanges(alarms);
    expect(raise).toEqual([]); // nothing triggered in the dump
    expect(resolve).toHaveLength(20);
  });

  it('raises what MIDAS triggered, records its variables, and resolves when it clears', async () => {
    const gateway = { url: gw.url, tokens: staticToken(DAQ) };
    const state = { variables: VARIABLES, raised: new Set<string>(), first: true };
    odb.Alarms.Alarms.Logger.Triggered = 1;
    odb.Alarms.Alarms['Gas Alarm 2'].Triggered = 3;
    odb.Alarms.Alarms['Demo ODB'].Triggered = 1; // not Active: MIDAS does not check it
    odb.Alarms.Alarms['Logger/last_written'] = 1701388800; // metadata, not an alarm
    const read = mhttpdReader(mhttpdUrl);

    const first = await bridgeOnce(read, gateway, state);
    expect(first).toMatchObject({ raised: 2, samples: 1 + 26 + 1 });
    const open = await openMidasAlarms();
    expect(open.map((a) => [a.fingerprint, a.severity, a.labels.class, a.labels.type])).toEqual([
      ['midas:Gas_Alarm_2', 'CRITICAL', 'Gas Alarm', 'evaluated'],
      ['midas:Logger', 'CRITICAL', 'DAQ Alarm', 'program'],
    ]);
    expect(open[1].message).toBe('Program Logger is not running'); // its ODB Alarm Message
    const current = await gw.gql(
      `{ metricSeries(name: "midas.CATHODE.Current", from: 0, to: ${Date.now() + 60_000}) { value } }`,
      {},
      DAQ,
    );
    expect(current.data.metricSeries[0].value).toBeCloseTo(-9.7, 3);
    const names = (await gw.gql(`{ metricNames }`, {}, DAQ)).data.metricNames;
    expect(names).toEqual(
      expect.arrayContaining(['midas.HV.Measured.25', 'midas.CameraStatus.Sensor_Temperature']),
    );

    // Still triggered: nothing sent again (no repeat counted every poll).
    expect(await bridgeOnce(read, gateway, { ...state, first: false })).toMatchObject({
      raised: 0,
      resolved: 0,
    });
    odb.Alarms.Alarms.Logger.Triggered = 0; // the logger is back
    expect(await bridgeOnce(read, gateway, { ...state, first: false })).toMatchObject({
      raised: 0,
      resolved: 1,
    });
    expect((await openMidasAlarms()).map((a) => a.fingerprint)).toEqual(['midas:Gas_Alarm_2']);
    expect((await openMidasAlarms())[0].count).toBe(1); // raised once across three passes
  });

  it('copies MIDAS history (hs_read_arraybuffer), each sample at its own time', async () => {
    const history = {
      read: mhttpdHistory(mhttpdUrl),
      variables: ['HV:Current[3]', 'GasSystem:Measured', 'Nowhere:Missing[1]'].map(
        parseHistoryVariable,
      ),
      since: 1_795_999_000,
    };
    const state = { variables: [], raised: new Set<string>(), first: false, history };
    const pass = await bridgeOnce(
      mhttpdReader(mhttpdUrl),
      { url: gw.url, tokens: staticToken(DAQ) },
      state,
    );
    expect(pass.samples).toBe(3);
    expect(history.since).toBeGreaterThan(1_795_999_000); // the next pass starts where this ended
    const series = await gw.gql(
      `{ metricSeries(name: "midas.HV.Current.3", from: "2026-11-30T00:50:00Z", to: "2026-11-30T01:00:00Z", intervalMs: 1000) { time value } }`,
      {},
      DAQ,
    );
    expect(series.errors).toBeUndefined();
    expect(series.data.metricSeries).toEqual([
      { time: new Date(1_796_000_000_000).toISOString(), value: 0.5 },
      { time: new Date(1_796_000_060_000).toISOString(), value: 0.75 },
    ]);
  });

  it('refuses a history answer that does not add up', () => {
    expect(() => decodeHistoryArrayBuffer(new Uint8Array(12))).toThrow(/not a float64 array/);
    const lying = new Float64Array([0, 1, 1, 5, 1_796_000_000, 1]); // claims 5 samples, has 1
    expect(() => decodeHistoryArrayBuffer(lying.buffer)).toThrow(/past the end/);
  });

  it('says what mhttpd answered when it refuses', async () => {
    const read = mhttpdReader(`${mhttpdUrl}/wrong-place`);
    await expect(read(['/Alarms'])).rejects.toThrow(/mhttpd .*: /);
    odb = realOdb();
  });
});
