import { Readable } from 'node:stream';
import { decompressRange } from '../src/reco/midas';
import {
  compressedStartOf,
  decodeSeekIndex,
  inflateRange,
  seekPointFor,
} from '../src/reco/midas/gzipSeekIndex';
import { IngestService, seekIndexKeyOf } from '../src/services/IngestService';
import type { ObjectStore } from '../src/storage/ObjectStore';

// Part of npm run bench:ingest: one camera event out of the stored gzip run, as Event.downloadUrl
// serves it (inflated from the nearest seek point), against the only way without an index
// (inflating the object from its start up to the event). Reports time and compressed bytes read.

async function seconds<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - start) / 1e9, value];
}

/** Counts the bytes a consumer actually pulls from a stream. */
function counted(stream: Readable, into: { bytes: number }): AsyncIterable<Buffer> {
  return (async function* () {
    for await (const chunk of stream) {
      into.bytes += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  })();
}

export async function benchEventRead(
  store: ObjectStore,
  bufferDir: string,
  gzipName: string,
  size: number,
): Promise<void> {
  const key = 'bench/event-read.mid.gz';
  const copy = await new IngestService(store, bufferDir).copyAndIndex(gzipName, key, size);
  const index = decodeSeekIndex(
    Buffer.concat(await Readable.from(await store.get(seekIndexKeyOf(key))).toArray()),
  );
  console.log(
    `\none event of the ${(size / 1e6).toFixed(0)} MB gzip run (${copy.events.length} events; seek index ${index.points.length} points)`,
  );
  console.log('event   seek index s  MB read   from start s  MB read   ratio');
  for (const event of [copy.events[copy.events.length >> 1], copy.events.at(-1)!]) {
    const viaIndex = { bytes: 0 };
    const [indexed, bytes] = await seconds(async () => {
      const point = seekPointFor(index, event.fileOffset);
      const stream = await store.get(key, { start: compressedStartOf(point) });
      const out = await inflateRange(
        point,
        counted(stream, viaIndex),
        event.fileOffset,
        event.sizeBytes,
      );
      stream.destroy();
      return out;
    });
    const fromStart = { bytes: 0 };
    const [whole, expected] = await seconds(async () => {
      const stream = await store.get(key);
      const out = await decompressRange(
        counted(stream, fromStart),
        event.fileOffset,
        event.sizeBytes,
      );
      stream.destroy();
      return out;
    });
    if (!bytes.equals(expected)) throw new Error(`event ${event.serial}: the two reads differ`);
    console.log(
      `${String(event.serial).padStart(5)} ${indexed.toFixed(3).padStart(14)} ${(viaIndex.bytes / 1e6).toFixed(1).padStart(8)} ${whole.toFixed(3).padStart(14)} ${(fromStart.bytes / 1e6).toFixed(1).padStart(8)}  ${(indexed / whole).toFixed(3)}`,
    );
  }
  await store.delete(key);
  await store.delete(seekIndexKeyOf(key));
}
