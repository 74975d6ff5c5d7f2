import fs from 'node:fs';
import { parseArgs } from 'node:util';
import {
  alarmChanges,
  decodeHistoryArrayBuffer,
  historyMetricName,
  metricSamplesOf,
  midasAlarmsOf,
  parseHistoryVariable,
  type HistoryVariable,
} from '../alerting/midasAlarms';
import { logger } from '../logger';
import { gatewayRequest } from './gatewayHttp';
import { tokenSourceFrom, type TokenSource } from './tokenSource';

const log = logger('midas-bridge');

const USAGE = `usage: cygno-gateway midas-bridge (--mhttpd URL | --odb FILE) [--variables PATH[,PATH…]]
                                 [--history EVENT:TAG[INDEX][,…]] [--interval SECONDS] [--once]

Turns what MIDAS offers into gateway calls: the ODB alarm records (/Alarms/Alarms/*: Active,
Triggered, Type, Alarm Class, Condition) into raiseAlarm/resolveAlarm, and ODB variables
(e.g. /Equipment/GasSystem/Variables/Measured) into recordMetrics as midas.<equipment>.<name>[.i],
and MIDAS history variables (--history HV:Current[3], through hs_read_arraybuffer, each sample at
its own time) as midas.<event>.<tag>.<index>.
--mhttpd reads them through mhttpd's JSON-RPC (db_get_values), every --interval seconds (10);
--odb reads an ODB JSON dump once. GATEWAY_URL and a token with role daq (GATEWAY_TOKEN, a token
file or client credentials, as for subscribe).`;

/** Where the bridge reads the ODB: mhttpd's JSON-RPC, or an ODB JSON dump. */
type OdbReader = (paths: string[]) => Promise<unknown[]>;

