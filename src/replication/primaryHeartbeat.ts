import type { Database } from '../db/Database';
import { bindDate } from '../db/bulkInsert';
import { logger } from '../logger';

export const HEARTBEAT_MS = 1_000;
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_ROWS = 10_000;

/**
 * The primary's side of replication: it stamps `replication_heartbeat` every second with its
 * database's UTC clock, so that a replica's lag is the age of the newest stamp it holds (true
 * even while replication is stopped, when MariaDB's own Seconds_Behind_Master says nothing),
 * and it trims the change log to CHANGE_LOG_KEEP_HOURS.
 */
export class PrimaryHeartbeat {
  private readonly log = logger('replication');
  private beatTimer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;
  private beating = false;

  constructor(
    private readonly db: Database,
    private readonly keepHours: number,
  ) {}

  start(): void {
    void this.beat();
    this.beatTimer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    if (this.keepHours > 0) {
      void this.prune();
      this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    }
  }

  stop(): void {
    clearInterval(this.beatTimer);
    clearInterval(this.pruneTimer);
  }

  private async beat(): Promise<void> {
    if (this.beating) return; // a slow database: skip a beat rather than pile them up
    this.beating = true;
    try {
      const sql =
        this.db.dialect === 'sqlite'
          ? `INSERT INTO replication_heartbeat (id, beatAt) VALUES (1, strftime('%Y-%m-%d %H:%M:%f', 'now'))
             ON CONFLICT(id) DO UPDATE SET beatAt = excluded.beatAt`
          : `INSERT INTO replication_heartbeat (id, beatAt) VALUES (1, UTC_TIMESTAMP(3))
             ON DUPLICATE KEY UPDATE beatAt = VALUES(beatAt)`;
      await this.db.write((m) => m.query(sql));
    } catch (error) {
      this.log.warn({ err: error }, 'replication heartbeat not written');
    } finally {
      this.beating = false;
    }
  }

  /** Deletes change-log entries past their keep time, a bounded number per statement. */
  async prune(): Promise<number> {
    const before = new Date(Date.now() - this.keepHours * 3_600_000);
    let deleted = 0;
    try {
      for (;;) {
        const affected = await this.db.write(async (m) => {
          const sql =
            this.db.dialect === 'sqlite'
              ? `DELETE FROM change_log WHERE id IN (SELECT id FROM change_log WHERE createdAt < ? LIMIT ${PRUNE_ROWS})`
              : `DELETE FROM change_log WHERE createdAt < ? ORDER BY id LIMIT ${PRUNE_ROWS}`;
          const runner = m.connection.createQueryRunner();
          try {
            const result = await runner.query(sql, [bindDate(m, before)], true);
            return Number(result.affected ?? 0);
          } finally {
            await runner.release();
          }
        });
        deleted += affected;
        if (affected < PRUNE_ROWS) break;
      }
      if (deleted > 0) this.log.info({ deleted }, 'old change-log entries deleted');
    } catch (error) {
      this.log.warn({ err: error }, 'change log not trimmed');
    }
    return deleted;
  }
}
