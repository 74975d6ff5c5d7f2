import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** The id Alertmanager gave the copy of a gateway silence (ALERTMANAGER_URL), for its expiry. */
export class SilenceMirror1764500000000 implements MigrationInterface {
  name = 'SilenceMirror1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'silences',
      new TableColumn({
        name: 'alertmanagerSilenceId',
        type: 'varchar',
        length: '64',
        isNullable: true,
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('silences', 'alertmanagerSilenceId');
  }
}
