import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { TestGateway } from './gateway';
import { waitFor } from './wait';

export interface FeedChange {
  id: string;
  topic: string;
  run?: { runNumber: number; state: string } | null;
}

/** What a `changes` subscription received: its changes, or the errors that refused it. */
export interface ChangeFeed {
  received: FeedChange[];
  errors: Array<{ message: string; extensions?: Record<string, unknown> }>;
  close(): void;
}

const CHANGES = `subscription($after: ID, $topics: [ChangeTopic!]) { changes(after: $after, topics: $topics) {
  id topic at run { runNumber state } job { id kind state runNumber } alarmEvent { type alarm { name } }
} }`;

/**
 * Subscribes to `changes` on a gateway and returns once its change follower has the listener
 * (or the gateway refused the subscription: then `errors` says why).
 */
export async function followChanges(
  gw: TestGateway,
  variables: { after?: string; topics?: string[] } = {},
): Promise<ChangeFeed> {
  const follower = gw.server.runtime.changeFollower;
  const before = follower?.listenerCount ?? 0;
  const client = createClient({
    url: `${gw.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  const feed: ChangeFeed = { received: [], errors: [], close: () => void client.dispose() };
  client.subscribe(
    { query: CHANGES, variables },
    {
      next: (value) => {
        if (value.errors) feed.errors.push(...(value.errors as ChangeFeed['errors']));
        else feed.received.push((value.data as { changes: FeedChange }).changes);
      },
      error: (error) => feed.errors.push(error as ChangeFeed['errors'][0]),
      complete: () => undefined,
    },
  );
  await waitFor(
    () => feed.errors.length > 0 || (follower?.listenerCount ?? 0) > before,
    'the changes subscription to register',
  );
  return feed;
}
