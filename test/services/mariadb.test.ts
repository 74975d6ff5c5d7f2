import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Run } from '../../src/entities/Run';
import type { Runtime } from '../../src/runtime';
import { JobKind } from '../../src/schema/enums';
import { openTestRuntime, type TestRuntime } from '../support/runtime';

// Runs only when MARIADB_URL is set (the CI services run); openTestRuntime fails loudly when
// MariaDB cannot be reached.

let runtime: Runtime;
let testRuntime: TestRuntime;

beforeAll(async () => {
  testRuntime = await openTestRuntime();
  runtime = testRuntime.runtime;
});
afterAll(async () => {
  await testRuntime?.close();
});

describe('MariaDB backend', () => {
  it('really is MariaDB, migrated', async () => {
    expect(runtime.db.dialect).toBe('mariadb');
    const [{ version }] = await runtime.db.manager.query('SELECT VERSION() AS version');
    expect(version).toMatch(/MariaDB/);
    expect(await runtime.db.dataSource.showMigrations()).toBe(false);
    const indexes: Array<{ Key_name: string }> =
      await runtime.db.manager.query('SHOW INDEX FROM jobs');
    expect(indexes.map((i) => i.Key_name)).toEqual(
      expect.arrayContaining(['IDX_jobs_state_nextAttemptAt', 'IDX_jobs_kind_subject_version']),
    );
  });

  it('keeps milliseconds in datetimes', async () => {
    const startedAt = new Date('2026-11-24T18:00:00.123Z');
    await runtime.db.write((m) => m.insert(Run, { runNumber: 1, startedAt, attributes: {} }));
    expect((await runtime.db.manager.findOneByOrFail(Run, { runNumber: 1 })).startedAt).toEqual(
      startedAt,
    );
  });

  it('claims with SKIP LOCKED: 8 competing claimers never share a job', async () => {
    const subjects = Array.from({ length: 60 }, (_, i) => `maria:${i}`);
    await runtime.db.transaction(async (m) => {
      for (const subject of subjects)
        await runtime.queue.enqueue(m, { kind: JobKind.INGEST, subject });
    });
    const claimed: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (;;) {
          const job = await runtime.queue.claim(`w${w}`, [JobKind.INGEST]);
          if (!job) return;
          claimed.push(job.id);
        }
      }),
    );
    expect(claimed).toHaveLength(60);
    expect(new Set(claimed).size).toBe(60);
  });
});
