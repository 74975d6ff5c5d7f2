import { registerEnumType } from 'type-graphql';

/** What a caller may do. Admins may do everything; the others only what a mutation lists. */
export enum Role {
  READER = 'reader',
  SHIFTER = 'shifter',
  DAQ = 'daq',
  /** Runs reprocessing campaigns (issue 18). */
  PRODUCTION = 'production',
  ADMIN = 'admin',
}

registerEnumType(Role, { name: 'Role', description: 'Access role of a token.' });

export const ALL_ROLES: readonly Role[] = Object.values(Role);

export function isRole(value: string): value is Role {
  return (ALL_ROLES as readonly string[]).includes(value);
}

/** The authenticated caller of a request or a WebSocket connection. */
export interface Principal {
  /** Stable name for logs and audit: the token's role and a short fingerprint, or "loopback". */
  readonly name: string;
  readonly roles: readonly Role[];
  /** When the credential stops being valid (an OIDC token's exp, an API token's expiry). */
  readonly expiresAt?: Date | null;
}

export function hasAnyRole(principal: Principal, allowed: readonly Role[]): boolean {
  if (principal.roles.includes(Role.ADMIN)) return true;
  return allowed.some((role) => principal.roles.includes(role));
}
