import type { Database } from '../db/Database';

/** What MariaDB says of its replication threads (SHOW SLAVE STATUS), on a replica. */
export interface ReplicaThreads {
  ioRunning: boolean;
  sqlRunning: boolean;
  /** The error that stopped a thread, when one did (a diverged replica: a GTID or key error). */
  sqlError: string | null;
  ioError: string | null;
}

/**
 * Reads SHOW SLAVE STATUS; null when the database is not a replica, undefined when this user
 * may not ask (it needs MariaDB's SLAVE MONITOR privilege) — the heartbeat still tells the lag.
 */
export async function readReplicaThreads(db: Database): Promise<ReplicaThreads | null | undefined> {
  let rows: Array<Record<string, unknown>>;
  try {
    rows = (await db.manager.query('SHOW SLAVE STATUS')) as Array<Record<string, unknown>>;
  } catch (error) {
    const code = (error as { code?: string; driverError?: { code?: string } }).driverError?.code;
    if (code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_ERROR')
      return undefined;
    throw error;
  }
  const [status] = rows;
  if (!status) return null;
  const errorText = (errno: unknown, text: unknown) =>
    Number(errno) !== 0 ? `${String(errno)}: ${String(text)}` : null;
  return {
    ioRunning: status.Slave_IO_Running === 'Yes',
    sqlRunning: status.Slave_SQL_Running === 'Yes',
    sqlError: errorText(status.Last_SQL_Errno, status.Last_SQL_Error),
    ioError: errorText(status.Last_IO_Errno, status.Last_IO_Error),
  };
}
