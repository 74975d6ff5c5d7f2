import type { Readable } from 'node:stream';
import type { Database } from '../db/Database';
import { DataFile } from '../entities/DataFile';
import { Event } from '../entities/Event';
import { ConflictError, NotFoundError } from '../errors';
import { decompressRange, detectCompression } from '../reco/midas';
import {
  compressedStartOf,
  decodeSeekIndex,
  inflateRange,
  seekPointFor,
  type GzipSeekIndex,
} from '../reco/midas/gzipSeekIndex';
import { ReplicaState } from '../schema/enums';
import type { ObjectStore } from '../storage/ObjectStore';
import type { UrlSigner } from '../storage/signedUrls';
import { DOWNLOAD_URL_TTL_SECONDS } from './FileService';
import { seekIndexKeyOf } from './IngestService';

/** How the bytes were found: a range of a plain file, from a seek point, or from the start. */
export type EventRead = 'range' | 'seek-index' | 'from-start';

/** Decoded seek indexes of the last files read (a notebook walks one run at a time). */
const CACHED_INDEXES = 8;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * One MIDAS event's bytes out of its run's stored raw file, without the whole file: a byte
 * range of a plain file; for a gzip file (what CYGNO writes), a few MB inflated from the
 * nearest point of the seek index ingestion stored beside it. Files without an index (lz4,
 * ingested before there were indexes) are inflated from their start, and say so.
 */
export class EventBytesService {
  private readonly indexes = new Map<string, Promise<GzipSeekIndex | null>>();

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly signer: UrlSigner,
  ) {}

  /** A signed, expiring link to the event's bytes (the gateway's /event-bytes route). */
  downloadUrl(eventId: number): string {
    return this.signer.signRoute('event-bytes', String(eventId), DOWNLOAD_URL_TTL_SECONDS);
  }

  verify(eventId: string, expires?: string, signature?: string): boolean {
    return this.signer.verifyRoute('event-bytes', eventId, expires, signature);
  }

  async read(eventId: number): Promise<{ bytes: Buffer; event: Event; how: EventRead }> {
    const event = await this.db.manager.findOneBy(Event, { id: eventId });
    if (!event) throw new NotFoundError('event', eventId);
    const file = await this.db.manager.findOneBy(DataFile, { id: event.fileId });
    if (!file?.objectKey || file.cloudState !== ReplicaState.AVAILABLE)
      throw new ConflictError(
        `event ${eventId}: ${file?.name ?? 'its file'} has no cloud copy now (recall it from tape first)`,
      );
    const key = file.objectKey;
    const { fileOffset: offset, sizeBytes: length } = event;
    const head = await readAll(await this.store.get(key, { start: 0, end: 3 }));
    const compression = detectCompression(head);
    let bytes: Buffer;
    let how: EventRead;
    if (compression === 'none') {
      bytes = await readAll(await this.store.get(key, { start: offset, end: offset + length - 1 }));
      how = 'range';
    } else {
      const index = compression === 'gzip' ? await this.seekIndex(key) : null;
      const point = index && seekPointFor(index, offset);
      const compressed = await this.store.get(
        key,
        point ? { start: compressedStartOf(point) } : undefined,
      );
      try {
        bytes = point
          ? await inflateRange(point, compressed, offset, length)
          : await decompressRange(compressed, offset, length);
      } finally {
        compressed.destroy();
      }
      how = point ? 'seek-index' : 'from-start';
    }
    // The index and the file must agree: the header's serial is the event's.
    if (bytes.length !== length || bytes.readUInt32LE(4) !== event.serial)
      throw new Error(
        `event ${eventId}: the bytes at ${offset} of ${key} are not event ${event.serial}`,
      );
    return { bytes, event, how };
  }

  private seekIndex(key: string): Promise<GzipSeekIndex | null> {
    let index = this.indexes.get(key);
    if (!index) {
      index = (async () => {
        if (!(await this.store.stat(seekIndexKeyOf(key)))) return null;
        return decodeSeekIndex(await readAll(await this.store.get(seekIndexKeyOf(key))));
      })();
      index.catch(() => this.indexes.delete(key));
      this.indexes.set(key, index);
      if (this.indexes.size > CACHED_INDEXES)
        this.indexes.delete(this.indexes.keys().next().value!);
    }
    return index;
  }
}
