import type { Readable } from 'node:stream';

export interface ObjectInfo {
  size: number;
  /** The store's checksum when it has one (S3 ETag of a single-part upload is the MD5). */
  etag?: string;
  lastModified?: Date;
  /**
   * Set by an upload that checked the store holds exactly the bytes it was given (S3: the
   * composite ETag against the MD5s of the parts sent): nothing to read back.
   */
  verified?: boolean;
}

/**
 * An upload fed chunk by chunk (INGEST's: the same chunks also go to the hashers and the
 * index). `write` resolves once the store is done with the chunk's memory, so that the caller
 * may read the next bytes into it; recycling read buffers spares the garbage collector a
 * 1 MB buffer per MB ingested.
 */
export interface ObjectUpload {
  write(chunk: Buffer): Promise<void>;
  /** Every byte is written: completes the object (all-or-nothing, as `put`). */
  finish(): Promise<ObjectInfo>;
  /** Gives the upload up: no object is left under the key. */
  abort(reason: Error): Promise<void>;
}

/**
 * Where verified copies of raw data and reconstruction outputs live. A put is all-or-nothing:
 * a failed or interrupted upload never leaves an object under the key.
 */
export interface ObjectStore {
  /** Human-readable location for logs and `storageSummary`, without credentials. */
  readonly location: string;
  /** The bucket name recorded on DataFile rows. */
  readonly bucket: string;
  put(key: string, body: Readable, size?: number): Promise<ObjectInfo>;
  /** Starts an upload written chunk by chunk; throws at once on an invalid key. */
  openUpload(key: string, size?: number): ObjectUpload;
  get(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /** Null when no object has the key. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** A URL that downloads the object for `expiresSeconds` without further credentials. */
  presign(key: string, expiresSeconds: number): Promise<string>;
  /**
   * A URL that stores one object under `key` with a single PUT (its Content-Length given) for
   * `expiresSeconds`: how a batch node without credentials hands its outputs over.
   */
  presignUpload(key: string, expiresSeconds: number): Promise<string>;
  /** Throws when the store cannot be reached (readiness probe). */
  ping(): Promise<void>;
}

/** `put` through a store's chunked upload: every chunk written, or the upload given up. */
export async function putThroughUpload(upload: ObjectUpload, body: Readable): Promise<ObjectInfo> {
  try {
    for await (const chunk of body) await upload.write(chunk as Buffer);
  } catch (error) {
    await upload.abort(error as Error);
    throw error;
  }
  return upload.finish();
}

/** Rejects keys that could escape the store or confuse S3 ("..", leading "/", control characters). */
export function assertValidKey(key: string): void {
  if (
    key.length === 0 ||
    key.length > 1024 ||
    key.startsWith('/') ||
    key.split('/').some((part) => part === '..' || part === '.' || part === '') ||
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    /[\u0000-\u001f\\]/.test(key)
  ) {
    throw new Error(`invalid object key "${key}"`);
  }
}
