import { randomUUID } from 'node:crypto';
import type { StreamAppend } from '../../apps/command-service/src/event-store/order-event-store';

/** The append that places a new order: one OrderPlaced, no lines, tagged `tag` throughout. */
export function newOrderAppend(tag: string): StreamAppend {
  return {
    orderId: randomUUID(),
    stream: { version: 0, lastPosition: null },
    events: [
      {
        type: 'OrderPlaced',
        data: { customerId: tag, currency: 'EUR', items: [], itemCount: 0, total: 0 },
      },
    ],
    metadata: { correlationId: tag, causationId: tag },
  };
}
