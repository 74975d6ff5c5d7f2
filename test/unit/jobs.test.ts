import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/jobs/backoff';
import { HandlerRegistry } from '../../src/jobs/registry';
import { JobKind } from '../../src/schema/enums';

describe('backoffMs', () => {
  it('doubles from the base up to the cap, with at most 10% jitter', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1000, 60_000, () => 0))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect(backoffMs(20, 1000, 60_000, () => 0)).toBe(60_000);
    expect(backoffMs(1, 1000, 60_000, () => 0.999)).toBeLessThanOrEqual(1100);
  });
});

describe('HandlerRegistry', () => {
  it('refuses to exist with a job kind left unhandled', () => {
    expect(() => new HandlerRegistry([])).toThrow(
      /no handler registered for job kind\(s\): INGEST/,
    );
  });

  it('refuses two handlers for one kind', () => {
    const handler = { kind: JobKind.INGEST, run: async () => ({}) };
    expect(() => new HandlerRegistry([handler, handler])).toThrow(/two handlers/);
  });

  it('hands out the handler of each kind', () => {
    const handlers = Object.values(JobKind).map((kind) => ({ kind, run: async () => ({}) }));
    const registry = new HandlerRegistry(handlers);
    for (const handler of handlers) expect(registry.get(handler.kind)).toBe(handler);
  });
});
