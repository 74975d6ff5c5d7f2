import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { alarmChanges, metricSamplesOf, midasAlarmsOf } from '../alerting/midasAlarms';
import { logger } from '../logger';
import { gatewayRequest } from './gatewayHttp';
import { tokenSourceFrom, type TokenSource } from './tokenSource';

const log = logger('midas-bridge');

const USAGE = `usage: cygno-gateway midas-bridge (--mhttpd URL | --odb FILE) [--variables PATH[,PATH…]]
                                 [--interval SECONDS] [--once]

Turns what MIDAS offers into gateway calls: the ODB alarm records (/Alarms/Alarms/*: Active,
Triggered, Type, Alarm Class, Condition) into raiseAlarm/resolveAlarm, and ODB variables
(e.g. /Equipment/GasSystem/Variables/Measured) into recordMetrics as midas.<equipment>.<name>[.i].
--mhttpd reads them through mhttpd's JSON-RPC (db_get_values), every --interval seconds (10);
--odb reads an ODB JSON dump once. GATEWAY_URL and a token with role daq (GATEWAY_TOKEN, a token
file or client credentials, as for subscribe).`;

/** Where the bridge reads the ODB: mhttpd's JSON-RPC, or an ODB JSON dump. */
type OdbReader = (paths: string[]) => Promise<unknown[]>;

/** mhttpd's JSON-RPC `db_get_values`: the values of several ODB paths (null where missing). */
export function mhttpdReader(url: string): OdbReader {
  let id = 0;
  return async (paths) => {
    const response = await fetch(`${url.replace(/\/$/, '')}/?mjsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        method: 'db_get_values',
        params: { paths },
        id: ++id,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as {
      result?: { data?: unknown[]; status?: number[] };
      error?: { message?: string };
    };
    if (!response.ok || body.error || !Array.isArray(body.result?.data))
      throw new Error(`mhttpd ${url}: ${body.error?.message ?? `HTTP ${response.status}`}`);
    return body.result!.data!.map((value, i) => (body.result!.status?.[i] === 1 ? value : null));
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
  options: { variables: string[]; raised: Set<string>; first: boolean },
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
  if (samples.length > 0) await call(RECORD, { samples });
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
  const state = { variables, raised: new Set<string>(), first: true };
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
