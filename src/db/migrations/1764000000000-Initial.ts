import {
  Table,
  TableForeignKey,
  TableIndex,
  type MigrationInterface,
  type QueryRunner,
  type TableColumnOptions,
} from 'typeorm';

// The initial schema, written with TypeORM's portable Table API so the same migration runs on
// SQLite and MariaDB. A migration is a frozen snapshot: never edit it, add a new one.

// SQLite only auto-increments an INTEGER PRIMARY KEY (which is 64-bit there).
let isSqlite = false;
const id = (type: 'int' | 'bigint' = 'int'): TableColumnOptions => ({
  name: 'id',
  type: isSqlite ? 'integer' : type,
  isPrimary: true,
  isGenerated: true,
  generationStrategy: 'increment',
});
const int = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'int',
  ...extra,
});
const bigint = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'bigint',
  ...extra,
});
const double = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'double',
  ...extra,
});
const bool = (name: string, fallback?: boolean): TableColumnOptions => ({
  name,
  type: 'boolean',
  ...(fallback === undefined ? { isNullable: true } : { default: fallback ? 1 : 0 }),
});
const varchar = (
  name: string,
  length: number,
  extra: Partial<TableColumnOptions> = {},
): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  ...extra,
});
const text = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'text',
  ...extra,
});
const datetime = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'datetime',
  precision: 3,
  ...extra,
});
const nullable = { isNullable: true };
const now = { default: 'CURRENT_TIMESTAMP(3)' };

const index = (table: string, columns: string[], isUnique = false) =>
  new TableIndex({ name: `IDX_${table}_${columns.join('_')}`, columnNames: columns, isUnique });

const foreignKey = (column: string, referencedTable: string) =>
  new TableForeignKey({
    columnNames: [column],
    referencedTableName: referencedTable,
    referencedColumnNames: ['id'],
    onDelete: 'CASCADE',
  });

export class Initial1764000000000 implements MigrationInterface {
  name = 'Initial1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    isSqlite = queryRunner.connection.options.type === 'better-sqlite3';
    // SQLite has no CURRENT_TIMESTAMP(3); TypeORM fills these columns on insert anyway.
    const created = isSqlite ? { default: "(strftime('%Y-%m-%d %H:%M:%f', 'now'))" } : now;

