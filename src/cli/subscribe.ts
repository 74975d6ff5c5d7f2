import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { tokenSourceFrom, type TokenSource } from './tokenSource';
import {
  closeReason,
  connectionParamsOf,
  reconnectBeforeExpiry,
  retryWaitWith,
  shouldReconnect,
} from './wsClose';

const USAGE = `usage: cygno-gateway subscribe QUERY [--token-file FILE] [--client-id ID --client-secret SECRET]

Prints every event of a subscription as one JSON line. GATEWAY_URL (default
http://127.0.0.1:4000); the token from GATEWAY_TOKEN, a token file (--token-file or
GATEWAY_TOKEN_FILE, read again when it changes) or OAuth client credentials (--client-id and
--client-secret or GATEWAY_CLIENT_ID and GATEWAY_CLIENT_SECRET, with GATEWAY_OIDC_ISSUER and
GATEWAY_OIDC_SCOPE), renewed before it expires.`;

/**
 * `cygno-gateway subscribe QUERY`: prints every event of a subscription as one JSON line, for
 * a shifter's terminal or a shell pipeline. Reconnects after network trouble, and after the
 * token expired when its source can renew it; says why whenever the connection closes.
 */
export async function subscribe(argv: string[], env = process.env): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'token-file': { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
    },
  });
  const query = positionals[0];
  if (!query) throw new Error(USAGE);
  const tokens: TokenSource = tokenSourceFrom(env, {
    tokenFile: values['token-file'],
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
  });
  const base = (env.GATEWAY_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, '');
  const url = `${base.replace(/^http/, 'ws')}/graphql`;
  // graphql-ws gives up for good on some closes (an expired token: 4401); with a token that
  // renews, a new connection is made — anything else that ends it is said and ends the command.
  for (let attempt = 0; ; attempt++) {
    const ended = await followOnce(url, query, tokens);
    if (ended === 'complete') return;
    if (!shouldReconnect(ended, tokens)) throw new Error(`gave up: ${closeReason(ended)}`);
    const waitMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
    process.stderr.write(
      `connection ended (${closeReason(ended)}); connecting again in ${waitMs} ms\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/** One graphql-ws client, until the subscription completes ('complete') or the client gives up. */
async function followOnce(
  url: string,
  query: string,
  tokens: TokenSource,
): Promise<'complete' | unknown> {
  const renewal = reconnectBeforeExpiry(tokens, () => client.terminate());
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: () => connectionParamsOf(tokens),
    retryAttempts: Infinity,
    retryWait: retryWaitWith(renewal),
    shouldRetry: (event) => shouldReconnect(event, tokens),
    on: {
      connected: () => {
        process.stderr.write(`subscribed on ${url}\n`);
        renewal.connected(); // a renewed token before this one expires
      },
      closed: (event) => process.stderr.write(`connection closed: ${closeReason(event)}\n`),
    },
  });
  try {
    return await new Promise<'complete' | unknown>((resolve) => {
      client.subscribe(
        { query },
        {
          next: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
          error: (error) => resolve(error),
          complete: () => resolve('complete'),
        },
      );
    });
  } finally {
    renewal.stop();
    await client.dispose();
  }
}
