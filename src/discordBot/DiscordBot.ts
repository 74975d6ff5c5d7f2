import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { discordMessages } from '../alerting/discordFormat';
import { postToWebhook } from '../alerting/webhookPost';
import type { Alarm } from '../entities/Alarm';
import { gatewayRequest } from '../cli/gatewayHttp';
import { staticToken, type TokenSource } from '../cli/tokenSource';
import {
  closeReason,
  connectionParamsOf,
  reconnectBeforeExpiry,
  retryWaitWith,
} from '../cli/wsClose';
import { logger } from '../logger';
import { AlarmEventType, AlarmState } from '../schema/enums';
import { BotState } from './botState';

export interface BotOptions {
  gatewayUrl: string;
  /** A fixed token; or `tokens`, a source that renews it (a token file, client credentials). */
  token?: string;
  tokens?: TokenSource;
  /** Called when the bot gives up for good (the webhook is gone): the command exits non-zero. */
  onFatal?: (reason: string) => void;
  webhookUrl: string;
  stateFile: string;
  minSeverity: string;
  /** Changes within this window go out as one message. */
  groupMs: number;
  /** Longest wait between reconnection attempts. */
  maxBackoffMs: number;
}

const ALARM_FIELDS = `id fingerprint name severity source message labels state count
  firstRaisedAt lastRaisedAt acknowledgedAt acknowledgedBy resolvedAt`;

interface AlarmChange {
  type: AlarmEventType;
  alarm: Alarm;
}

/** One change of one alarm: the same change never goes out twice. */
function changeKey(alarm: Alarm): string {
  return `${alarm.id}:${alarm.state}:${alarm.count}`;
}

function changedAt(alarm: Alarm): number {
  return Math.max(
    ...[alarm.lastRaisedAt, alarm.acknowledgedAt, alarm.resolvedAt]
      .filter(Boolean)
      .map((t) => new Date(t as unknown as string).getTime()),
  );
}

/** The event an alarm's current state stands for, when it was missed while disconnected. */
function typeOf(alarm: Alarm): AlarmEventType {
  if (alarm.state === AlarmState.RESOLVED) return AlarmEventType.RESOLVED;
  if (alarm.state === AlarmState.ACKNOWLEDGED) return AlarmEventType.ACKNOWLEDGED;
  return alarm.count > 1 ? AlarmEventType.REPEATED : AlarmEventType.RAISED;
}

/**
 * The Discord bot: follows `alarmEvents` over graphql-ws with its own token, from anywhere the
 * gateway is reachable, and forwards each change to a Discord webhook. It reconnects with
 * exponential backoff; on every (re)connection it asks for the alarms changed since the last
 * one it delivered, so nothing that happened while it was away is lost, and it remembers what
 * it delivered (in its state file) so that nothing goes out twice — across restarts too.
 * A message Discord refuses for a while is kept and sent again.
 */
export class DiscordBot {
  private readonly log = logger('discord-bot');
  private readonly state: BotState;
  private client: Client | undefined;
  private queue: AlarmChange[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private stopped = false;
  /** Messages delivered, and connections made (for tests and logs). */
  sent = 0;
  connections = 0;

  private readonly tokens: TokenSource;
  private renewal: { stop(): void } | undefined;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BotOptions) {
    this.state = BotState.load(options.stateFile);
    this.tokens = options.tokens ?? staticToken(options.token);
  }

  start(): void {
    this.connect();
  }

