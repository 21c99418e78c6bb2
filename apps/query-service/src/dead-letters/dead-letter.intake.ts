import { Inject, Injectable, Logger } from '@nestjs/common';
import { ManagedQueueConsumer, messageOf, type Delivery } from '@orders/platform';
import type { Channel } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import {
  assertOrderEventsTopology,
  orderEventsTopologyOf,
  type OrderEventsTopology,
} from '../consumers/order-events.topology';
import { deadLetterOf } from './dead-letter.message';
import { DeadLetterStore } from './dead-letter.store';
import type { DeadLetterDocument } from './dead-letter.document';

const INTAKE_PREFETCH = 50;
const RETRY_MS = { base: 200, max: 10_000 };

/**
 * Moves every message of the dead-letter queue into the `dead_letters` store, acking each only
 * after its insert. Reading a queue without taking messages off it (get + requeue) does not
 * scale and reorders it, so the store is the operator's view. Every replica runs one; a
 * redelivered message maps to the same document id and is stored once.
 */
@Injectable()
export class DeadLetterIntake extends ManagedQueueConsumer {
  private readonly logger = new Logger(DeadLetterIntake.name);
  private readonly topology: OrderEventsTopology;

  constructor(
    @Inject(QUERY_SERVICE_CONFIG) config: QueryServiceConfig,
    private readonly store: DeadLetterStore,
  ) {
    const topology = orderEventsTopologyOf(config.queryQueueName);
    super({
      name: DeadLetterIntake.name,
      connectionName: 'orders-query-service-dead-letters',
      url: config.rabbitmqUrl,
      queue: topology.deadLetterQueue,
      prefetch: INTAKE_PREFETCH,
    });
    this.topology = topology;
  }

  protected declareTopology(channel: Channel): Promise<void> {
    return assertOrderEventsTopology(channel, this.topology);
  }

  /** Stores the message, retrying in place while the store fails; acks only after the insert. */
  protected async handleDelivery(delivery: Delivery): Promise<void> {
    const doc = deadLetterOf(delivery.message, new Date());
    for (let attempt = 1; !delivery.stopping.aborted && delivery.channelOpen; attempt += 1) {
      try {
        const stored = await this.store.insert(doc);
        if (stored) {
          this.logger.warn(
            `dead letter ${doc._id} stored: ${describeDeadLetter(doc)} (${doc.reason}): ${doc.diagnosis}`,
          );
        }
        delivery.ack();
        return;
      } catch (error) {
        this.logger.error(
          `storing dead letter ${doc._id} failed (attempt ${attempt}): ${messageOf(error)}`,
        );
        const delayMs = Math.min(RETRY_MS.max, RETRY_MS.base * 2 ** Math.min(attempt, 10));
        await sleep(delayMs, undefined, { signal: delivery.stopping }).catch(() => undefined);
      }
    }
    // Stopping, or the channel is gone: the broker takes the unacked message back.
  }
}

/** Names the order and version, so that a search of the logs for an order finds its dead letters. */
function describeDeadLetter(doc: DeadLetterDocument): string {
  const event = `${doc.eventType ?? 'message'} ${doc.messageId ?? ''}`;
  return doc.orderId === null ? event : `${event} (v${doc.version ?? '?'} of order ${doc.orderId})`;
}
