import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { CommandBus } from '@nestjs/cqrs';
import { commandPatterns, type OrderCommandReply } from '@orders/contracts';
import { requestFingerprint } from '../../idempotency/idempotency-store';
import { AddItemCommand } from '../commands/add-item/add-item.command';
import { ConfirmOrderCommand } from '../commands/confirm-order/confirm-order.command';
import type { CommandOutcome } from '../commands/order-command.runner';
import { PlaceOrderCommand } from '../commands/place-order/place-order.command';
import { RemoveItemCommand } from '../commands/remove-item/remove-item.command';
import { OrderRuleViolation } from '../domain/order.errors';
import {
  OrderCommandMessageRouter,
  type IncomingCommandMessage,
} from './order-command-message.router';

const orderId = randomUUID();

function routerAnswering(answer: (command: unknown) => Promise<CommandOutcome>) {
  const executed: unknown[] = [];
  const bus = {
    execute: (command: unknown) => {
      executed.push(command);
      return answer(command);
    },
  } as unknown as CommandBus;
  return { router: new OrderCommandMessageRouter(bus), executed };
}

const succeeding = () =>
  routerAnswering(() =>
    Promise.resolve({
      orderId,
      version: 2,
      consistencyToken: 'token',
      replayed: false,
    }),
  );

function message(
  pattern: string | undefined,
  body: unknown,
  extra: Partial<IncomingCommandMessage> = {},
) {
  return {
    pattern,
    content: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    contentType: 'application/json',
    messageId: 'message-1',
    traceparent: undefined,
    ...extra,
  };
}

function problemCode(reply: OrderCommandReply): [number, string] | 'ok' {
  return reply.ok ? 'ok' : [reply.problem.status, reply.problem.code];
}

beforeEach(() => {
  jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
});

describe('OrderCommandMessageRouter', () => {
  it('turns each pattern into its command on the named order', async () => {
    const { router, executed } = succeeding();
    await router.execute(
      message(commandPatterns.addItem, { orderId, body: { sku: 'A', quantity: 2, unitPrice: 5 } }),
    );
    await router.execute(message(commandPatterns.removeItem, { orderId, body: { sku: 'A' } }));
    await router.execute(message(commandPatterns.confirm, { orderId }));
    expect(executed).toEqual([
      expect.any(AddItemCommand),
      expect.any(RemoveItemCommand),
      expect.any(ConfirmOrderCommand),
    ]);
    expect(executed[1]).toMatchObject({ orderId, sku: 'A' });
    expect(executed[2]).toMatchObject({ orderId, context: { causationId: 'message-1' } });
  });

  it('fingerprints a keyed command as REST does, so one key means one request either way', async () => {
    const { router, executed } = succeeding();
    const body = { orderId, customerId: 'c-1', currency: 'EUR' };
    const { reply } = await router.execute(
      message(commandPatterns.place, { idempotencyKey: 'k-1', expectedVersion: 0, body }),
    );
    expect(reply).toEqual({
      ok: true,
      result: { orderId, version: 2, consistencyToken: 'token' },
    });
    const placed = executed[0] as PlaceOrderCommand;
    expect(placed).toBeInstanceOf(PlaceOrderCommand);
    expect(placed.context).toMatchObject({
      expectedVersion: 0,
      idempotency: {
        key: 'k-1',
        fingerprint: requestFingerprint(commandPatterns.place, orderId, body),
      },
    });
  });

  it('keys a message without an idempotency key by its message id, so a redelivery runs once', async () => {
    const { router, executed } = succeeding();
    const line = { sku: 'A', quantity: 2, unitPrice: 5 };
    await router.execute(message(commandPatterns.addItem, { orderId, body: line }));
    await router.execute(
      message(commandPatterns.addItem, { orderId, idempotencyKey: 'k-2', body: line }),
    );
    await router.execute(
      message(commandPatterns.addItem, { orderId, body: line }, { messageId: undefined }),
    );
    await router.execute(
      message(commandPatterns.addItem, { orderId, body: line }, { messageId: 'x'.repeat(120) }),
    );
    const fingerprint = requestFingerprint(commandPatterns.addItem, orderId, line);
    expect(executed.map((command) => (command as AddItemCommand).context.idempotency)).toEqual([
      { key: 'amqp-message-id:message-1', fingerprint },
      { key: 'k-2', fingerprint },
      undefined,
      undefined,
    ]);
  });

  it.each([
    ['an unknown pattern', message('order.teleport', { orderId }), [400, 'UNKNOWN_COMMAND']],
    ['no pattern', message(undefined, { orderId }), [400, 'UNKNOWN_COMMAND']],
    [
      'a body that is not JSON',
      message(commandPatterns.confirm, '{"orderId"'),
      [400, 'MALFORMED_JSON'],
    ],
    [
      'a body that is not UTF-8',
      { ...message(commandPatterns.confirm, ''), content: Buffer.from([0xff, 0xfe]) },
      [400, 'MALFORMED_JSON'],
    ],
    [
      'a body over 64 KiB',
      message(commandPatterns.cancel, { orderId, body: { reason: 'x'.repeat(70_000) } }),
      [413, 'BODY_TOO_LARGE'],
    ],
    [
      'a body that is not JSON by its content type',
      message(commandPatterns.confirm, { orderId }, { contentType: 'text/plain' }),
      [415, 'UNSUPPORTED_MEDIA_TYPE'],
    ],
    ['a missing order id', message(commandPatterns.confirm, {}), [400, 'VALIDATION_FAILED']],
    [
      'an order id at the top of order.place',
      message(commandPatterns.place, { orderId, body: { customerId: 'c', currency: 'EUR' } }),
      [400, 'VALIDATION_FAILED'],
    ],
    [
      'an unknown field',
      message(commandPatterns.confirm, { orderId, urgent: true }),
      [400, 'VALIDATION_FAILED'],
    ],
  ] as const)('answers %s with a problem and runs nothing', async (_, incoming, expected) => {
    const { router, executed } = succeeding();
    const { reply } = await router.execute(incoming);
    expect(problemCode(reply)).toEqual(expected);
    expect(executed).toEqual([]);
  });

  it('answers a rule refusal with its code and an unexpected failure with a 500 problem', async () => {
    const refusing = routerAnswering(() =>
      Promise.reject(new OrderRuleViolation('ORDER_EMPTY', 'the order has no lines')),
    );
    const refused = await refusing.router.execute(message(commandPatterns.confirm, { orderId }));
    expect(problemCode(refused.reply)).toEqual([409, 'ORDER_EMPTY']);

    const failing = routerAnswering(() => Promise.reject(new Error('connection terminated')));
    const failed = await failing.router.execute(message(commandPatterns.confirm, { orderId }));
    expect(problemCode(failed.reply)).toEqual([500, 'INTERNAL_ERROR']);
    expect(JSON.stringify(failed.reply)).not.toContain('connection terminated');
  });
});
