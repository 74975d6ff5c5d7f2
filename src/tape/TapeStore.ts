import type { Readable } from 'node:stream';

/** What the tape endpoint says about a file. */
export interface TapeObject {
  size: number;
  /** The endpoint's own adler32 (RFC 3230 Digest), lowercase 8 hex; null when it has none. */
  adler32: string | null;
}

/**
 * The custodial copy: a tape system behind a file or WebDAV door (StoRM WebDAV at CNAF). Paths
 * are relative to the store's base; the store never decides what is a replica — the
 * TAPE_COPY job does, after checking size and checksum.
 */
export interface TapeStore {
  /** Where the copies go, without credentials (recorded on TapeCopy rows). */
  readonly endpoint: string;
  urlFor(path: string): string;
  put(path: string, body: Readable, size: number): Promise<void>;
  /** Null when the endpoint has no such file. */
  stat(path: string): Promise<TapeObject | null>;
  get(path: string): Promise<Readable>;
  /** Deleting a missing file is not an error. */
  delete(path: string): Promise<void>;
}

/** The endpoint refused our credentials (401/403): retrying helps only with a new token. */
export class TapeAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TapeAuthError';
  }
}
