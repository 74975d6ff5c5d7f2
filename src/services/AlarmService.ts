import type { EntityManager, SelectQueryBuilder } from 'typeorm';
import type { Principal } from '../auth/roles';
import { retryOnDeadlock, type Database } from '../db/Database';
import { Alarm } from '../entities/Alarm';
import { ConflictError, NotFoundError } from '../errors';
import { logger } from '../logger';
import type { AlertChange } from '../alerting/alertmanagerWebhook';
import { deriveFingerprint } from './alarmFingerprint';
import { Topic, type PubSub } from '../pubsub';
import { AlarmEventType, AlarmState, Severity } from '../schema/enums';
import { byId, paginate, type ListOptions, type Page, type PageArgs } from './pagination';

export interface RaiseAlarm {
  /**
   * Deduplication key: raising it again while it is open counts a repeat. Derived from source,
   * name and labels when not given (see deriveFingerprint).
   */
  fingerprint?: string | null;
  name: string;
  severity: Severity;
  source: string;
  message: string;
  labels?: Record<string, string>;
  rule?: string | null;
}

/** An alarm written inside a transaction: `announce` it once that transaction has committed. */
export interface RecordedAlarm {
  alarm: Alarm;
  /** It was already open: the raise counted a repeat. */
  repeated: boolean;
}

export interface AlarmFilter {
  states?: AlarmState[] | null;
  minSeverity?: Severity | null;
  source?: string | null;
  since?: Date | null;
}

export const SEVERITY_RANK: Record<Severity, number> = {
  [Severity.INFO]: 0,
  [Severity.WARNING]: 1,
  [Severity.CRITICAL]: 2,
};

const NEWEST_FIRST = byId<Alarm>('alarm', 'DESC');

/**
 * Alarms: FIRING → ACKNOWLEDGED → RESOLVED with deduplication by fingerprint, as Alertmanager
 * does, plus the acknowledgement MIDAS has. Every change is published on `alarmEvents`; silences
 * mute dispatch, never the record.
 */
export class AlarmService {
  private readonly log = logger('alarms');

  constructor(
    private readonly db: Database,
    private readonly pubsub?: PubSub,
    private readonly maxPageSize = 500,
  ) {}

  async raise(alarm: RaiseAlarm): Promise<Alarm> {
    const recorded = await retryOnDeadlock(() =>
      this.db.transaction((manager) => this.record(manager, alarm)),
    );
    this.announce(recorded);
    return recorded.alarm;
  }

  /**
   * Writes the alarm (new, or a repeat of the open one with that fingerprint) in the caller's
   * transaction, so that it commits with what it is about — a run judged out of band is never
   * left without its alarm. Nobody hears of it until `announce`, after the commit.
   *
   * One statement decides new-or-repeat: an upsert on the unique `openFingerprint`, which holds
   * the fingerprint while the alarm is open. Two replicas raising at once therefore open one
   * alarm between them and the count is incremented in SQL, never read-modify-written.
   */
  async record(manager: EntityManager, alarm: RaiseAlarm): Promise<RecordedAlarm> {
    const now = new Date();
    const fingerprint = alarm.fingerprint || deriveFingerprint(alarm);
    const insert = manager
      .createQueryBuilder()
      .insert()
      .into(Alarm)
      .values({
        fingerprint,
        openFingerprint: fingerprint,
        rule: alarm.rule ?? null,
        name: alarm.name,
        severity: alarm.severity,
        source: alarm.source,
        message: alarm.message,
        labels: alarm.labels ?? {},
        state: AlarmState.FIRING,
        firstRaisedAt: now,
        lastRaisedAt: now,
        count: 1,
      });
    const [sql, parameters] = insert.getQueryAndParameters();
    await manager.query(`${sql} ${this.onOpenDuplicate(manager)}`, parameters);
    const row = await manager.findOneByOrFail(Alarm, { openFingerprint: fingerprint });
    // Only an insert leaves count at 1: every repeat adds one.
    return { alarm: row, repeated: row.count > 1 };
  }

  /** The upsert's repeat clause: a repeat counts, and carries the newest message and severity. */
  private onOpenDuplicate(manager: EntityManager): string {
    const q = (column: string) => manager.connection.driver.escape(column);
    const repeat = (incoming: (column: string) => string) =>
      [
        `${q('count')} = ${q('count')} + 1`,
        ...['lastRaisedAt', 'message', 'severity'].map((c) => `${q(c)} = ${incoming(c)}`),
      ].join(', ');
    return this.db.dialect === 'sqlite'
      ? `ON CONFLICT (${q('openFingerprint')}) DO UPDATE SET ${repeat((c) => `excluded.${q(c)}`)}`
      : `ON DUPLICATE KEY UPDATE ${repeat((c) => `VALUES(${q(c)})`)}`;
  }

  /** Logs and publishes an alarm `record` wrote, once its transaction has committed. */
  announce({ alarm, repeated }: RecordedAlarm): void {
    this.log.warn(
      { fingerprint: alarm.fingerprint, severity: alarm.severity, count: alarm.count },
      alarm.message,
    );
    this.publish(repeated ? AlarmEventType.REPEATED : AlarmEventType.RAISED, alarm);
  }

