import { createClient } from 'redis';
import type { PubSub as TypeGraphqlPubSub } from 'type-graphql';
import type { Job } from './entities/Job';
import type { Alarm } from './entities/Alarm';
import type { Cluster } from './entities/Cluster';
import type { MetricSample } from './entities/MetricSample';
import type { AlarmEventType } from './schema/enums';
import type { EventPreview } from './entities/EventPreview';
import type { Event } from './entities/Event';
import type { Run } from './entities/Run';
import { logger } from './logger';

/** Every topic the gateway publishes on. */
export enum Topic {
  RunUpdated = 'RUN_UPDATED',
  JobUpdated = 'JOB_UPDATED',
  /** Wakes idle workers when a job becomes runnable; carries the job's kind. */
  JobEnqueued = 'JOB_ENQUEUED',
  /** An event's reconstruction: the live event display. */
  EventReconstructed = 'EVENT_RECONSTRUCTED',
  MetricSample = 'METRIC_SAMPLE',
  AlarmEvent = 'ALARM_EVENT',
  /** An API token was revoked: every replica forgets the tokens it had looked up and closes
   * the sockets it opened. */
  ApiTokenRevoked = 'API_TOKEN_REVOKED',
  /** A campaign was made, cancelled or promoted (its jobs' progress comes as JobUpdated). */
  CampaignUpdated = 'CAMPAIGN_UPDATED',
}

/**
 * What each topic carries. Payloads travel as JSON (through Redis between replicas), so dates
 * arrive as RFC 3339 strings; the DateTime scalar accepts both.
 */
export interface TopicPayloads {
  [Topic.RunUpdated]: Run;
  [Topic.JobUpdated]: Job;
  [Topic.JobEnqueued]: { kind: string };
  [Topic.EventReconstructed]: Event & {
    runNumber: number;
    liveClusters: Cluster[];
    livePreview?: EventPreview & { dataUrl: string };
  };
  [Topic.MetricSample]: MetricSample;
  [Topic.AlarmEvent]: { type: AlarmEventType; alarm: Alarm };
  [Topic.ApiTokenRevoked]: { id: number; principal: string };
  [Topic.CampaignUpdated]: { campaignId: number };
}

type Listener = (payload: unknown) => void;

/** How many messages a slow subscriber may fall behind before the oldest are dropped. */
const MAX_QUEUED_PER_SUBSCRIBER = 10_000;

/**
 * Publish/subscribe for subscriptions and worker wake-ups: in-process by default, through Redis
 * when REDIS_URL is set so that every gateway replica and worker sees every event. The database
 * stays the source of truth; a lost message only delays a live view, never loses data.
 */
export class PubSub implements TypeGraphqlPubSub {
  private readonly log = logger('pubsub');
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly channelReady = new Map<string, Promise<void>>();
  /** In-process claims: key → until when it is held (ms). */
  private readonly claims = new Map<string, number>();
  /** Receives every published message too: the change log replicas follow (issue 23). */
  private journal?: (topic: string, message: string) => void;

  private constructor(
    private readonly redis?: { publisher: RedisClient; subscriber: RedisClient; prefix: string },
  ) {}

  static inProcess(): PubSub {
    return new PubSub();
  }

  static async redis(url: string, prefix: string): Promise<PubSub> {
    const publisher = createClient({ url });
    const subscriber = publisher.duplicate();
    for (const client of [publisher, subscriber]) {
      client.on('error', (error: Error) =>
        logger('pubsub').error({ err: error }, 'redis connection error'),
      );
    }
    await Promise.all([publisher.connect(), subscriber.connect()]);
    return new PubSub({ publisher, subscriber, prefix });
  }

  publish<T extends Topic>(topic: T, payload: TopicPayloads[T]): void;
  publish(topic: string, payload: unknown): void {
    const message = JSON.stringify(payload);
    this.journal?.(topic, message);
    if (!this.redis) {
      this.deliver(topic, message);
      return;
    }
    this.redis.publisher.publish(this.redis.prefix + topic, message).catch((error: Error) => {
      this.log.error(
        { err: error, topic },
        'publish to redis failed; live subscribers miss this event',
      );
    });
  }

  /** Every message published from now on is also handed to `journal` (already as JSON). */
  setJournal(journal: (topic: string, message: string) => void): void {
    this.journal = journal;
  }

  /**
   * Hands a message (JSON) to this process's listeners only, never to Redis: how a replica gateway
   * replays the change log, which each replica gateway follows for itself.
   */
  deliverLocally(topic: string, message: string): void {
    this.deliver(topic, message);
  }

