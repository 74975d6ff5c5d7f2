import { In, Not } from 'typeorm';
import type { Database } from '../db/Database';
import { Alarm } from '../entities/Alarm';
import { logger } from '../logger';
import { AlarmState, type Severity } from '../schema/enums';

export interface RaiseAlarm {
  /** Deduplication key: raising it again while it is open counts a repeat. */
  fingerprint: string;
  name: string;
  severity: Severity;
  source: string;
  message: string;
  labels?: Record<string, string>;
}

/**
 * Records alarms with deduplication by fingerprint (FIRING → ACKNOWLEDGED → RESOLVED). The
 * rules, silences, dispatch and subscriptions build on this.
 */
export class AlarmService {
  private readonly log = logger('alarms');

  constructor(private readonly db: Database) {}

  async raise(alarm: RaiseAlarm): Promise<Alarm> {
    const now = new Date();
    const saved = await this.db.transaction(async (manager) => {
      const open = await manager.findOne(Alarm, {
        where: { fingerprint: alarm.fingerprint, state: Not(In([AlarmState.RESOLVED])) },
      });
      if (open) {
        await manager.update(Alarm, open.id, {
          count: open.count + 1,
          lastRaisedAt: now,
          message: alarm.message,
        });
        return manager.findOneByOrFail(Alarm, { id: open.id });
      }
      const created = manager.create(Alarm, {
        ...alarm,
        labels: alarm.labels ?? {},
        state: AlarmState.FIRING,
        firstRaisedAt: now,
        lastRaisedAt: now,
        count: 1,
      });
      await manager.insert(Alarm, created);
      return manager.findOneByOrFail(Alarm, { id: created.id });
    });
    this.log.warn(
      { fingerprint: alarm.fingerprint, severity: alarm.severity, count: saved.count },
      alarm.message,
    );
    return saved;
  }
}
