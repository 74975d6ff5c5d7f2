import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { createdAtColumn, idColumn } from './columnHelpers';

/** Camera image previews for the web console (issue clients). */
export class EventPreviews1764300000000 implements MigrationInterface {
  name = 'EventPreviews1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const sqlite = queryRunner.connection.options.type === 'better-sqlite3';
    await queryRunner.createTable(
      new Table({
        name: 'event_previews',
        columns: [
          idColumn(sqlite),
          { name: 'runId', type: 'int' },
          { name: 'eventId', type: 'int' },
          { name: 'width', type: 'int' },
          { name: 'height', type: 'int' },
          { name: 'rebin', type: 'int' },
          { name: 'objectKey', type: 'varchar', length: '512' },
          createdAtColumn(sqlite),
        ],
        indices: [
          new TableIndex({ name: 'IDX_event_previews_runId_id', columnNames: ['runId', 'id'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('event_previews');
  }
}