  /**
   * A shifter takes a FIRING alarm in hand. The update is conditional on FIRING, so an alarm
   * resolved (or acknowledged by someone else) in between is a CONFLICT, never flipped back.
   */
  async acknowledge(id: number, principal: Principal, comment?: string | null): Promise<Alarm> {
    const update = await this.db.write((m) =>
      m
        .createQueryBuilder()
        .update(Alarm)
        .set({
          state: AlarmState.ACKNOWLEDGED,
          acknowledgedBy: principal.name,
          acknowledgedAt: new Date(),
          acknowledgeComment: comment ?? null,
        })
        .where('id = :id AND state = :firing', { id, firing: AlarmState.FIRING })
        .execute(),
    );
    const alarm = await this.get(id);
    if (update.affected !== 1)
      throw new ConflictError(
        `alarm ${id} is ${alarm.state}; only a FIRING alarm can be acknowledged`,
      );
    this.publish(AlarmEventType.ACKNOWLEDGED, alarm);
    return alarm;
  }

  /**
   * Resolves the open alarm of a fingerprint (its condition cleared); null when none is open.
   * Conditional on it still being open: of two resolvers at once, one resolves and announces.
   */
  async resolve(fingerprint: string): Promise<Alarm | null> {
    const resolved = await this.db.write((m) => this.resolveIn(m, fingerprint));
    if (resolved) this.publish(AlarmEventType.RESOLVED, resolved);
    return resolved;
  }

  private async resolveIn(manager: EntityManager, fingerprint: string): Promise<Alarm | null> {
    const open = await manager.findOne(Alarm, {
      where: { openFingerprint: fingerprint },
      select: { id: true },
    });
    if (!open) return null;
    const update = await manager
      .createQueryBuilder()
      .update(Alarm)
      .set({ state: AlarmState.RESOLVED, resolvedAt: new Date(), openFingerprint: null })
      .where('id = :id AND openFingerprint IS NOT NULL', { id: open.id })
      .execute();
    return update.affected === 1 ? manager.findOneByOrFail(Alarm, { id: open.id }) : null;
  }

  /**
   * Stores what an external alerting system (Alertmanager) reports, all of it in one
   * transaction, and announces it after the commit. A firing alert whose alarm is open already
   * is a re-send (Alertmanager repeats itself): nothing changes. A resolved one resolves it.
   */
  async applyAlertChanges(
    changes: readonly AlertChange[],
    source: string,
  ): Promise<{ raised: number; resolved: number; unchanged: number }> {
    const { raised, resolved, unchanged } = await retryOnDeadlock(() =>
      this.db.transaction(async (manager) => {
        const out = { raised: [] as RecordedAlarm[], resolved: [] as Alarm[], unchanged: 0 };
        for (const change of changes) {
          if (change.kind === 'echo') {
            out.unchanged++; // one of ours, coming back: the alarm is here already
          } else if (change.kind === 'resolved') {
            const alarm = await this.resolveIn(manager, change.fingerprint);
            if (alarm) out.resolved.push(alarm);
            else out.unchanged++;
          } else if (await manager.existsBy(Alarm, { openFingerprint: change.fingerprint })) {
            out.unchanged++;
          } else {
            const { kind: _kind, ...alarm } = change;
            out.raised.push(await this.record(manager, { ...alarm, source }));
          }
        }
        return out;
      }),
    );
    for (const alarm of raised) this.announce(alarm);
    for (const alarm of resolved) this.publish(AlarmEventType.RESOLVED, alarm);
    return { raised: raised.length, resolved: resolved.length, unchanged };
  }

  async get(id: number): Promise<Alarm> {
    const alarm = await this.db.manager.findOneBy(Alarm, { id });
    if (!alarm) throw new NotFoundError('alarm', id);
    return alarm;
  }

  /** Every open alarm (FIRING or ACKNOWLEDGED), oldest first, at most `limit`. */
  openAlarms(limit = 1000): Promise<Alarm[]> {
    return this.db.manager
      .createQueryBuilder(Alarm, 'alarm')
      .where('alarm.openFingerprint IS NOT NULL')
      .orderBy('alarm.id', 'ASC')
      .limit(limit)
      .getMany();
  }

  async openFingerprints(prefix: string): Promise<string[]> {
    const rows = await this.db.manager
      .createQueryBuilder(Alarm, 'alarm')
      .select('alarm.openFingerprint', 'fingerprint')
      .where('alarm.openFingerprint LIKE :prefix', { prefix: `${prefix}%` })
      .getRawMany<{ fingerprint: string }>();
    return rows.map((r) => r.fingerprint);
  }

  list(
    filter: AlarmFilter | null | undefined,
    page: PageArgs,
    options: ListOptions,
  ): Promise<Page<Alarm>> {
    const query: SelectQueryBuilder<Alarm> = this.db.manager.createQueryBuilder(Alarm, 'alarm');
    if (filter?.states?.length)
      query.andWhere('alarm.state IN (:...states)', { states: filter.states });
    if (filter?.minSeverity) {
      const severities = Object.values(Severity).filter(
        (s) => SEVERITY_RANK[s] >= SEVERITY_RANK[filter.minSeverity!],
      );
      query.andWhere('alarm.severity IN (:...severities)', { severities });
    }
    if (filter?.source) query.andWhere('alarm.source = :source', { source: filter.source });
    if (filter?.since) query.andWhere('alarm.lastRaisedAt >= :since', { since: filter.since });
    return paginate(query, NEWEST_FIRST, page, { maxPageSize: this.maxPageSize, ...options });
  }

  private publish(type: AlarmEventType, alarm: Alarm): void {
    this.pubsub?.publish(Topic.AlarmEvent, { type, alarm });
  }
}
