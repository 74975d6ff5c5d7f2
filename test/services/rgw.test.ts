import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestService } from '../../src/services/IngestService';
import { createObjectStore } from '../../src/storage/createObjectStore';
import { S3ObjectStore } from '../../src/storage/S3ObjectStore';
import { s3Etag } from '../../src/storage/s3Upload';
import { UrlSigner } from '../../src/storage/signedUrls';
import { md5, readAll } from '../support/bytes';
import { writeLargeMidasRun } from '../support/midasFixtures';
import { startS3, type TestS3 } from '../support/s3';

// Runs with TEST_OBJECT_STORE=rgw (.ci/run installs Debian's Ceph and sets it): the S3 paths
// a real server decides — multipart upload and its ETag, unfinished uploads, refused
// credentials, presigned URLs — against Ceph RGW, started once for the run.

const PART = 5 * 1024 * 1024; // S3's smallest part
const signer = new UrlSigner('secret', 'http://127.0.0.1:4000');
let s3: TestS3;
let store: S3ObjectStore;

beforeAll(async () => {
  s3 = await startS3('rgw-suite');
  store = (await createObjectStore(s3.url, PART, signer)) as S3ObjectStore;
});
afterAll(async () => s3?.stop());

/** Deterministic bytes that differ from part to part. */
function bytes(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(length / 4) * 4);
  let x = seed;
  for (let i = 0; i < out.length; i += 4) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.writeUInt32LE(x, i);
  }
  return out.subarray(0, length);
}

function partMd5s(data: Buffer, partSize: number): Buffer[] {
  const md5s: Buffer[] = [];
  for (let i = 0; i < data.length; i += partSize)
    md5s.push(
      createHash('md5')
        .update(data.subarray(i, i + partSize))
        .digest(),
    );
  return md5s;
}

