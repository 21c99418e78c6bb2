import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** A client's Idempotency-Key with the fingerprint of the request it came with. */
export interface IdempotencyClaim {
  key: string;
  fingerprint: string;
}

export interface RecordedAnswer {
  fingerprint: string;
  status: number;
  body: unknown;
}

export interface AnswerToRecord {
  claim: IdempotencyClaim;
  status: number;
  body: unknown;
}

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** Fingerprint of a request: the operation, its target and its canonical body. */
export function requestFingerprint(operation: string, target: string, body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([operation, target, canonical(body)]))
    .digest('base64url');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/**
 * First answers to idempotent requests. An answer is recorded in the same transaction as the
 * events it describes, so a crash can never leave events without their answer or the reverse.
 */
@Injectable()
export class IdempotencyStore {
  constructor(private readonly dataSource: DataSource) {}

  async find(key: string): Promise<RecordedAnswer | undefined> {
    const rows: RecordedAnswer[] = await this.dataSource.query(
      'SELECT fingerprint, status, body FROM idempotency_keys WHERE key = $1',
      [key],
    );
    return rows[0];
  }

  /** Records the answer; false when a concurrent request with the same key recorded first. */
  async record(
    claim: IdempotencyClaim,
    status: number,
    body: unknown,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    return (await this.recordAll([{ claim, status, body }], manager)) === 1;
  }

  /** Records the answers in one statement; returns how many keys were still free. */
  async recordAll(answers: readonly AnswerToRecord[], manager: EntityManager): Promise<number> {
    if (answers.length === 0) return 0;
    const rows: unknown[] = await manager.query(
      `INSERT INTO idempotency_keys (key, fingerprint, status, body)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::jsonb[])
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [
        answers.map((a) => a.claim.key),
        answers.map((a) => a.claim.fingerprint),
        answers.map((a) => a.status),
        answers.map((a) => JSON.stringify(a.body)),
      ],
    );
    return rows.length;
  }

  /** Forgets answers older than the retention period; returns how many it removed. */
  async removeOlderThan(hours: number): Promise<number> {
    const result: [unknown[], number] = await this.dataSource.query(
      `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)`,
      [hours],
    );
    return result[1];
  }
}
