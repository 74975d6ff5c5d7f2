import { Worker } from 'node:worker_threads';
import { builtScript } from '../reco/parallel/builtScript';

/**
 * The threads that read exports, started on the first export that uses them and kept for the
 * next ones. An export takes the idle ones it wants; one that finds none reads in the gateway's
 * own thread.
 */
export class ExportThreads {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();

  constructor(private readonly size: number) {}

  /** Up to `want` idle threads, taken until released. */
  acquire(want: number): Worker[] {
    while (this.idle.length < want && this.all.size < this.size) this.idle.push(this.start());
    return this.idle.splice(0, Math.min(want, this.idle.length));
  }

  release(worker: Worker): void {
    if (this.all.has(worker)) this.idle.push(worker);
  }

  /** A thread that did not answer: stopped, and another started in its place when needed. */
  discard(worker: Worker): void {
    this.all.delete(worker);
    void worker.terminate();
  }

  async close(): Promise<void> {
    const workers = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private start(): Worker {
    const worker = new Worker(builtScript(__dirname, 'exportWorker'), {
      // A thread holds a batch or two: a small heap, collected early, keeps exports flat.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    worker.unref();
    worker.on('error', () => this.discard(worker));
    worker.on('exit', () => this.all.delete(worker));
    this.all.add(worker);
    return worker;
  }
}
