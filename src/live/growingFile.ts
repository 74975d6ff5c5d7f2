import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** The file being followed was shortened or replaced under the follower. */
export class FollowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FollowError';
  }
}

export interface FollowOptions {
  /** Stops following (the generator returns). */
  signal: AbortSignal;
  /** Whether the writer is done with the file: once it is, the follower reads to its end. */
  finished: () => boolean | Promise<boolean>;
  /** Poll interval: the fallback where file-system notifications do not come (NFS, CIFS). */
  pollMs: number;
  /** Largest chunk handed out at once. */
  chunkBytes?: number;
  /** Use file-system notifications (default); without, polling alone. */
  notify?: boolean;
}

/**
 * The bytes of a file as its writer (MIDAS' logger) appends them, chunk by chunk, until the
 * writer is done and everything has been read. Waits for a file that does not exist yet.
 * Opens the file read-only and never locks, renames or touches it. Wakes on file-system
 * notifications of its directory and at least every `pollMs`. A file that gets shorter than
 * what was read, or is replaced by another file of the same name, ends in a FollowError.
 */
export async function* followGrowingFile(
  file: string,
  options: FollowOptions,
): AsyncGenerator<Buffer> {
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const wake = new Wakeup(
    options.notify === false ? undefined : path.dirname(file),
    options.pollMs,
    options.signal,
  );
  let handle: fsp.FileHandle | undefined;
  try {
    while (!handle) {
      if (options.signal.aborted) return;
      handle = await fsp.open(file, fs.constants.O_RDONLY).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (!handle) {
        if (await options.finished()) return; // the writer is done and never wrote it
        await wake.next();
      }
    }
    const { ino } = await handle.stat();
    let position = 0;
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      if (options.signal.aborted) return;
      // Asked before reading: what the writer finished is then all on disk when read below.
      const finished = await options.finished();
      const { size } = await handle.stat();
      if (size < position)
        throw new FollowError(
          `${file}: shortened from ${position} to ${size} bytes while followed`,
        );
      const now = await fsp.stat(file).catch(() => undefined);
      if (now && now.ino !== ino)
        throw new FollowError(`${file}: replaced by another file while followed`);
      while (position < size) {
        const { bytesRead } = await handle.read(
          buffer,
          0,
          Math.min(chunkBytes, size - position),
          position,
        );
        if (bytesRead === 0) break;
        position += bytesRead;
        yield Buffer.from(buffer.subarray(0, bytesRead));
        if (options.signal.aborted) return;
      }
      if (finished) return;
      await wake.next();
    }
  } finally {
    wake.close();
    await handle?.close();
  }
}

/** Resolves on a change in a directory (when the system tells) or after `pollMs`. */
class Wakeup {
  private watcher: fs.FSWatcher | undefined;
  private waiting: (() => void) | undefined;
  private changed = false;

  constructor(
    directory: string | undefined,
    private readonly pollMs: number,
    private readonly signal: AbortSignal,
  ) {
    try {
      if (directory) this.watcher = fs.watch(directory, { persistent: false }, () => this.poke());
      this.watcher?.on('error', () => this.close()); // the directory went: polling goes on
    } catch {
      this.watcher = undefined; // no directory yet, or no notifications here: poll
    }
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = () => this.poke();

  next(): Promise<void> {
    if (this.changed || this.signal.aborted) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.poke(), this.pollMs);
      this.waiting = () => {
        clearTimeout(timer);
        this.waiting = undefined;
        this.changed = false;
        resolve();
      };
    });
  }

  close(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.watcher?.close();
    this.watcher = undefined;
    this.poke();
  }

  private poke(): void {
    if (this.waiting) this.waiting();
    else this.changed = true;
  }
}
