import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore } from '../../src/storage/createObjectStore';
import { UrlSigner } from '../../src/storage/signedUrls';
import { startS3, type TestS3 } from '../support/s3';

// A connection the S3 client keeps for reuse can die without the client being told: a firewall
// or NAT drops it after some idle time, or the server closes it just as a request goes out (the
// EPIPE of 1 GB PUTs to s3rver). The store drops connections idle for 2 s, so a request after a
// longer pause opens a new one instead of failing on the dead one.

const SILENT_DEATH_MS = 2500;

/** A TCP proxy that forgets connections idle for SILENT_DEATH_MS and resets them when next used. */
function startSilentlyDroppingProxy(targetPort: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    let lastActivity = Date.now();
    client.on('data', (data) => {
      if (Date.now() - lastActivity > SILENT_DEATH_MS) {
        upstream.destroy();
        client.resetAndDestroy();
        return;
      }
      lastActivity = Date.now();
      upstream.write(data);
    });
    upstream.on('data', (data) => {
      lastActivity = Date.now();
      client.write(data);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let s3: TestS3;
let proxy: net.Server;
let proxyPort: number;

beforeAll(async () => {
  s3 = await startS3('idle-connections');
  proxy = await startSilentlyDroppingProxy(s3.port);
  proxyPort = (proxy.address() as net.AddressInfo).port;
});
afterAll(async () => {
  proxy?.close();
  await s3?.stop();
});

describe('S3 store: connections idle past their life', () => {
  it('a request after a long pause does not go out on a connection that died meanwhile', async () => {
    // The proxy does what it should: a plain keep-alive agent reuses the dead connection.
    const agent = new http.Agent({ keepAlive: true });
    const get = () =>
      new Promise<number>((resolve, reject) =>
        http
          .get({ host: '127.0.0.1', port: proxyPort, path: '/idle-connections', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          })
          .on('error', reject),
      );
    expect(await get()).toBeLessThan(500);
    await pause(SILENT_DEATH_MS + 700);
    await expect(get()).rejects.toThrow(/ECONNRESET|socket hang up/);
    agent.destroy();

    const store = await createObjectStore(
      s3.url.replace(`:${s3.port}/`, `:${proxyPort}/`),
      5 << 20,
      new UrlSigner('secret', 'http://127.0.0.1:4000'),
    );
    await store.put('LNGS/first.bin', Readable.from([Buffer.from('before the pause')]), 16);
    await pause(SILENT_DEATH_MS + 700);
    const info = await store.put('LNGS/after.bin', Readable.from([Buffer.from('after')]), 5);
    expect(info.size).toBe(5);
  });
});
