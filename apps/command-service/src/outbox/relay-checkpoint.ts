import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export const CHECKPOINT_NAME = 'orders.events';

/** The relay's progress: the position of the last event the broker confirmed. */
@Injectable()
export class RelayCheckpoint {
  constructor(private readonly dataSource: DataSource) {}

  async load(): Promise<bigint> {
    const rows: { position: string }[] = await this.dataSource.query(
      `INSERT INTO relay_checkpoints (name, position) VALUES ($1, 0)
       ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
       RETURNING position::text`,
      [CHECKPOINT_NAME],
    );
    return BigInt(rows[0]?.position ?? '0');
  }

  /** Only ever moves forward, so a relay that lost its leadership cannot move it back. */
  async save(position: bigint): Promise<void> {
    await this.dataSource.query(
      `UPDATE relay_checkpoints SET position = $2, updated_at = now()
        WHERE name = $1 AND position < $2`,
      [CHECKPOINT_NAME, position.toString()],
    );
  }
}
