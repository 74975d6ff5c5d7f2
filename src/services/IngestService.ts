import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { PassThrough, type Writable } from 'node:stream';
import { Crc32c, parseCrc32cSidecar, type Crc32cSidecar } from '../reco/checksums';
import { eventText, indexMidasEvents } from '../reco/midas';
import { parseOdbDump, type OdbTree } from '../reco/midas/odb';
import type { ObjectInfo, ObjectStore } from '../storage/ObjectStore';
import { ParallelHasher } from './ParallelHasher';

/** One indexed MIDAS data event, as the events table stores it. */
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
  if (!target.write(chunk)) await once(target, 'drain');
}

/**
 * Moves a raw file from the DAQ buffer to the object store in one read: the same bytes feed
 * the MD5 and adler32 hashers (off the main thread), CRC-32C when a sidecar asks for it, the upload, and the MIDAS reader that indexes every
 * event and picks up the BOR/EOR ODB dumps. Any failure (unreadable file, malformed MIDAS, the
 * store refusing) stops all three and leaves no object under the key.
 */
export class IngestService {
  constructor(private readonly store: ObjectStore) {}

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
    const hasher = new ParallelHasher();
    const crc = options.crc32c ? new Crc32c() : undefined;
    const upload = new PassThrough({ highWaterMark: 4 << 20 });
    const parse = new PassThrough({ highWaterMark: 4 << 20 });
    const events: EventIndexRow[] = [];
    let bor: OdbTree | undefined;
    let eor: OdbTree | undefined;

    const uploading = this.store.put(key, upload, expectedSize);
    const indexing = (async () => {
      for await (const event of indexMidasEvents(parse)) {
        if (event.kind === 'BOR') bor ??= parseOdbDump(eventText(event));
        else if (event.kind === 'EOR') eor = parseOdbDump(eventText(event));
        else if (event.kind === 'DATA') {
          events.push({
            serial: event.serial,
            eventId: event.eventId,
            triggerMask: event.triggerMask,
            timestamp: new Date(event.time * 1000),
            fileOffset: event.offset,
            sizeBytes: 16 + event.dataSize,
            bankNames: event.banks.map((bank) => bank.name),
          });
        }
      }
    })();
    const reading = (async () => {
      let bytes = 0;
      const input = fs.createReadStream(localPath, {
        highWaterMark: 1 << 20,
        signal: options.signal,
      });
      for await (const chunk of input as AsyncIterable<Buffer>) {
        crc?.update(chunk);
        await Promise.all([hasher.update(chunk), feed(upload, chunk), feed(parse, chunk)]);
        bytes += chunk.length;
        options.onBytes?.(bytes);
      }
      upload.end();
      parse.end();
      return bytes;
    })();

    // The first failure stops the others: a broken upload or a malformed file ends the read.
    const stopAll = (error: Error) => {
      upload.destroy(error);
      parse.destroy(error);
    };
    reading.catch(stopAll);
    indexing.catch(stopAll);
    uploading.catch(stopAll);
    try {
      const [sizeBytes, stored] = await Promise.all([reading, uploading, indexing]).then(
        ([size, info]) => [size, info] as const,
      );
      const { md5, adler32 } = await hasher.digest();
      return {
        sizeBytes,
        md5,
        adler32,
        crc32c: crc?.hex(),
        stored,
        events,
        bor,
        eor,
      };
    } catch (error) {
      await Promise.allSettled([reading, uploading, indexing]);
      await hasher.close();
      await this.store.delete(key).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Checks the stored copy: its size, and its MD5 from the store when the store has it (S3
   * single-part ETag) or by reading the object back.
   */
  async verifyStored(key: string, sizeBytes: number, md5: string): Promise<string | null> {
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

  /** The mlogger `.crc32c` sidecar next to a buffer file, when there is one. */
  async readSidecar(localPath: string): Promise<Crc32cSidecar | undefined> {
    try {
      return parseCrc32cSidecar(await fsp.readFile(`${localPath}.crc32c`, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
