import type { Database } from '../db/Database';
import { bindDate, bulkInsert } from '../db/bulkInsert';
import { logger } from '../logger';
import { Topic } from '../pubsub';

/** The topics replicas follow: what a subscriber of a replica gateway can see change. */
export const JOURNALED_TOPICS: ReadonlySet<string> = new Set([
  Topic.RunUpdated,
  Topic.JobUpdated,
  Topic.AlarmEvent,
  Topic.EventReconstructed,
  Topic.ApiTokenRevoked,
  Topic.CampaignUpdated,
]);

const FLUSH_MS = 20;
const ROWS_PER_INSERT = 500;
/** Held while the database is away; past it the oldest are dropped (and said so). */
const MAX_PENDING = 100_000;
const RETRY_MAX_MS = 5_000;

/**
 * Writes every published change to the `change_log` table, in publish order, a few
 * milliseconds later and many at a time, so that MariaDB replication carries them to the
 * replica gateways with the data. Publishing never waits for it: the change itself is already
 * committed, and a live notice that could not be logged (database away, process killed within
 * the flush delay) is the only thing lost — the data is not.
 */
export class ChangeJournal {
  private readonly log = logger('change-journal');
  private pending: Array<[string, string, Date]> = [];
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private failures = 0;
  private closed = false;

  constructor(private readonly db: Database) {}

  append(topic: string, message: string): void {
    if (this.closed || !JOURNALED_TOPICS.has(topic)) return;
    if (this.pending.length >= MAX_PENDING) {
      this.pending.shift();
      this.log.error({ topic }, 'change log unreachable too long: dropped its oldest change');
    }
    this.pending.push([topic, message, new Date()]);
    this.schedule(FLUSH_MS);
  }

  /** Writes what is pending now; resolves when it is written (or has failed once). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.running.then(() => this.writePending());
    return this.running;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref?.();
  }

  private async writePending(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, ROWS_PER_INSERT);
      try {
        await this.db.write((m) =>
          bulkInsert(
            m,
            'change_log',
            ['topic', 'payload', 'createdAt'],
            batch.map(([topic, payload, at]) => [topic, payload, bindDate(m, at)]),
          ),
        );
      } catch (error) {
        this.failures++;
        const retryMs = Math.min(RETRY_MAX_MS, 50 * 2 ** this.failures);
        this.log.warn(
          { err: error, pending: this.pending.length, retryMs },
          'change log write failed; will retry',
        );
        this.schedule(retryMs);
        return;
      }
      this.failures = 0;
      this.pending.splice(0, batch.length);
    }
  }
}
