import type { EntityManager } from 'typeorm';

/** SQLite allows 32766 bound parameters per statement; stay well below. */
const MAX_PARAMETERS = 30_000;

function isSqlite(manager: EntityManager): boolean {
  return manager.connection.options.type === 'better-sqlite3';
}

export function quoteIdentifier(manager: EntityManager, name: string): string {
  return isSqlite(manager) ? `"${name}"` : `\`${name}\``;
}

/** A Date as the driver wants it bound: SQLite stores UTC text as TypeORM writes it. */
export function bindDate(manager: EntityManager, date: Date): Date | string {
  return isSqlite(manager) ? date.toISOString().replace('T', ' ').replace('Z', '') : date;
}

/**
 * Plain multi-row INSERTs of `rows` (values in `columns` order), batched under the parameter
 * limit: TypeORM's `insert` spends several times the database's own time building them, and
 * row-by-row saves two hundred times (bench:ingest measures it).
 */
export async function bulkInsert(
  manager: EntityManager,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
): Promise<void> {
  if (rows.length === 0) return;
  const quote = (name: string) => quoteIdentifier(manager, name);
  const row = `(${columns.map(() => '?').join(', ')})`;
  const insert = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES `;
  const perBatch = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  for (let i = 0; i < rows.length; i += perBatch) {
    const batch = rows.slice(i, i + perBatch);
    await manager.query(insert + batch.map(() => row).join(', '), batch.flat());
  }
}
