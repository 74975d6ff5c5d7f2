import BetterSqlite3 from 'better-sqlite3';
import type { Database } from '../db/Database';

/** A statement and its parameters. */
export interface Query {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /**
   * A statement run first, on the same connection and in the same snapshot, whose one row of
   * two values replaces parameters[at[0]] and parameters[at[1]] (the id range of a run's rows,
   * so that the statement reads the table in primary-key order); null values mean no row
   * matches, and the statement is skipped.
   */
  readonly bounds?: {
    readonly sql: string;
    readonly parameters: readonly unknown[];
    readonly at: readonly [number, number];
  };
}

/** The statement's parameters with the bounds found, or null when there is nothing to read. */
function bounded(query: Query, found: readonly unknown[] | undefined): unknown[] | null {
  if (!query.bounds) return [...query.parameters];
  if (!found || found[0] == null || found[1] == null) return null;
  const parameters = [...query.parameters];
  parameters[query.bounds.at[0]] = found[0];
  parameters[query.bounds.at[1]] = found[1];
  return parameters;
}

/**
 * The queries of one export, made as the cursor reaches them (an export over ten thousand runs
 * holds one statement at a time, not ten thousand).
 */
export interface QuerySequence {
  readonly count: number;
  at(index: number): Query;
}

/** Rows read as the consumer asks for them: memory stays flat whatever the size. */
export interface RowCursor {
  /** Up to `max` rows (arrays in select order); an empty array once every query is exhausted. */
  next(max: number): Promise<unknown[][]>;
  /** Releases the database resources (also mid-query: the export's client went away). */
  close(): Promise<void>;
}

/** Counts the cursors open now (tests check that an abandoned export releases its own). */
export const openCursors = { count: 0 };

/**
 * Opens a cursor that runs the queries one after the other on one connection, in one read
 * snapshot (an export sees the database as it was when it began, whatever is written meanwhile).
 * SQLite: a read-only connection of its own on the database file (WAL: it reads while the
 * gateway writes; the gateway's single connection would be busy for every other statement while
 * a cursor iterates on it). MariaDB: a pooled connection (a replica's when TypeORM has one)
 * streaming the binary protocol, paused while the consumer is behind.
 */
export async function openRowCursor(db: Database, queries: QuerySequence): Promise<RowCursor> {
  return countedOpen(
    db.dialect === 'sqlite' ? sqliteCursor(db, queries) : await mariadbCursor(db, queries),
  );
}

/**
 * Counts a cursor, or a parallel export's connections in its threads, among the open cursors
 * until it is closed (a second close does nothing).
 */
export function countedOpen<T extends { close(): Promise<void> }>(source: T): T {
  openCursors.count++;
  let closed = false;
  const close = source.close.bind(source);
  source.close = async () => {
    if (closed) return;
    closed = true;
    openCursors.count--;
    await close();
  };
  return source;
}

function sqliteCursor(db: Database, queries: QuerySequence): RowCursor {
  const file = String(db.dataSource.options.database);
  if (file === ':memory:') {
    // An in-memory database has no second connection: its own, each query read whole in the
    // gaps between batches (it is small by nature; iterating on it would block every other
    // statement).
    const main = (db.dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database })
      .databaseConnection;
    return sqliteRows(main, queries, { whole: true });
  }
  return sqliteRows(openSqliteReader(file), queries, { whole: false, closeAfter: true });
}

/** A read-only connection of a cursor's own on a SQLite database file. */
export function openSqliteReader(file: string): BetterSqlite3.Database {
  return new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 10_000 });
}

/**
 * The rows of the queries on a SQLite connection, in one read transaction (`whole`: each query
 * read at once instead of iterated). `closeAfter` closes the connection with the cursor.
 */
export function sqliteRows(
  connection: BetterSqlite3.Database,
  queries: QuerySequence,
  options: { whole: boolean; closeAfter?: boolean },
): RowCursor {
  if (!options.whole) connection.exec('BEGIN');
  let index = 0;
  let rows: Iterator<unknown[]> | undefined;
  const open = (i: number): Iterator<unknown[]> => {
    const query = queries.at(i);
    const found = query.bounds
      ? (connection
          .prepare(query.bounds.sql)
          .raw(true)
          .get(...query.bounds.parameters) as unknown[] | undefined)
      : undefined;
    const parameters = bounded(query, found);
    if (!parameters) return [][Symbol.iterator]();
    const statement = connection.prepare(query.sql).raw(true);
    return options.whole
      ? (statement.all(...parameters) as unknown[][])[Symbol.iterator]()
      : (statement.iterate(...parameters) as IterableIterator<unknown[]>);
  };
  return {
    async next(max) {
      const batch: unknown[][] = [];
      while (batch.length < max && index < queries.count) {
        rows ??= open(index);
        const item = rows.next();
        if (item.done) {
          rows = undefined;
          index++;
        } else batch.push(item.value);
      }
      return batch;
    },
    async close() {
      rows?.return?.();
      if (!options.whole && connection.inTransaction) connection.exec('COMMIT');
      if (options.closeAfter) connection.close();
    },
  };
}

