import {
  createLocalJWKSet,
  errors as joseErrors,
  type JSONWebKeySet,
  type CryptoKey,
  type JWTHeaderParameters,
  type FlattenedJWSInput,
  type JWTVerifyGetKey,
} from 'jose';
import { IdpUnavailableError } from '../errors';
import { logger } from '../logger';

const log = logger('oidc');

export interface JwksCacheOptions {
  /** Keys older than this are fetched again; kept (stale) when that fetch fails. */
  maxAgeMs: number;
  /** Least time between two fetches caused by a key id the cache does not hold. */
  cooldownMs: number;
  /** How long one fetch may take before the IdP counts as unreachable. */
  timeoutMs: number;
}

/**
 * The issuer's signing keys, as INDIGO IAM publishes them, kept through its outages. A token
 * whose key is in the cache verifies whatever the IdP's state: when the keys are older than
 * `maxAgeMs` they are fetched again, and if that fails the old ones are kept (stale-if-error)
 * — an IAM outage must not lock out every valid token once a cache age has passed, as jose's
 * own remote key set does. A key id the cache does not hold is fetched for (at most once per
 * cooldown); when the IdP cannot be reached for it, the answer is IdpUnavailableError (503,
 * try again), never "bad token".
 */
export class JwksCache {
  private keys: JSONWebKeySet | undefined;
  private local: JWTVerifyGetKey | undefined;
  private fetchedAt = 0;
  private lastAttemptAt = 0;
  private fetching: Promise<void> | undefined;
  /** Why the last fetch failed; undefined once one succeeds. */
  lastError: string | undefined;

  constructor(
    private readonly url: string,
    private readonly options: JwksCacheOptions,
  ) {}

  /** A key resolver for jose's jwtVerify. */
  readonly getKey = async (
    header: JWTHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<CryptoKey | Uint8Array> => {
    if (!this.local || Date.now() - this.fetchedAt > this.options.maxAgeMs) {
      await this.refresh().catch((error: unknown) => {
        if (!this.local) throw this.unavailable(error);
        log.warn(
          { err: error, ageMs: Date.now() - this.fetchedAt },
          'the IdP cannot be reached; verifying with the keys already held',
        );
      });
    }
    try {
      return (await this.local!(header, token)) as CryptoKey;
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      // A key the cache does not hold: the IdP may have rotated. Ask again, once per cooldown.
      if (Date.now() - this.lastAttemptAt < this.options.cooldownMs) throw error;
      await this.refresh().catch((failure: unknown) => {
        throw this.unavailable(failure);
      });
      return (await this.local!(header, token)) as CryptoKey;
    }
  };

  /** Whether keys are held, and how old they are. */
  get state(): { keys: number; ageMs: number | null } {
    return {
      keys: this.keys?.keys.length ?? 0,
      ageMs: this.local ? Date.now() - this.fetchedAt : null,
    };
  }

  private refresh(): Promise<void> {
    this.fetching ??= this.fetchKeys().finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttemptAt = Date.now();
    try {
      const response = await fetch(this.url, {
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`${this.url} answered ${response.status}`);
      const keys = (await response.json()) as JSONWebKeySet;
      if (!Array.isArray(keys?.keys)) throw new Error(`${this.url} holds no JSON Web Key Set`);
      this.local = createLocalJWKSet(keys);
      this.keys = keys;
      this.fetchedAt = Date.now();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = (error as Error).message;
      throw error;
    }
  }

  private unavailable(error: unknown): IdpUnavailableError {
    return new IdpUnavailableError(
      `the identity provider's keys cannot be fetched (${(error as Error).message}); try again shortly`,
    );
  }
}
