import { authConfigured, type Config } from '../config';
import { UnauthenticatedError } from '../errors';
import type { ApiTokenService } from '../services/ApiTokenService';
import { principalForToken } from './apiTokens';
import { looksLikeJwt, OidcVerifier, type IdpState } from './oidc';
import { Role, type Principal } from './roles';

/** Without configured auth the server only listens on loopback, and loopback callers are admins. */
const LOOPBACK_ADMIN: Principal = Object.freeze({ name: 'loopback', roles: [Role.ADMIN] });

/** Extracts the token from "Bearer <token>" (case-insensitive scheme). */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export interface Credentials {
  authorization?: unknown;
  token?: unknown;
}

/**
 * Who is calling, from an Authorization header (HTTP) or a connection_init payload (WebSocket:
 * `{ authorization: "Bearer …" }` or `{ token: "…" }`): a static token from API_TOKENS, an
 * INDIGO IAM access token (a JWT, when OIDC is configured) or a token kept in the database.
 * Throws UNAUTHENTICATED for a missing, unknown or expired credential, FORBIDDEN for a valid
 * identity that maps to no role.
 */
export class Authenticator {
  private readonly oidc: OidcVerifier | undefined;

  constructor(
    private readonly config: Config,
    private readonly tokens: ApiTokenService,
  ) {
    this.oidc = config.oidc ? new OidcVerifier(config.oidc) : undefined;
  }

  /** Discovers the OIDC issuer (if any) now, so that a misconfiguration shows at start-up. */
  start(): void {
    this.oidc?.start();
  }

  /** The identity provider's state for /readyz; undefined without OIDC. */
  idpState(): IdpState | undefined {
    return this.oidc?.state();
  }

  async authenticate(credentials: Credentials): Promise<Principal> {
    if (!authConfigured(this.config)) return LOOPBACK_ADMIN;
    const token =
      bearerToken(credentials.authorization) ??
      (typeof credentials.token === 'string' ? credentials.token : undefined);
    if (!token) throw new UnauthenticatedError();
    const configured = principalForToken(this.config.apiTokens, token);
    if (configured) return configured;
    if (this.oidc && looksLikeJwt(token)) return this.oidc.verify(token);
    const stored = await this.tokens.principalFor(token);
    if (!stored) throw new UnauthenticatedError('the bearer token is not valid');
    return stored;
  }
}
