import type { Worker } from 'node:worker_threads';
import type { ByteSource } from './byteSource';
import type { ExportThreads } from './exportThreads';
import type { ExportTaskSetup, FromExportWorker, ToExportWorker } from './exportWorker';
import type { QuerySequence } from './rowCursor';

/** Batches a thread may run ahead of what was sent. */
const WINDOW = 2;
/** How long a thread may take to stop reading before it is replaced. */
const END_TIMEOUT_MS = 5_000;

let tasks = 0;

interface RunState {
  batches: Buffer[];
  rows: number[];
  done: boolean;
  worker: Worker;
}

/**
 * An export read by several threads at once, one run each (the database driver's work per value
 * is most of an export's cost, and one thread does it on one core only), its bytes sent in run
 * order: the thread of the run being sent is never blocked, the others stop WINDOW batches
 * ahead. `head` and `tail` are the format's own bytes (schema, end-of-stream marker).
 */
export function parallelSource(
  pool: ExportThreads,
  workers: Worker[],
  queries: QuerySequence,
  setup: Omit<ExportTaskSetup, 'window'>,
  head: Buffer[],
  tail: Buffer[],
): ByteSource {
  const task = ++tasks;
  const states = new Map<number, RunState>();
  let nextToAssign = 0;
  let sending = 0;
  let rows = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let stage: 'head' | 'rows' | 'done' = 'head';
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const send = (worker: Worker, message: ToExportWorker) => worker.postMessage(message);
  const assign = (worker: Worker) => {
    if (nextToAssign >= queries.count) return;
    const index = nextToAssign++;
    states.set(index, { batches: [], rows: [], done: false, worker });
    send(worker, { type: 'run', task, index, query: queries.at(index) });
  };
  const listeners = new Map<Worker, (message: FromExportWorker) => void>();
  // A thread that dies mid-export (out of memory, a bug) fails the export instead of leaving it
  // waiting for batches that will never come.
  const died = (code: number) => {
    failure ??= new Error(`an export thread stopped (exit code ${code})`);
    notify();
  };
  for (const worker of workers) {
    worker.on('exit', died);
    const listener = (message: FromExportWorker) => {
      if (message.task !== task || message.type === 'ended') return;
      const state = states.get(message.index);
      if (!state) return;
      if (message.type === 'batch') {
        const { buffer, byteOffset, byteLength } = message.bytes;
        state.batches.push(Buffer.from(buffer, byteOffset, byteLength));
        state.rows.push(message.rows);
      } else if (message.type === 'done') {
        state.done = true;
        assign(worker);
      } else failure ??= new Error(message.message);
      notify();
    };
    listeners.set(worker, listener);
    worker.on('message', listener);
    send(worker, { type: 'begin', task, setup: { ...setup, window: WINDOW } });
  }
  workers.forEach(assign);

  /** Tells a thread the task is over and gives it back once it has closed its connection. */
  const end = (worker: Worker) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        worker.off('message', ended);
        pool.discard(worker);
        resolve();
      }, END_TIMEOUT_MS);
      function ended(message: FromExportWorker) {
        if (message.task !== task || message.type !== 'ended') return;
        clearTimeout(timer);
        worker.off('message', ended);
        pool.release(worker);
        resolve();
      }
      worker.on('message', ended);
      send(worker, { type: 'end', task });
    });

  return {
    get rows() {
      return rows;
    },
    async next() {
      if (stage === 'head') {
        stage = 'rows';
        return head;
      }
      while (stage === 'rows') {
        if (failure) throw failure;
        if (sending >= queries.count) {
          stage = 'done';
          return tail;
        }
        const state = states.get(sending);
        const batch = state?.batches.shift();
        if (state && batch) {
          rows += state.rows.shift()!;
          send(state.worker, { type: 'ack', task });
          return [batch];
        }
        if (state?.done) {
          states.delete(sending);
          sending++;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
      return null;
    },
    async close() {
      for (const [worker, listener] of listeners) {
        worker.off('message', listener);
        worker.off('exit', died);
      }
      states.clear();
      await Promise.all(workers.map(end));
    },
  };
}
