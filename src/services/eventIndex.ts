import type { EntityManager } from 'typeorm';
import { Event } from '../entities/Event';
import type { EventIndexRow } from './IngestService';

/** Rows per multi-row INSERT (SQLite allows 32766 bound parameters; an event row binds 9). */
const EVENT_BATCH = 1000;
const COLUMNS = [
  'runId',
  'fileId',
  'serial',
  'eventId',
  'triggerMask',
  'timestamp',
  'fileOffset',
  'sizeBytes',
  'bankNames',
];
const ROW = `(${COLUMNS.map(() => '?').join(', ')})`;

/**
 * Replaces the event index of one file inside the caller's transaction. A previous attempt
 * may have died after indexing: the index is rebuilt, never doubled. The rows go in as plain
 * multi-row INSERTs: TypeORM's `insert` spends three times the database's own time building
 * them (bench:ingest measures both).
 */
export async function replaceEventIndex(
  manager: EntityManager,
  runId: number,
  fileId: number,
  events: readonly EventIndexRow[],
): Promise<void> {
  await manager.delete(Event, { fileId });
  const sqlite = manager.connection.options.type === 'better-sqlite3';
  const quote = sqlite ? (name: string) => `"${name}"` : (name: string) => `\`${name}\``;
  // SQLite stores datetimes as UTC text, as TypeORM writes them; mysql2 converts Dates (timezone Z).
  const time = sqlite
    ? (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '')
    : (date: Date) => date;
  const insert = `INSERT INTO ${quote('events')} (${COLUMNS.map(quote).join(', ')}) VALUES `;
  for (let i = 0; i < events.length; i += EVENT_BATCH) {
    const batch = events.slice(i, i + EVENT_BATCH);
    const params = batch.flatMap((e) => [
      runId,
      fileId,
      e.serial,
      e.eventId,
      e.triggerMask,
      time(e.timestamp),
      e.fileOffset,
      e.sizeBytes,
      e.bankNames.join(','),
    ]);
    await manager.query(insert + batch.map(() => ROW).join(', '), params);
  }
}
