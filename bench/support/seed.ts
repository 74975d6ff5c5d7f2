import Database from 'better-sqlite3';

/** Writes `count` closed runs, each with two files and two current quality flags, in bulk. */
export function seedRuns(file: string, count: number): void {
  const db = new Database(file);
  const now = '2026-01-01 00:00:00.000';
  const insert = (table: string, columns: string[], rows: unknown[][]) => {
    const batch = 500;
    for (let i = 0; i < rows.length; i += batch) {
      const chunk = rows.slice(i, i + batch);
      const placeholders = chunk.map(() => `(${columns.map(() => '?').join(',')})`).join(',');
      db.prepare(
        `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(',')}) VALUES ${placeholders}`,
      ).run(...chunk.flat());
    }
  };
  db.transaction(() => {
    insert(
      'runs',
      [
        'id',
        'runNumber',
        'state',
        'description',
        'runType',
        'startedAt',
        'stoppedAt',
        'createdAt',
        'updatedAt',
      ],
      Array.from({ length: count }, (_, i) => [
        i + 1,
        10_000 + i,
        'CLOSED',
        `S003:DATA:run ${i}`,
        'DATA',
        isoMinute(i),
        isoMinute(i + 1),
        now,
        now,
      ]),
    );
    insert(
      'data_files',
      ['runId', 'name', 'kind', 'sizeBytes', 'localState', 'cloudState', 'createdAt', 'updatedAt'],
      Array.from({ length: count }, (_, i) => [
        [
          i + 1,
          `run${10_000 + i}.mid.gz`,
          'RAW',
          3_000_000_000 + i,
          'PRESENT',
          'AVAILABLE',
          now,
          now,
        ],
        [i + 1, `reco${10_000 + i}.arrow`, 'RECO', 1_000_000 + i, 'DELETED', 'AVAILABLE', now, now],
      ]).flat(),
    );
    insert(
      'quality_flags',
      ['runId', 'subsystem', 'status', 'source', 'setBy', 'setAt'],
      Array.from({ length: count }, (_, i) => [
        [i + 1, 'camera', 'GOOD', 'AUTO', 'reco', now],
        [i + 1, 'pmt', i % 10 === 0 ? 'BAD' : 'GOOD', 'SHIFTER', 'shifter', now],
      ]).flat(),
    );
  })();
  db.close();
}

function isoMinute(minute: number): string {
  return new Date(Date.UTC(2026, 0, 1) + minute * 60_000)
    .toISOString()
    .replace('T', ' ')
    .replace('Z', '');
}
