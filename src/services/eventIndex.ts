import type { EntityManager } from 'typeorm';
import { bindDate, bulkInsert } from '../db/bulkInsert';
import { Event } from '../entities/Event';
import type { EventIndexRow } from './IngestService';

/** The columns an event index row fills, in the order of its values. */
export const EVENT_INDEX_COLUMNS = [
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

/**
 * Replaces the event index of one file inside the caller's transaction. A previous attempt
 * may have died after indexing: the index is rebuilt, never doubled.
 */
export async function replaceEventIndex(
  manager: EntityManager,
  runId: number,
  fileId: number,
  events: readonly EventIndexRow[],
): Promise<void> {
  await manager.delete(Event, { fileId });
  const rows = events.map((e) => [
    runId,
    fileId,
    e.serial,
    e.eventId,
    e.triggerMask,
    bindDate(manager, e.timestamp),
    e.fileOffset,
    e.sizeBytes,
    e.bankNames.join(','),
  ]);
  await bulkInsert(manager, 'events', EVENT_INDEX_COLUMNS, rows);
}
