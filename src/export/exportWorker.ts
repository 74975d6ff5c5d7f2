import { parentPort } from 'node:worker_threads';
import { createConnection } from 'mysql2';
import type BetterSqlite3 from 'better-sqlite3';
import { mariadbAddress } from '../db/mariadbAddress';
import type { ExportColumn } from './columns';
import { addBatch } from './byteSource';
import { encoderFor, type ExportFormat } from './encoders';
import type { RowEncoder } from './rowEncoder';
import {
  mariadbRows,
  openSqliteReader,
  sqliteRows,
  type MysqlConnection,
  type Query,
  type RowCursor,
} from './rowCursor';

// A thread of the export pool. For each export it takes part in (a task): reads the runs it is
// given, each in one snapshot on the task's connection, encodes their rows as record batches
// (or CSV lines) and hands the bytes over, never more than `window` batches ahead of what the
// gateway has sent on. Threads live as long as the gateway: one started per export would leave
// its memory behind in the allocator at every export.

export interface ExportTaskSetup {
  dialect: 'sqlite' | 'mariadb';
  /** The SQLite file, or the MariaDB URL. */
  target: string;
  format: ExportFormat;
  columns: ExportColumn[];
  positions: number[];
  batchRows: number;
  window: number;
}

export type ToExportWorker =
  | { type: 'begin'; task: number; setup: ExportTaskSetup }
  | { type: 'run'; task: number; index: number; query: Query }
  | { type: 'ack'; task: number }
  | { type: 'end'; task: number };

export type FromExportWorker =
  | { type: 'batch'; task: number; index: number; bytes: Uint8Array; rows: number }
  | { type: 'done'; task: number; index: number }
  | { type: 'error'; task: number; index: number; message: string }
  | { type: 'ended'; task: number };

const port = parentPort!;

interface Task {
  id: number;
  setup: ExportTaskSetup;
  encoder: RowEncoder;
  sqlite?: BetterSqlite3.Database;
  mariadb?: Promise<MysqlConnection>;
  runs: Array<{ index: number; query: Query }>;
  outstanding: number;
  ending: boolean;
  wake?: () => void;
}

let task: Task | undefined;

function mariadbConnection(url: string): Promise<MysqlConnection> {
  const connection = createConnection({
    ...mariadbAddress(url),
    timezone: 'Z',
    supportBigNumbers: true,
  });
  return new Promise((resolve, reject) =>
    connection.connect((error) =>
      error
        ? reject(error)
        : // Kept for the task's next run: "released" means nothing to do.
          resolve(Object.assign(connection, { release: () => undefined }) as never),
    ),
  );
}

/** One batch's chunks in a buffer of its own, handed over without a copy. */
function joined(chunks: Buffer[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

const send = (message: FromExportWorker, transfer?: ArrayBuffer[]) =>
  port.postMessage(message, transfer);

async function readRun(t: Task, index: number, query: Query): Promise<void> {
  const one = { count: 1, at: () => query };
  const cursor: RowCursor = t.sqlite
    ? sqliteRows(t.sqlite, one, { whole: false })
    : await mariadbRows(await t.mariadb!, one);
  try {
    for (;;) {
      const added = await addBatch(cursor, t.encoder, t.setup.batchRows);
      if (added === 0 || t.ending) break;
      const bytes = joined(t.encoder.flush());
      t.outstanding++;
      send({ type: 'batch', task: t.id, index, bytes, rows: added }, [bytes.buffer as ArrayBuffer]);
      while (t.outstanding >= t.setup.window && !t.ending)
        await new Promise<void>((resolve) => (t.wake = resolve));
    }
  } finally {
    await cursor.close();
  }
  if (!t.ending) send({ type: 'done', task: t.id, index });
}

async function runTask(t: Task): Promise<void> {
  try {
    if (t.setup.dialect === 'sqlite') t.sqlite = openSqliteReader(t.setup.target);
    else t.mariadb = mariadbConnection(t.setup.target);
    for (;;) {
      while (t.runs.length === 0 && !t.ending)
        await new Promise<void>((resolve) => (t.wake = resolve));
      if (t.ending) break;
      const { index, query } = t.runs.shift()!;
      try {
        await readRun(t, index, query);
      } catch (error) {
        send({ type: 'error', task: t.id, index, message: (error as Error).message });
        while (!t.ending) await new Promise<void>((resolve) => (t.wake = resolve));
      }
    }
  } finally {
    t.sqlite?.close();
    const connection = await t.mariadb?.catch(() => undefined);
    connection?.destroy();
    connection?.stream?.destroy();
    task = undefined;
    send({ type: 'ended', task: t.id });
  }
}

port.on('message', (message: ToExportWorker) => {
  if (message.type === 'begin') {
    const { format, columns, positions, batchRows } = message.setup;
    const encoder = encoderFor(format, columns, positions, batchRows);
    encoder.start(); // the head goes out once, from the gateway's thread
    task = {
      id: message.task,
      setup: message.setup,
      encoder,
      runs: [],
      outstanding: 0,
      ending: false,
    };
    void runTask(task);
    return;
  }
  if (!task || message.task !== task.id) return; // a late message for a task that has ended
  if (message.type === 'run') task.runs.push({ index: message.index, query: message.query });
  else if (message.type === 'ack') task.outstanding--;
  else task.ending = true;
  task.wake?.();
});
