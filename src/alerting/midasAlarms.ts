import { Severity } from '../schema/enums';

/** One MIDAS alarm as the ODB keeps it under /Alarms/Alarms/<name>. */
export interface MidasAlarm {
  name: string;
  active: boolean;
  triggered: boolean;
  /** 1 internal, 2 program not running, 3 evaluated condition, 4 periodic (MIDAS AT_*). */
  type: number;
  alarmClass: string;
  condition: string;
  message: string;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'internal',
  2: 'program',
  3: 'evaluated',
  4: 'periodic',
};

/** Reads a value of a MIDAS JSON ODB object, ignoring the `<name>/key` metadata entries. */
function field(record: Record<string, unknown>, name: string): unknown {
  return record[name];
}

/**
 * The alarms of an ODB `/Alarms` subtree, as mhttpd's JSON-RPC `db_get_values` or an ODB JSON
 * dump gives it (`{"Alarm system active": …, "Alarms": {…}, "Classes": {…}}`). Entries named
 * `…/key` or `…/last_written` are MIDAS metadata, not alarms.
 */
export function midasAlarmsOf(alarmsTree: unknown): MidasAlarm[] {
  const tree = alarmsTree as { Alarms?: Record<string, unknown> } | undefined;
  const entries = Object.entries(tree?.Alarms ?? {}).filter(
    ([name, value]) => !name.includes('/') && typeof value === 'object' && value !== null,
  );
  return entries.map(([name, value]) => {
    const record = value as Record<string, unknown>;
    const condition = String(field(record, 'Condition') ?? '');
    const type = Number(field(record, 'Type') ?? 0);
    return {
      name,
      active: Boolean(field(record, 'Active')),
      triggered: Number(field(record, 'Triggered') ?? 0) > 0,
      type,
      alarmClass: String(field(record, 'Alarm Class') ?? ''),
      condition,
      message:
        String(field(record, 'Alarm Message') ?? '') ||
        (type === 2 ? `program ${name} not running` : condition || name),
    };
  });
}

/** A class named like a warning is a WARNING; everything else MIDAS raises is CRITICAL. */
export function severityOfClass(alarmClass: string): Severity {
  return /warn/i.test(alarmClass) ? Severity.WARNING : Severity.CRITICAL;
}

/** The gateway alarm of a triggered MIDAS alarm: one fingerprint per MIDAS alarm name. */
export function gatewayAlarmOf(alarm: MidasAlarm) {
  return {
    fingerprint: midasFingerprint(alarm.name),
    name: alarm.name,
    severity: severityOfClass(alarm.alarmClass),
    source: 'midas',
    message: alarm.message,
    labels: {
      class: alarm.alarmClass,
      type: TYPE_NAMES[alarm.type] ?? String(alarm.type),
      ...(alarm.condition ? { condition: alarm.condition } : {}),
    },
  };
}

export function midasFingerprint(name: string): string {
  return `midas:${name.replace(/[^\w.:/@-]/g, '_')}`.slice(0, 128);
}

/**
 * What to tell the gateway about MIDAS's alarms now: raise every triggered alarm that MIDAS
 * checks (Active), resolve every other one — the gateway ignores a resolve of an alarm that is
 * not open, and deduplicates a raise of one that is, so a bridge may send this every poll.
 */
export function alarmChanges(alarms: readonly MidasAlarm[]) {
  return {
    raise: alarms.filter((a) => a.active && a.triggered).map(gatewayAlarmOf),
    resolve: alarms.filter((a) => !(a.active && a.triggered)).map((a) => midasFingerprint(a.name)),
  };
}

/**
 * Slow-control samples from ODB variables (`/Equipment/<eq>/Variables/<name>`, a number or an
 * array): metric `midas.<eq>.<name>` or `midas.<eq>.<name>.<index>`, non-finite values left out.
 */
export function metricSamplesOf(
  path: string,
  value: unknown,
  time: Date,
): Array<{ name: string; value: number; time: Date }> {
  const match = /^\/Equipment\/([^/]+)\/Variables\/([^/]+)$/.exec(path);
  const base = match ? `midas.${match[1]}.${match[2]}` : `midas${path.replace(/\//g, '.')}`;
  const name = base.replace(/[^\w.:-]/g, '_');
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v, i) =>
    typeof v === 'number' && Number.isFinite(v)
      ? [{ name: Array.isArray(value) ? `${name}.${i}` : name, value: v, time }]
      : [],
  );
}

/** A MIDAS history variable as mhttpd names it: event, tag and array index. */
export interface HistoryVariable {
  event: string;
  tag: string;
  index: number;
}

/** `GasSystem:Measured[3]` (or `HV:Current`, index 0) as a history variable. */
export function parseHistoryVariable(text: string): HistoryVariable {
  const match = /^([^:]+):([^[\]]+)(?:\[(\d+)\])?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not EVENT:TAG or EVENT:TAG[INDEX]`);
  return { event: match[1], tag: match[2], index: Number(match[3] ?? 0) };
}

/** The gateway metric of a history variable: `midas.<event>.<tag>.<index>`. */
export function historyMetricName(variable: HistoryVariable): string {
  return `midas.${variable.event}.${variable.tag}.${variable.index}`.replace(/[^\w.:-]/g, '_');
}

/**
 * Decodes the binary answer of mhttpd's JSON-RPC `hs_read_arraybuffer`: little-endian float64
 * values — a leading word, the number of variables N, N status words, N sample counts, then per
 * variable its samples as (unix time, value) pairs — into the samples of each variable.
 */
export function decodeHistoryArrayBuffer(
  buffer: ArrayBuffer | Uint8Array,
): Array<Array<{ time: Date; value: number }>> {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  if (bytes.byteLength % 8 !== 0 || bytes.byteLength < 16)
    throw new Error(`hs_read_arraybuffer: ${bytes.byteLength} bytes is not a float64 array`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const word = (i: number) => view.getFloat64(i * 8, true);
  const words = bytes.byteLength / 8;
  const variables = word(1);
  if (!Number.isInteger(variables) || variables < 0 || 2 + 2 * variables > words)
    throw new Error(`hs_read_arraybuffer: ${variables} variables do not fit ${words} values`);
  let at = 2 + 2 * variables;
  const out: Array<Array<{ time: Date; value: number }>> = [];
  for (let v = 0; v < variables; v++) {
    const count = word(2 + variables + v);
    if (!Number.isInteger(count) || at + 2 * count > words)
      throw new Error(`hs_read_arraybuffer: variable ${v} claims ${count} samples past the end`);
    const samples: Array<{ time: Date; value: number }> = [];
    for (let k = 0; k < count; k++, at += 2) {
      const value = word(at + 1);
      if (Number.isFinite(value)) samples.push({ time: new Date(word(at) * 1000), value });
    }
    out.push(samples);
  }
  return out;
}
