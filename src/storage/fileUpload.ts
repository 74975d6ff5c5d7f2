import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { ObjectInfo, ObjectUpload } from './ObjectStore';
import { SyncingFileWriter } from './syncingFileWriter';

/**
 * An upload into the file store: the bytes go to a temp file, flushed to disk as they come,
 * which is renamed to the object's path only once complete and on disk — a failed or abandoned
 * upload never shows under the key. `write` resolves once the chunk is in the file.
 */
export class FileUpload implements ObjectUpload {
  private readonly opened: Promise<{ handle: FileHandle; writer: SyncingFileWriter }>;
  private failure: Error | undefined;

  constructor(
    private readonly tmp: string,
    private readonly target: string,
    private readonly key: string,
    private readonly size?: number,
  ) {
    this.opened = fsp.open(tmp, 'w').then((handle) => {
      const writer = new SyncingFileWriter(handle);
      // Errors reach the callers through write() and finish(), never as an unhandled event.
      writer.on('error', (error) => (this.failure ??= error));
      return { handle, writer };
    });
    this.opened.catch(() => undefined); // reported by the first write or finish
  }

  async write(chunk: Buffer): Promise<void> {
    const { writer } = await this.opened;
    if (this.failure) throw this.failure;
    // The callback runs once this chunk is written to the file, not merely queued.
    await new Promise<void>((resolve, reject) =>
      writer.write(chunk, (error) => (error ? reject(error) : resolve())),
    );
  }

  async finish(): Promise<ObjectInfo> {
    try {
      const { handle, writer } = await this.opened;
      try {
        writer.end();
        // On disk before the rename below: it must never expose an object that is not.
        await finished(writer);
      } finally {
        await handle.close();
      }
      const { size: written } = await fsp.stat(this.tmp);
      if (this.size !== undefined && written !== this.size) {
        throw new Error(`object ${this.key}: expected ${this.size} bytes, received ${written}`);
      }
      await fsp.mkdir(path.dirname(this.target), { recursive: true });
      await fsp.rename(this.tmp, this.target);
      return { size: written };
    } catch (error) {
      await fsp.rm(this.tmp, { force: true });
      throw error;
    }
  }

  async abort(reason: Error): Promise<void> {
    const opened = await this.opened.catch(() => undefined);
    if (opened) {
      opened.writer.destroy(reason);
      await opened.handle.close().catch(() => undefined);
    }
    await fsp.rm(this.tmp, { force: true });
  }
}
