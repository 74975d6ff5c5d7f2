import { createHash, type Hash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'minio';
import type { Readable } from 'node:stream';
import type { ObjectInfo, ObjectUpload } from './ObjectStore';

/** How often a part is sent before the upload gives up (the file is not restarted for it). */
const PART_ATTEMPTS = 4;
const PART_RETRY_BASE_MS = 250;

/**
 * The ETag S3 answers for an object: the MD5 of its bytes when put in one PUT; for a multipart
 * upload of N parts, the MD5 of the parts' MD5s, then "-N".
 */
export function s3Etag(partMd5s: readonly Buffer[], multipart: boolean): string {
  if (!multipart) return partMd5s[0].toString('hex');
  return `${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}`;
}

/** The MD5 of each `partSize` slice of a stream (an object read back, part by part). */
async function partMd5sOf(stream: Readable, partSize: number): Promise<Buffer[]> {
  const md5s: Buffer[] = [];
  let hash = createHash('md5');
  let filled = 0;
  for await (const data of stream) {
    let chunk = data as Buffer;
    while (chunk.length > 0) {
      const n = Math.min(chunk.length, partSize - filled);
      hash.update(chunk.subarray(0, n));
      filled += n;
      chunk = chunk.subarray(n);
      if (filled === partSize) {
        md5s.push(hash.digest());
        hash = createHash('md5');
        filled = 0;
      }
    }
  }
  if (filled > 0 || md5s.length === 0) md5s.push(hash.digest());
  return md5s;
}

/** An ETag that is an MD5 of the content (single part) or a composite of part MD5s. */
const CONTENT_ETAG = /^[0-9a-f]{32}(-\d+)?$/;

export interface S3Target {
  client: Client;
  bucket: string;
  key: string;
  partSize: number;
  /** Aborts earlier, unfinished uploads of this key before the first part goes out. */
  abandonEarlier: () => Promise<void>;
}

/**
 * An upload to S3 fed chunk by chunk. Bytes are copied into a part buffer (the one copy the
 * client needs: a part is sent with its length and signature) and hashed there; a full part is
 * sent while the next one fills, so at most two parts are in memory. A part that fails is sent
 * again from its buffer, without restarting the file. What the store holds at the end is
 * verified without reading it back: the ETag that stat answers must equal the MD5 (one part) or
 * the composite `md5(part md5s)-N` computed here. Only where the store answers another kind of
 * ETag (encryption, some gateways) is the object read back, part by part.
 */
export class S3Upload implements ObjectUpload {
  private part: Buffer | undefined;
  private spare: Buffer | undefined;
  private filled = 0;
  private hash: Hash = createHash('md5');
  private readonly partMd5s: Buffer[] = [];
  private readonly etags: { part: number; etag: string }[] = [];
  private uploadId: string | undefined;
  private sending: Promise<void> | undefined;
  private failure: Error | undefined;
  private written = 0;
  /** Set once the first part goes out: from then on the object is put in parts. */
  private multipart = false;

  constructor(
    private readonly target: S3Target,
    private readonly size?: number,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.size !== undefined && this.written + chunk.length > this.size) {
      const error = new Error(
        `object ${this.target.key}: more than the ${this.size} bytes declared`,
      );
      await this.abort(error);
      throw error;
    }
    let offset = 0;
    while (offset < chunk.length) {
      const part = (this.part ??= this.allocate());
      const n = Math.min(chunk.length - offset, part.length - this.filled);
      chunk.copy(part, this.filled, offset, offset + n);
      this.hash.update(chunk.subarray(offset, offset + n));
      this.filled += n;
      this.written += n;
      offset += n;
      // A file that fits one part goes in one PUT, at finish().
      const wholeFile = !this.multipart && this.written === this.size;
      if (this.filled === part.length && !wholeFile) await this.sendPart();
    }
  }

  async finish(): Promise<ObjectInfo> {
    if (this.failure) throw this.failure;
    if (this.size !== undefined && this.written !== this.size) {
      const error = new Error(
        `object ${this.target.key}: expected ${this.size} bytes, received ${this.written}`,
      );
      await this.abort(error);
      throw error;
    }
    try {
      if (!this.multipart) return await this.putWhole();
      await this.sendPart(); // the last, shorter part (or nothing)
      await this.sending;
      const { client, bucket, key } = this.target;
      // Ceph 16 answers this with an empty ETag: what counts is what stat says below.
      await client.completeMultipartUpload(bucket, key, this.uploadId!, this.etags);
      this.uploadId = undefined;
      return await this.verify();
    } catch (error) {
      await this.abort(error as Error);
      throw error;
    }
  }

  async abort(reason: Error): Promise<void> {
    this.failure ??= reason;
    await this.sending?.catch(() => undefined);
    const { client, bucket, key } = this.target;
    if (this.uploadId) {
      const uploadId = this.uploadId;
      this.uploadId = undefined;
      await client.abortMultipartUpload(bucket, key, uploadId).catch(() => undefined);
    }
    this.part = this.spare = undefined;
  }

  private allocate(): Buffer {
    const spare = this.spare;
    this.spare = undefined;
    if (spare) return spare;
    const { partSize } = this.target;
    // A file known to be small needs no part-sized buffer.
    const length = this.size !== undefined ? Math.min(partSize, Math.max(this.size, 1)) : partSize;
    return Buffer.allocUnsafe(length);
  }

  /** A file that fits in one part goes in one PUT: its ETag is the file's MD5. */
  private async putWhole(): Promise<ObjectInfo> {
    const { client, bucket, key } = this.target;
    const body = (this.part ?? Buffer.alloc(0)).subarray(0, this.filled);
    this.partMd5s.push(this.hash.digest());
    await this.target.abandonEarlier();
    await client.putObject(bucket, key, body, body.length);
    return this.verify();
  }

  /** Sends the filled part while the caller fills the other buffer; waits for the one before. */
  private async sendPart(): Promise<void> {
    if (this.filled === 0 && this.multipart) return;
    this.multipart = true;
    const body = this.part!.subarray(0, this.filled);
    const md5 = this.hash.digest();
    this.partMd5s.push(md5);
    const number = this.partMd5s.length;
    const buffer = this.part!;
    this.part = undefined;
    this.filled = 0;
    this.hash = createHash('md5');
    await this.sending; // one part on the wire at a time; a failure surfaces here
    this.uploadId ??= await this.start();
    this.sending = this.upload(number, body, md5).then(
      () => {
        this.spare = buffer;
      },
      (error: Error) => {
        this.failure ??= error;
        throw error;
      },
    );
    this.sending.catch(() => undefined); // reported by the next write or finish
    if (this.failure) throw this.failure;
  }

  private async start(): Promise<string> {
    const { client, bucket, key } = this.target;
    await this.target.abandonEarlier();
    return client.initiateNewMultipartUpload(bucket, key, {});
  }

  private async upload(number: number, body: Buffer, md5: Buffer): Promise<void> {
    const { client, bucket, key } = this.target;
    for (let attempt = 1; ; attempt++) {
      try {
        const { etag } = await client.uploadPart(
          {
            bucketName: bucket,
            objectName: key,
            uploadID: this.uploadId!,
            partNumber: number,
            // The store checks the part against it (BadDigest) before keeping it.
            headers: { 'Content-Length': body.length, 'Content-MD5': md5.toString('base64') },
          },
          body,
        );
        this.etags.push({ part: number, etag });
        return;
      } catch (error) {
        if (attempt >= PART_ATTEMPTS || this.failure) {
          throw new Error(
            `object ${key}: part ${number} failed ${attempt} times: ${(error as Error).message}`,
            { cause: error },
          );
        }
        await sleep(PART_RETRY_BASE_MS * 2 ** (attempt - 1));
      }
    }
  }

  /** Size and ETag (or, where the ETag is no MD5, the bytes read back) against what was sent. */
  private async verify(): Promise<ObjectInfo> {
    const { client, bucket, key, partSize } = this.target;
    const stat = await client.statObject(bucket, key);
    const expected = s3Etag(this.partMd5s, this.multipart);
    let problem: string | undefined;
    if (stat.size !== this.written) problem = `${stat.size} bytes stored, ${this.written} sent`;
    else if (CONTENT_ETAG.test(stat.etag)) {
      if (stat.etag !== expected) problem = `ETag ${stat.etag}, ${expected} expected`;
    } else {
      const back = await partMd5sOf(await client.getObject(bucket, key), partSize);
      if (s3Etag(back, this.multipart) !== expected)
        problem = 'bytes read back differ from those sent';
    }
    if (problem) {
      await client.removeObject(bucket, key).catch(() => undefined);
      throw new Error(`object ${key}: the store holds other bytes than were sent (${problem})`);
    }
    return { size: stat.size, etag: expected, lastModified: stat.lastModified, verified: true };
  }
}
