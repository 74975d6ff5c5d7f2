import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import {
  assertValidKey,
  putThroughUpload,
  type ObjectInfo,
  type ObjectStore,
  type ObjectUpload,
} from './ObjectStore';
import { logger } from '../logger';
import { S3Upload } from './s3Upload';

const log = logger('s3');

type IncompleteUpload = { key: string; uploadId: string; initiated: Date };

/**
 * A multipart upload started this long ago and not completed is abandoned: no raw file takes
 * hours to upload, and the key's next upload aborts a younger one anyway.
 */
const ABANDONED_MS = 6 * 3_600_000;

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
 * keep-alive timeout of S3 servers (5 s for MinIO and node-based ones). A part (up to
 * S3_PART_SIZE) is read into memory before it is sent; on a connection idle for as long as that
 * took, the server may have just closed it, and the upload fails with EPIPE or ECONNRESET (seen
 * on 1 GB single-part PUTs). An older idle connection is dropped and the request opens a new one.
 */
const IDLE_CONNECTION_MS = 2000;

/**
 * A store that stops answering (Ceph RGW while its OSDs are down) leaves a request waiting
 * forever, and an ingest with it, holding its job's lease. A request silent for this long —
 * nothing sent, nothing received — fails instead, and the job is retried.
 */
const DEFAULT_TIMEOUT_MS = 120_000;

function withInactivityTimeout(
  transport: typeof http | typeof https,
  timeoutMs: number,
  location: string,
): Pick<typeof http, 'request'> {
  return {
    request: ((options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
      const req = transport.request(options, callback);
      req.setTimeout(timeoutMs, () =>
        req.destroy(
          new Error(
            `${options.method ?? 'GET'} ${location}: the object store sent nothing for ${timeoutMs} ms (S3_TIMEOUT_MS)`,
          ),
        ),
      );
      return req;
    }) as typeof http.request,
  };
}

/** The S3 error code of a failure (`NoSuchKey`, `AccessDenied`, …); '' for others. */
function s3Code(error: unknown): string {
  return (error as { code?: string }).code ?? '';
}

function isNotFound(error: unknown): boolean {
  return ['NotFound', 'NoSuchKey'].includes(s3Code(error));
}

/**
 * S3 (Ceph RGW, MinIO, AWS) through the `minio` client. Objects above `partSize` are uploaded
 * in parts by S3Upload, which verifies what the store holds by its ETag.
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly location: string;
  private readonly client: Client;
  private readonly region: string;

  constructor(
    s3: S3Location,
    private readonly partSize: number,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.bucket = s3.bucket;
    this.region = s3.region ?? 'us-east-1';
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
      transport: withInactivityTimeout(s3.useSSL ? https : http, timeoutMs, this.location),
      transportAgent: new (s3.useSSL ? https : http).Agent({
        keepAlive: true,
        timeout: IDLE_CONNECTION_MS,
      }),
    });
  }

  /**
   * Checks the credentials, creates the bucket when it does not exist yet, and aborts multipart
   * uploads abandoned long ago (a gateway killed mid-upload; the parts would be kept and billed
   * forever). A recent abandoned upload is aborted when its key is uploaded again.
   */
  async init(): Promise<void> {
    const exists = await this.client
      .bucketExists(this.bucket)
      .catch((error: Error) => this.explain(error, `bucket ${this.bucket}`));
    if (!exists)
      await this.client
        .makeBucket(this.bucket, this.region)
        .catch((error: Error) => this.explain(error, `creating bucket ${this.bucket}`));
    await this.abortUploads('', (upload) => Date.now() - upload.initiated.getTime() > ABANDONED_MS);
  }

  put(key: string, body: Readable, size?: number): Promise<ObjectInfo> {
    return putThroughUpload(this.openUpload(key, size), body);
  }

  openUpload(key: string, size?: number): ObjectUpload {
    assertValidKey(key);
    return new S3Upload(
      {
        client: this.client,
        bucket: this.bucket,
        key,
        partSize: this.partSize,
        // Whoever uploads a key holds its job's lease: an earlier upload of it is abandoned.
        abandonEarlier: () => this.abortUploads(key, (upload) => upload.key === key),
      },
      size,
    );
  }

  /** Multipart uploads not completed (their parts are stored, not yet an object). */
  async incompleteUploads(prefix = ''): Promise<IncompleteUpload[]> {
    const uploads: IncompleteUpload[] = [];
    let keyMarker = '';
    let uploadIdMarker = '';
    for (;;) {
      const page = await this.client
        .listIncompleteUploadsQuery(this.bucket, prefix, keyMarker, uploadIdMarker, '')
        .catch((error: Error) => {
          // A store without multipart upload (s3rver) has no unfinished ones either.
          if (s3Code(error) === 'NotImplemented') return null;
          throw error;
        });
      if (!page) return uploads;
      uploads.push(...page.uploads);
      if (!page.isTruncated) return uploads;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker;
    }
  }

  private async abortUploads(
    prefix: string,
    abandoned: (upload: IncompleteUpload) => boolean,
  ): Promise<void> {
    for (const upload of (await this.incompleteUploads(prefix)).filter(abandoned)) {
      await this.client.abortMultipartUpload(this.bucket, upload.key, upload.uploadId);
      log.info(
        { key: upload.key, uploadId: upload.uploadId, initiated: upload.initiated },
        'aborted an unfinished multipart upload (its parts are freed)',
      );
    }
  }

  /** An S3 refusal said in words a DAQ expert can act on. */
  private explain(error: Error, what: string): never {
    const code = s3Code(error);
    const where = `${what} at ${this.location}`;
    if (['SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AccessDenied', 'Forbidden'].includes(code))
      throw new Error(
        `${where}: the object store refused the credentials (${code}): check the access key and secret in OBJECT_STORE_URL`,
        { cause: error },
      );
    throw new Error(`${where}: ${code ? `${code}: ` : ''}${error.message}`, { cause: error });
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

  async presignUpload(key: string, expiresSeconds: number): Promise<string> {
    assertValidKey(key);
    return this.client.presignedPutObject(this.bucket, key, expiresSeconds);
  }

  async presign(key: string, expiresSeconds: number): Promise<string> {
    assertValidKey(key);
    return this.client.presignedGetObject(this.bucket, key, expiresSeconds);
  }

  async ping(): Promise<void> {
    const exists = await this.client
      .bucketExists(this.bucket)
      .catch((error: Error) => this.explain(error, `bucket ${this.bucket}`));
    if (!exists) throw new Error(`bucket ${this.bucket} does not exist at ${this.location}`);
  }
}
