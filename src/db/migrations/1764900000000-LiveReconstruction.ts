import { Table, TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The live reconstruction of open runs (issue 19): its counters on runs, its followers' leases,
 * and its results, which RECONSTRUCT takes for the events whose bytes they belong to.
 */
export class LiveReconstruction1764900000000 implements MigrationInterface {
  name = 'LiveReconstruction1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const sqlite = queryRunner.connection.options.type === 'better-sqlite3';
    await queryRunner.addColumns('runs', [
      new TableColumn({ name: 'liveImages', type: 'int', default: 0 }),
      new TableColumn({ name: 'liveSkipped', type: 'int', default: 0 }),
      new TableColumn({ name: 'liveMetrics', type: 'text', isNullable: true }),
      new TableColumn({ name: 'liveError', type: 'varchar', length: '500', isNullable: true }),
    ]);
    await queryRunner.createTable(
      new Table({
        name: 'live_follows',
        columns: [
          { name: 'runId', type: 'int', isPrimary: true },
          { name: 'owner', type: 'varchar', length: '80', isNullable: true },
          { name: 'leaseUntil', type: 'datetime', precision: 3, isNullable: true },
          { name: 'fileName', type: 'varchar', length: '255', isNullable: true },
          { name: 'fileOffset', type: 'bigint', default: 0 },
          { name: 'done', type: 'boolean', default: false },
        ],
        foreignKeys: [
          {
            columnNames: ['runId'],
            referencedTableName: 'runs',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'live_results',
        columns: [
          { name: 'runId', type: 'int', isPrimary: true },
          { name: 'recoVersion', type: 'int', isPrimary: true },
          { name: 'fileName', type: 'varchar', length: '255', isPrimary: true },
          { name: 'fileOffset', type: 'bigint', isPrimary: true },
          { name: 'sizeBytes', type: 'int' },
          { name: 'serial', type: 'bigint' },
          { name: 'pedestalMd5', type: 'varchar', length: '32' },
          // An image's summary, clusters and region of interest: a few kB to a few hundred.
          { name: 'outcome', type: sqlite ? 'text' : 'longtext' },
        ],
        foreignKeys: [
          {
            columnNames: ['runId'],
            referencedTableName: 'runs',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('live_results');
    await queryRunner.dropTable('live_follows');
    for (const column of ['liveError', 'liveMetrics', 'liveSkipped', 'liveImages'])
      await queryRunner.dropColumn('runs', column);
  }
}