/** One call of mhttpd's JSON-RPC (`POST /?mjsonrpc`); the raw response, for JSON or binary answers. */
async function mjsonrpc(
  url: string,
  method: string,
  params: Record<string, unknown>,
  timeoutMs: number,
): Promise<Response> {
  return fetch(`${url.replace(/\/$/, '')}/?mjsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** mhttpd's JSON-RPC `db_get_values`: the values of several ODB paths (null where missing). */
export function mhttpdReader(url: string): OdbReader {
  return async (paths) => {
    const response = await mjsonrpc(url, 'db_get_values', { paths }, 10_000);
    const body = (await response.json()) as {
      result?: { data?: unknown[]; status?: number[] };
      error?: { message?: string };
    };
    if (!response.ok || body.error || !Array.isArray(body.result?.data))
      throw new Error(`mhttpd ${url}: ${body.error?.message ?? `HTTP ${response.status}`}`);
    return body.result!.data!.map((value, i) => (body.result!.status?.[i] === 1 ? value : null));
  };
}

/** The samples of history variables between two times (unix seconds), one list per variable. */
type HistoryReader = (
  variables: HistoryVariable[],
  from: number,
  to: number,
) => Promise<Array<Array<{ time: Date; value: number }>>>;

/** mhttpd's JSON-RPC `hs_read_arraybuffer` (MIDAS history, as mhttpd's own plots read it). */
export function mhttpdHistory(url: string): HistoryReader {
  return async (variables, from, to) => {
    const response = await mjsonrpc(
      url,
      'hs_read_arraybuffer',
      {
        start_time: from,
        end_time: to,
        events: variables.map((v) => v.event),
        tags: variables.map((v) => v.tag),
        index: variables.map((v) => v.index),
      },
      30_000,
    );
    if (!response.ok)
      throw new Error(`mhttpd ${url}: hs_read_arraybuffer answered ${response.status}`);
    return decodeHistoryArrayBuffer(await response.arrayBuffer());
  };
}

/** An ODB JSON dump (as `odbedit save -j` or mhttpd writes it). */
export function odbFileReader(file: string): OdbReader {
  return async (paths) => {
    const odb = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    return paths.map((path) =>
      path
        .split('/')
        .filter(Boolean)
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], odb),
    );
  };
}

/**
 * One pass: reads the alarms (and the variables), raises the alarms newly triggered, resolves
 * those no longer triggered (every one, on the first pass: the gateway may hold stale ones),
 * records the variables. `raised` carries what this bridge raised from one pass to the next.
 */
export async function bridgeOnce(
  read: OdbReader,
  gateway: { url: string; tokens: TokenSource },
  options: {
    variables: string[];
    raised: Set<string>;
    first: boolean;
    /** MIDAS history to copy, from `since` (unix seconds; advanced on success) to now. */
    history?: { read: HistoryReader; variables: HistoryVariable[]; since: number };
  },
): Promise<{ raised: number; resolved: number; samples: number }> {
  const [alarmsTree, ...values] = await read(['/Alarms', ...options.variables]);
  const changes = alarmChanges(midasAlarmsOf(alarmsTree));
  const call = async (query: string, variables: Record<string, unknown>) =>
    gatewayRequest(gateway.url, await gateway.tokens.token(), query, variables);
  let raised = 0;
  let resolved = 0;
  for (const alarm of changes.raise) {
    if (options.raised.has(alarm.fingerprint)) continue; // still triggered: told already
    await call(RAISE, { input: alarm });
    options.raised.add(alarm.fingerprint);
    raised++;
  }
  for (const fingerprint of changes.resolve) {
    if (!options.first && !options.raised.has(fingerprint)) continue;
    await call(RESOLVE, { fingerprint });
    options.raised.delete(fingerprint);
    resolved++;
  }
  const now = new Date();
  const samples = options.variables.flatMap((path, i) => metricSamplesOf(path, values[i], now));
  const history = options.history;
  const to = Math.floor(now.getTime() / 1000);
  if (history && history.variables.length > 0) {
    const series = await history.read(history.variables, history.since, to);
    series.forEach((points, i) => {
      const name = historyMetricName(history.variables[i]);
      for (const point of points) samples.push({ name, value: point.value, time: point.time });
    });
  }
  for (let i = 0; i < samples.length; i += 1000)
    await call(RECORD, { samples: samples.slice(i, i + 1000) });
  if (history) history.since = to;
  return { raised, resolved, samples: samples.length };
}

/** `cygno-gateway midas-bridge`: runs until interrupted (or once, with --once or --odb). */
export async function midasBridgeCommand(argv: string[], env = process.env): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mhttpd: { type: 'string' },
      odb: { type: 'string' },
      variables: { type: 'string' },
      history: { type: 'string' },
      interval: { type: 'string' },
      once: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || Boolean(values.mhttpd) === Boolean(values.odb)) throw new Error(USAGE);
  const read = values.mhttpd ? mhttpdReader(values.mhttpd) : odbFileReader(values.odb!);
  const gateway = {
    url: (env.GATEWAY_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, ''),
    tokens: tokenSourceFrom(env),
  };
  const variables = (values.variables ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const intervalMs = Number(values.interval ?? 10) * 1000;
  if (!(intervalMs > 0)) throw new Error('--interval: a positive number of seconds');
  const historyVariables = (values.history ?? '')
    .split(',')
    .filter((v) => v.trim())
    .map(parseHistoryVariable);
  if (historyVariables.length > 0 && !values.mhttpd)
    throw new Error('--history reads MIDAS history through mhttpd: give --mhttpd');
  const state = {
    variables,
    raised: new Set<string>(),
    first: true,
    ...(values.mhttpd && historyVariables.length > 0
      ? {
          history: {
            read: mhttpdHistory(values.mhttpd),
            variables: historyVariables,
            since: Math.floor(Date.now() / 1000) - 600, // the last ten minutes on start
          },
        }
      : {}),
  };
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  process.once('SIGTERM', () => (stop = true));
  for (;;) {
    try {
      const pass = await bridgeOnce(read, gateway, state);
      state.first = false;
      process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...pass })}\n`);
    } catch (error) {
      if (values.once || values.odb) throw error;
      log.warn({ err: error }, 'bridge pass failed; trying again next interval');
    }
    if (values.once || values.odb || stop) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    if (stop) return;
  }
}

const RAISE = `mutation($input: RaiseAlarmInput!) { raiseAlarm(input: $input) { id } }`;
const RESOLVE = `mutation($fingerprint: String!) { resolveAlarm(fingerprint: $fingerprint) { id } }`;
const RECORD = `mutation($samples: [MetricInput!]!) { recordMetrics(samples: $samples) }`;
