import type { Database } from '../db/Database';
import { databaseDate } from '../db/databaseDate';

export interface Heartbeat {
  /** The primary's newest stamp this database holds (UTC). */
  beatAt: Date;
  /** Its age by this database's clock, in seconds: the replication lag. */
  ageSeconds: number;
}

/** The newest heartbeat of the primary in this database; null before the first. */
export async function readHeartbeat(db: Database): Promise<Heartbeat | null> {
  const sql =
    db.dialect === 'sqlite'
      ? `SELECT beatAt, (julianday('now') - julianday(beatAt)) * 86400.0 AS ageSeconds
           FROM replication_heartbeat WHERE id = 1`
      : `SELECT beatAt, TIMESTAMPDIFF(MICROSECOND, beatAt, UTC_TIMESTAMP(3)) / 1e6 AS ageSeconds
           FROM replication_heartbeat WHERE id = 1`;
  const [row] = (await db.manager.query(sql)) as Array<{
    beatAt: Date | string;
    ageSeconds: number | string;
  }>;
  if (!row) return null;
  return { beatAt: databaseDate(row.beatAt), ageSeconds: Math.max(0, Number(row.ageSeconds)) };
}
