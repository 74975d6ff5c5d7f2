import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { ForbiddenError, UnauthenticatedError } from '../errors';
import { logger } from '../logger';
import type { Principal, Role } from './roles';

const log = logger('oidc');

export interface OidcSettings {
  issuer: string;
  audience: string;
  /** Group (e.g. `/cygno/shifter`) → role. */
  roleMap: ReadonlyMap<string, Role>;
  /** Claims holding the groups, tried in order: IAM's `groups`, WLCG's `wlcg.groups`. */
  groupClaims: readonly string[];
  clockSkewSeconds: number;
  /** Least time between two JWKS fetches caused by an unknown `kid`. */
  jwksCooldownMs: number;
  algorithms: readonly string[];
}

/** How long a failed discovery is remembered before the issuer is asked again. */
const DISCOVERY_RETRY_MS = 5_000;
const UNREACHABLE = 'the identity provider cannot be reached; try again shortly';

/** A group as the role map keys it: IAM writes "cygno/shifter", WLCG tokens "/cygno/shifter". */
function groupPath(group: string): string {
  return group.startsWith('/') ? group : `/${group}`;
}
const FETCH_TIMEOUT_MS = 5_000;

/**
 * Verifies INDIGO IAM (OpenID Connect) access tokens: signature against the issuer's JWKS
 * (found through discovery, cached, fetched again when a token names a `kid` it does not hold,
 * at most once per cooldown), issuer, audience and expiry with a small clock skew; roles from
 * the group claims through the configured map.
 */
export class OidcVerifier {
  private keys: JWTVerifyGetKey | undefined;
  private discovering: Promise<JWTVerifyGetKey> | undefined;
  private failedAt = 0;

  constructor(private readonly settings: OidcSettings) {}

  /** The principal of a token that looks like a JWT; throws UNAUTHENTICATED or FORBIDDEN. */
  async verify(token: string): Promise<Principal> {
    const keys = await this.jwks();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: this.settings.clockSkewSeconds,
        algorithms: [...this.settings.algorithms],
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw new UnauthenticatedError(`the bearer token is not valid: ${reason(error)}`);
    }
    const roles = this.rolesOf(payload);
    const name = `oidc:${payload.sub}`;
    if (roles.length === 0)
      throw new ForbiddenError(
        `${name} is in none of the groups this gateway maps to a role (${[...this.settings.roleMap.keys()].join(', ')})`,
      );
    return { name, roles, expiresAt: new Date(payload.exp! * 1000) };
  }

  private rolesOf(payload: JWTPayload): Role[] {
    const roles = new Set<Role>();
    for (const claim of this.settings.groupClaims) {
      const groups = payload[claim];
      const list = Array.isArray(groups)
        ? groups
        : typeof groups === 'string'
          ? groups.split(' ')
          : [];
      for (const group of list) {
        if (typeof group !== 'string') continue;
        const role = this.settings.roleMap.get(groupPath(group));
        if (role) roles.add(role);
      }
    }
    return [...roles];
  }

  private async jwks(): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    if (!this.discovering) {
      if (Date.now() - this.failedAt < DISCOVERY_RETRY_MS)
        throw new UnauthenticatedError(UNREACHABLE);
      this.discovering = this.discover().then(
        (keys) => (this.keys = keys),
        (error: unknown) => {
          this.failedAt = Date.now();
          this.discovering = undefined;
          log.error({ err: error, issuer: this.settings.issuer }, 'OIDC discovery failed');
          throw new UnauthenticatedError(UNREACHABLE);
        },
      );
    }
    return this.discovering;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const url = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== this.settings.issuer)
      throw new Error(
        `${url} names issuer ${String(document.issuer)}, not ${this.settings.issuer}`,
      );
    if (typeof document.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
    log.info({ issuer: this.settings.issuer, jwks: document.jwks_uri }, 'OIDC issuer discovered');
    return createRemoteJWKSet(new URL(document.jwks_uri), {
      timeoutDuration: FETCH_TIMEOUT_MS,
      cooldownDuration: this.settings.jwksCooldownMs,
      cacheMaxAge: 10 * 60_000,
    });
  }
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

/** Parses `OIDC_ROLE_MAP`: `/cygno/admin=admin,/cygno=reader`. */
export function parseRoleMap(text: string, isRole: (r: string) => r is Role): Map<string, Role> {
  const map = new Map<string, Role>();
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [group, role] = entry.split('=').map((s) => s.trim());
    if (!group || !role || !isRole(role))
      throw new Error(`"${entry}" is not group=role (roles: reader, shifter, daq, admin)`);
    map.set(groupPath(group), role);
  }
  if (map.size === 0) throw new Error('maps no group to a role');
  return map;
}
