import type { TokenSource } from './tokenSource';

/** Close codes of the gateway's graphql-ws endpoint a client acts on. */
const UNAUTHENTICATED = 4401;
const FORBIDDEN = 4403;
const BAD_REQUEST = 4400;

/** "4401 the token has expired", from a CloseEvent (or whatever graphql-ws hands over). */
export function closeReason(event: unknown): string {
  const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
  if (code === undefined) return event instanceof Error ? event.message : String(event);
  return reason ? `${code} ${reason}` : String(code);
}

/**
 * Whether to connect again after a close: network trouble and "try again later" (1013, the IdP
 * is away) always; an expired or refused token only when its source can renew it; a role the
 * token lacks (4403) or a bad request never — those need a person.
 */
export function shouldReconnect(event: unknown, tokens: TokenSource): boolean {
  const code = (event as { code?: number })?.code;
  if (code === FORBIDDEN || code === BAD_REQUEST) return false;
  if (code === UNAUTHENTICATED) return tokens.renews;
  return true;
}

/** connection_init for a token source: asked again on every (re)connection. */
export async function connectionParamsOf(tokens: TokenSource): Promise<Record<string, string>> {
  const token = await tokens.token();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * Reconnects a graphql-ws client shortly before its token expires, with a renewed one (the
 * gateway would close the socket at expiry with 4401, which graphql-ws treats as final).
 * Call `connected` on every connection; `stop` when done. Only for renewing token sources.
 */
export function reconnectBeforeExpiry(tokens: TokenSource, reconnect: () => void) {
  let timer: NodeJS.Timeout | undefined;
  let renewing = false;
  return {
    /**
     * True once after a reconnection this made: the client should connect again at once, not
     * after a backoff — events published while it waits would be missed.
     */
    consumeRenewal(): boolean {
      const was = renewing;
      renewing = false;
      return was;
    },
    connected(): void {
      clearTimeout(timer);
      const expiresAt = tokens.expiresAt();
      if (!tokens.renews || expiresAt === undefined) return;
      const left = expiresAt - Date.now();
      // A fifth of what is left (at most a minute) before the end, and never in a tight loop.
      const wait = Math.max(1_000, left - Math.min(60_000, left / 5));
      timer = setTimeout(() => {
        renewing = true;
        reconnect();
      }, wait);
      timer.unref();
    },
    stop(): void {
      clearTimeout(timer);
    },
  };
}

/**
 * graphql-ws retry wait: at once after a token renewal, else a randomised exponential backoff
 * (`retries` is graphql-ws's own count, back to 0 once a connection is acknowledged).
 */
export function retryWaitWith(
  renewal: { consumeRenewal(): boolean },
  backoff: { maxMs?: number; baseMs?: number; onWait?: (waitMs: number) => void } = {},
): (retries: number) => Promise<void> {
  const { maxMs = 30_000, baseMs = 1_000, onWait } = backoff;
  return async (retries) => {
    if (renewal.consumeRenewal()) return;
    const wait = Math.min(maxMs, baseMs * 2 ** retries);
    onWait?.(wait);
    await new Promise((resolve) => setTimeout(resolve, wait * (0.75 + Math.random() / 2)));
  };
}
