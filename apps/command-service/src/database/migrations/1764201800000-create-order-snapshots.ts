import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrderSnapshots1764201800000 implements MigrationInterface {
  name = 'CreateOrderSnapshots1764201800000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE order_snapshots (
        order_id      uuid    PRIMARY KEY,
        version       integer NOT NULL,
        position      bigint  NOT NULL,
        state_version integer NOT NULL,
        state         jsonb   NOT NULL
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE order_snapshots');
  }
}
