import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import request from 'supertest';
import type { Logger as TypeOrmLogger } from 'typeorm';
import WebSocket from 'ws';
import { loadConfig, type Config } from '../../src/config';
import type { Topic } from '../../src/pubsub';
import { GatewayServer } from '../../src/server';
import { sharedStats } from '../../src/subscriptions/sharedSubscribe';
import { createTestDatabase, type TestDatabase } from './database';
import { startS3, type TestS3 } from './s3';
import { waitFor } from './wait';

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string; [key: string]: unknown } }>;
}

/** The `changes` subscription's "topic": it registers with the change follower, not pub/sub. */
export const CHANGE_FEED = 'changes' as const;
export type SubscriptionSource = Topic | typeof CHANGE_FEED;

export interface Subscription<T = any> {
  /** The next event (waits up to timeoutMs). */
  next(timeoutMs?: number): Promise<T>;
  /** Every event received so far. */
  received: T[];
  close(): void;
}

export interface TestGateway {
  server: GatewayServer;
  config: Config;
  url: string;
  bufferDir: string;
  database: TestDatabase;
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<T>>;
  /** Subscribes over graphql-ws and waits until the server has registered the subscription. */
  subscribe<T = any>(
    query: string,
    variables: Record<string, unknown>,
    topic: SubscriptionSource,
    token?: string,
  ): Promise<Subscription<T>>;
  /**
   * Calls `send` (which sends one subscription on `topic`) and waits until the server has
   * registered it — sending is not subscribing: the server registers asynchronously. Ends
   * early if `failed` returns something.
   */
  registered(topic: SubscriptionSource, send: () => void, failed?: () => unknown): Promise<void>;
  /**
   * Opens a subscription socket with these connection params and resolves with how the gateway
   * closed it; `onConnected` runs once the connection has been accepted.
   */
  socketClose(
    connectionParams: Record<string, unknown>,
    options?: { query?: string; onConnected?: () => void },
  ): Promise<{ code: number; reason: string }>;
  /** Writes a file into the DAQ buffer. */
  writeBufferFile(name: string, content: Buffer): string;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  env?: Record<string, string>;
  /** Share a database with another gateway (two replicas); created and dropped here otherwise. */
  database?: TestDatabase;
  bufferDir?: string;
  sqlLogger?: TypeOrmLogger;
}

/**
 * The environment of a `cygno-gateway` process of its own on this test gateway's deployment:
 * its database, object store, tape and buffer (the caller adds the rest).
 */
export function gatewayProcessEnv(gw: TestGateway): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    DATABASE_URL: gw.config.databaseUrl,
    OBJECT_STORE_URL: gw.config.objectStoreUrl,
    TAPE_URL: gw.config.tapeUrl,
    DAQ_BUFFER_DIR: gw.bufferDir,
  };
}

/** Redis channel prefix unique to this test process, so parallel test files never cross-talk. */
export const TEST_REDIS_PREFIX = `cygno-test-${randomBytes(4).toString('hex')}:`;

/**
 * The Redis prefix of the test deployment on one database: gateways and workers on the same
 * database share their events, counters and claims, as replicas of one deployment do, and
 * those of other test deployments stay apart.
 */
export function testRedisPrefix(databaseUrl: string): string {
  return `${TEST_REDIS_PREFIX}${createHash('sha256').update(databaseUrl).digest('hex').slice(0, 8)}:`;
}

