import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** A stream's folded state at `version`, so loading a long stream reads only its tail. */
export interface Snapshot<S> {
  version: number;
  position: bigint;
  state: S;
}

interface SnapshotRow {
  version: number;
  position: string;
  state: unknown;
}

/**
 * Snapshots are a cache of the fold, never a source of truth: one taken under another
 * `stateVersion` (the state's shape changed) is ignored and the stream is folded in full.
 */
@Injectable()
export class SnapshotStore {
  constructor(private readonly dataSource: DataSource) {}

  async read<S>(orderId: string, stateVersion: number): Promise<Snapshot<S> | undefined> {
    const rows: SnapshotRow[] = await this.dataSource.query(
      `SELECT version, position::text, state FROM order_snapshots
        WHERE order_id = $1 AND state_version = $2`,
      [orderId, stateVersion],
    );
    const row = rows[0];
    return row && { version: row.version, position: BigInt(row.position), state: row.state as S };
  }

  async write<S>(
    manager: EntityManager,
    orderId: string,
    stateVersion: number,
    snapshot: Snapshot<S>,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO order_snapshots (order_id, version, position, state_version, state)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (order_id) DO UPDATE SET version = EXCLUDED.version,
         position = EXCLUDED.position, state_version = EXCLUDED.state_version, state = EXCLUDED.state
       WHERE order_snapshots.version < EXCLUDED.version
          OR order_snapshots.state_version <> EXCLUDED.state_version`,
      [
        orderId,
        snapshot.version,
        snapshot.position.toString(),
        stateVersion,
        JSON.stringify(snapshot.state),
      ],
    );
  }
}
