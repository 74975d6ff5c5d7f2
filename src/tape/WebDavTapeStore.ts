import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TapeAuthError, type TapeObject, type TapeStore } from './TapeStore';
import type { TokenFile } from './tokenFile';

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/** An adler32 from an RFC 3230 `Digest` header ("adler32=5554618f"), as 8 lowercase hex. */
export function adler32FromDigest(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header.join(',') : header;
  const match = value?.match(/(?:^|,)\s*adler32=([0-9a-fA-F]{1,8})\s*(?:,|$)/i);
  return match ? match[1].toLowerCase().padStart(8, '0') : null;
}

/**
 * A WebDAV tape door (StoRM WebDAV at CNAF, XRootD's XrdHttp) with a bearer token read from a
 * file. Requests go through node:http with header names spelled as the protocols spell them:
 * some doors (XRootD 5.5) read them case-sensitively and turn a lower-case PUT into an empty
 * file. The checksum comes from `Want-Digest: adler32` where the door answers it.
 */
export class WebDavTapeStore implements TapeStore {
  readonly endpoint: string;
  private readonly base: URL;

  constructor(
    url: string,
    private readonly tokens?: TokenFile,
    private readonly timeoutMs = 60_000,
  ) {
    const base = new URL(url.replace(/^davs:/, 'https:').replace(/^dav:/, 'http:'));
    base.username = '';
    base.password = '';
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    this.endpoint = base.toString();
  }

  urlFor(path: string): string {
    return new URL(path.split('/').map(encodeURIComponent).join('/'), this.base).toString();
  }

  async put(path: string, body: Readable, size: number): Promise<void> {
    await this.makeParents(path);
    const res = await this.request('PUT', path, { 'Content-Length': String(size) }, body);
    res.body.resume();
    if (res.status !== 200 && res.status !== 201 && res.status !== 204)
      throw this.failure('PUT', this.urlFor(path), res.status);
  }

  async stat(path: string): Promise<TapeObject | null> {
    const res = await this.request('HEAD', path, { 'Want-Digest': 'adler32' });
    res.body.resume();
    if (res.status === 404) return null;
    if (res.status !== 200) throw this.failure('HEAD', this.urlFor(path), res.status);
    const size = Number(res.headers['content-length']);
    if (!Number.isSafeInteger(size))
      throw new Error(`HEAD ${this.urlFor(path)}: no Content-Length in the answer`);
    return { size, adler32: adler32FromDigest(res.headers.digest) };
  }

  async get(path: string): Promise<Readable> {
    const res = await this.request('GET', path, {});
    if (res.status !== 200) {
      res.body.resume();
      throw this.failure('GET', this.urlFor(path), res.status);
    }
    return res.body;
  }

  async delete(path: string): Promise<void> {
    const res = await this.request('DELETE', path, {});
    res.body.resume();
    if (![200, 202, 204, 404].includes(res.status))
      throw this.failure('DELETE', this.urlFor(path), res.status);
  }

  /**
   * StoRM answers 409 to a PUT below a missing collection: create each parent first, from the
   * top of the URL path (201 made, 405 there already; anything else shows up at the PUT).
   */
  private async makeParents(path: string): Promise<void> {
    const full = new URL(this.urlFor(path)).pathname.split('/').filter(Boolean).slice(0, -1);
    for (let i = 1; i <= full.length; i++) {
      const collection = new URL(`/${full.slice(0, i).join('/')}/`, this.base);
      const res = await this.send('MKCOL', collection, {});
      res.body.resume();
      if (res.status === 401 || res.status === 403)
        throw this.failure('MKCOL', collection.toString(), res.status);
    }
  }

  private failure(method: string, url: string, status: number): Error {
    const where = `${method} ${url}`;
    if (status === 401 || status === 403) {
      return new TapeAuthError(
        `${where}: HTTP ${status}, the tape endpoint refused the token${
          this.tokens
            ? ` from ${this.tokens.path} (expired? it is read again when the file changes)`
            : ' (TAPE_TOKEN_FILE is not set)'
        }`,
      );
    }
    return new Error(`${where}: HTTP ${status}`);
  }

  private request(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: Readable,
  ): Promise<Response> {
    return this.send(method, new URL(this.urlFor(path)), headers, body);
  }

  private async send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: Readable,
  ): Promise<Response> {
    const token = await this.tokens?.token();
    const client = url.protocol === 'https:' ? https : http;
    // A new connection per request: doors close idle ones at will (XRootD after an error
    // answer), and a request sent on a socket the door just closed fails with ECONNRESET. A
    // tape copy is one large request, so the handshake costs nothing worth keeping a pool for.
    return new Promise<Response>((resolve, reject) => {
      const req = client.request(url, {
        method,
        agent: false,
        headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        timeout: this.timeoutMs,
      });
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${url}: no answer within ${this.timeoutMs} ms`)),
      );
      req.on('error', (error) =>
        reject(new Error(`${method} ${url}: ${(error as Error).message}`, { cause: error })),
      );
      req.on('response', (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      if (body) pipeline(body, req).catch((error: Error) => req.destroy(error));
      else req.end();
    });
  }
}
