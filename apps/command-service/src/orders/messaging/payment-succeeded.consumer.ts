import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  commandPatterns,
  paymentSucceededMessage,
  type PaymentSucceededMessage,
} from '@orders/contracts';
import {
  backoffMs,
  deliveryCountOf,
  ManagedQueueConsumer,
  messageOf,
  type Delivery,
} from '@orders/platform';
import type { Channel, ConsumeMessage } from 'amqplib';
import { Counter, register } from 'prom-client';
import { z } from 'zod';
import {
  COMMAND_SERVICE_CONFIG,
  type CommandServiceConfig,
} from '../../config/command-service.config';
import { buildCommandContext } from '../commands/command-context';
import { PayOrderCommand } from '../commands/pay-order/pay-order.command';
import { orderProblem } from '../order-problems';
import {
  assertPaymentsTopology,
  PAYMENTS_DEAD_LETTER_QUEUE,
  PAYMENTS_DELIVERY_LIMIT,
  PAYMENTS_QUEUE,
} from './payments.topology';

const PAYMENTS_REFUSED_METRIC = 'orders_payments_refused_total';
const RETRY_BACKOFF = { baseMs: 250, maxMs: 5_000 };
/** Problems that say "not now" rather than "never": retried like an outage. */
const TRANSIENT_PROBLEM_CODES = new Set(['CONCURRENCY_CONFLICT']);

/**
 * Integration in: `payment.succeeded` from `payments.events` becomes the pay command, with
 * the idempotency key `payment:<paymentId>`, so a payment delivered twice pays once and one
 * paymentId can never pay two orders. Acked after the command answered. A payment the order
 * rules refuse is logged, counted and dead-lettered at once; a failure that may pass
 * (PostgreSQL down) is retried with backoff, at most PAYMENTS_DELIVERY_LIMIT redeliveries.
 *
 * A refusal is recorded under its key like any answer, so replaying it from the dead-letter
 * queue refuses it again while the key is kept; after fixing the order an operator pays it
 * with `POST /orders/{id}/pay` and the same paymentId.
 */
@Injectable()
export class PaymentSucceededConsumer extends ManagedQueueConsumer {
  private readonly logger = new Logger(PaymentSucceededConsumer.name);
  private readonly refusals = paymentsRefusedCounter();

  constructor(
    @Inject(COMMAND_SERVICE_CONFIG) config: CommandServiceConfig,
    private readonly commands: CommandBus,
  ) {
    super({
      name: PaymentSucceededConsumer.name,
      connectionName: `orders-command-service.${PaymentSucceededConsumer.name}`,
      url: config.RABBITMQ_URL,
      queue: PAYMENTS_QUEUE,
      prefetch: config.RABBITMQ_PREFETCH,
    });
  }

  protected declareTopology(channel: Channel): Promise<void> {
    return assertPaymentsTopology(channel);
  }

  /** Pays the order; refusals are dead-lettered at once, outages retried with backoff. */
  protected async handleDelivery(delivery: Delivery): Promise<void> {
    const parsed = parsePayment(delivery.message);
    if (!parsed.success) {
      this.refuse(delivery, 'INVALID_MESSAGE', parsed.reason);
      return;
    }
    const payment = parsed.data;
    const { properties } = delivery.message;
    try {
      const body = { paymentId: payment.paymentId, amount: payment.amount };
      const context = buildCommandContext({
        operation: commandPatterns.pay,
        target: payment.orderId,
        body,
        requestId: textOf(properties.messageId) ?? `payment.succeeded:${payment.paymentId}`,
        correlationId: textOf(properties.correlationId),
        traceparent: textOf(properties.headers?.traceparent),
        idempotencyKey: `payment:${payment.paymentId}`,
      });
      await this.commands.execute(new PayOrderCommand(payment.orderId, body, context));
      delivery.ack();
    } catch (error) {
      const problem = orderProblem(error);
      if (problem && problem.status < 500 && !TRANSIENT_PROBLEM_CODES.has(problem.code)) {
        this.refuse(delivery, problem.code, problem.detail ?? problem.title, payment);
        return;
      }
      this.retryLater(delivery, payment, messageOf(error));
    }
  }

  private refuse(
    delivery: Delivery,
    code: string,
    reason: string,
    payment?: PaymentSucceededMessage,
  ): void {
    this.refusals.inc({ code });
    this.logger.warn(
      `payment refused: code=${code} orderId=${payment?.orderId ?? '-'} ` +
        `paymentId=${payment?.paymentId ?? '-'} messageId=${textOf(delivery.message.properties.messageId) ?? '-'}: ` +
        `${reason.slice(0, 500)}; dead-lettered to ${PAYMENTS_DEAD_LETTER_QUEUE}`,
    );
    delivery.deadLetter();
  }

  /** Requeues after a pause; the queue dead-letters the message once its deliveries run out. */
  private retryLater(delivery: Delivery, payment: PaymentSucceededMessage, reason: string): void {
    const delivered = deliveryCountOf(delivery.message) + 1;
    const last = delivered > PAYMENTS_DELIVERY_LIMIT;
    const delayMs = backoffMs(delivered, RETRY_BACKOFF);
    this.logger.warn(
      `paying order ${payment.orderId} with payment ${payment.paymentId} failed ` +
        `(delivery ${delivered}): ${reason}; ` +
        (last ? `dead-lettering to ${PAYMENTS_DEAD_LETTER_QUEUE}` : `retrying in ${delayMs} ms`),
    );
    if (last) delivery.requeue();
    else delivery.requeueAfter(delayMs);
  }
}

type ParsedPayment =
  { success: true; data: PaymentSucceededMessage } | { success: false; reason: string };

function parsePayment(message: ConsumeMessage): ParsedPayment {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(message.content));
  } catch {
    return { success: false, reason: 'the body is not JSON' };
  }
  const parsed = paymentSucceededMessage.safeParse(body);
  return parsed.success
    ? { success: true, data: parsed.data }
    : { success: false, reason: z.prettifyError(parsed.error) };
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}

/** On the default registry, which the metrics endpoint serves. */
function paymentsRefusedCounter(): Counter<'code'> {
  const existing = register.getSingleMetric(PAYMENTS_REFUSED_METRIC);
  if (existing instanceof Counter) return existing;
  return new Counter({
    name: PAYMENTS_REFUSED_METRIC,
    help: 'payment.succeeded messages refused and dead-lettered, by refusal code',
    labelNames: ['code'],
  });
}
