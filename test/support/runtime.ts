import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { Runtime } from '../../src/runtime';
import { createTestDatabase, type TestDatabase } from './database';
import { testRedisPrefix } from './gateway';

export interface TestRuntime {
  runtime: Runtime;
  database: TestDatabase;
  close(): Promise<void>;
}

/**
 * The gateway's runtime without the HTTP layer (database, pub/sub, store, queue, services),
 * on a fresh database and temp directories, no workers: for tests of the engine and the data
 * layer. Redis when REDIS_URL is set, as in the gateway tests.
 */
export async function openTestRuntime(env: Record<string, string> = {}): Promise<TestRuntime> {
  const database = await createTestDatabase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-runtime-'));
  const runtime = await Runtime.open(
    loadConfig({
      DATABASE_URL: database.url,
      OBJECT_STORE_URL: `file:${path.join(dir, 'objects')}`,
      TAPE_URL: `file:${path.join(dir, 'tape')}`,
      DAQ_BUFFER_DIR: dir,
      REDIS_URL: process.env.REDIS_URL,
      REDIS_PREFIX: testRedisPrefix(database.url),
      WORKERS: '0',
      LOG_LEVEL: 'silent',
      ...env,
    }),
  );
  return {
    runtime,
    database,
    async close() {
      await runtime.close();
      await database.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
