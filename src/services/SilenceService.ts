import type { Principal } from '../auth/roles';
import { retryOnDeadlock, type Database } from '../db/Database';
import type { Alarm } from '../entities/Alarm';
import { Silence } from '../entities/Silence';
import { BadUserInputError, ConflictError, NotFoundError } from '../errors';

export interface NewSilence {
  matchers: Record<string, string>;
  startsAt?: Date | null;
  endsAt: Date;
  comment?: string | null;
}

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
 * Silences, as in Alertmanager: they mute dispatch of matching alarms for a time window, never
 * the record. A silence is created, and may be expired early; an expired one stays for history.
 */
export class SilenceService {
  /** Told of every silence created or expired (the Alertmanager mirror), after the write. */
  private readonly listeners: Array<(silence: Silence, change: 'created' | 'expired') => void> = [];

  constructor(private readonly db: Database) {}

  onChange(listener: (silence: Silence, change: 'created' | 'expired') => void): void {
    this.listeners.push(listener);
  }

  /** Records the id Alertmanager gave the silence's copy. */
  async setMirrorId(id: number, alertmanagerSilenceId: string): Promise<void> {
    await this.db.write((m) => m.update(Silence, id, { alertmanagerSilenceId }));
  }

  async create(input: NewSilence, principal: Principal): Promise<Silence> {
    const entries = Object.entries(input.matchers ?? {});
    if (entries.length === 0 || entries.some(([, v]) => typeof v !== 'string'))
      throw new BadUserInputError(
        'matchers: give at least one label name → string value',
        'matchers',
      );
    for (const [key, value] of entries) {
      const regex = /^\/(.*)\/$/.exec(value);
      if (!regex) continue;
      try {
        new RegExp(regex[1]);
      } catch {
        throw new BadUserInputError(
          `matchers.${key}: ${value} is not a valid regular expression`,
          'matchers',
        );
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
    for (const listener of this.listeners) listener(silence, 'created');
    return silence;
  }

  /**
   * Ends a silence now. Only a silence still in force or yet to start can be expired: the update
   * is conditional on that, so two shifters expiring it at once get one success and a CONFLICT.
   */
  async expire(id: number): Promise<Silence> {
    // The database's clock, read when the row is updated (after any concurrent expiry has
    // committed): with each replica's own clock, one whose clock is a few ms behind saw the
    // silence it had just lost still in force, and both expiries "succeeded".
    const now =
      this.db.dialect === 'sqlite' ? "strftime('%Y-%m-%d %H:%M:%f', 'now')" : 'SYSDATE(3)';
    // Two expiries of one row can deadlock on MariaDB (the endsAt index is updated too): the
    // loser, run again, finds the silence ended and is told CONFLICT.
    const update = await retryOnDeadlock(() =>
      this.db.write((m) =>
        m
          .createQueryBuilder()
          .update(Silence)
          .set({ endsAt: () => now })
          .where(`id = :id AND endsAt > ${now}`, { id })
          .execute(),
      ),
    );
    const silence = await this.db.manager.findOneBy(Silence, { id });
    if (!silence) throw new NotFoundError('silence', id);
    if (update.affected !== 1)
      throw new ConflictError(`silence ${id} ended at ${silence.endsAt.toISOString()} already`);
    for (const listener of this.listeners) listener(silence, 'expired');
    return silence;
  }

  /** Silences in force at `at`. */
  async active(at = new Date()): Promise<Silence[]> {
    return this.db.manager
      .createQueryBuilder(Silence, 's')
      .where('s.startsAt <= :at AND s.endsAt > :at', { at })
      .getMany();
  }

  async isSilenced(alarm: Alarm, at = new Date()): Promise<boolean> {
    return (await this.active(at)).some((s) => silenceMatches(s.matchers, alarm));
  }
}
