import {
  coerceInputValue,
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { BadUserInputError } from '../errors';
import type { ExportKind, ExportRequest } from '../services/ExportService';

/** The GraphQL input types whose fields an export's filter takes, per kind. */
const FILTER_TYPES: Record<ExportKind, readonly string[]> = {
  clusters: ['ClusterFilter'],
  events: ['RunFilter', 'EventFilter'],
};

const RESERVED = new Set(['columns', 'limit', 'filter']);

function inputType(schema: GraphQLSchema, name: string): GraphQLInputObjectType {
  const type = schema.getType(name);
  if (!isInputObjectType(type)) throw new Error(`the schema has no input type ${name}`);
  return type;
}

/** A query-string value as the field's type wants it: lists comma-separated, numbers, booleans. */
function fromQueryString(raw: unknown, type: GraphQLInputType): unknown {
  const texts = Array.isArray(raw) ? raw.map(String) : [String(raw)];
  const unwrapped = isNonNullType(type) ? type.ofType : type;
  const scalar = (text: string) => {
    const named = getNamedType(type).name;
    if (['Int', 'Float', 'SafeInt'].includes(named))
      return text.trim() === '' ? text : Number(text);
    if (named === 'Boolean') return text === 'true' ? true : text === 'false' ? false : text;
    return text;
  };
  if (isListType(unwrapped)) return texts.flatMap((t) => t.split(',')).map(scalar);
  return scalar(texts[texts.length - 1]);
}

/**
 * The export a request asks for. GET takes the filter's fields as query parameters
 * (`?runNumberFrom=3&minIntegral=5000&columns=runNumber,integral&limit=1000`; lists
 * comma-separated); POST takes `{ filter: {…}, columns: […], limit }` as JSON. Either way the
 * filter is checked against the GraphQL input types, so it accepts exactly what the API does.
 */
export function parseExportRequest(
  schema: GraphQLSchema,
  kind: ExportKind,
  request: { method: string; query: Record<string, unknown>; body: unknown },
): ExportRequest {
  const types = FILTER_TYPES[kind].map((name) => inputType(schema, name));
  let filterInput: Record<string, unknown>;
  let columns: unknown;
  let limit: unknown;
  if (request.method === 'POST') {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body))
      throw new BadUserInputError('the body must be a JSON object { filter, columns, limit }');
    const unknown = Object.keys(body).filter((key) => !RESERVED.has(key));
    if (unknown.length)
      throw new BadUserInputError(
        `unknown body field ${unknown.join(', ')} (expected filter, columns, limit)`,
      );
    filterInput = (body.filter ?? {}) as Record<string, unknown>;
    if (typeof filterInput !== 'object' || Array.isArray(filterInput))
      throw new BadUserInputError('filter must be an object', 'filter');
    ({ columns, limit } = body);
  } else {
    filterInput = {};
    for (const [key, raw] of Object.entries(request.query)) {
      if (RESERVED.has(key)) continue;
      const field = types.map((t) => t.getFields()[key]).find(Boolean);
      filterInput[key] = field ? fromQueryString(raw, field.type) : raw;
    }
    columns =
      request.query.columns === undefined ? undefined : String(request.query.columns).split(',');
    limit = request.query.limit === undefined ? undefined : Number(request.query.limit);
  }

  const filter: Record<string, unknown> = {};
  const problems: string[] = [];
  const known = new Set(types.flatMap((t) => Object.keys(t.getFields())));
  for (const key of Object.keys(filterInput))
    if (!known.has(key))
      problems.push(`unknown filter field ${key} (fields: ${[...known].join(', ')})`);
  for (const type of types) {
    const own = Object.fromEntries(
      Object.entries(filterInput).filter(([key]) => key in type.getFields()),
    );
    const coerced = coerceInputValue(own, type, (path, _value, error) =>
      problems.push(`${[type.name, ...path].join('.')}: ${error.message}`),
    );
    Object.assign(filter, coerced);
  }
  if (problems.length) throw new BadUserInputError(problems.join('; '), 'filter');

  if (
    columns !== undefined &&
    !(Array.isArray(columns) && columns.every((c) => typeof c === 'string' && c.length > 0))
  )
    throw new BadUserInputError('columns must be a list of column names', 'columns');
  if (
    limit !== undefined &&
    limit !== null &&
    !(typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0)
  )
    throw new BadUserInputError('limit must be a whole number of rows', 'limit');
  return {
    kind,
    filter,
    columns: columns as string[] | undefined,
    limit: (limit as number | null | undefined) ?? undefined,
  };
}
