import { authConfigured, type Config } from '../config';
import { UnauthenticatedError } from '../errors';
import { principalForToken } from './apiTokens';
import { Role, type Principal } from './roles';

/** Without configured auth the server only listens on loopback, and loopback callers are admins. */
const LOOPBACK_ADMIN: Principal = Object.freeze({ name: 'loopback', roles: [Role.ADMIN] });

/** Extracts the token from "Bearer <token>" (case-insensitive scheme). */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Who is calling, from an Authorization header value (HTTP) or a connection_init payload
 * (WebSocket: `{ authorization: "Bearer …" }` or `{ token: "…" }`). Throws UNAUTHENTICATED
 * when auth is configured and the token is missing or unknown.
 */
export function authenticate(
  config: Config,
  credentials: { authorization?: unknown; token?: unknown },
): Principal {
  if (!authConfigured(config)) return LOOPBACK_ADMIN;
  const token =
    bearerToken(credentials.authorization) ??
    (typeof credentials.token === 'string' ? credentials.token : undefined);
  if (!token) throw new UnauthenticatedError();
  const principal = principalForToken(config.apiTokens, token);
  if (!principal) throw new UnauthenticatedError('the bearer token is not valid');
  return principal;
}
