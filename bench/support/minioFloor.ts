import fs from 'node:fs';
import { Client } from 'minio';
import { parseS3Url } from '../../src/storage/S3ObjectStore';

/**
 * The S3 copy floor: the file put by the `minio` client alone (its own multipart upload above
 * `partSize`, no verification beyond what the client does), to the bucket of an
 * OBJECT_STORE_URL. The store's upload must do what this does plus verify.
 */
export function minioPut(url: string, partSize: number) {
  const s3 = parseS3Url(url);
  const client = new Client({
    endPoint: s3.endPoint,
    port: s3.port,
    useSSL: s3.useSSL,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region,
    partSize,
    pathStyle: true,
  });
  return async (key: string, file: string, size: number): Promise<void> => {
    await client.putObject(
      s3.bucket,
      key,
      fs.createReadStream(file, { highWaterMark: 1 << 20 }),
      size,
    );
  };
}
