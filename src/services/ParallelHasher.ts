import { Worker } from 'node:worker_threads';
import { Adler32 } from '../reco/checksums';
import { builtScript } from '../reco/parallel/builtScript';

const SLOTS = 8;
const SLOT_BYTES = 1 << 20;

/**
 * MD5 and adler32 of a stream. MD5 — one sequential digest, the slowest work of an ingest — has
 * a worker thread to itself, while the main thread reads, uploads and indexes, so both cores of
 * an ingest node work; adler32 (SIMD, a tenth of MD5's time) is computed here, on the caller's
 * thread, which has time to spare, so that MD5 alone sets the pace. Chunks reach the worker
 * through a ring of SLOTS shared slots of SLOT_BYTES: one copy into memory already mapped.
 * (Posting each chunk instead cost a copy into a fresh 1 MB buffer per chunk, whose page faults
 * made hashing a third slower.) When every slot waits for the worker, `update` waits for one.
 */
export class ParallelHasher {
  private readonly ring = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  private readonly worker = new Worker(builtScript(__dirname, 'hashWorker'), {
    workerData: { ring: this.ring, slotBytes: SLOT_BYTES },
  });
  private readonly adler32 = new Adler32();
  private readonly free = Array.from({ length: SLOTS }, (_, slot) => slot);
  private slotReturned: (() => void) | undefined;
  private updating = false;
  private digested: ((digest: { md5: string; adler32: string }) => void) | undefined;
  private failure: Error | undefined;

  constructor() {
    this.worker.on('message', (message: { free?: number; md5?: string }) => {
      if (message.free !== undefined) {
        this.free.push(message.free);
        this.wake();
      } else if (message.md5) {
        this.digested?.({ md5: message.md5, adler32: this.adler32.hex() });
      }
    });
    this.worker.on('error', (error) => {
      this.failure = error;
      this.wake();
    });
  }

  /**
   * Adds a chunk; resolves once it is in the ring (at once while a slot is free), after which
   * the caller may reuse the chunk's memory. One call at a time: the digests follow the order
   * of the bytes, so a second call before the first resolved is refused.
   */
  async update(chunk: Uint8Array): Promise<void> {
    if (this.updating)
      throw new Error('ParallelHasher: update() called before the last one resolved');
    this.updating = true;
    try {
      await this.enqueue(chunk);
    } finally {
      this.updating = false;
    }
  }

  private async enqueue(chunk: Uint8Array): Promise<void> {
    this.adler32.update(chunk);
    for (let start = 0; start < chunk.length; start += SLOT_BYTES) {
      const piece = chunk.subarray(start, start + SLOT_BYTES);
      while (this.free.length === 0 && !this.failure)
        await new Promise<void>((resolve) => (this.slotReturned = resolve));
      if (this.failure) throw this.failure;
      const slot = this.free.pop()!;
      new Uint8Array(this.ring, slot * SLOT_BYTES, piece.length).set(piece);
      this.worker.postMessage({ slot, length: piece.length });
    }
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

  private wake(): void {
    this.slotReturned?.();
    this.slotReturned = undefined;
  }
}
