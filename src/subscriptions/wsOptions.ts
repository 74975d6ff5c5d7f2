import {
  execute,
  getOperationAST,
  GraphQLError,
  subscribe,
  type ExecutionArgs,
  type GraphQLSchema,
} from 'graphql';
import type { OperationResult, ServerOptions } from 'graphql-ws';
import type { Authenticator } from '../auth/authenticate';
import type { Principal } from '../auth/roles';
import type { GatewayContext } from '../context';
import { AppError, ErrorCode } from '../errors';
import { createLoaders } from '../loaders';
import type { OperationGuard } from '../security/operationGuard';
import type { Services } from '../services';
import { sharedSubscriptions } from './sharedSubscribe';
import { directDelivery, type WsExtra } from './wsTransport';

/** Close codes: no valid credential (and a credential that expired), and no role. */
/** The graphql-ws connections of this replica, for /metrics (their live subscriptions). */
export const openConnections = new Set<{ subscriptions: Record<string, unknown> }>();

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
/** The token could not be checked (the IdP is away, or misconfigured): try again later. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

function closeCodeFor(code: unknown): number {
  if (code === ErrorCode.UNAUTHENTICATED) return CLOSE_UNAUTHENTICATED;
  if (code === ErrorCode.IDP_UNAVAILABLE || code === ErrorCode.IDP_MISCONFIGURED)
    return CLOSE_TRY_AGAIN_LATER;
  return CLOSE_FORBIDDEN;
}

/** Timers cannot wait longer than this (about 24.8 days); longer expiries need no timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ConnectionExtra {
  principal?: Principal;
}

/**
 * graphql-ws's hooks for the gateway: the token in `connection_init` is checked like an HTTP
 * one (4401 when missing, wrong or expired, 4403 when it grants no role) and the socket is
 * closed with 4401 the moment it expires; each connection holds a bounded number of
 * subscriptions; operations pass the same depth and cost limits as over HTTP; mutations go over
 * HTTP only, where they are rate-limited and audited.
 */
export function gatewayWsOptions(deps: {
  schema: GraphQLSchema;
  authenticator: Authenticator;
  guard: OperationGuard;
  services: Services;
  shared: boolean;
  maxSubscriptionsPerConnection: number;
}): ServerOptions<Record<string, unknown>, ConnectionExtra & WsExtra> {
  const { schema, authenticator, guard, services } = deps;
  const sockets = socketsByPrincipal(services);
  const runSubscription = (deps.shared ? sharedSubscriptions() : subscribe) as Run;

  type Run = (args: ExecutionArgs) => OperationResult;
  const guarded = async (args: ExecutionArgs, run: Run): Promise<Awaited<OperationResult>> => {
    try {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation === 'mutation')
        throw new AppError(
          ErrorCode.BAD_USER_INPUT,
          'mutations go over HTTP (POST /graphql), where they are rate-limited and audited',
        );
      guard.checkShape(schema, args.document, args.operationName, args.variableValues);
    } catch (error) {
      return { errors: [error as GraphQLError] };
    }
    return await run(args);
  };

  return {
    schema,
    onClose: (ctx) => {
      openConnections.delete(ctx);
    },
    onConnect: async (ctx) => {
      const socket = ctx.extra.socket;
      openConnections.add(ctx);
      try {
        const principal = await authenticator.authenticate(ctx.connectionParams ?? {});
        ctx.extra.principal = principal;
        closeOnExpiry(principal, socket);
        sockets.track(principal, socket);
        return true;
      } catch (error) {
        socket.close(
          closeCodeFor((error as AppError).extensions?.code),
          (error as Error).message.slice(0, 120), // a close reason holds at most 123 bytes
        );
        return false; // graphql-ws's own close (4403) finds the socket already closing
      }
    },
    onSubscribe: (ctx) => {
      // graphql-ws has already registered this subscription when the hook runs.
      if (Object.keys(ctx.subscriptions).length > deps.maxSubscriptionsPerConnection)
        return [
          new GraphQLError(
            `at most ${deps.maxSubscriptionsPerConnection} subscriptions per connection`,
            { extensions: { code: ErrorCode.BAD_USER_INPUT } },
          ),
        ];
    },
    // Loaders without a cache: each event of a subscription must see fresh rows.
    context: (ctx, id): GatewayContext => ({
      principal: ctx.extra.principal!,
      address: ctx.extra.request.socket.remoteAddress,
      delivery: directDelivery(ctx.extra.socket, id),
      services,
      loaders: createLoaders(services, { cache: false }),
    }),
    subscribe: (args) => guarded(args, runSubscription),
    execute: (args) => guarded(args, execute as Run),
  };
}

/** The open sockets of each database token, so that revoking the token closes them (4401). */
function socketsByPrincipal(services: Services) {
  const open = new Map<string, Set<WsExtra['socket']>>();
  services.apiTokens.onRevoked((principal) => {
    for (const socket of open.get(principal) ?? [])
      socket.close(CLOSE_UNAUTHENTICATED, 'the token has been revoked');
  });
  return {
    track(principal: Principal, socket: WsExtra['socket']): void {
      let set = open.get(principal.name);
      if (!set) open.set(principal.name, (set = new Set()));
      set.add(socket);
      socket.once('close', () => {
        set.delete(socket);
        if (set.size === 0) open.delete(principal.name);
      });
    },
  };
}

function closeOnExpiry(principal: Principal, socket: WsExtra['socket']): void {
  if (!principal.expiresAt) return;
  const remaining = principal.expiresAt.getTime() - Date.now();
  if (remaining > MAX_TIMER_MS) return;
  const timer = setTimeout(
    () => socket.close(CLOSE_UNAUTHENTICATED, 'the token has expired'),
    Math.max(0, remaining),
  );
  socket.once('close', () => clearTimeout(timer));
}
