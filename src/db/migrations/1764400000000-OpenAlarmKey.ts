import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * One open alarm per fingerprint, enforced by the database (issue 16): `openFingerprint` holds
 * the fingerprint while the alarm is FIRING or ACKNOWLEDGED and NULL once it is RESOLVED, under
 * a unique index (both dialects allow many NULLs). Two replicas raising the same fingerprint at
 * once can then no longer open two alarms.
 *
 * Existing rows: the newest open alarm of each fingerprint keeps it open; older open duplicates
 * (left by the check-then-insert this replaces) are resolved, since the newest one carries on.
 */
export class OpenAlarmKey1764400000000 implements MigrationInterface {
  name = 'OpenAlarmKey1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'alarms',
      new TableColumn({
        name: 'openFingerprint',
        type: 'varchar',
        length: '128',
        isNullable: true,
      }),
    );
    // The derived table lets MariaDB read the table it updates.
    await queryRunner.query(
      `UPDATE alarms SET openFingerprint = fingerprint WHERE id IN (
         SELECT id FROM (
           SELECT MAX(id) AS id FROM alarms WHERE state <> 'RESOLVED' GROUP BY fingerprint
         ) AS newest)`,
    );
    await queryRunner.query(
      `UPDATE alarms SET state = 'RESOLVED', resolvedAt = lastRaisedAt
       WHERE state <> 'RESOLVED' AND openFingerprint IS NULL`,
    );
    await queryRunner.createIndex(
      'alarms',
      new TableIndex({
        name: 'IDX_alarms_openFingerprint',
        columnNames: ['openFingerprint'],
        isUnique: true,
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('alarms', 'IDX_alarms_openFingerprint');
    await queryRunner.dropColumn('alarms', 'openFingerprint');
  }
}
