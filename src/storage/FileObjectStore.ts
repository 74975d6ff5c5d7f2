import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FileUpload } from './fileUpload';
import {
  assertValidKey,
  putThroughUpload,
  type ObjectInfo,
  type ObjectStore,
  type ObjectUpload,
} from './ObjectStore';
import type { UrlSigner } from './signedUrls';

/** The embedded object store: a directory. Uploads land in a temp file and are renamed into place. */
export class FileObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly location: string;
  private readonly tmpDir: string;

  constructor(
    private readonly root: string,
    private readonly signer: UrlSigner,
  ) {
    this.bucket = path.basename(root);
    this.location = `file:${root}`;
    this.tmpDir = path.join(root, '.incoming');
  }

  /**
   * Creates the directories and removes uploads abandoned by a crashed process (temp files in
   * .incoming older than `staleAfterMs`; younger ones may belong to a live upload elsewhere).
   */
  async init(staleAfterMs = 3_600_000): Promise<void> {
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const now = Date.now();
    for (const name of await fsp.readdir(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      const stats = await fsp.stat(file).catch(() => null);
      if (stats && now - stats.mtimeMs > staleAfterMs) await fsp.rm(file, { force: true });
    }
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  put(key: string, body: Readable, size?: number): Promise<ObjectInfo> {
    return putThroughUpload(this.openUpload(key, size), body);
  }

  openUpload(key: string, size?: number): ObjectUpload {
    return new FileUpload(path.join(this.tmpDir, randomUUID()), this.pathOf(key), key, size);
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const file = this.pathOf(key);
    await fsp.access(file);
    return fs.createReadStream(file, range ? { start: range.start, end: range.end } : {});
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    try {
      const stats = await fsp.stat(this.pathOf(key));
      return stats.isFile() ? { size: stats.size, lastModified: stats.mtime } : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true });
  }

  async presignUpload(key: string, expiresSeconds: number): Promise<string> {
    assertValidKey(key);
    return this.signer.sign(key, expiresSeconds, Date.now(), 'PUT');
  }

  async presign(key: string, expiresSeconds: number): Promise<string> {
    assertValidKey(key);
    return this.signer.sign(key, expiresSeconds);
  }

  async ping(): Promise<void> {
    await fsp.access(this.tmpDir, fs.constants.W_OK);
  }
}
