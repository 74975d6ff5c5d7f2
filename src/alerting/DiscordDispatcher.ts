import type { Alarm } from '../entities/Alarm';
import { logger } from '../logger';
import { Topic, type PubSub } from '../pubsub';
import { AlarmEventType, Severity } from '../schema/enums';
import type { AlarmService } from '../services/AlarmService';
import type { SilenceService } from '../services/SilenceService';
import { discordMessages } from './discordFormat';
import { postToWebhook } from './webhookPost';

export interface DispatchOptions {
  /** Events within this window go out as one message. */
  groupMs: number;
  /** A still-firing alarm is re-sent at most this often. */
  repeatIntervalMs: number;
  /** Most events held while Discord is slow; beyond, the oldest are dropped (and logged). */
  maxQueued?: number;
}

type AlarmEvent = { type: AlarmEventType; alarm: Alarm };

/** How long replicas remember that one of them sent an alarm event. */
const SENT_MEMORY_MS = 24 * 3_600_000;

/**
 * Sends alarm events to a Discord webhook, off the pipeline's path: events are queued and sent
 * by a loop of their own, grouped into bursts, silenced alarms and too-frequent repeats left
 * out. Honours 429 `retry_after`; a webhook that answers 404 is dead — dispatch stops and a
 * local alarm says so. Nothing here can block or fail a job or a request. Every replica hears
 * every alarm event (through Redis); a claim decides which one sends it, so Discord gets each
 * event once however many replicas have a webhook configured.
 */
export class DiscordDispatcher {
  private readonly log = logger('discord');
  private queue: AlarmEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private stopListening: (() => void) | undefined;
  private dead = false;
  /** Messages delivered (for tests and /metrics). */
  sent = 0;

  constructor(
    private readonly url: string,
    private readonly pubsub: PubSub,
    private readonly services: { alarms: AlarmService; silences: SilenceService },
    private readonly options: DispatchOptions,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.pubsub.listen(Topic.AlarmEvent, (payload) =>
      this.enqueue(payload as AlarmEvent),
    );
  }

  async stop(): Promise<void> {
    this.stopListening?.();
    clearTimeout(this.timer);
    await this.sending;
  }

  private enqueue(event: AlarmEvent): void {
    if (this.dead || event.alarm.source === 'discord') return;
    this.queue.push(event);
    const max = this.options.maxQueued ?? 1000;
    if (this.queue.length > max) {
      this.queue.splice(0, this.queue.length - max);
      this.log.warn({ max }, 'Discord is behind: dropped the oldest queued alarm events');
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.sending ??= this.drain().finally(() => (this.sending = undefined));
    }, this.options.groupMs);
  }

  private async drain(): Promise<void> {
    try {
      const batch = await this.worthSending(this.queue.splice(0));
      for (const message of discordMessages(batch)) {
        if (this.dead) return;
        await this.post(message);
      }
    } catch (error) {
      this.log.error(
        { err: error },
        'Discord dispatch failed; the alarms stay recorded in the gateway',
      );
    }
    if (this.queue.length > 0 && !this.timer)
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.sending ??= this.drain().finally(() => (this.sending = undefined));
      }, this.options.groupMs);
  }

  /**
   * Leaves out silenced alarms, events another replica sends, and repeats of an alarm sent
   * less than a repeat interval ago (by any replica).
   */
  private async worthSending(events: AlarmEvent[]): Promise<AlarmEvent[]> {
    const out: AlarmEvent[] = [];
    for (const { type, alarm } of events) {
      if (await this.services.silences.isSilenced(alarm)) continue;
      const repeatWindow = `discord:repeat:${alarm.fingerprint}`;
      if (type === AlarmEventType.REPEATED) {
        if (!(await this.pubsub.claim(repeatWindow, this.options.repeatIntervalMs))) continue;
      } else {
        // One firing of an alarm is its fingerprint and when it began; count tells repeats apart.
        const firing = `${alarm.fingerprint}:${new Date(alarm.firstRaisedAt).getTime()}`;
        const event = `discord:${type}:${firing}:${alarm.count}`;
        if (!(await this.pubsub.claim(event, SENT_MEMORY_MS))) continue;
        if (type === AlarmEventType.RAISED)
          await this.pubsub.claim(repeatWindow, this.options.repeatIntervalMs);
      }
      out.push({ type, alarm });
    }
    return out;
  }

  private async post(message: unknown): Promise<void> {
    if ((await postToWebhook(this.url, message)) === 'sent') {
      this.sent++;
      return;
    }
    this.dead = true;
    this.queue = [];
    await this.services.alarms.raise({
      fingerprint: 'discord:webhook-gone',
      name: 'Discord webhook unusable',
      severity: Severity.CRITICAL,
      source: 'discord',
      message:
        'the Discord webhook answered 404 or 401 (deleted, or its token revoked); alarms are no longer sent to Discord until DISCORD_WEBHOOK_URL is fixed and the gateway restarted',
    });
  }
}
