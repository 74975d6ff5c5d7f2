import type { Alarm } from '../entities/Alarm';
import { logger } from '../logger';
import { Topic, type PubSub } from '../pubsub';
import { AlarmEventType, AlarmState } from '../schema/enums';

/** Marks alerts the gateway pushed, so that the webhook knows them when they come back. */
export const ORIGIN_LABEL = 'cygno_origin';
export const ORIGIN_GATEWAY = 'gateway';
/** The `source` of alarms that came in from Alertmanager: never pushed back to it. */
export const ALERTMANAGER_SOURCE = 'alertmanager';

export interface PushOptions {
  /** How often the open alarms are sent again (Alertmanager resolves what it stops hearing). */
  resendMs: number;
  /** Where the console is, for the alerts' generatorURL. */
  publicUrl: string;
}

interface AlarmEvent {
  type: AlarmEventType;
  alarm: Alarm;
}

/** The Alertmanager API v2 alert of a gateway alarm (resolved: with its `endsAt`). */
export function alertOf(alarm: Alarm, publicUrl: string) {
  return {
    labels: {
      ...alarm.labels,
      alertname: alarm.name,
      severity: alarm.severity.toLowerCase(),
      source: alarm.source,
      fingerprint: alarm.fingerprint,
      [ORIGIN_LABEL]: ORIGIN_GATEWAY,
    },
    annotations: { summary: alarm.message },
    startsAt: new Date(alarm.firstRaisedAt).toISOString(),
    ...(alarm.state === AlarmState.RESOLVED && alarm.resolvedAt
      ? { endsAt: new Date(alarm.resolvedAt).toISOString() }
      : {}),
    generatorURL: `${publicUrl.replace(/\/$/, '')}/console/`,
  };
}

/**
 * Pushes the gateway's own alarms to Alertmanager (API v2), for a lab that routes everything
 * through it: each change as it happens, the open ones again every `resendMs`, a resolved one
 * with its `endsAt`. Alarms that came from Alertmanager are never pushed back (no loop), and
 * what is pushed carries `cygno_origin="gateway"` so that the webhook ignores it when
 * Alertmanager sends it on. A push that fails is retried on the next round; nothing here
 * blocks or fails the pipeline.
 */
export class AlertmanagerPusher {
  private readonly log = logger('alertmanager-push');
  private pending = new Map<number, Alarm>();
  private timer: NodeJS.Timeout | undefined;
  private resender: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private stopListening: (() => void) | undefined;
  /** Alerts Alertmanager accepted (for tests and logs). */
  pushed = 0;

  constructor(
    private readonly url: string,
    private readonly pubsub: PubSub,
    private readonly openAlarms: () => Promise<Alarm[]>,
    private readonly options: PushOptions,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.pubsub.listen(Topic.AlarmEvent, (payload) =>
      this.enqueue([(payload as AlarmEvent).alarm]),
    );
    this.resender = setInterval(() => {
      this.openAlarms()
        .then((alarms) => this.enqueue(alarms))
        .catch((error) => this.log.warn({ err: error }, 'could not read the open alarms'));
    }, this.options.resendMs);
    this.resender.unref();
  }

  async stop(): Promise<void> {
    this.stopListening?.();
    clearInterval(this.resender);
    clearTimeout(this.timer);
    await this.sending;
  }

  private enqueue(alarms: Alarm[]): void {
    for (const alarm of alarms) {
      if (alarm.source === ALERTMANAGER_SOURCE) continue; // it came from there: no loop
      this.pending.set(alarm.id, alarm); // the newest state of each alarm
    }
    if (this.pending.size > 0) this.schedule(50);
  }

  private schedule(delayMs: number): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.sending ??= this.push().finally(() => (this.sending = undefined));
    }, delayMs);
  }

  private async push(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending.clear();
    try {
      const response = await fetch(`${this.url.replace(/\/$/, '')}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch.map((alarm) => alertOf(alarm, this.options.publicUrl))),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok)
        throw new Error(`Alertmanager answered ${response.status}: ${await response.text()}`);
      this.pushed += batch.length;
    } catch (error) {
      // Kept, unless a newer state of the same alarm came meanwhile, and tried again shortly.
      for (const alarm of batch) if (!this.pending.has(alarm.id)) this.pending.set(alarm.id, alarm);
      this.log.warn(
        { err: error, alarms: batch.length },
        'could not push alarms to Alertmanager; retrying',
      );
      this.schedule(5_000);
    }
  }
}
