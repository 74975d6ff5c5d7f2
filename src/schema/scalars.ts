import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { JSONResolver, SafeIntResolver } from 'graphql-scalars';

// RFC 3339 date-time with a mandatory offset (Z or ±hh:mm) and optional fractional seconds.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function fromEpochMs(value: number): Date {
  if (!Number.isFinite(value) || !Number.isSafeInteger(Math.trunc(value))) {
    throw new GraphQLError(`DateTime: ${value} is not a valid epoch-milliseconds number`);
  }
  return checked(new Date(value), String(value));
}

function fromString(value: string): Date {
  // Grafana's text interpolation may put epoch ms into a string.
  if (/^-?\d+$/.test(value)) return fromEpochMs(Number(value));
  if (!RFC3339.test(value)) {
    throw new GraphQLError(
      `DateTime: "${value}" is not RFC 3339 (e.g. 2026-11-24T18:00:00Z) or epoch ms`,
    );
  }
  return checked(new Date(value), value);
}

function checked(date: Date, original: string): Date {
  if (Number.isNaN(date.getTime()))
    throw new GraphQLError(`DateTime: "${original}" is not a valid date`);
  return date;
}

function parseInput(value: unknown): Date {
  if (typeof value === 'number') return fromEpochMs(value);
  if (typeof value === 'string') return fromString(value);
  throw new GraphQLError('DateTime: expected an RFC 3339 string or an epoch-milliseconds number');
}

/**
 * Times in and out. Output is always RFC 3339 UTC with milliseconds; input is an RFC 3339
 * string or epoch milliseconds (Grafana sends both, and a 32-bit Int cannot hold epoch ms).
 */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description:
    'RFC 3339 UTC timestamp on output (2026-11-24T18:00:00.000Z); input accepts RFC 3339 or epoch milliseconds.',
  serialize(value) {
    // Payloads that crossed Redis carry dates as strings; entities carry Date objects.
    const date = value instanceof Date ? value : parseInput(value);
    return date.toISOString();
  },
  parseValue: parseInput,
  parseLiteral(ast: ValueNode) {
    if (ast.kind === Kind.STRING) return fromString(ast.value);
    if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return fromEpochMs(Number(ast.value));
    throw new GraphQLError(
      'DateTime: expected an RFC 3339 string or an epoch-milliseconds number',
      {
        nodes: ast,
      },
    );
  },
});

/** Arbitrary JSON (run attributes, labels). */
export const JSONScalar = JSONResolver;

/** Integers up to 2^53 - 1: byte sizes and offsets exceed a 32-bit Int. */
export const SafeIntScalar = SafeIntResolver;
