import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crc32c } from '../../src/reco/checksums';
import { readMidasEvents } from '../../src/reco/midas';
import { IngestService } from '../../src/services/IngestService';
import { createObjectStore } from '../../src/storage/createObjectStore';
import type { ObjectStore } from '../../src/storage/ObjectStore';
import { UrlSigner } from '../../src/storage/signedUrls';
import { smallMidasRun } from '../support/midasFixtures';
import { startS3, type TestS3 } from '../support/s3';
import { adler32, md5, readAll } from '../support/bytes';

// INGEST's copy + hash + index pass on runs whose camera events (2.9 MB) span several 1 MB
// read chunks, on both stores: the read buffers are recycled while the index still holds
// parts of an event and while the upload holds what it was given, and none of it may show
// as a wrong byte in the object, a wrong checksum or a wrong index row.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-ingest-copy-'));
const plain = smallMidasRun(7001, 8, 1200); // ~23 MB
const files = {
  plain: { path: path.join(dir, 'run07001.mid'), content: plain },
  gzip: { path: path.join(dir, 'run07001.mid.gz'), content: zlib.gzipSync(plain, { level: 1 }) },
};
for (const { path: file, content } of Object.values(files)) fs.writeFileSync(file, content);

let s3: TestS3;
const stores: Record<string, ObjectStore> = {};

beforeAll(async () => {
  const signer = new UrlSigner('secret', 'http://127.0.0.1:4000');
  s3 = await startS3('ingest-copy');
  // One part per object: s3rver has no multipart upload.
  stores.file = await createObjectStore(`file:${path.join(dir, 'objects')}`, 64 << 20, signer);
  stores.s3 = await createObjectStore(s3.url, 64 << 20, signer);
});
afterAll(async () => {
  await s3?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(['file', 's3'])('copyAndIndex to the %s store', (storeName) => {
  it.each(Object.keys(files))(
    'a %s run with multi-chunk events: object, checksums and index exact',
    async (kind) => {
      const { path: file, content } = files[kind as keyof typeof files];
      const store = stores[storeName];
      const key = `LNGS/${path.basename(file)}`;
      const expected: Array<{ offset: number; serial: number; banks: string[] }> = [];
      for await (const event of readMidasEvents(Readable.from([plain]))) {
        if (event.kind === 'DATA')
          expected.push({
            offset: event.offset,
            serial: event.serial,
            banks: event.banks.map((b) => b.name),
          });
      }

      const job = new AbortController();
      const result = await new IngestService(store, dir).copyAndIndex(file, key, content.length, {
        crc32c: true,
        signal: job.signal,
      });
      // A job copies each of a run's files under one signal: nothing stays listening to it.
      expect(getEventListeners(job.signal, 'abort')).toHaveLength(0);

      expect(result.sizeBytes).toBe(content.length);
      expect(result.md5).toBe(md5(content));
      expect(result.adler32).toBe(adler32(content));
      expect(result.crc32c).toBe(new Crc32c().update(content).hex());
      expect(md5(await readAll(await store.get(key)))).toBe(md5(content));
      expect(
        result.events.map((e) => ({ offset: e.fileOffset, serial: e.serial, banks: e.bankNames })),
      ).toEqual(expected);
      expect(expected).toHaveLength(8);
      expect(result.bor).toBeDefined();
      expect(result.eor).toBeDefined();
      await store.delete(key);
    },
  );

  it('a run cut off mid-event fails with the reader message and leaves no object', async () => {
    const store = stores[storeName];
    const cut = path.join(dir, `cut-${storeName}.mid`);
    fs.writeFileSync(cut, plain.subarray(0, plain.length - 1_500_000));
    await expect(
      new IngestService(store, dir).copyAndIndex(cut, 'LNGS/cut.mid', plain.length - 1_500_000),
    ).rejects.toThrow(/truncated event/);
    expect(await store.stat('LNGS/cut.mid')).toBeNull();
  });

  it('an abort during the copy stops it and leaves no object', async () => {
    const store = stores[storeName];
    const controller = new AbortController();
    const copying = new IngestService(store, dir).copyAndIndex(
      files.plain.path,
      'LNGS/aborted.mid',
      plain.length,
      { signal: controller.signal, onBytes: (bytes) => bytes > 4 << 20 && controller.abort() },
    );
    await expect(copying).rejects.toThrow(/abort/i);
    expect(await store.stat('LNGS/aborted.mid')).toBeNull();
  });
});
