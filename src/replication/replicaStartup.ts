import type { DataSource } from 'typeorm';

/**
 * A replica gateway's checks before it serves anything: its database must be read-only (a
 * replica gateway on the primary's database is a deployment mistake that would let two roles
 * write), unless REPLICA_ALLOW_WRITABLE says it is meant; and its schema must be the gateway's,
 * since a replica never migrates — migrations run on the primary and replicate.
 */
export async function checkReplicaDatabase(
  dataSource: DataSource,
  allowWritable: boolean,
): Promise<void> {
  const [row] = (await dataSource.query('SELECT @@global.read_only AS readOnly')) as Array<{
    readOnly: number | string;
  }>;
  if (Number(row?.readOnly) !== 1 && !allowWritable)
    throw new Error(
      'GATEWAY_ROLE=replica, but DATABASE_URL names a writable database (read_only is OFF): is it the primary? ' +
        'Point a replica gateway at a MariaDB replica (started with --read-only), or set REPLICA_ALLOW_WRITABLE=true if this is meant',
    );
  if (await dataSource.showMigrations())
    throw new Error(
      "the replica's schema is behind this gateway's: migrations run on the primary (`cygno-gateway migrate` there) and reach the replica by replication",
    );
}
