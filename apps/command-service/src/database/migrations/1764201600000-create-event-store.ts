import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateEventStore1764201600000 implements MigrationInterface {
  name = 'CreateEventStore1764201600000';

  async up(runner: QueryRunner): Promise<void> {
    // position = writing transaction id * 10000 + index in the transaction (see event-store.ts).
    await runner.query(`
      CREATE TABLE order_events (
        position       bigint      PRIMARY KEY,
        event_id       uuid        NOT NULL UNIQUE,
        order_id       uuid        NOT NULL,
        version        integer     NOT NULL CHECK (version >= 1),
        type           text        NOT NULL,
        schema_version integer     NOT NULL,
        data           jsonb       NOT NULL,
        correlation_id text        NOT NULL,
        causation_id   text        NOT NULL,
        traceparent    text,
        occurred_at    timestamptz NOT NULL,
        CONSTRAINT order_events_stream_version UNIQUE (order_id, version)
      )`);
    await runner.query(`
      CREATE TABLE relay_checkpoints (
        name       text        PRIMARY KEY,
        position   bigint      NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE relay_checkpoints');
    await runner.query('DROP TABLE order_events');
  }
}
