import {
  Kind,
  print,
  subscribe,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import type { GatewayContext } from '../context';
import { logger } from '../logger';

const log = logger('subscriptions');
const printed = new WeakMap<DocumentNode, string>();

/** Executions run, results serialized and delivered, subscribers joined: for tests. */
export const sharedStats = { executions: 0, serializations: 0, deliveries: 0, joined: 0 };

/** Subscriptions each subscriber must have to itself. */
const UNSHARED_FIELDS = new Set(['changes']);

function subscribesTo(args: ExecutionArgs, fields: ReadonlySet<string>): boolean {
  return args.document.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      (args.operationName == null || definition.name?.value === args.operationName) &&
      definition.selectionSet.selections.some(
        (selection) => selection.kind === Kind.FIELD && fields.has(selection.name.value),
      ),
  );
}

function subscriptionKey(args: ExecutionArgs): string {
  let text = printed.get(args.document);
  if (text === undefined) printed.set(args.document, (text = print(args.document)));
  const roles = [
    ...((args.contextValue as GatewayContext | undefined)?.principal?.roles ?? []),
  ].sort();
  return JSON.stringify([text, args.operationName ?? null, args.variableValues ?? {}, roles]);
}

type Delivery = NonNullable<GatewayContext['delivery']>;

/**
 * One subscriber: each result goes straight to its socket, serialized once for the whole
 * group. graphql-ws holds it as the subscription's stream, which yields nothing and ends when
 * the group does or the subscriber leaves.
 */
class Member implements AsyncGenerator<ExecutionResult> {
  private ended: (() => void) | undefined;
  private done = false;

  constructor(
    private readonly group: Group,
    private readonly delivery: Delivery,
  ) {}

  push(serialized: () => string): void {
    this.delivery.sendNext(serialized());
    sharedStats.deliveries++;
  }

  end(): void {
    this.done = true;
    this.ended?.();
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.done) await new Promise<void>((resolve) => (this.ended = resolve));
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    await this.group.leave(this);
    return { value: undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

/** Every subscriber of one distinct subscription, fed by one source stream and one execution. */
class Group {
  readonly members = new Set<Member>();
  /** No longer fed: a late subscriber must start a new group. */
  closed = false;

  constructor(
    private readonly key: string,
    private readonly source: AsyncGenerator<ExecutionResult> | AsyncIterable<ExecutionResult>,
    private readonly registry: Map<string, Promise<Group | ExecutionResult>>,
  ) {
    void this.pump();
  }

  join(delivery: Delivery): Member {
    const member = new Member(this, delivery);
    this.members.add(member);
    sharedStats.joined++;
    return member;
  }

  async leave(member: Member): Promise<void> {
    this.members.delete(member);
    if (this.members.size > 0 || this.closed) return;
    this.closed = true;
    this.registry.delete(this.key);
    const iterator = this.source as AsyncGenerator<ExecutionResult>;
    await iterator.return?.(undefined);
  }

  private async pump(): Promise<void> {
    try {
      for await (const result of this.source) {
        sharedStats.executions++;
        let json: string | undefined;
        const serialized = () => {
          if (json === undefined) {
            json = JSON.stringify(result);
            sharedStats.serializations++;
          }
          return json;
        };
        for (const member of this.members) member.push(serialized);
      }
    } catch (error) {
      log.error({ err: error }, 'a shared subscription failed');
    } finally {
      if (!this.closed) {
        this.closed = true;
        this.registry.delete(this.key);
      }
      for (const member of this.members) member.end();
    }
  }
}

/**
 * graphql-js's `subscribe`, except that subscribers of the same subscription (document,
 * operation, variables and the caller's roles) share one source stream, one execution and one
 * serialization per event: with a thousand shifters' consoles on `alarmEvents`, one execution,
 * one filter pass and one JSON.stringify instead of a thousand. Each subscriber keeps its own
 * end. Without a socket to write to (`contextValue.delivery`) it is plain `subscribe`.
 */
export function sharedSubscriptions(): (
  args: ExecutionArgs,
) => Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const groups = new Map<string, Promise<Group | ExecutionResult>>();
  return async (args) => {
    const delivery = (args.contextValue as GatewayContext | undefined)?.delivery;
    if (!delivery) return subscribe(args); // no socket to write to: nothing to share
    // A change feed replays history from its own resume point: a late joiner would miss it.
    if (subscribesTo(args, UNSHARED_FIELDS)) return subscribe(args);
    const key = subscriptionKey(args);
    for (;;) {
      let pending = groups.get(key);
      if (!pending) {
        pending = Promise.resolve(subscribe(args)).then((result) =>
          typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
            ? new Group(key, result as AsyncGenerator<ExecutionResult>, groups)
            : (result as ExecutionResult),
        );
        groups.set(key, pending);
      }
      const group = await pending;
      if (!(group instanceof Group)) {
        if (groups.get(key) === pending) groups.delete(key); // an error is the caller's alone
        return group;
      }
      if (!group.closed) return group.join(delivery);
      // It closed while we waited (its last subscriber left): start afresh.
    }
  };
}
