import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';

// MD5 runs in a worker thread (the code is inline so that it runs the same from dist/ and from
// TypeScript sources under the test runner); it acknowledges each chunk so that at most
// MAX_IN_FLIGHT chunks wait for it.
const MD5_WORKER = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('md5');
parentPort.on('message', (chunk) => {
  if (chunk === null) parentPort.postMessage({ md5: hash.digest('hex') });
  else { hash.update(chunk); parentPort.postMessage({ ack: true }); }
});`;

const MAX_IN_FLIGHT = 8;

/**
 * MD5 and adler32 of a stream, off the main thread: MD5 in a worker thread, adler32 by zlib
 * (a level-0 deflate stream computes it natively in the libuv thread pool; its last four bytes
 * are the checksum). The main thread is left to read, upload and parse — the two cores of an
 * ingest node both work. Chunks are copied once to reach the worker.
 */
export class ParallelHasher {
  private readonly worker = new Worker(MD5_WORKER, { eval: true });
  private readonly deflate = zlib.createDeflate({ level: 0, chunkSize: 1 << 20 });
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private md5: ((digest: string) => void) | undefined;
  private failure: Error | undefined;
  private tail: Buffer = Buffer.alloc(0);

  constructor() {
    this.worker.on('message', (message: { ack?: true; md5?: string }) => {
      if (message.ack) {
        this.inFlight--;
        this.waiting?.();
        this.waiting = undefined;
      } else if (message.md5) {
        this.md5?.(message.md5);
      }
    });
    this.worker.on('error', (error) => (this.failure = error));
    // Only the last four bytes of the deflate output matter: keep a small tail.
    this.deflate.on('data', (chunk: Buffer) => {
      this.tail =
        chunk.length >= 4
          ? chunk.subarray(chunk.length - 4)
          : Buffer.concat([this.tail, chunk]).subarray(-4);
    });
  }

  /** Adds a chunk; resolves when the worker is not too far behind. */
  async update(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.inFlight++;
    this.worker.postMessage(chunk);
    if (!this.deflate.write(chunk)) await once(this.deflate, 'drain');
    while (this.inFlight > MAX_IN_FLIGHT)
      await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  async digest(): Promise<{ md5: string; adler32: string }> {
    const md5 = new Promise<string>((resolve, reject) => {
      this.md5 = resolve;
      this.worker.once('error', reject);
    });
    this.worker.postMessage(null);
    this.deflate.end();
    await once(this.deflate, 'end');
    const digest = await md5;
    await this.close();
    return { md5: digest, adler32: this.tail.toString('hex') };
  }

  async close(): Promise<void> {
    this.deflate.destroy();
    await this.worker.terminate();
  }
}
