import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Camera image previews for the web console (issue clients). */
export class EventPreviews1764300000000 implements MigrationInterface {
  name = 'EventPreviews1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const sqlite = queryRunner.connection.options.type === 'better-sqlite3';
    await queryRunner.createTable(
      new Table({
        name: 'event_previews',
        columns: [
          {
            name: 'id',
            type: sqlite ? 'integer' : 'int',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'runId', type: 'int' },
          { name: 'eventId', type: 'int' },
          { name: 'width', type: 'int' },
          { name: 'height', type: 'int' },
          { name: 'rebin', type: 'int' },
          { name: 'objectKey', type: 'varchar', length: '512' },
          {
            name: 'createdAt',
            type: 'datetime',
            precision: 3,
            default: sqlite ? "(strftime('%Y-%m-%d %H:%M:%f', 'now'))" : 'CURRENT_TIMESTAMP(3)',
          },
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
