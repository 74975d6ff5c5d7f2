import {
  createSourceEventStream,
  execute,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import type { GatewayContext } from '../context';

/** Results per event payload and per distinct subscription, while the payload lives. */
const shared = new WeakMap<object, Map<string, Promise<ExecutionResult> | ExecutionResult>>();
const printed = new WeakMap<DocumentNode, string>();

/** Executions run and results reused, since the process started (tests and /metrics). */
export const sharedStats = { executions: 0, reused: 0 };

function subscriptionKey(args: ExecutionArgs): string {
  let text = printed.get(args.document);
  if (text === undefined) printed.set(args.document, (text = print(args.document)));
  const roles = [
    ...((args.contextValue as GatewayContext | undefined)?.principal?.roles ?? []),
  ].sort();
  return JSON.stringify([text, args.operationName ?? null, args.variableValues ?? {}, roles]);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function';
}

/**
 * graphql-js's `subscribe`, except that an event is executed once per distinct subscription
 * (document, variables, operation and the caller's roles) and the result shared by every
 * subscriber, instead of once per subscriber: with a thousand shifters' consoles on
 * `alarmEvents`, one execution instead of a thousand. Each subscriber still has its own source
 * stream (its own filter, its own end); the pub/sub hands every local listener the same payload
 * object, which keys the shared results (and lets them go with it).
 */
export async function sharedSubscribe(
  args: ExecutionArgs,
): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source as ExecutionResult;
  const key = subscriptionKey(args);
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();

  const run = (payload: unknown): Promise<ExecutionResult> | ExecutionResult => {
    if (typeof payload !== 'object' || payload === null)
      return execute({ ...args, rootValue: payload });
    let byKey = shared.get(payload);
    if (!byKey) shared.set(payload, (byKey = new Map()));
    let result = byKey.get(key);
    if (result) sharedStats.reused++;
    else {
      sharedStats.executions++;
      byKey.set(key, (result = execute({ ...args, rootValue: payload })));
    }
    return result;
  };

  const mapped: AsyncGenerator<ExecutionResult> = {
    async next() {
      const step = await iterator.next();
      if (step.done) return { value: undefined, done: true };
      return { value: await run(step.value), done: false };
    },
    async return() {
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return mapped;
}
