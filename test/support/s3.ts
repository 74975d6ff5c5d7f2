import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

export interface TestS3 {
  /** OBJECT_STORE_URL for the bucket. */
  url: string;
  stop(): Promise<void>;
}

/** An in-process S3 server (s3rver) on a free loopback port with one empty bucket. */
export async function startS3(bucket = 'cygno-data'): Promise<TestS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-s3-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const address: AddressInfo = await server.run();
  return {
    url: `s3://S3RVER:S3RVER@127.0.0.1:${address.port}/${bucket}?ssl=false&region=us-east-1`,
    stop: async () => {
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
