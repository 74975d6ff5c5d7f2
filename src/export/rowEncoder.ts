/**
 * Turns rows (arrays from the database) into the bytes of one export format: a batch is the
 * rows `add`ed since the last `flush`, added a slice at a time so that the rows can die young.
 */
export interface RowEncoder {
  readonly contentType: string;
  /** What precedes the first row (a schema, a header line). */
  start(): Buffer[];
  add(rows: readonly unknown[][]): void;
  /** The rows added since the last flush, encoded. */
  flush(): Buffer[];
  /** What follows the last row. */
  end(): Buffer[];
}

/** Rows read from the database per slice added to a batch. */
export const SLICE_ROWS = 1024;