/**
 * Boots the real gateway on a free loopback port over a fresh database: SQLite by default,
 * MariaDB/Redis when MARIADB_URL/REDIS_URL are set, S3 when TEST_OBJECT_STORE is s3 (s3rver)
 * or rgw (Ceph RGW).
 */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-gw-'));
  const bufferDir = options.bufferDir ?? path.join(dir, 'buffer');
  fs.mkdirSync(bufferDir, { recursive: true });
  const ownDatabase = !options.database;
  const database = options.database ?? (await createTestDatabase());
  const s3: TestS3 | undefined =
    process.env.TEST_OBJECT_STORE === 's3' || process.env.TEST_OBJECT_STORE === 'rgw'
      ? await startS3()
      : undefined;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    OBJECT_STORE_URL: s3?.url ?? `file:${path.join(dir, 'objects')}`,
    TAPE_URL: `file:${path.join(dir, 'tape')}`,
    S3_PART_SIZE: String(5 * 1024 * 1024),
    DAQ_BUFFER_DIR: bufferDir,
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: testRedisPrefix(database.url),
    JOB_POLL_MS: '50',
    JOB_LEASE_MS: '2000',
    JOB_BACKOFF_BASE_MS: '100',
    JOB_BACKOFF_MAX_MS: '1000',
    LOG_LEVEL: 'silent',
    // Tests evaluate rules and record gauges when they mean to, not on a timer.
    ALARM_EVAL_MS: '0',
    PIPELINE_GAUGE_MS: '0',
    // The live reconstruction follows open runs in the tests about it (liveReconstruction):
    // elsewhere it would add runUpdated events and alarms to every run a test takes.
    LIVE_RECO: 'false',
    ...options.env,
  });
  const server = await GatewayServer.start(config, { sqlLogger: options.sqlLogger });
  const url = server.url;
  const clients: Client[] = [];

  const gateway: TestGateway = {
    server,
    config,
    url,
    bufferDir,
    database,
    async gql(query, variables, token) {
      const req = request(url).post('/graphql').set('content-type', 'application/json');
      if (token) req.set('authorization', `Bearer ${token}`);
      const res = await req.send({ query, variables });
      return { status: res.status, data: res.body?.data, errors: res.body?.errors };
    },
    async registered(topic, send, failed) {
      if (topic === CHANGE_FEED) {
        const follower = server.runtime.changeFollower;
        const listening = () => follower?.listenerCount ?? 0;
        const before = listening();
        send();
        await waitFor(() => failed?.() ?? listening() > before, 'the change feed to register');
        return;
      }
      const pubsub = server.runtime.pubsub;
      // A new pub/sub listener, or (shared subscriptions, one listener per group) a new member
      // of a group; and a listener whose Redis subscription is confirmed, else the first events
      // can still be missed.
      const count = () =>
        config.sharedSubscriptions ? sharedStats.joined : pubsub.listenerCount(topic);
      const before = count();
      send();
      await waitFor(
        () => failed?.() ?? (count() > before && pubsub.listenerCount(topic) > 0),
        'the subscription to register',
      );
    },
    async subscribe<T>(
      query: string,
      variables: Record<string, unknown>,
      topic: SubscriptionSource,
      token?: string,
    ): Promise<Subscription<T>> {
      const received: T[] = [];
      const waiters: Array<(value: T) => void> = [];
      let failure: unknown;
      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: (error) => {
          failure = error;
        },
      });
      clients.push(client);
      const send = () =>
        client.subscribe(
          { query, variables },
          {
            next: (value) => {
              if (value.errors) failure = new Error(JSON.stringify(value.errors));
              const data = (value.data ? Object.values(value.data)[0] : undefined) as T;
              received.push(data);
              waiters.shift()?.(data);
            },
            error: (error) => {
              failure = error;
            },
            complete: () => undefined,
          },
        );
      await gateway.registered(topic, send, () => failure);
      if (failure) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
      let consumed = 0;
      return {
        received,
        next(timeoutMs = 10_000) {
          if (consumed < received.length) return Promise.resolve(received[consumed++]);
          return new Promise((resolve, reject) => {
            const waiter = (value: T) => {
              clearTimeout(timer);
              consumed++;
              resolve(value);
            };
            // A waiter that timed out leaves the queue: the next event is for the next call.
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(waiter), 1);
              reject(new Error(`no subscription event within ${timeoutMs} ms`));
            }, timeoutMs);
            waiters.push(waiter);
          });
        },
        close: () => void client.dispose(),
      };
    },
    socketClose(connectionParams, options = {}) {
      return new Promise((resolve) => {
        const client = createClient({
          url: `${url.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams,
          retryAttempts: 0,
          lazy: false,
          onNonLazyError: () => undefined,
          on: {
            connected: () => options.onConnected?.(),
            closed: (event) => resolve(event as { code: number; reason: string }),
          },
        });
        clients.push(client);
        client.subscribe(
          { query: options.query ?? 'subscription { runUpdated { runNumber } }' },
          { next: () => undefined, error: () => undefined, complete: () => undefined },
        );
      });
    },
    writeBufferFile(name, content) {
      const file = path.join(bufferDir, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      return file;
    },
    async close() {
      await Promise.all(clients.map((client) => client.dispose()));
      await server.close();
      await s3?.stop();
      if (ownDatabase) await database.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return gateway;
}
