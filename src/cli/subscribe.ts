import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * `cygno-gateway subscribe QUERY`: prints every event of a subscription as one JSON line, for
 * a shifter's terminal or a shell pipeline. GATEWAY_URL (default http://127.0.0.1:4000) and
 * GATEWAY_TOKEN select the gateway and the bearer token.
 */
export async function subscribe(query: string | undefined, env = process.env): Promise<void> {
  if (!query)
    throw new Error(
      "usage: cygno-gateway subscribe 'subscription { runUpdated { runNumber state } }'",
    );
  const base = (env.GATEWAY_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, '');
  const url = `${base.replace(/^http/, 'ws')}/graphql`;
  const token = env.GATEWAY_TOKEN;
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: Infinity,
    // Network trouble is retried for ever; a refused token or a bad query is not.
    shouldRetry: (event) => ![4400, 4401, 4403].includes((event as { code?: number }).code ?? 0),
    on: {
      connected: () => process.stderr.write(`subscribed on ${url}\n`),
      closed: (event) =>
        process.stderr.write(
          `connection closed (${(event as { code?: number }).code ?? '?'}); reconnecting…\n`,
        ),
    },
  });
  await new Promise<void>((resolve, reject) => {
    client.subscribe(
      { query },
      {
        next: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: resolve,
      },
    );
  });
  await client.dispose();
}