describe('multipart upload on Ceph RGW', () => {
  it('puts an object above the part size in parts, verified by the composite ETag stat answers', async () => {
    const data = bytes(4 * PART + 12345);
    const expected = s3Etag(partMd5s(data, PART), true);
    expect(expected).toMatch(/^[0-9a-f]{32}-5$/);
    // Ceph 16 answers CompleteMultipartUpload with an empty ETag: the one returned is stat's.
    const info = await store.put('LNGS/multipart.mid', Readable.from([data]), data.length);
    expect(info).toMatchObject({ size: data.length, etag: expected });
    expect((await store.stat('LNGS/multipart.mid'))?.etag).toBe(expected);
    expect(md5(await readAll(await store.get('LNGS/multipart.mid')))).toBe(md5(data));
    // A range across a part border.
    const range = await readAll(
      await store.get('LNGS/multipart.mid', { start: PART - 10, end: PART + 9 }),
    );
    expect(range.equals(data.subarray(PART - 10, PART + 10))).toBe(true);
    expect(await store.incompleteUploads()).toEqual([]);
  });

  it('ingests a raw file in parts and verifies it without reading it back', async () => {
    const bufferDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-rgw-buffer-'));
    try {
      const file = path.join(bufferDir, 'run00777.mid');
      const size = writeLargeMidasRun(file, 777, 2); // ~21 MB: five parts of 5 MiB
      const ingest = new IngestService(store, bufferDir);
      const copy = await ingest.copyAndIndex(file, 'LNGS/run00777.mid', size);
      expect(copy.stored).toMatchObject({
        size,
        verified: true,
        etag: expect.stringMatching(/-5$/),
      });
      const reads: string[] = [];
      const get = store.get.bind(store);
      store.get = (key, range) => {
        reads.push(key);
        return get(key, range);
      };
      try {
        expect(
          await ingest.verifyStored('LNGS/run00777.mid', size, copy.md5, copy.stored),
        ).toBeNull();
      } finally {
        store.get = get;
      }
      expect(reads).toEqual([]);
    } finally {
      fs.rmSync(bufferDir, { recursive: true, force: true });
    }
  });

  it('puts an object of exactly one part, and one below it, with their MD5 as ETag', async () => {
    for (const [key, length] of [
      ['LNGS/one-part.bin', PART],
      ['LNGS/small.bin', 1000],
    ] as const) {
      const data = bytes(length, length);
      const upload = store.openUpload(key, length);
      await upload.write(data);
      expect(await upload.finish()).toMatchObject({ size: length, etag: md5(data) });
    }
  });

  it('aborts an abandoned multipart upload when its key is uploaded again: no orphan parts', async () => {
    const data = bytes(3 * PART, 7);
    const abandoned = store.openUpload('LNGS/abandoned.mid', data.length);
    await abandoned.write(data.subarray(0, 2 * PART + 1)); // two parts sent, then "killed"
    const orphans = await store.incompleteUploads('LNGS/abandoned.mid');
    expect(orphans).toEqual([expect.objectContaining({ key: 'LNGS/abandoned.mid' })]);

    await store.put('LNGS/abandoned.mid', Readable.from([data]), data.length);
    expect(await store.incompleteUploads()).toEqual([]);
    expect(md5(await readAll(await store.get('LNGS/abandoned.mid')))).toBe(md5(data));
  });

  it('leaves neither object nor parts when an upload in parts is aborted or comes up short', async () => {
    const data = bytes(2 * PART + 99, 3);
    const aborted = store.openUpload('LNGS/aborted.mid', data.length);
    await aborted.write(data.subarray(0, PART + 1));
    await aborted.abort(new Error('the DAQ buffer read failed'));
    const short = store.openUpload('LNGS/short.mid', data.length + 1);
    await short.write(data);
    await expect(short.finish()).rejects.toThrow(/expected .* bytes, received/);
    expect(await store.stat('LNGS/aborted.mid')).toBeNull();
    expect(await store.stat('LNGS/short.mid')).toBeNull();
    expect(await store.incompleteUploads()).toEqual([]);
  });

  it('sends a failed part again without restarting the file', async () => {
    // A stand-in for a fault the real server cannot be asked for: a proxy in front of RGW cuts
    // the connection of the first attempt at part 2, after some of its bytes.
    const upstream = new URL(`http://127.0.0.1:${s3.port}`);
    const seen: string[] = [];
    let cut = false;
    const proxy = http.createServer((req, res) => {
      const query = new URL(req.url!, 'http://x').searchParams;
      seen.push(
        `${req.method} ${query.has('uploads') ? 'uploads' : (query.get('partNumber') ?? '')}`,
      );
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      if (req.method === 'PUT' && query.get('partNumber') === '2' && !cut) {
        cut = true;
        req.once('data', () => {
          forward.destroy();
          req.socket.destroy();
        });
      }
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (proxy.address() as { port: number }).port;
      const viaProxy = (await createObjectStore(
        s3.url.replace(`:${s3.port}/`, `:${port}/`),
        PART,
        signer,
      )) as S3ObjectStore;
      const data = bytes(3 * PART + 5, 11);
      const info = await viaProxy.put('LNGS/retried.mid', Readable.from([data]), data.length);
      expect(info.etag).toBe(s3Etag(partMd5s(data, PART), true));
      expect(cut).toBe(true);
      const uploads = seen.filter((s) => s.startsWith('POST uploads'));
      expect(uploads).toHaveLength(1); // one multipart upload: the file was not restarted
      expect(seen.filter((s) => s === 'PUT 2')).toHaveLength(2);
      expect(seen.filter((s) => s === 'PUT 1')).toHaveLength(1);
      expect(md5(await readAll(await store.get('LNGS/retried.mid')))).toBe(md5(data));
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it('uploads a multi-GB file with the production part size in flat memory', async () => {
    const production = (await createObjectStore(s3.url, 64 << 20, signer)) as S3ObjectStore;
    const size = 2048 * 1024 * 1024 + 17; // 2 GiB: 32 parts of 64 MiB and a short one
    const chunk = Buffer.alloc(1 << 20);
    const upload = production.openUpload('LNGS/run09999.mid', size);
    const md5s: Buffer[] = [];
    let hash = createHash('md5');
    let inPart = 0;
    const before = process.memoryUsage().rss;
    let peak = before;
    for (let written = 0; written < size;) {
      const n = Math.min(chunk.length, size - written);
      chunk.writeUInt32LE(written >>> 0, 0); // every MB differs
      const piece = chunk.subarray(0, n);
      await upload.write(piece);
      // The expected composite ETag, computed independently of the store's code.
      for (let offset = 0; offset < piece.length;) {
        const take = Math.min(piece.length - offset, (64 << 20) - inPart);
        hash.update(piece.subarray(offset, offset + take));
        inPart += take;
        offset += take;
        if (inPart === 64 << 20) {
          md5s.push(hash.digest());
          hash = createHash('md5');
          inPart = 0;
        }
      }
      written += n;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    if (inPart > 0) md5s.push(hash.digest());
    const info = await upload.finish();
    expect(info).toMatchObject({ size, etag: s3Etag(md5s, true) });
    expect(info.etag).toMatch(/-33$/);
    // Two 64 MiB part buffers at most, whatever the file's size.
    expect(peak - before).toBeLessThan(300 * 1024 * 1024);

    // A presigned link to the 2 GiB object serves a range near its end, in the last part.
    const url = await production.presign('LNGS/run09999.mid', 60);
    const tailStart = size - 100;
    const tail = await fetch(url, { headers: { Range: `bytes=${tailStart}-${size - 1}` } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes ${tailStart}-${size - 1}/${size}`);
    const expected = Buffer.alloc(100);
    // The last MB written: its first 4 bytes held its offset, the rest zeros.
    const lastChunkStart = Math.floor((size - 1) / chunk.length) * chunk.length;
    const lastChunk = Buffer.alloc(size - lastChunkStart);
    lastChunk.writeUInt32LE(lastChunkStart >>> 0, 0);
    lastChunk.copy(expected, lastChunkStart - tailStart);
    expect(Buffer.from(await tail.arrayBuffer()).equals(expected)).toBe(true);
    await production.delete('LNGS/run09999.mid');
  }, 240_000);
});

describe('Ceph RGW going away mid-upload', () => {
  it('radosgw killed mid-multipart and started again: the next upload of the key aborts the orphan and completes', async () => {
    const own = await startS3('rgw-killed', { outage: true });
    try {
      const killed = (await createObjectStore(own.url, PART, signer)) as S3ObjectStore;
      const data = bytes(4 * PART + 1, 13);
      const upload = killed.openUpload('LNGS/run07001.mid', data.length);
      await upload.write(data.subarray(0, 2 * PART + 1)); // part 1 stored, part 2 on its way
      await own.down();
      const error = await upload
        .write(data.subarray(2 * PART + 1))
        .then(() => upload.finish())
        .catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(
        /part \d failed 4 times: .*(ECONNREFUSED|ECONNRESET)/,
      );
      await own.up();
      // The dead upload's parts are still there (its abort could not reach the store) ...
      expect(await killed.incompleteUploads()).toEqual([
        expect.objectContaining({ key: 'LNGS/run07001.mid' }),
      ]);
      // ... until the key is uploaded again.
      const info = await killed.put('LNGS/run07001.mid', Readable.from([data]), data.length);
      expect(info.etag).toBe(s3Etag(partMd5s(data, PART), true));
      expect(await killed.incompleteUploads()).toEqual([]);
    } finally {
      await own.stop();
    }
  });
});

describe('RGW’s refusals, said clearly', () => {
  it('wrong credentials: the store says the credentials were refused, and which', async () => {
    const wrongSecret = s3.url.replace(/:([^:@/]+)@/, ':not-the-secret@');
    await expect(createObjectStore(wrongSecret, PART, signer)).rejects.toThrow(
      /bucket .* at s3:\/\/127\.0\.0\.1:\d+\/.*: the object store refused the credentials \((SignatureDoesNotMatch|AccessDenied|Forbidden)\): check the access key and secret in OBJECT_STORE_URL/,
    );
    const wrongKey = s3.url.replace(/s3:\/\/[^:]+:/, 's3://NOSUCHKEY:');
    await expect(createObjectStore(wrongKey, PART, signer)).rejects.toThrow(
      /refused the credentials \((InvalidAccessKeyId|AccessDenied|Forbidden)\)/,
    );
  });

  it('a bucket that does not exist: ping says so', async () => {
    const other = (await createObjectStore(
      s3.url.replace(/\/([a-z0-9-]+)\?/, '/rgw-gone-bucket?'),
      PART,
      signer,
    )) as S3ObjectStore;
    await other.ping();
    const client = (other as unknown as { client: { removeBucket(b: string): Promise<void> } })
      .client;
    await client.removeBucket('rgw-gone-bucket');
    await expect(other.ping()).rejects.toThrow(
      /bucket rgw-gone-bucket does not exist at s3:\/\/127\.0\.0\.1:\d+\/rgw-gone-bucket/,
    );
  });

  it('presigned downloads: whole, by range across parts; tampered or expired URLs refused', async () => {
    const data = bytes(2 * PART + 100, 5);
    await store.put('LNGS/presigned.mid', Readable.from([data]), data.length);
    const url = await store.presign('LNGS/presigned.mid', 60);
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(md5(Buffer.from(await whole.arrayBuffer()))).toBe(md5(data));
    const ranged = await fetch(url, { headers: { Range: `bytes=${PART - 5}-${PART + 4}` } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(PART - 5, PART + 5))).toBe(
      true,
    );

    const tampered = url.replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
    );
    expect(tampered).not.toBe(url);
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/SignatureDoesNotMatch/);

    const short = await store.presign('LNGS/presigned.mid', 1);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const expired = await fetch(short);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toMatch(/AccessDenied|expired/i);
  });
});