interface MysqlQuery {
  on(event: 'result', listener: (row: unknown[]) => void): MysqlQuery;
  on(event: 'end', listener: () => void): MysqlQuery;
  on(event: 'error', listener: (error: Error) => void): MysqlQuery;
}

export interface MysqlConnection {
  execute(options: { sql: string; values: unknown[]; rowsAsArray: boolean }): MysqlQuery;
  query(sql: string, callback: (error: Error | null) => void): void;
  pause(): void;
  resume(): void;
  release(): void;
  destroy(): void;
  stream?: { destroy(): void };
}

async function mariadbCursor(db: Database, queries: QuerySequence): Promise<RowCursor> {
  const driver = db.dataSource.driver as unknown as {
    obtainSlaveConnection(): Promise<MysqlConnection>;
  };
  return mariadbRows(await driver.obtainSlaveConnection(), queries);
}

/**
 * The rows of the queries on a MariaDB connection (pooled: released at the end, or destroyed
 * when the cursor is closed mid-result), in one consistent snapshot.
 */
export async function mariadbRows(
  connection: MysqlConnection,
  queries: QuerySequence,
): Promise<RowCursor> {
  const run = (sql: string) =>
    new Promise<void>((resolve, reject) =>
      connection.query(sql, (error) => (error ? reject(error) : resolve())),
    );
  try {
    await run('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  } catch (error) {
    connection.release();
    throw error;
  }
  let buffered: unknown[][] = [];
  let index = 0;
  let ended = queries.count === 0;
  let failure: Error | undefined;
  let paused = false;
  let wake: (() => void) | undefined;
  let highWater = 1;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const fail = (error: Error) => {
    failure = error;
    ended = true;
    notify();
  };
  const next = (i: number) => {
    index = i + 1;
    if (index < queries.count && !failure) start(index);
    else {
      ended = true;
      notify();
    }
  };
  // Each query's rows, then the next query on the same connection, until the last one ends.
  const start = (i: number) => {
    const query = queries.at(i);
    if (!query.bounds) return stream(i, query.sql, [...query.parameters]);
    let found: unknown[] | undefined;
    connection
      .execute({ sql: query.bounds.sql, values: [...query.bounds.parameters], rowsAsArray: true })
      .on('result', (row) => (found = row))
      .on('end', () => {
        const parameters = bounded(query, found);
        if (parameters) stream(i, query.sql, parameters);
        else next(i);
      })
      .on('error', fail);
  };
  const stream = (i: number, sql: string, parameters: unknown[]) => {
    connection
      .execute({ sql, values: parameters, rowsAsArray: true })
      .on('result', (row) => {
        buffered.push(row);
        if (buffered.length >= highWater) {
          notify();
          if (!paused && buffered.length >= 2 * highWater) {
            paused = true;
            connection.pause();
          }
        }
      })
      .on('end', () => next(i))
      .on('error', fail);
  };
  if (!ended) start(0);
  return {
    async next(max) {
      highWater = max;
      while (buffered.length < max && !ended) {
        if (paused) {
          // Resuming hands over the packets held while paused at once (rows, even the end of
          // the result): look again before waiting.
          paused = false;
          connection.resume();
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure) throw failure;
      const batch = buffered.length <= max ? buffered : buffered.slice(0, max);
      buffered = buffered.length <= max ? [] : buffered.slice(max);
      return batch;
    },
    async close() {
      buffered = [];
      if (ended && !failure) {
        // One that read its whole result may still be paused (the end arrived in the same
        // packets as the rows that paused it): resumed before it goes back, or the pool's next
        // query on it would wait forever.
        if (paused) connection.resume();
        try {
          await run('COMMIT');
          connection.release();
          return;
        } catch {
          // not reusable: closed below
        }
      }
      // A connection with a result still streaming cannot go back to the pool. mysql2's destroy
      // only half-closes the socket: the server, blocked writing rows nobody reads, would keep
      // the query running. Closing the socket outright ends it.
      connection.destroy();
      connection.stream?.destroy();
    },
  };
}
