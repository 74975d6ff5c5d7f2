import { HandlerRegistry, type JobHandler } from '../../src/jobs/registry';
import { JobKind } from '../../src/schema/enums';

/**
 * A registry with the given handlers and, for every other kind, one that fails the test if a
 * job of that kind ever runs (the engine tests use INGEST jobs only).
 */
export function registryWith(...handlers: JobHandler[]): HandlerRegistry {
  const handled = new Set(handlers.map((h) => h.kind));
  const others = Object.values(JobKind)
    .filter((kind) => !handled.has(kind))
    .map((kind) => ({
      kind,
      run: async () => {
        throw new Error(`unexpected ${kind} job in this test`);
      },
    }));
  return new HandlerRegistry([...handlers, ...others]);
}
