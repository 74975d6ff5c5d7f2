import { createHash } from 'node:crypto';
import { eventIndexRow } from './eventIndexRow';
import { once } from 'node:events';
import type { Stats } from 'node:fs';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { Crc32c, parseCrc32cSidecar, type Crc32cSidecar } from '../reco/checksums';
import { detectCompression, eventText, indexMidasEvents } from '../reco/midas';
import { parseOdbDump, type OdbTree } from '../reco/midas/odb';
import type { ObjectInfo, ObjectStore } from '../storage/ObjectStore';
import { openInBuffer, readTextInBuffer, statInBuffer } from './bufferPaths';
import { logger } from '../logger';
import { GzipSeekIndexer } from './GzipSeekIndexer';
import { ParallelHasher } from './ParallelHasher';
import { RecyclingFileReader } from './RecyclingFileReader';

/** One indexed MIDAS data event, as the events table stores it. */
const log = logger('ingest');

/** Where a gzip file's seek index is stored: beside the file's object. */
export const seekIndexKeyOf = (key: string): string => `${key}.gzidx`;

export interface EventIndexRow {
  serial: number;
  eventId: number;
  triggerMask: number;
  timestamp: Date;
  fileOffset: number;
  sizeBytes: number;
  bankNames: string[];
}

export interface CopyResult {
  sizeBytes: number;
  md5: string;
  adler32: string;
  /** Computed only when asked for (a .crc32c sidecar exists): it costs a pass of its own. */
  crc32c?: string;
  stored: ObjectInfo;
  /** Object key of the gzip seek index stored beside the file (gzip files only). */
  seekIndexKey?: string;
  events: EventIndexRow[];
  bor?: OdbTree;
  eor?: OdbTree;
}

export interface CopyOptions {
  signal?: AbortSignal;
  /** Called with the bytes read so far. */
  onBytes?: (bytes: number) => void;
  /** Also compute CRC-32C (to compare with a .crc32c sidecar). */
  crc32c?: boolean;
}

/** Writes a chunk, waiting for the consumer when it asks for a pause (backpressure). */
async function feed(target: Writable, chunk: Buffer): Promise<void> {
  // A stream destroyed by another failure would never drain: fail instead of waiting forever.
  if (target.destroyed) throw target.errored ?? new Error('the stream was closed');
  if (!target.write(chunk)) await once(target, 'drain');
}

/**
 * A promise that rejects when the signal fires, so that the read loop's waits end on an abort
 * and not only between chunks; `forget` removes its listener once the copy is over (one job
 * copies each of a run's files under the same signal).
 */
function whenAborted(signal: AbortSignal | undefined): {
  aborted?: Promise<never>;
  forget(): void;
} {
  if (!signal) return { forget: () => undefined };
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined); // reported by the read loop that races it, if still running
  return { aborted, forget: () => signal.removeEventListener('abort', onAbort) };
}

const CHUNK_BYTES = 1 << 20;

/**
 * Moves a raw file from the DAQ buffer to the object store in one read: the same bytes feed
 * the MD5 and adler32 hashers (MD5 off the main thread), CRC-32C when a sidecar asks for it,
 * the upload, and the MIDAS reader that indexes every event and picks up the BOR/EOR ODB
 * dumps. Any failure (unreadable file, malformed MIDAS, the store refusing) stops all of them
 * and leaves no object under the key.
 */
export class IngestService {
  constructor(
    private readonly store: ObjectStore,
    /** Files are read only from inside this directory (the DAQ buffer), links checked. */
    private readonly bufferDir: string,
  ) {}

  get bucket(): string {
    return this.store.bucket;
  }

  deleteObject(key: string): Promise<void> {
    return this.store.delete(key);
  }

