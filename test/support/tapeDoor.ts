import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { v2 as webdav } from 'webdav-server';
import { Adler32 } from '../../src/reco/checksums';

/**
 * A stand-in WebDAV tape door, kept for the faults a real door cannot be made to produce (a PUT
 * corrupted in flight) and for the run without Debian's XRootD; every success path also runs
 * against the real XRootD door (test/services/xrootd.test.ts). The `webdav-server` package storing
 * into a temporary directory, behind a front that does what StoRM WebDAV does and the package
 * does not — bearer tokens (401 otherwise) and, when asked, `Digest: adler32` — and that can
 * fail on purpose: go down, or corrupt the next PUT.
 */
export interface TapeDoor {
  url: string;
  dir: string;
  token: string;
  /** PUT requests that reached the door. */
  puts: number;
  corruptNextPut(): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: http.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

export async function startTapeDoor(options: {
  token: string;
  digest?: boolean;
}): Promise<TapeDoor> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-tape-door-'));
  const dav = new webdav.WebDAVServer({ port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) =>
    dav.setFileSystem('/', new webdav.PhysicalFileSystem(dir), () => resolve()),
  );
  const davServer = await new Promise<http.Server>((resolve) =>
    dav.start((s) => resolve(s as http.Server)),
  );
  const davPort = (davServer.address() as { port: number }).port;

  let corrupt = false;
  const door: TapeDoor = {
    url: '',
    dir,
    token: options.token,
    puts: 0,
    corruptNextPut: () => (corrupt = true),
    down: async () => {
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
    },
    up: async () => {
      front = http.createServer(handle);
      await listen(front, port);
    },
    close: async () => {
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
      await new Promise((resolve) => dav.stop(() => resolve(undefined)));
    },
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${door.token}`) {
      req.resume();
      res.writeHead(401, { 'Content-Length': '0' }).end();
      return;
    }
    const file = path.join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (
      req.method === 'HEAD' &&
      options.digest &&
      req.headers['want-digest'] &&
      fs.existsSync(file)
    ) {
      const bytes = fs.readFileSync(file);
      res
        .writeHead(200, {
          'Content-Length': String(bytes.length),
          Digest: `adler32=${new Adler32().update(bytes).hex()}`,
        })
        .end();
      return;
    }
    if (req.method === 'PUT') door.puts++;
    const headers = { ...req.headers };
    delete headers.authorization;
    const upstream = http.request(
      { host: '127.0.0.1', port: davPort, path: req.url, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    let body: NodeJS.ReadableStream = req;
    if (req.method === 'PUT' && corrupt) {
      corrupt = false;
      let first = true;
      body = req.pipe(
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            if (first && chunk.length > 0) {
              chunk = Buffer.from(chunk);
              chunk[chunk.length >> 1] ^= 0xff; // one flipped byte, same size
              first = false;
            }
            callback(null, chunk);
          },
        }),
      );
    }
    body.pipe(upstream);
  };

  let front = http.createServer(handle);
  const port = await listen(front);
  door.url = `http://127.0.0.1:${port}/`;
  return door;
}
