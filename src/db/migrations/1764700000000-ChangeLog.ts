import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { createdAtColumn } from './columnHelpers';

/**
 * The change log replica gateways follow (issue 23): every published change, numbered, kept with
 * the data so that MariaDB replication carries it; and the primary's heartbeat, whose age on a
 * replica is its replication lag.
 */
export class ChangeLog1764700000000 implements MigrationInterface {
  name = 'ChangeLog1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const sqlite = queryRunner.connection.options.type === 'better-sqlite3';
    await queryRunner.createTable(
      new Table({
        name: 'change_log',
        columns: [
          {
            name: 'id',
            type: sqlite ? 'integer' : 'bigint',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'topic', type: 'varchar', length: '32' },
          { name: 'payload', type: sqlite ? 'text' : 'longtext' },
          createdAtColumn(sqlite),
        ],
        indices: [new TableIndex({ name: 'IDX_change_log_createdAt', columnNames: ['createdAt'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'replication_heartbeat',
        columns: [
          { name: 'id', type: 'int', isPrimary: true },
          { name: 'beatAt', type: 'datetime', precision: 3 },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('replication_heartbeat');
    await queryRunner.dropTable('change_log');
  }
}