  /** An async iterator of the topic's payloads; ending it (return()) unsubscribes. */
  subscribe(topic: string): AsyncIterableIterator<unknown> {
    const queue: unknown[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const listener: Listener = (payload) => {
      if (queue.length >= MAX_QUEUED_PER_SUBSCRIBER) {
        queue.shift();
        this.log.warn({ topic }, 'slow subscriber: dropped its oldest queued event');
      }
      queue.push(payload);
      wake?.();
    };
    const ready = this.addListener(topic, listener);
    const finish = () => {
      done = true;
      this.removeListener(topic, listener);
      wake?.();
    };
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next(): Promise<IteratorResult<unknown>> {
        await ready;
        while (queue.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (queue.length > 0) return { value: queue.shift(), done: false };
        return { value: undefined, done: true };
      },
      async return(): Promise<IteratorResult<unknown>> {
        finish();
        return { value: undefined, done: true };
      },
      async throw(error?: unknown): Promise<IteratorResult<unknown>> {
        finish();
        throw error;
      },
    };
  }

  /** Calls `onPayload` for every event on the topic until the returned function is called. */
  async listen(topic: string, onPayload: Listener): Promise<() => void> {
    await this.addListener(topic, onPayload);
    return () => this.removeListener(topic, onPayload);
  }

  /** Local listeners on a topic whose (Redis) subscription is confirmed; tests wait on it. */
  listenerCount(topic: string): number {
    return this.listeners.get(topic)?.size ?? 0;
  }

  /**
   * True for the first caller of `key` within `ttlMs`, across every replica that shares this
   * Redis (in-process: within this process): how replicas agree that exactly one of them does a
   * one-off task, such as telling Discord about an alarm they all heard of. When Redis cannot
   * answer, every caller is told yes — doing a task twice beats not doing it.
   */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    if (!this.redis) {
      const now = Date.now();
      if ((this.claims.get(key) ?? 0) > now) return false;
      if (this.claims.size >= 10_000)
        for (const [held, until] of this.claims) if (until <= now) this.claims.delete(held);
      this.claims.set(key, now + ttlMs);
      return true;
    }
    try {
      const { publisher, prefix } = this.redis;
      const ttl = Math.max(1, Math.round(ttlMs));
      return (await publisher.set(`${prefix}claim:${key}`, '1', { NX: true, PX: ttl })) === 'OK';
    } catch (error) {
      this.log.warn({ err: error, key }, 'redis could not settle a claim; going ahead');
      return true;
    }
  }

  /**
   * Adds one to a counter all replicas share (Redis), which expires `ttlMs` after its last
   * count, and returns the new count; null when there is nothing to share (in-process) or
   * Redis cannot answer, so that callers fall back on what they know locally.
   */
  async countShared(key: string, ttlMs: number): Promise<number | null> {
    if (!this.redis) return null;
    try {
      const { publisher, prefix } = this.redis;
      const counter = `${prefix}count:${key}`;
      // One round trip, and never a counter left without its expiry.
      const [count] = await publisher
        .multi()
        .incr(counter)
        .pExpire(counter, Math.max(1, Math.round(ttlMs)))
        .exec();
      return Number(count);
    } catch (error) {
      this.log.warn({ err: error, key }, 'redis could not count; using local limits only');
      return null;
    }
  }

  async ping(): Promise<void> {
    if (this.redis) await this.redis.publisher.ping();
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.redis) {
      await Promise.allSettled([this.redis.publisher.quit(), this.redis.subscriber.quit()]);
    }
  }

  private async addListener(topic: string, listener: Listener): Promise<void> {
    if (this.redis) await this.ensureChannel(topic);
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
  }

  private removeListener(topic: string, listener: Listener): void {
    this.listeners.get(topic)?.delete(listener);
  }

  /** One Redis subscription per topic and process, kept for the process's life. */
  private ensureChannel(topic: string): Promise<void> {
    let ready = this.channelReady.get(topic);
    if (!ready) {
      const { subscriber, prefix } = this.redis!;
      ready = subscriber.subscribe(prefix + topic, (message: string) =>
        this.deliver(topic, message),
      );
      ready.catch(() => this.channelReady.delete(topic));
      this.channelReady.set(topic, ready);
    }
    return ready;
  }

  private deliver(topic: string, message: string): void {
    const set = this.listeners.get(topic);
    if (!set || set.size === 0) return;
    // Parsed once and shared: listeners treat payloads as read-only.
    const payload = JSON.parse(message) as unknown;
    for (const listener of set) {
      try {
        listener(payload);
      } catch (error) {
        this.log.error({ err: error, topic }, 'subscriber failed on an event');
      }
    }
  }
}

type RedisClient = ReturnType<typeof createClient>;