    const tables: Array<{ table: Table; indices: TableIndex[]; foreignKeys?: TableForeignKey[] }> =
      [
        {
          table: new Table({
            name: 'runs',
            columns: [
              id(),
              int('runNumber'),
              varchar('state', 8, { default: "'RUNNING'" }),
              varchar('description', 1024, nullable),
              varchar('runType', 32, nullable),
              bool('pedestal', false),
              datetime('startedAt', nullable),
              datetime('stoppedAt', nullable),
              bool('startMissed', false),
              int('eventCount', nullable),
              double('exposureSeconds', nullable),
              text('attributes', { default: "'{}'" }),
              varchar('recoStatus', 8, { default: "'NONE'" }),
              varchar('quality', 12, { default: "'UNKNOWN'" }),
              datetime('createdAt', created),
              datetime('updatedAt', created),
            ],
          }),
          indices: [
            index('runs', ['runNumber'], true),
            index('runs', ['startedAt']),
            index('runs', ['state']),
            index('runs', ['quality']),
          ],
        },
        {
          table: new Table({
            name: 'data_files',
            columns: [
              id(),
              int('runId'),
              varchar('name', 255),
              varchar('kind', 12, { default: "'RAW'" }),
              bigint('sizeBytes', nullable),
              varchar('declaredMd5', 32, nullable),
              varchar('md5', 32, nullable),
              varchar('adler32', 8, nullable),
              varchar('localPath', 1024, nullable),
              varchar('localState', 8, { default: "'EXPECTED'" }),
              varchar('bucket', 255, nullable),
              varchar('objectKey', 1024, nullable),
              varchar('cloudState', 9, nullable),
              datetime('createdAt', created),
              datetime('updatedAt', created),
            ],
          }),
          indices: [
            index('data_files', ['runId', 'name'], true),
            index('data_files', ['cloudState']),
          ],
          foreignKeys: [foreignKey('runId', 'runs')],
        },
        {
          table: new Table({
            name: 'tape_copies',
            columns: [
              id(),
              int('fileId'),
              varchar('endpoint', 255),
              varchar('url', 1024, nullable),
              varchar('state', 9, { default: "'QUEUED'" }),
              varchar('verifiedChecksum', 64, nullable),
              int('attempts', { default: 0 }),
              text('lastError', nullable),
              datetime('verifiedAt', nullable),
              datetime('createdAt', created),
              datetime('updatedAt', created),
            ],
          }),
          indices: [
            index('tape_copies', ['fileId', 'endpoint'], true),
            index('tape_copies', ['state']),
          ],
          foreignKeys: [foreignKey('fileId', 'data_files')],
        },
        {
          table: new Table({
            name: 'events',
            columns: [
              id('bigint'),
              int('runId'),
              int('fileId'),
              bigint('serial'),
              int('eventId'),
              int('triggerMask'),
              datetime('timestamp'),
              bigint('fileOffset'),
              int('sizeBytes'),
              text('bankNames'),
              int('clusterCount', nullable),
              double('imageIntegral', nullable),
              double('imageMean', nullable),
              double('imageRms', nullable),
              bool('spark'),
            ],
          }),
          indices: [
            index('events', ['runId', 'serial']),
            index('events', ['fileId', 'fileOffset'], true),
            index('events', ['runId', 'timestamp']),
          ],
          foreignKeys: [foreignKey('runId', 'runs'), foreignKey('fileId', 'data_files')],
        },
        {
          table: new Table({
            name: 'clusters',
            columns: [
              id('bigint'),
              bigint('eventId'),
              int('runId'),
              int('recoVersion', { default: 1 }),
              double('integral'),
              int('nhits'),
              int('size'),
              double('length'),
              double('width'),
              double('theta'),
              double('xMean'),
              double('yMean'),
              int('xMin'),
              int('xMax'),
              int('yMin'),
              int('yMax'),
              double('rms'),
              double('longitudinalRms'),
              double('transverseRms'),
              double('energy', nullable),
            ],
          }),
          indices: [
            index('clusters', ['runId', 'recoVersion']),
            index('clusters', ['eventId']),
            index('clusters', ['integral']),
          ],
          foreignKeys: [foreignKey('eventId', 'events')],
        },
        {
          table: new Table({
            name: 'quality_flags',
            columns: [
              id(),
              int('runId'),
              varchar('subsystem', 32),
              varchar('status', 12),
              varchar('source', 8),
              text('comment', nullable),
              varchar('cause', 255, nullable),
              varchar('setBy', 255),
              datetime('setAt'),
            ],
          }),
          indices: [index('quality_flags', ['runId', 'subsystem', 'setAt'])],
          foreignKeys: [foreignKey('runId', 'runs')],
        },
        {
          table: new Table({
            name: 'dq_metrics',
            columns: [
              id(),
              int('runId'),
              varchar('name', 64),
              double('value', nullable),
              int('recoVersion', { default: 1 }),
              datetime('createdAt', created),
            ],
          }),
          indices: [index('dq_metrics', ['runId', 'name', 'recoVersion'], true)],
          foreignKeys: [foreignKey('runId', 'runs')],
        },
        {
          table: new Table({
            name: 'jobs',
            columns: [
              id(),
              varchar('kind', 32),
              varchar('subject', 255),
              int('version', { default: 1 }),
              int('runId', nullable),
              int('runNumber', nullable),
              varchar('state', 9, { default: "'QUEUED'" }),
              double('progress', { default: 0 }),
              int('attempts', { default: 0 }),
              int('maxAttempts', { default: 5 }),
              datetime('nextAttemptAt'),
              varchar('leaseOwner', 128, nullable),
              datetime('leaseUntil', nullable),
              bool('cancelRequested', false),
              text('lastError', nullable),
              text('payload', { default: "'{}'" }),
              text('result', nullable),
              datetime('createdAt', created),
              datetime('startedAt', nullable),
              datetime('finishedAt', nullable),
              datetime('updatedAt', created),
            ],
          }),
          indices: [
            index('jobs', ['kind', 'subject', 'version'], true),
            index('jobs', ['state', 'nextAttemptAt']),
            index('jobs', ['runId']),
            index('jobs', ['runNumber']),
          ],
        },
        {
          table: new Table({
            name: 'metric_samples',
            columns: [id('bigint'), varchar('name', 128), datetime('time'), double('value')],
          }),
          indices: [index('metric_samples', ['name', 'time'])],
        },
        {
          table: new Table({
            name: 'alarms',
            columns: [
              id(),
              varchar('fingerprint', 128),
              varchar('rule', 128, nullable),
              varchar('name', 255),
              varchar('severity', 8),
              varchar('source', 128),
              text('message'),
              text('labels', { default: "'{}'" }),
              varchar('state', 12, { default: "'FIRING'" }),
              datetime('firstRaisedAt'),
              datetime('lastRaisedAt'),
              int('count', { default: 1 }),
              varchar('acknowledgedBy', 255, nullable),
              datetime('acknowledgedAt', nullable),
              text('acknowledgeComment', nullable),
              datetime('resolvedAt', nullable),
            ],
          }),
          indices: [
            index('alarms', ['fingerprint', 'state']),
            index('alarms', ['state', 'severity']),
          ],
        },
        {
          table: new Table({
            name: 'alarm_rules',
            columns: [
              id(),
              varchar('name', 128),
              varchar('kind', 9),
              varchar('metric', 128, nullable),
              double('below', nullable),
              double('above', nullable),
              int('forSeconds', { default: 0 }),
              varchar('severity', 8, { default: "'WARNING'" }),
              text('labels', { default: "'{}'" }),
              bool('enabled', true),
              datetime('createdAt', created),
              datetime('updatedAt', created),
            ],
          }),
          indices: [index('alarm_rules', ['name'], true)],
        },
        {
          table: new Table({
            name: 'silences',
            columns: [
              id(),
              text('matchers'),
              datetime('startsAt'),
              datetime('endsAt'),
              varchar('createdBy', 255),
              text('comment', nullable),
              datetime('createdAt', created),
            ],
          }),
          indices: [index('silences', ['endsAt'])],
        },
      ];

    for (const { table, indices, foreignKeys = [] } of tables) {
      // MariaDB TEXT columns cannot have literal defaults before 10.2; 10.11 accepts them.
      table.indices = indices;
      table.foreignKeys = foreignKeys;
      await queryRunner.createTable(table, true);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of [
      'silences',
      'alarm_rules',
      'alarms',
      'metric_samples',
      'jobs',
      'dq_metrics',
      'quality_flags',
      'clusters',
      'events',
      'tape_copies',
      'data_files',
      'runs',
    ]) {
      await queryRunner.dropTable(name, true);
    }
  }
}
