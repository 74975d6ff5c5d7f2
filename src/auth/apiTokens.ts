import { createHash, timingSafeEqual } from 'node:crypto';
import { isRole, type Principal, type Role } from './roles';

/** A static API token from `API_TOKENS`; only its SHA-256 is kept in memory. */
export interface ApiToken {
  readonly role: Role;
  readonly sha256: Buffer;
  /** First characters of the hash: identifies the token in logs without revealing it. */
  readonly fingerprint: string;
}

const MIN_TOKEN_LENGTH = 16;

/** Parses `role:token,role:token`; throws with a message fit for the configuration error. */
export function parseApiTokens(value: string): ApiToken[] {
  return value
    .split(',')
    .map((pair) => pair.trim())
    .filter((pair) => pair.length > 0)
    .map((pair, index) => {
      const separator = pair.indexOf(':');
      if (separator < 0) throw new Error(`entry ${index + 1} is not role:token`);
      const role = pair.slice(0, separator).trim();
      const token = pair.slice(separator + 1).trim();
      if (!isRole(role)) {
        throw new Error(
          `entry ${index + 1} has unknown role "${role}" (reader, shifter, daq, admin)`,
        );
      }
      if (token.length < MIN_TOKEN_LENGTH) {
        throw new Error(
          `entry ${index + 1} (${role}): token shorter than ${MIN_TOKEN_LENGTH} characters`,
        );
      }
      const sha256 = hashToken(token);
      return { role, sha256, fingerprint: sha256.toString('hex').slice(0, 8) };
    });
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Finds the principal a bearer token stands for, comparing hashes in constant time. */
export function principalForToken(
  tokens: readonly ApiToken[],
  token: string,
): Principal | undefined {
  const candidate = hashToken(token);
  const roles: Role[] = [];
  let fingerprint: string | undefined;
  for (const known of tokens) {
    if (timingSafeEqual(known.sha256, candidate)) {
      roles.push(known.role);
      fingerprint = known.fingerprint;
    }
  }
  return fingerprint ? { name: `token:${fingerprint}`, roles } : undefined;
}
