import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { freePort } from './ports';

/** A user of the test IdP: IAM-style groups (`/cygno/shifter`). */
export interface IdpUser {
  username: string;
  password: string;
  sub: string;
  groups: string[];
}

/** A confidential client: client credentials and/or the password grant. */
export interface IdpClient {
  client_id: string;
  client_secret: string;
  grant_types: string[];
  scope?: string;
}

export interface IdpOptions {
  users?: IdpUser[];
  clients?: IdpClient[];
  tokenTtlSeconds?: number;
}

/** The client the tests' users sign in through (password grant). */
export const CLI_CLIENT: IdpClient = {
  client_id: 'cygno-cli',
  client_secret: 'cygno-cli-secret-0123456789',
  grant_types: ['password'],
};

async function newKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

/**
 * panva's oidc-provider (a certified OpenID provider) as a child process on a free loopback
 * port, issuing tokens as INDIGO IAM does (test/support/idp/idp.mjs). Started once per test
 * file; it can be paused (SIGSTOP: connections hang), killed and started again on the same
 * port, and its keys rotated without a restart.
 */
export class TestIdp {
  private child: ChildProcess | undefined;
  private keys: JWK[] = [];
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-idp-'));
  /** Milliseconds from spawn to the discovery document answering, at the first start. */
  startMs = 0;

  private constructor(
    readonly port: number,
    private readonly options: IdpOptions,
  ) {}

  static async start(options: IdpOptions = {}): Promise<TestIdp> {
    const idp = new TestIdp(await freePort(), options);
    idp.keys = [await newKey('key-1')];
    idp.writeKeys();
    const started = Date.now();
    await idp.spawn();
    idp.startMs = Date.now() - started;
    return idp;
  }

  /** The issuer, byte for byte as the discovery document names it (IAM-style trailing slash). */
  get issuer(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** Publishes a new signing key first; `dropOld` unpublishes all the others. */
  async rotate(dropOld = false): Promise<void> {
    const key = await newKey(`key-${Date.now()}`);
    this.keys = dropOld ? [key] : [key, ...this.keys];
    this.writeKeys();
    await this.signal('SIGHUP', 'reloaded');
  }

  /** A client-credentials token (a robot: no groups, as IAM issues them). */
  async clientToken(client: IdpClient, scope?: string): Promise<string> {
    return this.tokenRequest(client, {
      grant_type: 'client_credentials',
      ...(scope ? { scope } : {}),
    });
  }

  /** A user's token through the password grant. */
  async userToken(user: IdpUser): Promise<string> {
    return this.tokenRequest(CLI_CLIENT, {
      grant_type: 'password',
      username: user.username,
      password: user.password,
    });
  }

  /** Freezes the provider: it accepts connections and never answers, as a hung IdP does. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills it: connections are refused. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** Starts it again on the same port, with the same keys. */
  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  async close(): Promise<void> {
    this.resume();
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private writeKeys(): void {
    fs.writeFileSync(path.join(this.dir, 'keys.json'), JSON.stringify(this.keys));
  }

  private async tokenRequest(client: IdpClient, form: Record<string, string>): Promise<string> {
    const discovery = (await (
      await fetch(`${this.issuer}.well-known/openid-configuration`)
    ).json()) as { token_endpoint: string };
    const response = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form),
    });
    const body = (await response.json()) as { access_token?: string; error?: string };
    if (!body.access_token) throw new Error(`the IdP refused a token: ${JSON.stringify(body)}`);
    return body.access_token;
  }

  private spawn(): Promise<void> {
    const users = Object.fromEntries((this.options.users ?? []).map((u) => [u.username, u]));
    const clients = [CLI_CLIENT, ...(this.options.clients ?? [])].map((c) => ({
      ...c,
      redirect_uris: [],
      response_types: [],
    }));
    const child = spawn(process.execPath, [path.join(__dirname, 'idp', 'idp.mjs')], {
      env: {
        ...process.env,
        NODE_NO_WARNINGS: '1',
        IDP_PORT: String(this.port),
        IDP_KEYS: path.join(this.dir, 'keys.json'),
        IDP_USERS: JSON.stringify(users),
        IDP_CLIENTS: JSON.stringify(clients),
        IDP_TOKEN_TTL: String(this.options.tokenTtlSeconds ?? 3600),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return this.waitFor('ready', () => `the IdP did not start: ${stderr}`);
  }

  private async signal(signal: NodeJS.Signals, line: string): Promise<void> {
    const done = this.waitFor(line, () => `the IdP did not answer ${signal}`);
    this.child?.kill(signal);
    await done;
  }

  private waitFor(line: string, failure: () => string): Promise<void> {
    const child = this.child!;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(failure())), 15_000);
      const onData = (chunk: Buffer) => {
        if (
          !chunk
            .toString()
            .split('\n')
            .some((l) => l.startsWith(line))
        )
          return;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      };
      child.stdout!.on('data', onData);
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(failure()));
      });
    });
  }
}
