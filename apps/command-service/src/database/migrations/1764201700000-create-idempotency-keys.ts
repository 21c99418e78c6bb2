import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateIdempotencyKeys1764201700000 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1764201700000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE idempotency_keys (
        key         text        PRIMARY KEY,
        fingerprint text        NOT NULL,
        status      integer     NOT NULL,
        body        jsonb       NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query('CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE idempotency_keys');
  }
}
