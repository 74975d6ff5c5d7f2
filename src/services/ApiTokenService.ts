import { randomBytes } from 'node:crypto';
import { IsNull } from 'typeorm';
import { hashToken } from '../auth/apiTokens';
import type { Principal, Role } from '../auth/roles';
import type { Database } from '../db/Database';
import { ApiTokenRecord } from '../entities/ApiToken';
import { BadUserInputError, NotFoundError } from '../errors';
import { Topic, type PubSub } from '../pubsub';

/**
 * How long a looked-up token is trusted before the database is asked again. A revocation takes
 * effect at once on every replica that hears of it (Topic.ApiTokenRevoked); this bounds it when
 * the message is lost.
 */
const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;

export interface NewApiToken {
  name: string;
  roles: Role[];
  expiresAt?: Date | null;
}

/** Static API tokens kept in the database, only as SHA-256, manageable by admins. */
export class ApiTokenService {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  private readonly revokedListeners = new Set<(principal: string) => void>();

  constructor(
    private readonly db: Database,
    private readonly pubsub?: PubSub,
  ) {}

  /**
   * Forgets looked-up tokens whenever any replica (or the token CLI) revokes one, and tells
   * `onRevoked` listeners whose token it was.
   */
  async followRevocations(): Promise<void> {
    await this.pubsub?.listen(Topic.ApiTokenRevoked, (payload) => {
      this.cache.clear();
      const { principal } = payload as { principal: string };
      for (const listener of this.revokedListeners) listener(principal);
    });
  }

  /** Calls `listener` with the principal name of each token revoked from now on. */
  onRevoked(listener: (principal: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  /** Creates a token; the secret is returned here and never again. */
  async create(
    spec: NewApiToken,
    createdBy: string,
  ): Promise<{ secret: string; token: ApiTokenRecord }> {
    const name = spec.name.trim();
    if (!/^[\w .@/-]{1,128}$/.test(name))
      throw new BadUserInputError('name: 1–128 letters, digits, spaces or . @ / - _', 'name');
    if (spec.roles.length === 0) throw new BadUserInputError('a token needs a role', 'roles');
    if (spec.expiresAt && spec.expiresAt.getTime() <= Date.now())
      throw new BadUserInputError('expiresAt is in the past', 'expiresAt');
    const secret = `cyg_${randomBytes(32).toString('base64url')}`;
    const sha256 = hashToken(secret).toString('hex');
    const inserted = await this.db.write((m) =>
      m.insert(ApiTokenRecord, {
        name,
        sha256,
        fingerprint: sha256.slice(0, 8),
        roles: [...new Set(spec.roles)],
        createdBy,
        expiresAt: spec.expiresAt ?? null,
        revokedAt: null,
      }),
    );
    const id = inserted.identifiers[0].id as number;
    return { secret, token: await this.db.manager.findOneByOrFail(ApiTokenRecord, { id }) };
  }

  async revoke(id: number): Promise<ApiTokenRecord> {
    const token = await this.db.manager.findOneBy(ApiTokenRecord, { id });
    if (!token) throw new NotFoundError('API token', id);
    if (!token.revokedAt)
      await this.db.write((m) =>
        m.update(ApiTokenRecord, { id, revokedAt: IsNull() }, { revokedAt: new Date() }),
      );
    this.cache.clear();
    this.pubsub?.publish(Topic.ApiTokenRevoked, { id, principal: principalName(token) });
    return this.db.manager.findOneByOrFail(ApiTokenRecord, { id });
  }

  list(includeRevoked: boolean): Promise<ApiTokenRecord[]> {
    return this.db.manager.find(ApiTokenRecord, {
      where: includeRevoked ? {} : { revokedAt: IsNull() },
      order: { id: 'ASC' },
    });
  }

  /** The principal of a presented secret, or null when it is unknown, revoked or expired. */
  async principalFor(secret: string, now = Date.now()): Promise<Principal | null> {
    const sha256 = hashToken(secret).toString('hex');
    const cached = this.cache.get(sha256);
    if (cached && cached.until > now) return usable(cached.principal, now);
    const record = await this.db.manager.findOneBy(ApiTokenRecord, { sha256 });
    const principal =
      record && !record.revokedAt
        ? {
            name: principalName(record),
            roles: record.roles,
            expiresAt: record.expiresAt,
          }
        : null;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(sha256, { principal, until: now + CACHE_MS });
    return usable(principal, now);
  }
}

/** Who a database token is, in logs, the audit log and rate limits. */
function principalName(record: ApiTokenRecord): string {
  return `token:${record.name}:${record.fingerprint}`;
}

function usable(principal: Principal | null, now: number): Principal | null {
  if (principal?.expiresAt && principal.expiresAt.getTime() <= now) return null;
  return principal;
}
