import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file: a new MariaDB database when MARIADB_URL is set
 * (the CI services run), otherwise a SQLite file in a temp directory. Fails loudly when
 * MARIADB_URL is set but the server cannot be reached: a services run must never pass on SQLite.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const mariadb = process.env.MARIADB_URL;
  if (!mariadb) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-db-'));
    return {
      url: `sqlite:${path.join(dir, 'test.sqlite')}`,
      drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `cygno_test_${randomBytes(4).toString('hex')}`;
  const admin = new URL(mariadb);
  const connection = await createConnection({
    host: admin.hostname,
    port: Number(admin.port || 3306),
    user: decodeURIComponent(admin.username),
    password: decodeURIComponent(admin.password),
  }).catch((error: Error) => {
    throw new Error(`MARIADB_URL is set but MariaDB cannot be reached (${error.message})`);
  });
  await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await connection.end();
  const url = new URL(mariadb);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = await createConnection({
        host: admin.hostname,
        port: Number(admin.port || 3306),
        user: decodeURIComponent(admin.username),
        password: decodeURIComponent(admin.password),
      });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}
