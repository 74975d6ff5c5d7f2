import {
  Table,
  TableForeignKey,
  TableIndex,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';

/** Retention's record of every freed copy (issue tape-r). */
export class FileDeletions1764100000000 implements MigrationInterface {
  name = 'FileDeletions1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const sqlite = queryRunner.connection.options.type === 'better-sqlite3';
    await queryRunner.createTable(
      new Table({
        name: 'file_deletions',
        columns: [
          {
            name: 'id',
            type: sqlite ? 'integer' : 'int',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'fileId', type: 'int' },
          { name: 'location', type: 'varchar', length: '8' },
          { name: 'reason', type: 'varchar', length: '1024' },
          { name: 'deletedBy', type: 'varchar', length: '255' },
          { name: 'deletedAt', type: 'datetime', precision: 3 },
        ],
        indices: [new TableIndex({ name: 'IDX_file_deletions_fileId', columnNames: ['fileId'] })],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['fileId'],
            referencedTableName: 'data_files',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('file_deletions');
  }
}
