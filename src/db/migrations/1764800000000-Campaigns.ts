import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { createdAtColumn, idColumn } from './columnHelpers';

/**
 * Reprocessing campaigns and batch execution (issue 18): the campaigns, the jobs' executor and
 * batch attempt, each run's current reconstruction version, and the image summaries of versions
 * that are not current.
 */
export class Campaigns1764800000000 implements MigrationInterface {
  name = 'Campaigns1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const sqlite = queryRunner.connection.options.type === 'better-sqlite3';
    const datetime = (name: string) => ({ name, type: 'datetime', precision: 3, isNullable: true });
    const varchar = (name: string, length: number, nullable = true) => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: nullable,
    });
    await queryRunner.createTable(
      new Table({
        name: 'campaigns',
        columns: [
          idColumn(sqlite),
          varchar('description', 255),
          varchar('createdBy', 255, false),
          createdAtColumn(sqlite),
          { name: 'version', type: 'int' },
          { name: 'newVersion', type: 'int', isNullable: true },
          { name: 'parameters', type: 'text' },
          { name: 'selection', type: 'text' },
          { name: 'runNumbers', type: 'text' },
          { ...varchar('executor', 8, false), default: "'LOCAL'" },
          datetime('cancelledAt'),
          datetime('promotedAt'),
          varchar('promotedBy', 255),
        ],
        indices: [
          new TableIndex({
            name: 'IDX_campaigns_newVersion',
            columnNames: ['newVersion'],
            isUnique: true,
          }),
        ],
      }),
    );
    await queryRunner.addColumns('jobs', [
      new TableColumn({ ...varchar('executor', 8, false), default: "'LOCAL'" }),
      new TableColumn({ name: 'campaignId', type: 'int', isNullable: true }),
      new TableColumn(varchar('batchId', 64)),
      new TableColumn(varchar('batchState', 32)),
      new TableColumn(varchar('batchTokenHash', 64)),
      new TableColumn(datetime('batchTokenExpiresAt')),
    ]);
    await queryRunner.createIndex(
      'jobs',
      new TableIndex({ name: 'IDX_jobs_campaignId', columnNames: ['campaignId'] }),
    );
    await queryRunner.createIndex(
      'jobs',
      new TableIndex({ name: 'IDX_jobs_batchId', columnNames: ['batchId'] }),
    );
    await queryRunner.addColumn(
      'runs',
      new TableColumn({ name: 'recoVersion', type: 'int', isNullable: true }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'event_summaries',
        columns: [
          { name: 'eventId', type: 'bigint', isPrimary: true },
          { name: 'recoVersion', type: 'int', isPrimary: true },
          { name: 'runId', type: 'int' },
          { name: 'clusterCount', type: 'int', isNullable: true },
          { name: 'imageIntegral', type: 'double', isNullable: true },
          { name: 'imageMean', type: 'double', isNullable: true },
          { name: 'imageRms', type: 'double', isNullable: true },
          { name: 'spark', type: 'boolean', isNullable: true },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_event_summaries_runId_recoVersion',
            columnNames: ['runId', 'recoVersion'],
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('event_summaries');
    await queryRunner.dropColumn('runs', 'recoVersion');
    await queryRunner.dropIndex('jobs', 'IDX_jobs_batchId');
    await queryRunner.dropIndex('jobs', 'IDX_jobs_campaignId');
    for (const column of [
      'batchTokenExpiresAt',
      'batchTokenHash',
      'batchState',
      'batchId',
      'campaignId',
      'executor',
    ])
      await queryRunner.dropColumn('jobs', column);
    await queryRunner.dropTable('campaigns');
  }
}
