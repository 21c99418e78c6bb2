import { Injectable } from '@nestjs/common';
import {
  encodeConsistencyToken,
  type CommandResult,
  type EventEnvelope,
  type OrderEvent,
} from '@orders/contracts';
import { GroupWriter } from '@orders/platform';
import { DataSource, type EntityManager } from 'typeorm';
import { databaseUnavailableProblem } from '../../database/database-unavailable';
import { StreamVersionConflict, type EventMetadata } from '../../event-store/order-event-store';
import { IdempotencyStore, type IdempotencyClaim } from '../../idempotency/idempotency-store';
import { CommitSignal } from '../../outbox/commit-signal';
import { OrderRepository, type LoadedOrder } from '../order.repository';

/** A decided command, ready to be written: its events and the answer to record with them. */
export interface DecidedCommand {
  orderId: string;
  order: LoadedOrder;
  events: readonly OrderEvent[];
  metadata: EventMetadata;
  idempotency?: IdempotencyClaim | undefined;
  created: boolean;
}

/** The key was claimed by a concurrent request between our lookup and our commit. */
export class ClaimedConcurrently extends Error {}

/**
 * Transactions in flight at once; commands decided meanwhile wait and share the next one. One
 * was the fastest: at 16 clients a probe had ~2,040 commands/s with one, ~1,710 with two and
 * ~1,350–1,800 with four, and PostgreSQL spent less CPU per command the fewer there were (the
 * larger batches share each statement's cost). The price: at light load a command that comes
 * while another is being written waits for it (bench/README.md, "One transaction in flight").
 */
const CONCURRENT_TRANSACTIONS = 1;
const MAX_COMMANDS_PER_TRANSACTION = 256;

/** A command written in its batch, or refused alone: its order had moved on. */
type Written = { result: CommandResult; last: EventEnvelope | undefined } | StreamVersionConflict;

/**
 * Group commit: commands decided while the transaction before them is still in flight are
 * written together (GroupWriter), in one transaction with one INSERT for all their events and
 * one for their idempotency answers, so the cost of a commit (round trips, WAL flush) is
 * shared instead of paid per command.
 *
 * A command whose order another replica had already moved on is refused alone, and the rest
 * of its batch is written. Any other conflict (a replica appending to the same order at the
 * same moment, or an idempotency key taken meanwhile) rolls the batch back, and each command
 * is written again on its own, so only that command sees its error. A lost connection is not
 * retried: every command of the batch is answered 503.
 */
@Injectable()
export class GroupCommit {
  private readonly commits = new GroupWriter<DecidedCommand, CommandResult | StreamVersionConflict>(
    {
      writeTogether: (commands) => this.writeBatch(commands),
      concurrency: CONCURRENT_TRANSACTIONS,
      maxBatch: MAX_COMMANDS_PER_TRANSACTION,
      // A batch whose connection broke may have committed (during COMMIT): written again, a
      // command without an idempotency key would run twice. Each gets the 503 instead.
      failsEveryItem: (error) => databaseUnavailableProblem(error) !== undefined,
    },
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly orders: OrderRepository,
    private readonly idempotency: IdempotencyStore,
    private readonly signal: CommitSignal,
  ) {}

  async write(command: DecidedCommand): Promise<CommandResult> {
    if (command.events.length === 0 && !command.idempotency) {
      return commandResult(command, undefined);
    }
    const result = await this.commits.write(command);
    if (result instanceof StreamVersionConflict) throw result;
    return result;
  }

  private async writeBatch(
    commands: DecidedCommand[],
  ): Promise<(CommandResult | StreamVersionConflict)[]> {
    const written = await this.transaction(commands);
    if (commands.some((command) => command.events.length > 0)) this.signal.committed();
    return commands.map((command, i) => {
      const outcome = written[i] as Written;
      if (outcome instanceof StreamVersionConflict) return outcome;
      if (outcome.last) {
        this.orders.remember(command.orderId, command.order, command.events, outcome.last);
      }
      return outcome.result;
    });
  }

  /**
   * A batch with no idempotency answer to record and no snapshot to take is one INSERT, and
   * runs as a statement of its own: PostgreSQL makes it a transaction by itself, which saves
   * the BEGIN and COMMIT round trips (two of three) that most batches would otherwise pay.
   */
  private async transaction(commands: DecidedCommand[]): Promise<Written[]> {
    if (commands.some((command) => command.idempotency) || this.orders.snapshotsDue(commands)) {
      return this.dataSource.transaction((manager) => this.writeAll(manager, commands));
    }
    return this.writeAll(this.dataSource.manager, commands);
  }

  private async writeAll(manager: EntityManager, commands: DecidedCommand[]): Promise<Written[]> {
    const appended = await this.orders.append(manager, commands);
    const written = commands.map((command, i): Written => {
      const stored = appended[i];
      if (stored instanceof StreamVersionConflict) return stored;
      const last = stored?.at(-1);
      return { result: commandResult(command, last), last };
    });
    const answers = commands.flatMap((command, i) => {
      const outcome = written[i];
      return command.idempotency && outcome && !(outcome instanceof StreamVersionConflict)
        ? [
            {
              claim: command.idempotency,
              status: command.created ? 201 : 200,
              body: outcome.result,
            },
          ]
        : [];
    });
    if ((await this.idempotency.recordAll(answers, manager)) < answers.length) {
      throw new ClaimedConcurrently();
    }
    return written;
  }
}

function commandResult(
  { orderId, order }: DecidedCommand,
  last: { version: number; position: string } | undefined,
): CommandResult {
  const version = last?.version ?? order.version;
  const position = last?.position ?? (order.lastPosition ?? 0n).toString();
  return {
    orderId,
    version,
    consistencyToken: encodeConsistencyToken({ orderId, version, position }),
  };
}
