import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { runCluster, startRadosgw, type CephDaemon } from './cephRgw';
import { freePort } from './ports';
// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

export interface TestS3 {
  /** OBJECT_STORE_URL for the bucket. */
  url: string;
  port: number;
  /** 'Ceph RGW' or 's3rver' */
  server: string;
  /** The server goes away (an outage); only with `outage: true`. */
  down(): Promise<void>;
  /** ... and comes back where it was, with its objects. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** Which S3 server the tests run against: TEST_OBJECT_STORE=rgw (.ci/run) or s3rver. */
export const s3ServerName = () =>
  process.env.TEST_OBJECT_STORE === 'rgw' ? 'Ceph RGW' : 's3rver (in-process)';

/**
 * A bucket of its own on an S3 server: on the run's Ceph RGW when TEST_OBJECT_STORE=rgw (the
 * global setup started it), else on an in-process s3rver on a loopback port. With
 * `outage: true` the test gets a server of its own to take down and bring back: a second
 * radosgw on the same cluster, or its own s3rver.
 */
export async function startS3(
  bucket = 'cygno-data',
  options: { outage?: boolean } = {},
): Promise<TestS3> {
  return process.env.TEST_OBJECT_STORE === 'rgw'
    ? rgwBucket(bucket, options.outage ?? false)
    : s3rverBucket(bucket);
}

async function rgwBucket(bucket: string, outage: boolean): Promise<TestS3> {
  const rgw = runCluster();
  const name = `${bucket}-${randomBytes(4).toString('hex')}`;
  const port = outage ? await freePort() : Number(new URL(rgw.endpoint).port);
  const gatewayName = `t${randomBytes(4).toString('hex')}`;
  let own: CephDaemon | undefined = outage
    ? await startRadosgw(rgw.conf, gatewayName, port)
    : undefined;
  return {
    url: `s3://${rgw.accessKey}:${rgw.secretKey}@127.0.0.1:${port}/${name}?ssl=false&region=us-east-1`,
    port,
    server: 'Ceph RGW',
    async down() {
      await own?.stop('SIGKILL');
    },
    async up() {
      if (outage) own = await startRadosgw(rgw.conf, gatewayName, port);
    },
    // The bucket stays: the whole cluster goes at the end of the run.
    stop: async () => own?.stop(),
  };
}

async function s3rverBucket(bucket: string): Promise<TestS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-s3-'));
  const start = async (port: number) => {
    const server = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory,
      configureBuckets: [{ name: bucket }],
    });
    const address: AddressInfo = await server.run();
    return { server, port: address.port };
  };
  let running: { server: { close(): Promise<void> }; port: number } | undefined = await start(0);
  const port = running.port;
  return {
    url: `s3://S3RVER:S3RVER@127.0.0.1:${port}/${bucket}?ssl=false&region=us-east-1`,
    port,
    server: 's3rver (in-process)',
    async down() {
      await running?.server.close();
      running = undefined;
    },
    async up() {
      running ??= await start(port);
    },
    stop: async () => {
      await running?.server.close();
      running = undefined;
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
