import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { idColumn } from './columnHelpers';

/** The provenance of every reconstruction (issue 20). */
export class Reconstructions1764600000000 implements MigrationInterface {
  name = 'Reconstructions1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const sqlite = queryRunner.connection.options.type === 'better-sqlite3';
    const datetime = (name: string) => ({ name, type: 'datetime', precision: 3 });
    await queryRunner.createTable(
      new Table({
        name: 'reconstructions',
        columns: [
          idColumn(sqlite),
          { name: 'runId', type: 'int' },
          { name: 'runNumber', type: 'int' },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'version', type: 'int' },
          { name: 'parameters', type: 'text' },
          { name: 'parametersHash', type: 'varchar', length: '64' },
          { name: 'codeVersion', type: 'varchar', length: '32' },
          { name: 'codeCommit', type: 'varchar', length: '40', isNullable: true },
          { name: 'pedestalRunNumber', type: 'int', isNullable: true },
          { name: 'pedestalMd5', type: 'varchar', length: '32', isNullable: true },
          { name: 'inputs', type: 'text' },
          { name: 'outputs', type: 'text' },
          { name: 'executor', type: 'text' },
          datetime('startedAt'),
          datetime('finishedAt'),
        ],
        indices: [
          new TableIndex({
            name: 'IDX_reconstructions_runId_version',
            columnNames: ['runId', 'version'],
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('reconstructions');
  }
}
