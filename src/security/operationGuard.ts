import {
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Config } from '../config';
import { AppError, ErrorCode } from '../errors';
import type { PubSub } from '../pubsub';
import { measureOperation, limitViolation, type QueryLimits } from './queryLimits';
import { RateLimiter } from './rateLimiter';
import { redactSecrets } from './redact';

const RATE_WINDOW_MS = 60_000;

/** The abuse limits every operation passes before it runs, over HTTP and WebSocket alike. */
export class OperationGuard {
  private readonly limits: QueryLimits;
  private readonly mutations: RateLimiter;

  /** `shared`: the replicas' common Redis, so that the mutation rate holds across all of them. */
  constructor(
    config: Config,
    private readonly shared?: Pick<PubSub, 'countShared'>,
  ) {
    this.limits = {
      maxDepth: config.queryMaxDepth,
      maxCost: config.queryMaxCost,
      defaultPageSize: Math.min(50, config.maxPageSize),
      maxPageSize: config.maxPageSize,
    };
    this.mutations = new RateLimiter(config.mutationRatePerMinute);
  }

  /** Throws QUERY_TOO_COMPLEX (HTTP 400) when the operation is too deep or too costly. */
  checkShape(
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Record<string, unknown> | null | undefined,
  ): void {
    const measure = measureOperation(schema, document, operationName, variables, this.limits);
    const problem = measure && limitViolation(measure, this.limits);
    if (problem) throw new AppError(ErrorCode.QUERY_TOO_COMPLEX, problem, { ...measure }, 400);
  }

  /**
   * Throws RATE_LIMITED (HTTP 429) when `caller` has used up its mutations for now: on this
   * replica (a token bucket), or on all of them together (a one-minute window counted in
   * Redis, when replicas share one).
   */
  async checkMutationRate(caller: string): Promise<void> {
    let waitMs = this.mutations.take(caller);
    if (waitMs === 0 && this.shared) {
      const now = Date.now();
      const window = Math.floor(now / RATE_WINDOW_MS);
      const used = await this.shared.countShared(`rate:${caller}:${window}`, RATE_WINDOW_MS);
      if (used !== null && used > this.mutations.perMinute)
        waitMs = (window + 1) * RATE_WINDOW_MS - now;
    }
    if (waitMs > 0)
      throw new AppError(
        ErrorCode.RATE_LIMITED,
        `too many mutations from ${caller}: try again in ${Math.ceil(waitMs / 1000)} s`,
        { retryAfterMs: waitMs },
        429,
      );
  }
}

/** The top-level fields of a mutation with their arguments (variables filled in, secrets out). */
export function mutationCalls(
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
): { operation: string; arguments: Record<string, unknown> } {
  const calls: Record<string, unknown> = {};
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) continue;
    const args = Object.fromEntries(
      (selection.arguments ?? []).map((a) => [
        a.name.value,
        valueFromASTUntyped(a.value, variables ?? undefined),
      ]),
    );
    calls[selection.alias?.value ?? selection.name.value] = args;
  }
  const names = operation.selectionSet.selections
    .filter((s) => s.kind === Kind.FIELD)
    .map((s) => (s.kind === Kind.FIELD ? s.name.value : ''));
  return {
    operation: names.join(',') || '(none)',
    arguments: redactSecrets(calls) as Record<string, unknown>,
  };
}
