import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

/** Bytes written between two flushes to disk while a file is being written. */
export const SYNC_EVERY_BYTES = 32 << 20;

/**
 * Writes a stream into an open file and flushes it to disk as it goes: an fdatasync every
 * SYNC_EVERY_BYTES, one at a time and not waited for, so that the disk writes what has come
 * while the next bytes arrive, rather than all of a 1 GB file in one fsync at the end. The
 * stream finishes only once the whole file is on disk (a final fsync).
 */
export class SyncingFileWriter extends Writable {
  private written = 0;
  private syncedUpTo = 0;
  private syncing: Promise<void> | undefined;

  constructor(private readonly handle: FileHandle) {
    super({ highWaterMark: 4 << 20 });
  }

  override _write(chunk: Buffer, _encoding: string, done: (error?: Error | null) => void): void {
    this.writeAll(chunk).then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    (async () => {
      await this.syncing;
      await this.handle.sync();
    })().then(() => done(), done);
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length;) {
      const { bytesWritten } = await this.handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
    this.written += chunk.length;
    if (!this.syncing && this.written - this.syncedUpTo >= SYNC_EVERY_BYTES) {
      const upTo = this.written;
      this.syncing = this.handle.datasync().then(() => {
        this.syncedUpTo = upTo;
        this.syncing = undefined;
      });
      // A failed flush fails the stream at the next write or at the end, never unhandled.
      this.syncing.catch((error: Error) => this.destroy(error));
    }
  }
}