  async copyAndIndex(
    localPath: string,
    key: string,
    expectedSize: number,
    options: CopyOptions = {},
  ): Promise<CopyResult> {
    const upload = this.store.openUpload(key, expectedSize);
    const input = await openInBuffer(this.bufferDir, localPath).catch(async (error: Error) => {
      await upload.abort(error);
      throw error;
    });
    const reader = new RecyclingFileReader(input, CHUNK_BYTES);
    const hasher = new ParallelHasher();
    const crc = options.crc32c ? new Crc32c() : undefined;
    const parse = new PassThrough({ highWaterMark: 4 << 20 });
    const events: EventIndexRow[] = [];
    let seekIndexer: GzipSeekIndexer | undefined;
    let bor: OdbTree | undefined;
    let eor: OdbTree | undefined;

    // A read buffer is recycled once the hashers and the upload are done with it (`copied`)
    // and the index is past it (`indexed`). The index reads a plain file's own chunks, and
    // its event offsets are offsets in the file; a compressed file's chunks go to the
    // decompressor as copies (it keeps input for as long as it likes), so only `copied` counts.
    let copied = 0;
    let indexed = 0;
    let plain = false;
    const recycle = () => reader.recycleUpTo(plain ? Math.min(copied, indexed) : copied);

    const indexing = (async () => {
      for await (const event of indexMidasEvents(parse)) {
        if (event.kind === 'BOR') bor ??= parseOdbDump(eventText(event));
        else if (event.kind === 'EOR') eor = parseOdbDump(eventText(event));
        else if (event.kind === 'DATA') {
          events.push(eventIndexRow(event));
        }
        // Nothing of this event is read after this point (the ODB dumps are parsed above).
        indexed = event.offset + 16 + event.dataSize;
        recycle();
      }
      indexed = Infinity;
    })();
    const { aborted, forget } = whenAborted(options.signal);
    const reading = (async () => {
      for await (const chunk of reader.chunks()) {
        if (copied === 0) {
          const compression = detectCompression(chunk);
          plain = compression === 'none';
          if (compression === 'gzip') seekIndexer = new GzipSeekIndexer();
        }
        crc?.update(chunk);
        const consumed = Promise.all([
          hasher.update(chunk),
          upload.write(chunk),
          feed(parse, plain ? chunk : Buffer.from(chunk)),
          seekIndexer?.update(chunk),
        ]);
        await (aborted ? Promise.race([consumed, aborted]) : consumed);
        copied += chunk.length;
        recycle();
        options.onBytes?.(copied);
      }
      parse.end();
      return copied;
    })();

    // The first failure stops the others: a broken upload or a malformed file ends the read.
    let stopping: Promise<void> | undefined;
    const stopAll = (error: Error) => {
      parse.destroy(error);
      stopping ??= upload.abort(error);
    };
    reading.catch(stopAll);
    indexing.catch(stopAll);
    try {
      const [sizeBytes] = await Promise.all([reading, indexing]);
      const stored = await upload.finish();
      const { md5, adler32 } = await hasher.digest();
      const seekIndexKey = seekIndexer && (await this.storeSeekIndex(seekIndexer, key));
      return {
        sizeBytes,
        md5,
        adler32,
        crc32c: crc?.hex(),
        stored,
        seekIndexKey,
        events,
        bor,
        eor,
      };
    } catch (error) {
      stopAll(error as Error);
      await Promise.allSettled([reading, indexing, stopping]);
      await hasher.close();
      await seekIndexer?.close();
      await this.store.delete(key).catch(() => undefined);
      throw error;
    } finally {
      forget();
      await input.close();
    }
  }

  /**
   * Stores a gzip file's seek index beside it. Without one, an event of the file is still
   * served, by inflating from the start: a failure here costs speed, never the ingest.
   */
  private async storeSeekIndex(indexer: GzipSeekIndexer, key: string): Promise<string | undefined> {
    try {
      const index = await indexer.finish();
      await this.store.put(seekIndexKeyOf(key), Readable.from([index]), index.length);
      return seekIndexKeyOf(key);
    } catch (error) {
      log.warn(
        { err: error, key },
        'no gzip seek index for this file: events are read from its start',
      );
      return undefined;
    }
  }

  /**
   * Checks the stored copy: its size, and its MD5 from the store when the store has it (S3
   * single-part ETag) or by reading the object back — unless the upload itself (`uploaded`)
   * already checked the store holds the very bytes that were hashed (S3 in parts).
   */
  async verifyStored(
    key: string,
    sizeBytes: number,
    md5: string,
    uploaded?: ObjectInfo,
  ): Promise<string | null> {
    if (uploaded?.verified && uploaded.size === sizeBytes) return null;
    const info = await this.store.stat(key);
    if (!info) return `object ${key} is missing after upload`;
    if (info.size !== sizeBytes)
      return `object ${key} has ${info.size} bytes, the buffer file ${sizeBytes}`;
    const etag = info.etag?.replace(/"/g, '').toLowerCase();
    if (etag && /^[0-9a-f]{32}$/.test(etag)) {
      return etag === md5 ? null : `object ${key}: store MD5 ${etag} differs from ${md5}`;
    }
    const reread = createHash('md5');
    for await (const chunk of await this.store.get(key)) reread.update(chunk as Buffer);
    const digest = reread.digest('hex');
    return digest === md5 ? null : `object ${key}: re-read MD5 ${digest} differs from ${md5}`;
  }

  /** `stat` of a file in the DAQ buffer (OutsideBufferError when it leads out of it). */
  statBufferFile(localPath: string): Promise<Stats> {
    return statInBuffer(this.bufferDir, localPath);
  }

  /** The mlogger `.crc32c` sidecar next to a buffer file, when there is one. */
  async readSidecar(localPath: string): Promise<Crc32cSidecar | undefined> {
    const text = await readTextInBuffer(this.bufferDir, `${localPath}.crc32c`);
    return text === undefined ? undefined : parseCrc32cSidecar(text);
  }
}
