import { Injectable } from '@nestjs/common';
import type { CommandResult, OrderEvent, ProblemDetails } from '@orders/contracts';
import { activeContextOr, inSpan, traceparentOf } from '@orders/platform/tracing';
import { StreamVersionConflict, type EventMetadata } from '../../event-store/order-event-store';
import {
  IdempotencyStore,
  type IdempotencyClaim,
  type RecordedAnswer,
} from '../../idempotency/idempotency-store';
import type { OrderCommand } from '../domain/order.commands';
import { decide } from '../domain/order.decider';
import { OrderRepository } from '../order.repository';
import { orderProblem } from '../order-problems';
import { ClaimedConcurrently, GroupCommit } from './group-commit';
import { IdempotencyKeyReused, ReplayedRefusal } from './idempotency.errors';
import { VersionMismatch } from './version-mismatch.error';

/** How a command reached us: who caused it, the version the client expects, its key. */
export interface CommandContext extends EventMetadata {
  expectedVersion?: number | undefined;
  idempotency?: IdempotencyClaim | undefined;
}

export interface CommandOutcome extends CommandResult {
  /** True when this is the recorded first answer to an earlier request with the same key. */
  replayed: boolean;
}

const MAX_ATTEMPTS = 50;

/**
 * Load -> decide -> append, the one path every order command takes. Commands on one order
 * from this replica queue up behind each other; a conflict with another replica is decided
 * again on the newer state, up to MAX_ATTEMPTS times, then answered 409 CONCURRENCY_CONFLICT
 * (and not recorded under its idempotency key, so a retry with the key runs again).
 */
@Injectable()
export class OrderCommandRunner {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly orders: OrderRepository,
    private readonly idempotency: IdempotencyStore,
    private readonly commits: GroupCommit,
  ) {}

  run(orderId: string, command: OrderCommand, context: CommandContext): Promise<CommandOutcome> {
    const previous = this.queues.get(orderId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => this.runTraced(orderId, command, context));
    this.queues.set(orderId, next);
    const forget = () => {
      if (this.queues.get(orderId) === next) this.queues.delete(orderId);
    };
    next.then(forget, forget);
    return next;
  }

  /** One span per command; the events it appends store its traceparent for the relay. */
  private runTraced(
    orderId: string,
    command: OrderCommand,
    context: CommandContext,
  ): Promise<CommandOutcome> {
    const attributes = { 'orders.order_id': orderId, 'orders.command': command.type };
    return inSpan(
      `handle ${command.type}`,
      { attributes },
      activeContextOr(context.traceparent),
      async (span) => {
        const traceparent = traceparentOf(span) ?? context.traceparent;
        const outcome = await this.runOnce(orderId, command, { ...context, traceparent });
        span.setAttributes({
          'orders.version': outcome.version,
          'orders.replayed': outcome.replayed,
        });
        return outcome;
      },
    );
  }

  private async runOnce(
    orderId: string,
    command: OrderCommand,
    context: CommandContext,
  ): Promise<CommandOutcome> {
    const claim = context.idempotency;
    if (claim) {
      const prior = await this.idempotency.find(claim.key);
      if (prior) return replay(prior, claim);
    }
    try {
      return await this.decideAndAppend(orderId, command, context);
    } catch (error) {
      if (error instanceof ClaimedConcurrently && claim) return this.replayRecorded(claim);
      // A refusal is the key's answer for good; a conflict that outlasted every attempt says
      // "try again", and recorded it would be replayed to every retry under the key.
      const problem = claim && !(error instanceof StreamVersionConflict) && orderProblem(error);
      if (claim && problem && problem.status < 500) {
        const body = problem.toProblem();
        if (!(await this.idempotency.record(claim, problem.status, body))) {
          return this.replayRecorded(claim);
        }
      }
      throw error;
    }
  }

  /** Answers with what a concurrent request under the same key recorded. */
  private async replayRecorded(claim: IdempotencyClaim): Promise<CommandOutcome> {
    const recorded = await this.idempotency.find(claim.key);
    if (!recorded) throw new Error(`idempotency key ${claim.key} was claimed but not recorded`);
    return replay(recorded, claim);
  }

  /**
   * Decides on the order's remembered state when this replica wrote its last events (the
   * append's version check catches another replica's newer events) or on an empty one for a
   * new order, else on a fresh load.
   * Only a write may come of a remembered state: a refusal, a mismatched If-Match or a
   * command with nothing to do is decided again on a fresh load before it is answered.
   */
  private async decideAndAppend(
    orderId: string,
    command: OrderCommand,
    context: CommandContext,
  ): Promise<CommandOutcome> {
    // An order being placed is presumed new (its load would cost two reads): if it exists,
    // the append of version 1 fails its check and the command is decided on a fresh load.
    const presumedNew = command.type === 'PlaceOrder' && context.expectedVersion === undefined;
    let remembered =
      this.orders.remembered(orderId) ?? (presumedNew ? this.orders.unwritten() : undefined);
    for (let attempt = 1; ; attempt++) {
      const order = remembered ?? (await this.orders.load(orderId));
      let events: OrderEvent[];
      try {
        if (context.expectedVersion !== undefined && context.expectedVersion !== order.version) {
          throw new VersionMismatch(order.version);
        }
        events = decide(command, order.state);
      } catch (refusal) {
        if (!remembered) throw refusal;
        events = [];
      }
      if (remembered && events.length === 0) {
        remembered = undefined;
        continue;
      }
      const created = command.type === 'PlaceOrder';
      try {
        const { correlationId, causationId, traceparent } = context;
        const result = await this.commits.write({
          orderId,
          order,
          events,
          metadata: { correlationId, causationId, traceparent },
          idempotency: context.idempotency,
          created,
        });
        return { ...result, replayed: false };
      } catch (error) {
        if (!(error instanceof StreamVersionConflict)) throw error;
        if (context.expectedVersion !== undefined) throw new VersionMismatch(undefined);
        if (attempt >= MAX_ATTEMPTS) throw error;
        // A remembered state another replica has moved on is no contention: load and go on.
        // Two writers deciding on fresh loads at once back off for a random while.
        if (remembered) remembered = undefined;
        else await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }
}

function replay(prior: RecordedAnswer, claim: IdempotencyClaim): CommandOutcome {
  if (prior.fingerprint !== claim.fingerprint) throw new IdempotencyKeyReused();
  if (prior.status >= 300) throw new ReplayedRefusal(prior.body as ProblemDetails);
  return { ...(prior.body as CommandResult), replayed: true };
}