  /**
   * A graphql-ws client following alarmEvents. graphql-ws gives up for good on some closes (an
   * expired token, 4401); the bot does not: it logs why and connects again with a new client,
   * with backoff, for as long as it runs.
   */
  private connect(): void {
    const renewal = reconnectBeforeExpiry(this.tokens, () => client.terminate());
    this.renewal = renewal;
    const client = createClient({
      url: `${this.options.gatewayUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      // Asked on every connection: a renewed token is used from the next one on.
      connectionParams: () => connectionParamsOf(this.tokens),
      lazy: false,
      keepAlive: 10_000,
      retryAttempts: Infinity,
      shouldRetry: () => !this.stopped,
      // At once after a token renewal; otherwise backoff, from 0.5 s up to maxBackoffMs.
      retryWait: retryWaitWith(renewal, {
        maxMs: this.options.maxBackoffMs,
        baseMs: 500,
        onWait: (waitMs) => this.log.warn({ waitMs }, 'gateway unreachable; reconnecting'),
      }),
      onNonLazyError: (error) => {
        renewal.stop();
        if (this.stopped) return;
        const wait = this.options.maxBackoffMs;
        this.log.error(
          { close: closeReason(error), retryInMs: wait },
          'the gateway connection ended for good; starting a new one',
        );
        void client.dispose();
        this.restartTimer = setTimeout(() => !this.stopped && this.connect(), wait);
      },
      on: {
        // Every close is logged with its code and reason; the bot keeps trying (with backoff):
        // a renewed token, or a gateway back from a restart, lets it carry on by itself.
        closed: (event) => {
          if (this.stopped) return;
          const code = (event as { code?: number })?.code;
          const refused = code === 4401 || code === 4403;
          this.log[refused ? 'error' : 'warn'](
            { close: closeReason(event) },
            refused
              ? 'the gateway refused the bot token; waiting for a valid one (GATEWAY_TOKEN, token file or client credentials)'
              : 'connection to the gateway closed',
          );
        },
        connected: () => {
          this.connections++;
          renewal.connected(); // reconnect with a renewed token before this one expires
          this.log.info({ gateway: this.options.gatewayUrl }, 'following alarm events');
          this.catchUp().catch((error) =>
            this.log.error({ err: error }, 'could not catch up on missed alarm changes'),
          );
        },
      },
    });
    this.client = client;
    client.subscribe<{ alarmEvents: AlarmChange }>(
      {
        query: `subscription($min: Severity) { alarmEvents(minSeverity: $min) { type alarm { ${ALARM_FIELDS} } } }`,
        variables: { min: this.options.minSeverity },
      },
      {
        next: ({ data }) => data && this.enqueue([data.alarmEvents]),
        error: (error) => this.log.error({ err: error }, 'alarm subscription failed'),
        complete: () => undefined,
      },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.restartTimer);
    this.renewal?.stop();
    await this.client?.dispose();
    await this.sending;
  }

  /** Alarms changed since the last delivered change, found over HTTP after each connection. */
  private async catchUp(): Promise<void> {
    const data = await gatewayRequest<{ alarms: { nodes: Alarm[] } }>(
      this.options.gatewayUrl,
      await this.tokens.token(),
      `query($min: Severity) { alarms(first: 200, filter: { minSeverity: $min }) { nodes { ${ALARM_FIELDS} } } }`,
      { min: this.options.minSeverity },
    );
    const missed = data.alarms.nodes
      .filter((alarm) => changedAt(alarm) > this.state.lastSeenAt)
      .sort((a, b) => changedAt(a) - changedAt(b))
      .map((alarm) => ({ type: typeOf(alarm), alarm }));
    if (missed.length > 0) this.log.info({ missed: missed.length }, 'catching up on alarm changes');
    this.enqueue(missed);
  }

  private enqueue(changes: AlarmChange[]): void {
    for (const change of changes) {
      const key = changeKey(change.alarm);
      if (this.state.has(key) || this.queue.some((q) => changeKey(q.alarm) === key)) continue;
      this.queue.push(change);
    }
    this.schedule(this.options.groupMs);
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.queue.length === 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sending ??= this.flush().finally(() => (this.sending = undefined));
    }, delayMs);
  }

  /** Sends the queue ten changes at a time, recording each group once Discord has it. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const group = this.queue.slice(0, 10);
        for (const message of discordMessages(group)) {
          if ((await postToWebhook(this.options.webhookUrl, message)) === 'gone') {
            this.log.fatal('the Discord webhook answered 404/401: fix DISCORD_WEBHOOK_URL');
            this.stopped = true;
            this.options.onFatal?.('the Discord webhook answered 404/401: fix DISCORD_WEBHOOK_URL');
            return;
          }
          this.sent++;
        }
        this.queue = this.queue.slice(group.length);
        this.state.delivered(
          group.map((c) => changeKey(c.alarm)),
          Math.max(...group.map((c) => changedAt(c.alarm))),
        );
      }
    } catch (error) {
      // Kept in the queue and sent again after a pause: never lost.
      this.log.warn({ err: error }, 'Discord did not take the message; trying again');
      this.schedule(Math.max(this.options.groupMs, 5_000));
    }
  }
}
