import { HandlerRegistry, type JobHandler } from '../../src/jobs/registry';
import { JobKind } from '../../src/schema/enums';

/** Jobs of a kind the test gave no handler for, as `kind #id`, since the last check. */
const unexpected: string[] = [];

/**
 * A registry with the given handlers and, for every other kind, one that records the job and
 * fails it. Failing the job alone would go unnoticed: call `expectNoUnexpectedJobs` (in an
 * afterEach) so that such a job fails the test.
 */
export function registryWith(...handlers: JobHandler[]): HandlerRegistry {
  const handled = new Set(handlers.map((h) => h.kind));
  const others = Object.values(JobKind)
    .filter((kind) => !handled.has(kind))
    .map((kind) => ({
      kind,
      run: async ({ job }: { job: { id: number } }) => {
        unexpected.push(`${kind} #${job.id}`);
        throw new Error(`unexpected ${kind} job in this test`);
      },
    }));
  return new HandlerRegistry([...handlers, ...others]);
}

/** Throws when a registry from `registryWith` ran a job it had no handler for. */
export function expectNoUnexpectedJobs(): void {
  const seen = unexpected.splice(0);
  if (seen.length > 0) throw new Error(`jobs of unexpected kinds ran: ${seen.join(', ')}`);
}
