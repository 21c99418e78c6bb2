import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import {
  CheckpointWriter,
  RelayCheckpoint,
} from '../apps/command-service/src/outbox/relay-checkpoint';
import { createMigratedDatabase } from './support/migrated-database';
import { databaseUrl, dropDatabase } from './support/postgres';

/** The relay's checkpoint writes run behind its loop (CheckpointWriter); what they promise. */
describe('relay checkpoint writer', () => {
  let database: string;
  let dataSource: DataSource;
  let checkpoint: RelayCheckpoint;
  let session: Client;

  beforeAll(async () => {
    ({ database, dataSource } = await createMigratedDatabase('orders_checkpoint'));
    checkpoint = new RelayCheckpoint(dataSource);
  });

  beforeEach(async () => {
    await dataSource.query('DELETE FROM relay_checkpoints');
    session = new Client({ connectionString: databaseUrl(database) });
    await session.connect();
    session.on('error', () => undefined);
  });

  afterEach(async () => {
    await session.end().catch(() => undefined);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await dropDatabase(database);
  });

  const stored = async () => {
    const rows: { position: string }[] = await dataSource.query(
      'SELECT position::text FROM relay_checkpoints',
    );
    return BigInt(rows[0]?.position ?? -1);
  };

  it('ends at the last position advanced to, writing those that came meanwhile as one', async () => {
    const writer = new CheckpointWriter(session, await checkpoint.load());
    const updates = jest.spyOn(session, 'query');

    for (let position = 1n; position <= 200n; position++) writer.advance(position);
    await writer.settled();

    expect(await stored()).toBe(200n);
    // The first position went out at once; the 199 confirmed while it ran, as one more write.
    expect(updates).toHaveBeenCalledTimes(2);
  });

  it('never moves the checkpoint back', async () => {
    const writer = new CheckpointWriter(session, await checkpoint.load());
    // A later leader got further meanwhile.
    await dataSource.query('UPDATE relay_checkpoints SET position = 500');

    writer.advance(300n);
    await writer.settled();

    expect(await stored()).toBe(500n);
  });

  it('reports a failed write and writes nothing after it', async () => {
    const writer = new CheckpointWriter(session, await checkpoint.load());
    const [{ pid }] = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
      .rows as [{ pid: number }];
    await dataSource.query('SELECT pg_terminate_backend($1)', [pid]);

    writer.advance(10n);
    await expect(writer.settled()).rejects.toThrow();
    expect(writer.failure).toBeInstanceOf(Error);

    writer.advance(20n);
    await expect(writer.settled()).rejects.toThrow();
    expect(await stored()).toBe(0n);
  });
});
