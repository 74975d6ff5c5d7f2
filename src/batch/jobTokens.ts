import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Job-scoped tokens (issue 18): a batch attempt's only credential. The secret is made at
 * submission and only its SHA-256 is kept, on the job row; the token names its job, so it is
 * checked against that one row — it opens nothing else. Clearing the hash at settlement (or at
 * the next submission) revokes it: the database, not the token, says whether it still works.
 */
const PREFIX = 'cjt';

export interface MintedJobToken {
  token: string;
  hash: string;
  expiresAt: Date;
}

export function mintJobToken(jobId: number, ttlMs: number, now = Date.now()): MintedJobToken {
  const secret = randomBytes(32).toString('base64url');
  const token = `${PREFIX}.${jobId}.${secret}`;
  return { token, hash: hashJobToken(token), expiresAt: new Date(now + ttlMs) };
}

export function hashJobToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The job a token names, or null when it is not a job token at all. */
export function jobIdOfToken(token: string): number | null {
  const match = /^cjt\.(\d{1,15})\.[A-Za-z0-9_-]{43}$/.exec(token);
  return match ? Number(match[1]) : null;
}

/** Whether `token` is the one whose hash the job row holds (constant time). */
export function tokenMatches(token: string, storedHash: string | null): boolean {
  if (!storedHash) return false;
  const given = Buffer.from(hashJobToken(token), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
