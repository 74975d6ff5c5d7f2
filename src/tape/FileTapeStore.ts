import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TapeObject, TapeStore } from './TapeStore';

/**
 * A tape stand-in on a local (or mounted) file system — the embedded default. `latencyMs`
 * delays every operation, as a tape library's mount and seek would. It has no checksum
 * service: the TAPE_COPY job verifies by reading the copy back.
 */
export class FileTapeStore implements TapeStore {
  readonly endpoint: string;

  constructor(
    private readonly root: string,
    private readonly latencyMs = 0,
  ) {
    this.endpoint = `file:${root}`;
  }

  urlFor(relative: string): string {
    return `file:${this.resolve(relative)}`;
  }

  async put(relative: string, body: Readable, _size: number): Promise<void> {
    await this.wait();
    const target = this.resolve(relative);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.incoming-${process.pid}-${Date.now()}`;
    try {
      const out = fs.createWriteStream(temporary);
      await pipeline(body, out);
      const handle = await fsp.open(temporary, 'r');
      await handle.sync();
      await handle.close();
      await fsp.rename(temporary, target);
    } catch (error) {
      await fsp.rm(temporary, { force: true });
      throw error;
    }
  }

  async stat(relative: string): Promise<TapeObject | null> {
    await this.wait();
    try {
      const stats = await fsp.stat(this.resolve(relative));
      return { size: stats.size, adler32: null };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async get(relative: string): Promise<Readable> {
    await this.wait();
    const file = this.resolve(relative);
    await fsp.access(file);
    return fs.createReadStream(file, { highWaterMark: 1 << 20 });
  }

  async delete(relative: string): Promise<void> {
    await this.wait();
    await fsp.rm(this.resolve(relative), { force: true });
  }

  private resolve(relative: string): string {
    const full = path.resolve(this.root, relative);
    if (!full.startsWith(path.resolve(this.root) + path.sep))
      throw new Error(`tape path "${relative}" leaves the tape root`);
    return full;
  }

  private async wait(): Promise<void> {
    if (this.latencyMs > 0) await sleep(this.latencyMs);
  }
}
