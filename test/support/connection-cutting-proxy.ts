import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server (the MongoDB-compatible one, RabbitMQ) that drops a client's
 * connection, without forwarding it, on any message `cutWhen` picks: a read store that goes
 * away in the middle of one write, every time until `cutWhen` is cleared (the driver may retry
 * a write once). While `holdingSent` (`holdingReplies`), what clients send (what the server
 * answers) is not forwarded, and a connection that held anything back in that direction forwards
 * nothing more that way until it ends: a consumer whose acks never reach the broker, a publisher
 * whose confirms never arrive.
 */
export class ConnectionCuttingProxy {
  cutWhen: ((message: Buffer) => boolean) | null = null;
  holdingSent = false;
  holdingReplies = false;
  /** How many connections it dropped. */
  cuts = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((client) => this.relay(client));

  private constructor(private readonly upstream: { host: string; port: number }) {}

  static async start(upstream: { host: string; port: number }): Promise<ConnectionCuttingProxy> {
    const proxy = new ConnectionCuttingProxy(upstream);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket): void {
    const server = connect(this.upstream.port, this.upstream.host);
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    let sentHeld = false;
    let repliesHeld = false;
    client.on('data', (chunk: Buffer) => {
      sentHeld ||= this.holdingSent;
      if (sentHeld) return;
      if (this.cutWhen?.(chunk)) {
        this.cuts += 1;
        client.destroy();
        server.destroy();
        return;
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      repliesHeld ||= this.holdingReplies;
      if (!repliesHeld) client.write(chunk);
    });
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  }
}

/** True for an `insert` command into `collection` (its BSON name element and value). */
export function isInsertInto(message: Buffer, collection: string): boolean {
  return message.includes('\x02insert\x00') && message.includes(`${collection}\x00`);
}
