// How the two Grafana GraphQL datasources really talk to the gateway and read its answers,
// reduced to what decides whether a panel works: the request they send and the frames they
// build. fifemon-graphql-datasource: POST {query} only, Grafana's variables interpolated into the
// text, dot-separated data paths below `data` (comma-separated for several), nested objects
// flattened, a time field parsed from RFC 3339 or epoch ms, numbers typed from JSON numbers.
// Wild GraphQL Data Source: POST {query, operationName, variables} with from/to as epoch-ms
// numbers, interval_ms, maxDataPoints and refId; any `errors` entry fails the whole panel.

export interface Field {
  name: string;
  type: 'time' | 'number' | 'string' | 'boolean' | 'other';
  values: unknown[];
}
export interface Frame {
  fields: Field[];
}
export interface TimeRange {
  from: number;
  to: number;
  intervalMs: number;
  maxDataPoints: number;
}

/** Grafana's text interpolation of the time macros fifemon queries use. */
export function interpolateFifemon(text: string, range: TimeRange): string {
  return text
    .replaceAll('${__from:date:iso}', new Date(range.from).toISOString())
    .replaceAll('${__to:date:iso}', new Date(range.to).toISOString())
    .replaceAll('$__interval_ms', String(range.intervalMs))
    .replaceAll('$__from', String(range.from))
    .replaceAll('$__to', String(range.to))
    .replaceAll('$timeFrom', String(range.from))
    .replaceAll('$timeTo', String(range.to));
}

export function fifemonRequest(queryText: string, range: TimeRange): { query: string } {
  return { query: interpolateFifemon(queryText, range) };
}

export function wildRequest(
  queryText: string,
  range: TimeRange,
  refId: string,
): { query: string; variables: Record<string, unknown>; operationName?: string } {
  const operationName = /^\s*query\s+(\w+)/.exec(queryText)?.[1];
  return {
    query: queryText,
    ...(operationName ? { operationName } : {}),
    variables: {
      from: range.from,
      to: range.to,
      interval_ms: range.intervalMs,
      maxDataPoints: range.maxDataPoints,
      refId,
    },
  };
}

function at(data: unknown, path: string): unknown {
  if (path === '') return data;
  return path.split('.').reduce<unknown>((value, key) => {
    if (value === null || typeof value !== 'object')
      throw new Error(`data path "${path}": nothing at "${key}"`);
    return (value as Record<string, unknown>)[key];
  }, data);
}

function flatten(value: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item && typeof item === 'object' && !Array.isArray(item))
      Object.assign(out, flatten(item as Record<string, unknown>, `${prefix}${key}.`));
    else out[`${prefix}${key}`] = item;
  }
  return out;
}

/** A time value as both plugins accept it: RFC 3339 text or epoch milliseconds. */
export function parseTime(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (
    typeof value === 'string' &&
    /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(value)
  )
    return Date.parse(value);
  throw new Error(`time field value ${JSON.stringify(value)} is neither RFC 3339 nor epoch ms`);
}

function rowsToFrame(rows: Record<string, unknown>[], timePaths: readonly string[]): Frame {
  const flat = rows.map((row) => flatten(row));
  const names = [...new Set(flat.flatMap((row) => Object.keys(row)))];
  return {
    fields: names.map((name) => {
      const values = flat.map((row) => row[name]);
      const sample = values.find((v) => v !== null && v !== undefined);
      if (timePaths.includes(name))
        return { name, type: 'time', values: values.map((v) => (v == null ? null : parseTime(v))) };
      const type =
        typeof sample === 'number'
          ? 'number'
          : typeof sample === 'string'
            ? 'string'
            : typeof sample === 'boolean'
              ? 'boolean'
              : 'other';
      return { name, type, values };
    }),
  };
}

function rowsAt(data: unknown, path: string): Record<string, unknown>[] {
  const found = at(data, path);
  if (found == null) throw new Error(`data path "${path}" is empty`);
  return (Array.isArray(found) ? found : [found]) as Record<string, unknown>[];
}

/** fifemon: frames from the response body; an HTTP error or missing data fails the panel. */
export function fifemonFrames(
  body: { data?: unknown; errors?: unknown[] },
  dataPath: string,
  timePath = 'Time',
  extraTimePaths: string[] = [],
): Frame[] {
  if (body.data == null) throw new Error(`no data: ${JSON.stringify(body.errors)}`);
  return dataPath
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => rowsToFrame(rowsAt(body.data, p), [timePath, ...extraTimePaths]));
}

/** Wild: one frame per parsing option; any error entry fails the panel. */
export function wildFrames(
  body: { data?: unknown; errors?: unknown[] },
  parsingOptions: Array<{ dataPath: string; timeFields?: Array<{ timePath: string }> }>,
): Frame[] {
  if (body.errors?.length) throw new Error(`the panel fails: ${JSON.stringify(body.errors)}`);
  return parsingOptions.map((option) =>
    rowsToFrame(
      rowsAt(body.data, option.dataPath),
      (option.timeFields ?? []).map((t) => t.timePath).filter(Boolean),
    ),
  );
}
