import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring download URLs for stores that cannot presign themselves (the file backend):
 * the gateway serves `/objects/<key>?expires=…&signature=…` after checking the HMAC.
 */
export class UrlSigner {
  constructor(
    private readonly secret: string,
    private publicUrl: string,
  ) {}

  /** The gateway's URL as callers reach it. */
  get url(): string {
    return this.publicUrl;
  }

  /** Set once the server knows its port (PORT=0 picks a free one). */
  setPublicUrl(url: string): void {
    this.publicUrl = url;
  }

  /** A download link, or (method PUT) an upload link: each signature is good for its method only. */
  sign(
    key: string,
    expiresSeconds: number,
    now = Date.now(),
    method: 'GET' | 'PUT' = 'GET',
  ): string {
    const expires = Math.floor(now / 1000) + expiresSeconds;
    const path = `/objects/${key.split('/').map(encodeURIComponent).join('/')}`;
    return `${this.publicUrl.replace(/\/$/, '')}${path}?expires=${expires}&signature=${this.signature(signedKey(key, method), expires)}`;
  }

  /** A signed link to another route of the gateway: `/<route>/<id>`, checked as `<route>/<id>`. */
  signRoute(route: string, id: string, expiresSeconds: number, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + expiresSeconds;
    const signature = this.signature(`route:${route}/${id}`, expires);
    return `${this.publicUrl.replace(/\/$/, '')}/${route}/${encodeURIComponent(id)}?expires=${expires}&signature=${signature}`;
  }

  /** True when a `signRoute` link's signature matches and has not expired. */
  verifyRoute(route: string, id: string, expires?: string, signature?: string): boolean {
    return this.verify(`route:${route}/${id}`, expires, signature);
  }

  /** True when the signature matches the key (for `method`) and has not expired. */
  verify(
    key: string,
    expires: string | undefined,
    signature: string | undefined,
    now = Date.now(),
    method: 'GET' | 'PUT' = 'GET',
  ): boolean {
    key = signedKey(key, method);
    const expiresAt = Number(expires);
    if (!signature || !Number.isSafeInteger(expiresAt) || expiresAt * 1000 < now) return false;
    const expected = Buffer.from(this.signature(key, expiresAt));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private signature(key: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${key}\n${expires}`).digest('base64url');
  }
}

/** What a signature covers: the key, and for uploads the method too. */
function signedKey(key: string, method: 'GET' | 'PUT'): string {
  return method === 'GET' ? key : `${method} ${key}`;
}
