import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { debianBinary } from './debianBinary';
import { freePort } from './ports';
import { waitFor } from './wait';

/**
 * A real HEP tape door for the tests: Debian's XRootD with its HTTP plugin (XrdHttp) and the
 * SciTokens authorisation plugin, as a child process on a loopback port. It accepts WLCG tokens
 * signed by a key made here (its key cache is seeded, so no issuer server is needed), answers
 * `Want-Digest: adler32`, and can be stopped and started again on the same port with its files.
 * Recipe and traps: shared/recipes/tape-endpoint-xrootd.md.
 */
export interface XrootdDoor {
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** What the door stores: a tape path `cygno/LNGS/x.mid` is `<dataDir>/cygno/LNGS/x.mid`. */
  dataDir: string;
  /** A WLCG token; scopes default to read, create and modify under /. */
  token(options?: { scope?: string; expiresInSeconds?: number }): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const ISSUER = 'https://issuer.test.local';
const AUDIENCE = 'cygno-tape-test';
const PACKAGES = 'xrootd-server xrootd-scitokens-plugins';

/** The xrootd program, once its token plugin is there too. */
function xrootdBinary(): string {
  const binary = debianBinary('xrootd', PACKAGES);
  const plugin = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib']
    .map((dir) => path.join(dir, 'libXrdAccSciTokens-5.so'))
    .some(fs.existsSync);
  if (!plugin)
    throw new Error(`XRootD's SciTokens plugin is not installed: apt-get install ${PACKAGES}`);
  return binary;
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'OPTIONS', timeout: 500, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startXrootd(): Promise<XrootdDoor> {
  const xrootd = xrootdBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-xrootd-'));
  const dataDir = path.join(dir, 'data');
  for (const sub of ['data', 'admin', 'run', 'cache/scitokens']) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
  // scitokens-cpp looks keys up in its cache first: seeded, the https issuer is never fetched.
  const cache = new Database(path.join(dir, 'cache/scitokens/scitokens_cpp.sqllite'));
  cache.exec(
    'CREATE TABLE IF NOT EXISTS keycache (issuer text UNIQUE PRIMARY KEY NOT NULL, keys text NOT NULL)',
  );
  cache
    .prepare('INSERT OR REPLACE INTO keycache VALUES (?, ?)')
    .run(ISSUER, JSON.stringify({ jwks, next_update: 4102444800, expires: 4102444800 }));
  cache.close();

  const port = await freePort();
  const config = path.join(dir, 'xrd.cfg');
  fs.writeFileSync(
    config,
    [
      `xrd.port ${port}`,
      'xrd.protocol XrdHttp libXrdHttp.so',
      'xrd.allow host localhost',
      `all.adminpath ${dir}/admin`,
      `all.pidpath ${dir}/run`,
      `oss.localroot ${dataDir}`,
      'all.export /',
      'xrootd.chksum adler32',
      'ofs.authorize 1',
      `ofs.authlib libXrdAccSciTokens.so config=${dir}/scitokens.cfg`,
      'http.header2cgi Authorization authz',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'scitokens.cfg'),
    `[Global]\naudience = ${AUDIENCE}\n\n[Issuer local]\nissuer = ${ISSUER}\nbase_path = /\n`,
  );
  const asRoot = process.getuid?.() === 0;
  // As root, xrootd switches to its own user: it must own what it reads and writes.
  if (asRoot) spawnSync('chown', ['-R', 'xrootd:xrootd', dir], { stdio: 'inherit' });

  const url = `http://127.0.0.1:${port}/`;
  let child: ChildProcess | undefined;
  let stderr = '';
  const door: XrootdDoor = {
    url,
    dataDir,
    token: (options) => signToken(privateKey, kid, options),
    async start() {
      stderr = '';
      child = spawn(xrootd, [...(asRoot ? ['-R', 'xrootd'] : []), '-c', config], {
        env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
      const started = child;
      await waitFor(
        async () => {
          if (started.exitCode !== null) throw new Error(`xrootd exited: ${stderr}`);
          return answers(url);
        },
        'xrootd to answer',
        10_000,
        20,
      );
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL'); // a door that dies, mid-request if one is running
      await exited;
    },
    async close() {
      await door.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await door.start();
  return door;
}

async function signToken(
  key: CryptoKey,
  kid: string,
  options: { scope?: string; expiresInSeconds?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const expires = now + (options.expiresInSeconds ?? 600);
  return new SignJWT({
    'wlcg.ver': '1.0',
    scope: options.scope ?? 'storage.read:/ storage.create:/ storage.modify:/',
  })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('cygno-gateway-test')
    .setIssuedAt(Math.min(now, expires - 60))
    .setNotBefore(Math.min(now, expires - 60))
    .setExpirationTime(expires)
    .setJti(randomUUID())
    .sign(key);
}
