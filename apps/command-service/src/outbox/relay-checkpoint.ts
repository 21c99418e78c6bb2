import { Injectable } from '@nestjs/common';
import type { Client } from 'pg';
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
}

/**
 * Moves the checkpoint behind the relay instead of in its way: one UPDATE at a time, and the
 * positions confirmed while it runs are coalesced into the next one. Awaited in the relay's
 * loop, each batch paid a round trip and a WAL flush before the next one went out.
 *
 * It writes on `session`, the leader's own connection, which must have synchronous_commit off
 * (OutboxRelay sets it): a checkpoint lost in a server crash only makes the relay publish a few
 * hundred milliseconds of events again, which delivery at least once allows, and it can never
 * get ahead of the events it counts, since those were committed (and flushed) before the relay
 * could read them.
 */
export class CheckpointWriter {
  private wanted: bigint;
  private writing: Promise<void> | null = null;
  private error: Error | undefined;

  constructor(
    private readonly session: Client,
    private saved: bigint,
  ) {
    this.wanted = saved;
  }

  /** Why the last write failed, if it did: the relay stops leading on it. */
  get failure(): Error | undefined {
    return this.error;
  }

  advance(position: bigint): void {
    if (position > this.wanted) this.wanted = position;
    // Started only with a write to do: it then awaits before its `finally` clears `writing`.
    if (this.writing === null && !this.error && this.saved < this.wanted) {
      this.writing = this.writeUntilCurrent();
    }
  }

  /** Resolves once every position advanced to is written. */
  async settled(): Promise<void> {
    await this.writing;
    if (this.error) throw this.error;
  }

  private async writeUntilCurrent(): Promise<void> {
    try {
      while (this.saved < this.wanted) {
        const position = this.wanted;
        // Only ever moves forward, so a relay that lost its leadership cannot move it back.
        await this.session.query(
          `UPDATE relay_checkpoints SET position = $2, updated_at = now()
            WHERE name = $1 AND position < $2`,
          [CHECKPOINT_NAME, position.toString()],
        );
        this.saved = position;
      }
    } catch (error) {
      this.error = error as Error;
    } finally {
      this.writing = null;
    }
  }
}
