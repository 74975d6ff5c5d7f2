import { Worker } from 'node:worker_threads';
import { DEFAULT_SEEK_SPAN } from '../reco/midas/gzipSeekIndex';
import { builtScript } from '../reco/parallel/builtScript';

/** Chunks on their way to the thread at most: a few MB of copies, then the ingest waits. */
const IN_FLIGHT = 8;

/**
 * Builds a gzip file's seek index (src/reco/midas/gzipSeekIndex) in a thread of its own while
 * the ingest reads the file once: the compressed chunks are copied to it as they are read.
 * `finish` answers the encoded index, stored beside the object as `<key>.gzidx`.
 */
export class GzipSeekIndexer {
  private readonly worker = new Worker(builtScript(__dirname, 'seekIndexWorker'), {
    workerData: { span: DEFAULT_SEEK_SPAN },
  });
  private inFlight = 0;
  private acknowledged: (() => void) | undefined;
  private finished: ((message: { index?: Uint8Array; error?: string }) => void) | undefined;
  private failure: Error | undefined;

  constructor() {
    this.worker.on('message', (message: { done?: true; index?: Uint8Array; error?: string }) => {
      if (message.done) {
        this.inFlight--;
        this.acknowledged?.();
        this.acknowledged = undefined;
      } else this.finished?.(message);
    });
    this.worker.on('error', (error) => {
      this.failure = error;
      this.acknowledged?.();
      this.finished?.({ error: error.message });
    });
  }

  /** Resolves once the chunk is copied to the thread (waiting while it is far behind). */
  async update(chunk: Uint8Array): Promise<void> {
    while (this.inFlight >= IN_FLIGHT && !this.failure)
      await new Promise<void>((resolve) => (this.acknowledged = resolve));
    if (this.failure) throw this.failure;
    const copy = new Uint8Array(chunk); // transferred: the caller's buffer stays the caller's
    this.inFlight++;
    this.worker.postMessage(copy, [copy.buffer]);
  }

  /** The encoded index; throws when the file is no valid, complete gzip stream. */
  async finish(): Promise<Buffer> {
    try {
      if (this.failure) throw this.failure;
      const message = await new Promise<{ index?: Uint8Array; error?: string }>((resolve) => {
        this.finished = resolve;
        this.worker.postMessage(null);
      });
      if (message.error !== undefined) throw new Error(`gzip seek index: ${message.error}`);
      return Buffer.from(message.index!);
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
