import { Worker } from 'node:worker_threads';
import { builtScript } from '../workers/builtScript';

const MAX_IN_FLIGHT = 8;

/**
 * MD5 and adler32 of a stream, off the main thread: both in one worker thread, which had time
 * to spare beside MD5 (an earlier level-0 deflate for adler32 cost the main thread a 1 MB
 * output buffer per chunk, and the garbage collection of all of them). The main thread is left
 * to read, upload and index — the two cores of an ingest node both work. Chunks are copied once
 * to reach the worker; at most MAX_IN_FLIGHT of them wait for it.
 */
export class ParallelHasher {
  private readonly worker = new Worker(builtScript(__dirname, 'hashWorker'));
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private digested: ((digest: { md5: string; adler32: string }) => void) | undefined;
  private failure: Error | undefined;

  constructor() {
    this.worker.on('message', (message: { ack?: true; md5?: string; adler32?: string }) => {
      if (message.ack) {
        this.inFlight--;
        this.waiting?.();
        this.waiting = undefined;
      } else if (message.md5 && message.adler32) {
        this.digested?.({ md5: message.md5, adler32: message.adler32 });
      }
    });
    this.worker.on('error', (error) => {
      this.failure = error;
      this.waiting?.();
    });
  }

  /** Adds a chunk; resolves when the worker is not too far behind. */
  async update(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.inFlight++;
    this.worker.postMessage(chunk);
    while (this.inFlight > MAX_IN_FLIGHT && !this.failure)
      await new Promise<void>((resolve) => (this.waiting = resolve));
    if (this.failure) throw this.failure;
  }

  async digest(): Promise<{ md5: string; adler32: string }> {
    if (this.failure) throw this.failure;
    const digest = new Promise<{ md5: string; adler32: string }>((resolve, reject) => {
      this.digested = resolve;
      this.worker.once('error', reject);
    });
    this.worker.postMessage(null);
    const result = await digest;
    await this.close();
    return result;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
