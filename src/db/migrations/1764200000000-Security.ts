import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { createdAtColumn, idColumn } from './columnHelpers';

/** Hashed API tokens and the audit log (issue security). */
export class Security1764200000000 implements MigrationInterface {
  name = 'Security1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const sqlite = queryRunner.connection.options.type === 'better-sqlite3';
    const id = idColumn(sqlite);
    await queryRunner.createTable(
      new Table({
        name: 'api_tokens',
        columns: [
          id,
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'sha256', type: 'varchar', length: '64' },
          { name: 'fingerprint', type: 'varchar', length: '16' },
          { name: 'roles', type: 'text' },
          { name: 'createdBy', type: 'varchar', length: '255' },
          createdAtColumn(sqlite),
          { name: 'expiresAt', type: 'datetime', precision: 3, isNullable: true },
          { name: 'revokedAt', type: 'datetime', precision: 3, isNullable: true },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_api_tokens_sha256',
            columnNames: ['sha256'],
            isUnique: true,
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          id,
          { name: 'at', type: 'datetime', precision: 3 },
          { name: 'principal', type: 'varchar', length: '255' },
          { name: 'address', type: 'varchar', length: '64' },
          { name: 'operation', type: 'varchar', length: '255' },
          { name: 'operationName', type: 'varchar', length: '255', isNullable: true },
          { name: 'arguments', type: 'text' },
          { name: 'outcome', type: 'varchar', length: '64' },
        ],
        indices: [
          new TableIndex({ name: 'IDX_audit_log_at', columnNames: ['at'] }),
          new TableIndex({ name: 'IDX_audit_log_principal_at', columnNames: ['principal', 'at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_log');
    await queryRunner.dropTable('api_tokens');
  }
}
