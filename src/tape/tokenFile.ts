import fsp from 'node:fs/promises';

/**
 * A bearer token kept in a file that another process refreshes (oidc-agent, htgettoken): read
 * again whenever the file changes, so a new token is used without a restart.
 */
export class TokenFile {
  private cached: { mtimeMs: number; size: number; token: string } | undefined;

  constructor(readonly path: string) {}

  async token(): Promise<string> {
    let stats;
    try {
      stats = await fsp.stat(this.path);
    } catch (error) {
      throw new Error(`tape token file ${this.path}: ${(error as Error).message}`);
    }
    if (this.cached?.mtimeMs === stats.mtimeMs && this.cached.size === stats.size)
      return this.cached.token;
    const token = (await fsp.readFile(this.path, 'utf8')).trim();
    if (!token) throw new Error(`tape token file ${this.path} is empty`);
    this.cached = { mtimeMs: stats.mtimeMs, size: stats.size, token };
    return token;
  }

  /** A fingerprint of the token in use (for "retry after the token file changes"). */
  get version(): string | undefined {
    return this.cached ? `${this.cached.mtimeMs}:${this.cached.size}` : undefined;
  }
}
