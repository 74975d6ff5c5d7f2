import { describe, expect, it } from 'vitest';
import { buildSchema, parse } from 'graphql';
import { measureOperation, limitViolation } from '../../src/security/queryLimits';
import { RateLimiter } from '../../src/security/rateLimiter';
import { REDACTED, redactSecrets } from '../../src/security/redact';

const schema = buildSchema(`
  type Query { runs(first: Int): RunConnection!  run(n: Int!): Run }
  type RunConnection { nodes: [Run!]!  edges: [RunEdge!]! }
  type RunEdge { node: Run! }
  type Run { n: Int!  files: [File!]!  events(first: Int): RunConnection! }
  type File { name: String! }
`);
const limits = { maxDepth: 5, maxCost: 1000, defaultPageSize: 50, maxPageSize: 500 };
const measure = (query: string, variables = {}) =>
  measureOperation(schema, parse(query), undefined, variables, limits)!;

describe('query limits', () => {
  it('prices each field once per item its parent may return', () => {
    expect(measure('{ run(n: 1) { n } }')).toEqual({ depth: 2, cost: 2 });
    // runs(first: 10): 1 + 10 × (nodes 1 + n 1); nodes/edges add no factor of their own
    expect(measure('{ runs(first: 10) { nodes { n } } }')).toEqual({ depth: 3, cost: 21 });
    expect(measure('query($k: Int) { runs(first: $k) { nodes { n } } }', { k: 100 }).cost).toBe(
      201,
    );
    expect(measure('{ runs { nodes { n } } }').cost).toBe(101); // default page size
    expect(measure('{ runs(first: 100000) { nodes { n } } }').cost).toBe(1001); // capped
    // an unpaginated list counts 10 items
    expect(measure('{ run(n: 1) { files { name } } }').cost).toBe(1 + 1 + 10);
  });

  it('follows fragments and aliases, and ignores introspection', () => {
    const viaFragment = measure(
      '{ a: runs(first: 10) { ...R } b: runs(first: 10) { ...R } } fragment R on RunConnection { nodes { n } }',
    );
    expect(viaFragment.cost).toBe(42);
    expect(
      measure('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }'),
    ).toEqual({ depth: 0, cost: 0 });
  });

  it('names the limit a query breaks', () => {
    const deep = measure('{ runs { nodes { events { nodes { events { nodes { n } } } } } } }');
    expect(limitViolation(deep, limits)).toMatch(/depth 7 exceeds the limit of 5/);
    const wide = measure('{ runs(first: 500) { nodes { events(first: 500) { nodes { n } } } } }');
    expect(limitViolation(wide, { ...limits, maxDepth: 10 })).toMatch(
      /cost \d+ exceeds the limit of 1000/,
    );
    expect(limitViolation(measure('{ run(n: 1) { n } }'), limits)).toBeUndefined();
  });
});

describe('redactSecrets', () => {
  it('replaces secret-named values at any depth and keeps the rest', () => {
    expect(
      redactSecrets({
        input: { name: 'grafana', token: 'abc', nested: [{ password: 'p', ok: 1 }] },
        authorization: 'Bearer x',
        apiKey: 'k',
        when: 'now',
      }),
    ).toEqual({
      input: { name: 'grafana', token: REDACTED, nested: [{ password: REDACTED, ok: 1 }] },
      authorization: REDACTED,
      apiKey: REDACTED,
      when: 'now',
    });
  });
});

describe('RateLimiter', () => {
  it('allows a burst of perMinute, then one more per 60/perMinute seconds, per key', () => {
    const limiter = new RateLimiter(6);
    const t = 1_000_000;
    for (let i = 0; i < 6; i++) expect(limiter.take('a', t)).toBe(0);
    expect(limiter.take('a', t)).toBe(10_000);
    expect(limiter.take('b', t)).toBe(0);
    expect(limiter.take('a', t + 10_000)).toBe(0);
    expect(limiter.take('a', t + 10_000)).toBeGreaterThan(0);
  });
});
