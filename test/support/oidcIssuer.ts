import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

/**
 * A local OpenID Connect issuer for tests: discovery document and JWKS on loopback, RS256 keys,
 * tokens signed on demand, and key rotation. Counts JWKS fetches.
 */
export class TestIssuer {
  private keys: Key[] = [];
  jwksFetches = 0;

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<TestIssuer> {
    const server = http.createServer();
    const issuer = new TestIssuer(server);
    server.on('request', (req, res) => issuer.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await issuer.rotate();
    return issuer;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/realms/cygno`;
  }

  /** Replaces the published keys with a new one (the old key is no longer published). */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = `key-${this.keys.length + 1}`;
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    this.keys = [{ kid, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) }];
    return kid;
  }

  /** A signed access token; `claims` override the defaults (sub, groups, aud, iss, exp in 1 h). */
  async token(
    claims: Record<string, unknown> = {},
    options: { kid?: string; key?: CryptoKey } = {},
  ): Promise<string> {
    const key = this.keys[0];
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      sub: 'a1b2c3',
      iss: this.url,
      aud: 'cygno-gateway',
      iat: now,
      exp: now + 3600,
      groups: ['cygno/shifter'],
      ...claims,
    };
    return new SignJWT(payload as never)
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? key.kid, typ: 'at+jwt' })
      .sign(options.key ?? key.privateKey);
  }

  /** A token with `alg: none` and no signature. */
  unsignedToken(claims: Record<string, unknown> = {}): string {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', iss: this.url, aud: 'cygno-gateway', exp: now + 3600, groups: ['/cygno/admin'], ...claims })}.`;
  }

  /** The algorithm-confusion attack: HS256 "signed" with the issuer's public key as secret. */
  hs256WithPublicKey(): string {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const head = `${b64({ alg: 'HS256', kid: this.keys[0].kid })}.${b64({ sub: 'x', iss: this.url, aud: 'cygno-gateway', exp: now + 3600, groups: ['/cygno/admin'] })}`;
    const signature = createHmac('sha256', this.keys[0].publicPem).update(head).digest('base64url');
    return `${head}.${signature}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const json = (body: unknown) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (req.url === '/realms/cygno/.well-known/openid-configuration')
      return json({ issuer: this.url, jwks_uri: `${this.url}/jwks` });
    if (req.url === '/realms/cygno/jwks') {
      this.jwksFetches++;
      return json({ keys: this.keys.map((k) => k.publicJwk) });
    }
    res.statusCode = 404;
    res.end();
  }
}
