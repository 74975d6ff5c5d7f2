import { In, Not, type EntityManager, type SelectQueryBuilder } from 'typeorm';
import type { Principal } from '../auth/roles';
import type { Database } from '../db/Database';
import { Alarm } from '../entities/Alarm';
import { Silence } from '../entities/Silence';
import { BadUserInputError, ConflictError, NotFoundError } from '../errors';
import { logger } from '../logger';
import { Topic, type PubSub } from '../pubsub';
import { AlarmEventType, AlarmState, Severity } from '../schema/enums';
import { paginate, type ListOptions, type Page, type PageArgs, type SortKey } from './pagination';

export interface RaiseAlarm {
  /** Deduplication key: raising it again while it is open counts a repeat. */
  fingerprint: string;
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

const NEWEST_FIRST: SortKey<Alarm> = {
  column: 'alarm.id',
  columns: ['id'],
  direction: 'DESC',
  valueOf: (a) => a.id,
};

/** True when every matcher of the silence matches the alarm's labels (exact, or /regex/). */
export function silenceMatches(
  matchers: Record<string, string>,
  alarm: Pick<Alarm, 'labels' | 'name' | 'source' | 'severity'>,
): boolean {
  const labels: Record<string, string> = {
    ...alarm.labels,
    alertname: alarm.name,
    source: alarm.source,
    severity: alarm.severity,
  };
  return Object.entries(matchers).every(([key, wanted]) => {
    const value = labels[key];
    if (value === undefined) return false;
    const regex = /^\/(.*)\/$/.exec(wanted);
    return regex ? new RegExp(`^(?:${regex[1]})$`).test(value) : value === wanted;
  });
}

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
    const recorded = await this.db.transaction((manager) => this.record(manager, alarm));
    this.announce(recorded);
    return recorded.alarm;
  }

  /**
   * Writes the alarm (new, or a repeat of the open one with that fingerprint) in the caller's
   * transaction, so that it commits with what it is about — a run judged out of band is never
   * left without its alarm. Nobody hears of it until `announce`, after the commit.
   */
  async record(manager: EntityManager, alarm: RaiseAlarm): Promise<RecordedAlarm> {
    const now = new Date();
    const open = await manager.findOne(Alarm, {
      where: { fingerprint: alarm.fingerprint, state: Not(In([AlarmState.RESOLVED])) },
    });
    if (open) {
      await manager.update(Alarm, open.id, {
        count: open.count + 1,
        lastRaisedAt: now,
        message: alarm.message,
        severity: alarm.severity,
      });
      return { alarm: await manager.findOneByOrFail(Alarm, { id: open.id }), repeated: true };
    }
    const created = manager.create(Alarm, {
      ...alarm,
      rule: alarm.rule ?? null,
      labels: alarm.labels ?? {},
      state: AlarmState.FIRING,
      firstRaisedAt: now,
      lastRaisedAt: now,
      count: 1,
    });
    await manager.insert(Alarm, created);
    return { alarm: await manager.findOneByOrFail(Alarm, { id: created.id }), repeated: false };
  }

  /** Logs and publishes an alarm `record` wrote, once its transaction has committed. */
  announce({ alarm, repeated }: RecordedAlarm): void {
    this.log.warn(
      { fingerprint: alarm.fingerprint, severity: alarm.severity, count: alarm.count },
      alarm.message,
    );
    this.publish(repeated ? AlarmEventType.REPEATED : AlarmEventType.RAISED, alarm);
  }

  async acknowledge(id: number, principal: Principal, comment?: string | null): Promise<Alarm> {
    const alarm = await this.get(id);
    if (alarm.state !== AlarmState.FIRING)
      throw new ConflictError(
        `alarm ${id} is ${alarm.state}; only a FIRING alarm can be acknowledged`,
      );
    await this.db.write((m) =>
      m.update(Alarm, id, {
        state: AlarmState.ACKNOWLEDGED,
        acknowledgedBy: principal.name,
        acknowledgedAt: new Date(),
        acknowledgeComment: comment ?? null,
      }),
    );
    const updated = await this.get(id);
    this.publish(AlarmEventType.ACKNOWLEDGED, updated);
    return updated;
  }

  /** Resolves the open alarm of a fingerprint (its condition cleared); null when none is open. */
  async resolve(fingerprint: string): Promise<Alarm | null> {
    const open = await this.db.manager.findOne(Alarm, {
      where: { fingerprint, state: Not(AlarmState.RESOLVED) },
    });
    if (!open) return null;
    await this.db.write((m) =>
      m.update(Alarm, open.id, { state: AlarmState.RESOLVED, resolvedAt: new Date() }),
    );
    const resolved = await this.get(open.id);
    this.publish(AlarmEventType.RESOLVED, resolved);
    return resolved;
  }

  async get(id: number): Promise<Alarm> {
    const alarm = await this.db.manager.findOneBy(Alarm, { id });
    if (!alarm) throw new NotFoundError('alarm', id);
    return alarm;
  }

  async openFingerprints(prefix: string): Promise<string[]> {
    const rows = await this.db.manager
      .createQueryBuilder(Alarm, 'alarm')
      .select('alarm.fingerprint', 'fingerprint')
      .where('alarm.state != :resolved', { resolved: AlarmState.RESOLVED })
      .andWhere('alarm.fingerprint LIKE :prefix', { prefix: `${prefix}%` })
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

  async createSilence(
    input: {
      matchers: Record<string, string>;
      startsAt?: Date | null;
      endsAt: Date;
      comment?: string | null;
    },
    principal: Principal,
  ): Promise<Silence> {
    const entries = Object.entries(input.matchers ?? {});
    if (entries.length === 0 || entries.some(([, v]) => typeof v !== 'string'))
      throw new BadUserInputError(
        'matchers: give at least one label name → string value',
        'matchers',
      );
    for (const [key, value] of entries) {
      const regex = /^\/(.*)\/$/.exec(value);
      if (regex) {
        try {
          new RegExp(regex[1]);
        } catch {
          throw new BadUserInputError(
            `matchers.${key}: ${value} is not a valid regular expression`,
            'matchers',
          );
        }
      }
    }
    const startsAt = input.startsAt ?? new Date();
    if (!(input.endsAt > startsAt))
      throw new BadUserInputError('endsAt must be after startsAt', 'endsAt');
    const silence = this.db.manager.create(Silence, {
      matchers: input.matchers,
      startsAt,
      endsAt: input.endsAt,
      comment: input.comment ?? null,
      createdBy: principal.name,
    });
    await this.db.write((m) => m.insert(Silence, silence));
    return silence;
  }

  /** Silences in force at `at`. */
  async activeSilences(at = new Date()): Promise<Silence[]> {
    return this.db.manager
      .createQueryBuilder(Silence, 's')
      .where('s.startsAt <= :at AND s.endsAt > :at', { at })
      .getMany();
  }

  async isSilenced(alarm: Alarm, at = new Date()): Promise<boolean> {
    return (await this.activeSilences(at)).some((s) => silenceMatches(s.matchers, alarm));
  }

  private publish(type: AlarmEventType, alarm: Alarm): void {
    this.pubsub?.publish(Topic.AlarmEvent, { type, alarm });
  }
}
