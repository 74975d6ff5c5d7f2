import type { RowCursor } from './rowCursor';
import { SLICE_ROWS, type RowEncoder } from './rowEncoder';

/** An export's bytes, produced as the consumer asks: the format's head, the rows, its tail. */
export interface ByteSource {
  /** The next chunks to send; null once everything was. */
  next(): Promise<Buffer[] | null>;
  /** Rows produced so far. */
  readonly rows: number;
  /** Releases the database resources, also midway. */
  close(): Promise<void>;
}

/**
 * Adds up to `batchRows` rows of the cursor to the encoder's batch, a slice at a time (the
 * rows die young that way: a whole batch of row arrays alive at once would be moved by the
 * garbage collector, which costs more than reading them). Returns how many it added.
 */
export async function addBatch(
  cursor: RowCursor,
  encoder: RowEncoder,
  batchRows: number,
): Promise<number> {
  let added = 0;
  while (added < batchRows) {
    const rows = await cursor.next(Math.min(SLICE_ROWS, batchRows - added));
    if (rows.length === 0) break;
    encoder.add(rows);
    added += rows.length;
  }
  return added;
}

/** A cursor's rows encoded batch by batch, in this thread. */
export function encodedRows(cursor: RowCursor, encoder: RowEncoder, batchRows: number): ByteSource {
  let stage: 'head' | 'rows' | 'done' = 'head';
  let rows = 0;
  return {
    get rows() {
      return rows;
    },
    async next() {
      switch (stage) {
        case 'head':
          stage = 'rows';
          return encoder.start();
        case 'rows': {
          const added = await addBatch(cursor, encoder, batchRows);
          if (added > 0) {
            rows += added;
            return encoder.flush();
          }
          stage = 'done';
          return encoder.end();
        }
        default:
          return null;
      }
    },
    close: () => cursor.close(),
  };
}
