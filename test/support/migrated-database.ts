import type { DataSource } from 'typeorm';
import {
  createDataSource,
  runMigrations,
} from '../../apps/command-service/src/database/data-source';
import { createDatabase, databaseUrl } from './postgres';
import { uniqueName } from './test-names';

/** A new database named after `prefix`, with the event store's migrations applied. */
export async function createMigratedDatabase(
  prefix: string,
): Promise<{ database: string; dataSource: DataSource }> {
  const database = uniqueName(prefix);
  await createDatabase(database);
  const dataSource = await createDataSource(databaseUrl(database)).initialize();
  await runMigrations(dataSource);
  return { database, dataSource };
}
