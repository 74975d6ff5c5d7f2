import type { Alarm } from '../entities/Alarm';
import type { Silence } from '../entities/Silence';
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
  /** Which alarms this gateway pushes (a replica: only its own; default: all but Alertmanager's). */
  accept?: (alarm: Alarm) => boolean;
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
 * The Alertmanager API v2 silence of a gateway silence: each matcher exact or `/regex/`; the
 * severity, upper-case in the gateway, is lower-case on the alerts it pushes.
 */
export function silenceOf(silence: Silence) {
  return {
    matchers: Object.entries(silence.matchers).map(([name, wanted]) => {
      const regex = /^\/(.*)\/$/.exec(wanted);
      const severity = name === 'severity';
      const value = regex
        ? `${severity ? '(?i)' : ''}${regex[1]}`
        : severity
          ? wanted.toLowerCase()
          : wanted;
      return { name, value, isRegex: Boolean(regex), isEqual: true };
    }),
    startsAt: new Date(silence.startsAt).toISOString(),
    endsAt: new Date(silence.endsAt).toISOString(),
    createdBy: silence.createdBy,
    comment: silence.comment ?? `silence ${silence.id} of cygno-gateway`,
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
      if (this.options.accept && !this.options.accept(alarm)) continue;
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

  /**
   * Mirrors a gateway silence into Alertmanager: created there (its id kept through `record`)
   * and expired there with it. Best effort: a failure is logged, never passed on — the
   * gateway's own silence holds either way.
   */
  async mirrorSilence(
    silence: Silence,
    change: 'created' | 'expired',
    record: (alertmanagerId: string) => Promise<void>,
  ): Promise<void> {
    const base = this.url.replace(/\/$/, '');
    try {
      if (change === 'expired') {
        if (!silence.alertmanagerSilenceId) return;
        const response = await fetch(`${base}/api/v2/silence/${silence.alertmanagerSilenceId}`, {
          method: 'DELETE',
          signal: AbortSignal.timeout(10_000),
        });
        if (!response.ok) throw new Error(`Alertmanager answered ${response.status}`);
        return;
      }
      const response = await fetch(`${base}/api/v2/silences`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(silenceOf(silence)),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json().catch(() => ({}))) as { silenceID?: string };
      if (!response.ok || !body.silenceID)
        throw new Error(`Alertmanager answered ${response.status}: ${JSON.stringify(body)}`);
      await record(body.silenceID);
    } catch (error) {
      this.log.warn(
        { err: error, silenceId: silence.id, change },
        'could not mirror a silence to Alertmanager; it holds in the gateway',
      );
    }
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
