import { Injectable } from '@nestjs/common';
import { encodeConsistencyToken, type CommandResult } from '@orders/contracts';
import { DataSource } from 'typeorm';
import {
  OrderEventStore,
  StreamVersionConflict,
  type EventMetadata,
} from '../../event-store/order-event-store';
import { CommitSignal } from '../../outbox/commit-signal';
import type { OrderCommand } from '../domain/order.commands';
import { decide, foldOrder } from '../domain/order.decider';
import { VersionMismatch } from './version-mismatch.error';

/** How a command reached us: who caused it, and the version the client expects, if any. */
export interface CommandContext extends EventMetadata {
  expectedVersion?: number | undefined;
}

export interface CommandOutcome extends CommandResult {
  created: boolean;
}

const MAX_ATTEMPTS = 50;

/**
 * Load -> decide -> append, the one path every order command takes. Commands on one order
 * from this replica queue up behind each other; a conflict with another replica is decided
 * again on the newer state, so no command is lost and none fails for being concurrent.
 */
@Injectable()
export class OrderCommandRunner {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: OrderEventStore,
    private readonly signal: CommitSignal,
  ) {}

  run(orderId: string, command: OrderCommand, context: CommandContext): Promise<CommandOutcome> {
    const previous = this.queues.get(orderId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => this.decideAndAppend(orderId, command, context));
    this.queues.set(orderId, next);
    void next
      .finally(() => {
        if (this.queues.get(orderId) === next) this.queues.delete(orderId);
      })
      .catch(() => undefined);
    return next;
  }

  private async decideAndAppend(
    orderId: string,
    command: OrderCommand,
    context: CommandContext,
  ): Promise<CommandOutcome> {
    for (let attempt = 1; ; attempt++) {
      const stream = await this.store.readStream(orderId);
      if (context.expectedVersion !== undefined && context.expectedVersion !== stream.version) {
        throw new VersionMismatch(stream.version);
      }
      const events = decide(command, foldOrder(stream.events));
      try {
        const appended = await this.dataSource.transaction((manager) =>
          this.store.appendToStream(manager, orderId, stream, events, context),
        );
        const last = appended.at(-1);
        if (last) this.signal.committed();
        const version = last?.version ?? stream.version;
        const position = last?.position ?? (stream.lastPosition ?? 0n).toString();
        return {
          orderId,
          version,
          consistencyToken: encodeConsistencyToken({
            orderId,
            version,
            position,
          }),
          created: command.type === 'PlaceOrder',
        };
      } catch (error) {
        if (!(error instanceof StreamVersionConflict)) throw error;
        if (context.expectedVersion !== undefined) throw new VersionMismatch(undefined);
        if (attempt >= MAX_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }
}
