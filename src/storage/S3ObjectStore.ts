import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import {
  assertValidKey,
  type ObjectInfo,
  type ObjectStore,
  type ObjectUpload,
} from './ObjectStore';
import { uploadThroughPut } from './uploadThroughPut';

export interface S3Location {
  endPoint: string;
  port?: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string;
}

/** Parses `s3://KEY:SECRET@host:port/bucket?ssl=false&region=…`. */
export function parseS3Url(value: string): S3Location {
  const url = new URL(value);
  const bucket = url.pathname.replace(/^\//, '').replace(/\/$/, '');
  if (!bucket || bucket.includes('/'))
    throw new Error(
      'OBJECT_STORE_URL: s3 URL must name one bucket: s3://KEY:SECRET@host:port/bucket',
    );
  return {
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    useSSL: url.searchParams.get('ssl') !== 'false',
    accessKey: decodeURIComponent(url.username),
    secretKey: decodeURIComponent(url.password),
    bucket,
    region: url.searchParams.get('region') ?? undefined,
  };
}

/**
 * How long an idle connection to the store is kept for the next request: well under the
 * keep-alive timeout of S3 servers (5 s for MinIO and node-based ones). The minio client reads
 * a whole part (up to S3_PART_SIZE) into memory before it sends the PUT; on a connection idle
 * for as long as that took, the server may have just closed it, and the upload fails with
 * EPIPE or ECONNRESET (seen on 1 GB single-part PUTs). An older idle connection is dropped and
 * the request opens a new one.
 */
const IDLE_CONNECTION_MS = 2000;

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'NotFound' || code === 'NoSuchKey';
}

/** S3 or MinIO through the `minio` client. Objects above `partSize` are uploaded in parts. */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly location: string;
  private readonly client: Client;

  constructor(s3: S3Location, partSize: number) {
    this.bucket = s3.bucket;
    this.location = `s3://${s3.endPoint}${s3.port ? `:${s3.port}` : ''}/${s3.bucket}`;
    this.client = new Client({
      endPoint: s3.endPoint,
      port: s3.port,
      useSSL: s3.useSSL,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
      partSize,
      pathStyle: true,
      transportAgent: new (s3.useSSL ? https : http).Agent({
        keepAlive: true,
        timeout: IDLE_CONNECTION_MS,
      }),
    });
  }

  /** Creates the bucket when it does not exist yet. */
  async init(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) await this.client.makeBucket(this.bucket);
  }

  async put(key: string, body: Readable, size?: number): Promise<ObjectInfo> {
    assertValidKey(key);
    const { etag } = await this.client.putObject(this.bucket, key, body, size);
    const stat = await this.stat(key);
    if (!stat) throw new Error(`object ${key} missing right after upload`);
    if (size !== undefined && stat.size !== size) {
      await this.delete(key);
      throw new Error(`object ${key}: expected ${size} bytes, store has ${stat.size}`);
    }
    return { ...stat, etag: etag ?? stat.etag };
  }

  openUpload(key: string, size?: number): ObjectUpload {
    assertValidKey(key);
    return uploadThroughPut((body) => this.put(key, body, size));
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    assertValidKey(key);
    if (!range) return this.client.getObject(this.bucket, key);
    const length = range.end === undefined ? undefined : range.end - range.start + 1;
    return this.client.getPartialObject(this.bucket, key, range.start, length);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const stat = await this.client.statObject(this.bucket, key);
      return { size: stat.size, etag: stat.etag, lastModified: stat.lastModified };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.removeObject(this.bucket, key);
  }

  async presign(key: string, expiresSeconds: number): Promise<string> {
    assertValidKey(key);
    return this.client.presignedGetObject(this.bucket, key, expiresSeconds);
  }

  async ping(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket)))
      throw new Error(`bucket ${this.bucket} does not exist`);
  }
}
