import type { Channel, GetMessage } from 'amqplib';

/** Takes (and acks) every message now in `queue`: what an operator would find there. */
export async function takeAllMessages(channel: Channel, queue: string): Promise<GetMessage[]> {
  const taken: GetMessage[] = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: true });
    if (message === false) return taken;
    taken.push(message);
  }
}
