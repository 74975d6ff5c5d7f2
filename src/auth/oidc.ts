import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import {
  AppError,
  ForbiddenError,
  IdpMisconfiguredError,
  IdpUnavailableError,
  UnauthenticatedError,
} from '../errors';
import { logger } from '../logger';
import { JwksCache } from './jwksCache';
import type { Principal, Role } from './roles';

const log = logger('oidc');

/**
 * How tokens map to roles: by group (`/cygno/shifter`), by a granted scope (`scope:cygno.daq`)
 * or by the client the token was issued to (`client:cygno-daq`). IAM's client-credentials
 * tokens carry no groups (indigo-iam/iam#681): robots are recognised by scope or client.
 */
export interface RoleMap {
  groups: ReadonlyMap<string, Role>;
  scopes: ReadonlyMap<string, Role>;
  clients: ReadonlyMap<string, Role>;
}

export interface OidcSettings {
  issuer: string;
  audience: string;
  roleMap: RoleMap;
  /** Claims holding the groups, tried in order: IAM's `groups`, WLCG's `wlcg.groups`. */
  groupClaims: readonly string[];
  clockSkewSeconds: number;
  /** Least time between two JWKS fetches caused by an unknown `kid`. */
  jwksCooldownMs: number;
  /** Keys older than this are fetched again (and kept when that fails). */
  jwksMaxAgeMs: number;
  /** Longest wait for one answer of the IdP (discovery, keys). */
  fetchTimeoutMs: number;
  algorithms: readonly string[];
}

/** What /readyz says of the IdP: its state, and why when it is not `ok`. */
export interface IdpState {
  issuer: string;
  state: 'ok' | 'not-yet-reached' | 'unreachable' | 'misconfigured';
  detail?: string;
  keys?: { count: number; ageSeconds: number | null };
}

/** How long a failed discovery is remembered before the issuer is asked again. */
const DISCOVERY_RETRY_MS = 5_000;

/** A group as the role map keys it: IAM writes "cygno/shifter", WLCG tokens "/cygno/shifter". */
function groupPath(group: string): string {
  return group.startsWith('/') ? group : `/${group}`;
}

/**
 * Verifies INDIGO IAM (OpenID Connect) access tokens: signature against the issuer's keys
 * (found through discovery at start-up, cached through IdP outages, fetched again for a key
 * id the cache does not hold), issuer, audience and expiry with a small clock skew; roles from
 * groups, scopes or client id through the configured map. Tells apart a bad token (401), a
 * token without a role (403), an IdP that cannot be reached (503, try again) and a gateway
 * configured for an issuer the IdP does not call itself (503, fix OIDC_ISSUER).
 */
export class OidcVerifier {
  private keys: JwksCache | undefined;
  private discovering: Promise<JwksCache> | undefined;
  private failure: AppError | undefined;
  private failedAt = 0;

  constructor(private readonly settings: OidcSettings) {}

  /** Discovers the issuer now, so that a wrong OIDC_ISSUER is in the log at start-up. */
  start(): void {
    this.keySource().catch(() => undefined); // logged by keySource; requests say it too
  }

