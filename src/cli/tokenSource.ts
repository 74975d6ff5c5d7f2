import fs from 'node:fs';
import { decodeJwt } from 'jose';
import { logger } from '../logger';

const log = logger('token');

/**
 * Where a long-lived client (subscribe, discord-bot) gets its bearer token: asked again before
 * every connection and request, so that a renewed token is used from then on.
 */
export interface TokenSource {
  /** The token to send now; undefined for a gateway without authentication. */
  token(): Promise<string | undefined>;
  /** Whether a refused token may be followed by a better one (a file, client credentials). */
  readonly renews: boolean;
  /** When the token last handed out expires (ms since the epoch), if it says. */
  expiresAt(): number | undefined;
}

/** When a JWT expires (ms since the epoch); undefined for other tokens. */
function expiryOf(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** A fixed token (GATEWAY_TOKEN), or none. */
export function staticToken(token: string | undefined): TokenSource {
  return {
    token: async () => token,
    renews: false,
    expiresAt: () => (token ? expiryOf(token) : undefined),
  };
}

/**
 * A token kept in a file that something else renews (oidc-agent, a cron job, a sidecar), read
 * again whenever the file changes, as TAPE_TOKEN_FILE is. A file that goes missing, empty or
 * unreadable does not lose the token already read: it is used until it expires, with a warning.
 */
export function fileToken(file: string): TokenSource {
  let current: string | undefined;
  let seen = '';
  return {
    renews: true,
    expiresAt: () => (current ? expiryOf(current) : undefined),
    async token() {
      let stamp: string;
      try {
        const stat = fs.statSync(file);
        stamp = `${stat.mtimeMs}:${stat.size}`;
        if (stamp !== seen) {
          const text = fs.readFileSync(file, 'utf8').trim();
          if (!text) throw new Error('it is empty');
          current = text;
          seen = stamp;
        }
      } catch (error) {
        const why = (error as Error).message;
        const expiry = current ? expiryOf(current) : undefined;
        if (!current || (expiry !== undefined && expiry <= Date.now()))
          throw new Error(`token file ${file}: ${why}; no valid token to use meanwhile`);
        log.warn(
          { file, reason: why },
          'cannot read the token file; keeping the token read before',
        );
      }
      return current;
    },
  };
}

export interface ClientCredentials {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

/**
 * OAuth client credentials, as a robot signs in at INDIGO IAM: the token endpoint is found
 * through the issuer's discovery document, and a token is fetched again once less than a fifth
 * of its life (or a minute) is left — before the gateway would end a connection on its expiry.
 */
export function clientCredentialsToken(credentials: ClientCredentials): TokenSource {
  let current: { token: string; renewAt: number } | undefined;
  let endpoint: string | undefined;
  const discover = async () => {
    const url = `${credentials.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    const document = (await response.json()) as { token_endpoint?: unknown };
    if (typeof document.token_endpoint !== 'string')
      throw new Error(`${url} names no token_endpoint`);
    return document.token_endpoint;
  };
  return {
    renews: true,
    expiresAt: () => (current ? expiryOf(current.token) : undefined),
    async token() {
      if (current && Date.now() < current.renewAt) return current.token;
      endpoint ??= await discover();
      const basic = Buffer.from(
        `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`,
      ).toString('base64');
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          ...(credentials.scope ? { scope: credentials.scope } : {}),
        }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json().catch(() => ({}))) as {
        access_token?: string;
        expires_in?: number;
        error?: string;
        error_description?: string;
      };
      if (!response.ok || !body.access_token) {
        if (current && (expiryOf(current.token) ?? 0) > Date.now()) {
          log.warn({ error: body.error }, 'cannot renew the token yet; using the current one');
          return current.token;
        }
        throw new Error(
          `the identity provider refused client credentials for ${credentials.clientId}: ${body.error ?? response.status} ${body.error_description ?? ''}`.trim(),
        );
      }
      const lifeMs = (body.expires_in ?? 3600) * 1000;
      current = {
        token: body.access_token,
        renewAt: Date.now() + lifeMs - Math.max(Math.min(60_000, lifeMs / 2), lifeMs / 5),
      };
      return current.token;
    },
  };
}

/**
 * The token source a command line asks for, in this order: client credentials
 * (`--client-id`/`--client-secret` or GATEWAY_CLIENT_ID/GATEWAY_CLIENT_SECRET, with
 * GATEWAY_OIDC_ISSUER and optionally GATEWAY_OIDC_SCOPE), a token file (`--token-file` or
 * GATEWAY_TOKEN_FILE), a fixed token (GATEWAY_TOKEN), or none.
 */
export function tokenSourceFrom(
  env: NodeJS.ProcessEnv,
  flags: { tokenFile?: string; clientId?: string; clientSecret?: string } = {},
): TokenSource {
  const clientId = flags.clientId ?? env.GATEWAY_CLIENT_ID;
  const clientSecret = flags.clientSecret ?? env.GATEWAY_CLIENT_SECRET;
  if (clientId || clientSecret) {
    if (!clientId || !clientSecret)
      throw new Error('client credentials need both a client id and a client secret');
    if (!env.GATEWAY_OIDC_ISSUER)
      throw new Error('client credentials need GATEWAY_OIDC_ISSUER (the IdP that issues tokens)');
    return clientCredentialsToken({
      issuer: env.GATEWAY_OIDC_ISSUER,
      clientId,
      clientSecret,
      scope: env.GATEWAY_OIDC_SCOPE,
    });
  }
  const tokenFile = flags.tokenFile ?? env.GATEWAY_TOKEN_FILE;
  if (tokenFile) return fileToken(tokenFile);
  return staticToken(env.GATEWAY_TOKEN);
}
