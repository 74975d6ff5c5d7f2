import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore } from '../../src/storage/createObjectStore';
import type { ObjectStore } from '../../src/storage/ObjectStore';
import { UrlSigner } from '../../src/storage/signedUrls';
import { s3ServerName, startS3, type TestS3 } from '../support/s3';
import { md5, readAll } from '../support/bytes';

// One contract, every backend: the file store and S3 (Ceph RGW with TEST_OBJECT_STORE=rgw,
// else s3rver started here).

const PART_SIZE = 5 * 1024 * 1024;

function failingStream(after: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(after);
      } else {
        this.destroy(new Error('DAQ buffer read failed'));
      }
    },
  });
}

const backends: Array<{
  name: string;
  open: () => Promise<{ store: ObjectStore; close: () => Promise<void> }>;
}> = [
  {
    name: 'file',
    open: async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-store-'));
      const store = await createObjectStore(
        `file:${dir}`,
        PART_SIZE,
        new UrlSigner('secret', 'http://127.0.0.1:4000'),
      );
      return { store, close: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: `s3 (${s3ServerName()})`,
    open: async () => {
      const s3: TestS3 = await startS3();
      const store = await createObjectStore(
        s3.url,
        PART_SIZE,
        new UrlSigner('secret', 'http://127.0.0.1:4000'),
      );
      return { store, close: () => s3.stop() };
    },
  },
];

describe.each(backends)('ObjectStore contract: $name', ({ open }) => {
  let store: ObjectStore;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ store, close } = await open());
  });
  afterAll(async () => {
    await close?.();
  });

  it('puts, stats and gets an object byte for byte', async () => {
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const info = await store.put('LNGS/run00001.mid.gz', Readable.from([body]), body.length);
    expect(info.size).toBe(body.length);
    expect((await store.stat('LNGS/run00001.mid.gz'))?.size).toBe(body.length);
    const back = await readAll(await store.get('LNGS/run00001.mid.gz'));
    expect(md5(back)).toBe(md5(body));
  });

  it('reads a byte range', async () => {
    await store.put('LNGS/range.bin', Readable.from([Buffer.from('0123456789')]), 10);
    expect(
      (await readAll(await store.get('LNGS/range.bin', { start: 3, end: 6 }))).toString(),
    ).toBe('3456');
    expect((await readAll(await store.get('LNGS/range.bin', { start: 8 }))).toString()).toBe('89');
  });

  it('answers null for a missing key and deletes idempotently', async () => {
    expect(await store.stat('LNGS/nothing-here')).toBeNull();
    await store.put('LNGS/gone.bin', Readable.from([Buffer.from('x')]), 1);
    await store.delete('LNGS/gone.bin');
    await store.delete('LNGS/gone.bin');
    expect(await store.stat('LNGS/gone.bin')).toBeNull();
  });

  it('leaves no object behind when the upload stream fails', async () => {
    await expect(
      store.put('LNGS/partial.bin', failingStream(Buffer.alloc(1024, 1)), 4096),
    ).rejects.toThrow();
    expect(await store.stat('LNGS/partial.bin')).toBeNull();
  });

  it('refuses a body shorter than the declared size', async () => {
    await expect(
      store.put('LNGS/short.bin', Readable.from([Buffer.alloc(10)]), 20),
    ).rejects.toThrow();
    expect(await store.stat('LNGS/short.bin')).toBeNull();
  });

  it('uploads chunk by chunk from one buffer the caller reuses once each write resolves', async () => {
    // The ingest reads every chunk into recycled buffers: a store that kept a chunk past its
    // write (minio keeps a part's chunks until it sends the part) would store later bytes.
    const buffer = Buffer.alloc(64 * 1024);
    const expected = createHash('md5');
    const upload = store.openUpload('LNGS/chunked.bin', 20 * buffer.length);
    for (let i = 0; i < 20; i++) {
      buffer.fill(i + 1);
      expected.update(buffer);
      await upload.write(buffer);
    }
    expect((await upload.finish()).size).toBe(20 * buffer.length);
    const back = await readAll(await store.get('LNGS/chunked.bin'));
    expect(md5(back)).toBe(expected.digest('hex'));
  });

  it('leaves no object behind when a chunked upload is aborted or comes up short', async () => {
    const aborted = store.openUpload('LNGS/aborted.bin', 3000);
    await aborted.write(Buffer.alloc(1000, 7));
    await aborted.abort(new Error('the DAQ buffer read failed'));
    expect(await store.stat('LNGS/aborted.bin')).toBeNull();

    const short = store.openUpload('LNGS/short-chunked.bin', 3000);
    await short.write(Buffer.alloc(1000, 7));
    await expect(short.finish()).rejects.toThrow();
    expect(await store.stat('LNGS/short-chunked.bin')).toBeNull();
    expect(() => store.openUpload('../escape', 1)).toThrow(/invalid object key/);
  });

  it('rejects keys that could escape the store', async () => {
    for (const key of ['../etc/passwd', '/abs', 'a//b', 'a/./b', '']) {
      await expect(store.stat(key)).rejects.toThrow(/invalid object key/);
    }
  });

  it('presigns a download URL and answers ping', async () => {
    await store.put('LNGS/signed.bin', Readable.from([Buffer.from('signed')]), 6);
    const url = await store.presign('LNGS/signed.bin', 60);
    expect(url).toMatch(/^https?:\/\//);
    expect(url).toContain('signed.bin');
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

describe('FileObjectStore', () => {
  it('removes uploads abandoned by a crashed process when it opens, and only those', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-store-'));
    const incoming = path.join(dir, '.incoming');
    fs.mkdirSync(incoming);
    fs.writeFileSync(path.join(incoming, 'abandoned'), 'partial');
    fs.utimesSync(
      path.join(incoming, 'abandoned'),
      new Date(Date.now() - 2 * 3_600_000),
      new Date(Date.now() - 2 * 3_600_000),
    );
    fs.writeFileSync(path.join(incoming, 'in-progress'), 'partial');
    await createObjectStore(
      `file:${dir}`,
      PART_SIZE,
      new UrlSigner('secret', 'http://127.0.0.1:4000'),
    );
    expect(fs.readdirSync(incoming)).toEqual(['in-progress']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