  /** The principal of a token that looks like a JWT; throws 401, 403 or 503 errors. */
  async verify(token: string): Promise<Principal> {
    const keys = await this.keySource();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys.getKey, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: this.settings.clockSkewSeconds,
        algorithms: [...this.settings.algorithms],
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof AppError) throw error; // the IdP, not the token
      throw new UnauthenticatedError(`the bearer token is not valid: ${reason(error)}`);
    }
    const name = principalName(payload);
    const roles = this.rolesOf(payload);
    if (roles.length === 0)
      throw new ForbiddenError(
        `${name} maps to no role: none of its groups, scopes or client id is in OIDC_ROLE_MAP`,
      );
    // Valid as long as HTTP accepts it: the expiry plus the tolerated skew, over WebSocket too.
    const expiresAt = new Date((payload.exp! + this.settings.clockSkewSeconds) * 1000);
    return { name, roles, expiresAt };
  }

  state(): IdpState {
    const issuer = this.settings.issuer;
    if (this.failure instanceof IdpMisconfiguredError)
      return { issuer, state: 'misconfigured', detail: this.failure.message };
    if (!this.keys)
      return this.failure
        ? { issuer, state: 'unreachable', detail: this.failure.message }
        : { issuer, state: 'not-yet-reached' };
    const { keys, ageMs } = this.keys.state;
    const held = { count: keys, ageSeconds: ageMs == null ? null : Math.round(ageMs / 1000) };
    return this.keys.lastError
      ? { issuer, state: 'unreachable', detail: this.keys.lastError, keys: held }
      : { issuer, state: 'ok', keys: held };
  }

  private rolesOf(payload: JWTPayload): Role[] {
    const { groups, scopes, clients } = this.settings.roleMap;
    const roles = new Set<Role>();
    for (const claim of this.settings.groupClaims) {
      for (const group of listClaim(payload[claim])) {
        const role = groups.get(groupPath(group));
        if (role) roles.add(role);
      }
    }
    for (const scope of listClaim(payload.scope)) {
      const role = scopes.get(scope);
      if (role) roles.add(role);
    }
    const client = payload.client_id ?? payload.azp;
    const clientRole = typeof client === 'string' ? clients.get(client) : undefined;
    if (clientRole) roles.add(clientRole);
    return [...roles];
  }

  private async keySource(): Promise<JwksCache> {
    if (this.keys) return this.keys;
    if (!this.discovering) {
      if (this.failure && Date.now() - this.failedAt < DISCOVERY_RETRY_MS) throw this.failure;
      this.discovering = this.discover().then(
        (keys) => {
          this.failure = undefined;
          return (this.keys = keys);
        },
        (error: AppError) => {
          this.failure = error;
          this.failedAt = Date.now();
          this.discovering = undefined;
          throw error;
        },
      );
    }
    return this.discovering;
  }

  private async discover(): Promise<JwksCache> {
    const { issuer } = this.settings;
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let document: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(this.settings.fetchTimeoutMs),
      });
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch (error) {
      log.error({ err: error, issuer }, 'OIDC discovery failed: the IdP cannot be reached');
      throw new IdpUnavailableError(
        `the identity provider cannot be reached (${(error as Error).message}); try again shortly`,
      );
    }
    if (document.issuer !== issuer) {
      // Not an outage: tokens name the issuer of the discovery document, byte for byte.
      const message = `OIDC_ISSUER is "${issuer}" but the identity provider at ${url} names itself "${String(document.issuer)}"; set OIDC_ISSUER to exactly that`;
      log.error({ configured: issuer, discovered: document.issuer }, message);
      throw new IdpMisconfiguredError(message);
    }
    if (typeof document.jwks_uri !== 'string') {
      log.error({ issuer, url }, 'the discovery document has no jwks_uri');
      throw new IdpMisconfiguredError(`the identity provider at ${url} publishes no jwks_uri`);
    }
    log.info({ issuer, jwks: document.jwks_uri }, 'OIDC issuer discovered');
    return new JwksCache(document.jwks_uri, {
      maxAgeMs: this.settings.jwksMaxAgeMs,
      cooldownMs: this.settings.jwksCooldownMs,
      timeoutMs: this.settings.fetchTimeoutMs,
    });
  }
}

/** A readable name beside the subject: IAM users by username, robots by client id. */
function principalName(payload: JWTPayload): string {
  const sub = String(payload.sub);
  const readable = [payload.preferred_username, payload.client_id].find(
    (v): v is string => typeof v === 'string' && v !== '',
  );
  return readable && readable !== sub ? `oidc:${readable} (sub ${sub})` : `oidc:${sub}`;
}

/** A claim holding a list: a JSON array, or a space-separated string (as `scope` is). */
function listClaim(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? value.split(' ').filter(Boolean) : [];
}

function reason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'it has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `claim ${error.claim} is not acceptable (${error.reason})`;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'it is signed with an unknown key';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'its algorithm is not allowed';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'its signature does not verify';
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'it cannot be parsed';
}

/** Whether a bearer token is a JWT (three base64url parts) rather than a static API token. */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/**
 * Parses `OIDC_ROLE_MAP`: `/cygno/admin=admin,/cygno=reader` for groups, and for robots whose
 * tokens carry no groups `scope:cygno.daq=daq` and `client:cygno-daq=daq`.
 */
export function parseRoleMap(text: string, isRole: (r: string) => r is Role): RoleMap {
  const groups = new Map<string, Role>();
  const scopes = new Map<string, Role>();
  const clients = new Map<string, Role>();
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [key, role] = entry.split('=').map((s) => s.trim());
    if (!key || !role || !isRole(role))
      throw new Error(
        `"${entry}" is not group=role, scope:NAME=role or client:ID=role (roles: reader, shifter, daq, admin)`,
      );
    if (key.startsWith('scope:')) scopes.set(key.slice('scope:'.length), role);
    else if (key.startsWith('client:')) clients.set(key.slice('client:'.length), role);
    else groups.set(groupPath(key), role);
  }
  if (groups.size + scopes.size + clients.size === 0) throw new Error('maps nothing to a role');
  return { groups, scopes, clients };
}
