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
  port: number;
  directory: string;
  stop(): Promise<void>;
}

/**
 * An in-process S3 server (s3rver) on a loopback port with one bucket. `port` and `directory`
 * restart a stopped server where it was, with its objects (an outage and its end).
 */
export async function startS3(
  bucket = 'cygno-data',
  reuse?: { port: number; directory: string },
): Promise<TestS3> {
  const directory = reuse?.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-s3-'));
  const server = new S3rver({
    port: reuse?.port ?? 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const address: AddressInfo = await server.run();
  return {
    url: `s3://S3RVER:S3RVER@127.0.0.1:${address.port}/${bucket}?ssl=false&region=us-east-1`,
    port: address.port,
    directory,
    stop: async () => {
      await server.close();
      if (!reuse) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
