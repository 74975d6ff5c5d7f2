import 'reflect-metadata';
import { createConnection } from 'mysql2/promise';
import { createDataSource } from '../src/db/dataSource';
import { DataFile } from '../src/entities/DataFile';
import { Run } from '../src/entities/Run';
import { replaceEventIndex } from '../src/services/eventIndex';
import type { EventIndexRow } from '../src/services/IngestService';
import { createTestDatabase } from '../test/support/database';

// Part of npm run bench:ingest, with MARIADB_URL set: writing the event index of a run into
// MariaDB the way INGEST does (TypeORM multi-row INSERTs of 1000, in one transaction), against
// a raw mysql2 multi-row INSERT of the same rows, batches and transaction. Target: >= 0.5x.

const ROWS = Number(process.env.BENCH_INDEX_ROWS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function benchEventIndex(): Promise<void> {
  if (!process.env.MARIADB_URL) {
    console.log(
      '\nevent index: set MARIADB_URL (a user that may create cygno_test_* databases) to measure MariaDB insertion',
    );
    return;
  }
  const database = await createTestDatabase();
  const dataSource = createDataSource(database.url);
  await dataSource.initialize();
  await dataSource.runMigrations();
  const url = new URL(database.url);
  const raw = await createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
    timezone: 'Z',
  });
  try {
    const { identifiers } = await dataSource.manager.insert(Run, { runNumber: 1, attributes: {} });
    const runId = identifiers[0].id as number;
    const file = await dataSource.manager.insert(DataFile, { runId, name: 'run00001.mid' });
    const fileId = file.identifiers[0].id as number;
    const events: EventIndexRow[] = Array.from({ length: ROWS }, (_, i) => ({
      serial: i,
      eventId: 1,
      triggerMask: 1,
      timestamp: new Date(Date.UTC(2026, 10, 25) + i * 100),
      fileOffset: 17_644 + i * 10_617_000,
      sizeBytes: 10_617_000,
      bankNames: ['CAM0', 'DGH0', 'DIG0'],
    }));

    const rawInsert = async () => {
      await raw.query('DELETE FROM events WHERE fileId = ?', [fileId]);
      await raw.beginTransaction();
      for (let i = 0; i < events.length; i += 1000) {
        const rows = events
          .slice(i, i + 1000)
          .map((e) => [
            runId,
            fileId,
            e.serial,
            e.eventId,
            e.triggerMask,
            e.timestamp,
            e.fileOffset,
            e.sizeBytes,
            e.bankNames.join(','),
          ]);
        await raw.query(
          'INSERT INTO events (runId, fileId, serial, eventId, triggerMask, timestamp, fileOffset, sizeBytes, bankNames) VALUES ?',
          [rows],
        );
      }
      await raw.commit();
    };
    const gatewayInsert = () =>
      dataSource.transaction((manager) => replaceEventIndex(manager, runId, fileId, events));
    const seconds = async (fn: () => Promise<unknown>) => {
      const start = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - start) / 1e9;
    };

    await gatewayInsert(); // warm-up: statement caches, buffer pool
    await rawInsert();
    console.log(`\nevent index into MariaDB: ${ROWS} rows, batches of 1000, one transaction`);
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const gateway = await seconds(gatewayInsert);
      const baseline = await seconds(rawInsert);
      ratios.push(baseline / gateway);
      console.log(
        `round ${round}: gateway ${(ROWS / gateway).toFixed(0)} rows/s, raw mysql2 ${(ROWS / baseline).toFixed(0)} rows/s, ratio ${(baseline / gateway).toFixed(2)}`,
      );
    }
    const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
    console.log(`ratio gateway/raw rows per second, median: ${median.toFixed(2)} (target >= 0.50)`);
  } finally {
    await raw.end();
    await dataSource.destroy();
    await database.drop();
  }
}
