import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startTestGateway, type TestGateway } from '../support/gateway';

const CLI = path.join(__dirname, '..', '..', 'bin', 'cygno-gateway.js');
let database: TestDatabase | undefined;
let gw: TestGateway | undefined;

afterAll(async () => {
  await gw?.close(); // drops nothing: the database is ours
  await database?.drop();
});

describe('cygno-gateway token (bootstrap with AUTH_REQUIRED)', () => {
  it('creates the first admin token from the shell; the gateway then requires tokens', async () => {
    database = await createTestDatabase();
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, [CLI, 'token', ...args], {
        env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', DATABASE_URL: database!.url },
      });
    const { stdout, stderr } = await cli(['create', '--name', 'bootstrap', '--roles', 'admin']);
    const secret = stdout.trim();
    expect(secret).toMatch(/^cyg_[\w-]{40,}$/);
    expect(stderr).toMatch(/created token 1 "bootstrap" \(admin\), fingerprint [0-9a-f]{8}/);
    expect((await cli(['list'])).stdout).toMatch(/bootstrap\s+admin\s+no expiry/);
    await expect(cli(['create', '--name', 'x', '--roles', 'boss'])).rejects.toThrow(
      /unknown: boss/,
    );

    gw = await startTestGateway({ database, env: { AUTH_REQUIRED: 'true' } });
    expect((await gw.gql(`{ runs { totalCount } }`)).errors?.[0].extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
    const made = await gw.gql(
      `mutation { createApiToken(input: { name: "grafana", roles: [READER] }) { secret } }`,
      {},
      secret,
    );
    expect(made.errors).toBeUndefined();
    const reader = made.data.createApiToken.secret;
    expect((await gw.gql(`{ runs { totalCount } }`, {}, reader)).errors).toBeUndefined();
  });
});
