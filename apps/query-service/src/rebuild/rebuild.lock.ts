import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { messageOf } from '@orders/platform';
import { hostname } from 'node:os';
import { RebuildUnavailableError } from '../errors/query.errors';
import {
  encodeSwitchMarker,
  READ_MODEL_SWITCH_TYPE,
  type ReadModelSwitchMarker,
} from './read-model-switch.message';

/** AMQP 405: another connection holds the exclusive queue. */
const RESOURCE_LOCKED = 405;

/**
 * Who may write the generation being rebuilt: the holder of an exclusive RabbitMQ queue. The
 * broker grants it to one connection at a time and frees it when that connection dies, so a
 * crashed rebuild never blocks the next. Its connection also publishes the switch markers.
 */
export class RebuildLock {
  private held = true;

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly projectionQueue: string,
  ) {
    connection.on('close', () => (this.held = false));
  }

  /**
   * The lock, or null while another replica (or process) holds it. RabbitMQ out of reach is
   * an outage (RebuildUnavailableError, 503), not a failure of the rebuild.
   */
  static async tryAcquire(
    rabbitmqUrl: string,
    projectionQueue: string,
  ): Promise<RebuildLock | null> {
    const connection = await connect(rabbitmqUrl, {
      clientProperties: {
        connection_name: `orders-query-service-rebuild@${hostname()}:${process.pid}`,
      },
      timeout: 10_000,
    }).catch((error: unknown) => {
      throw new RebuildUnavailableError(
        `cannot reach RabbitMQ for the rebuild lock: ${messageOf(error)}`,
      );
    });
    connection.on('error', () => undefined);
    try {
      const probe = await connection.createChannel();
      probe.on('error', () => undefined);
      try {
        await probe.assertQueue(`${projectionQueue}.rebuild-lock`, {
          exclusive: true,
          durable: false,
          autoDelete: true,
        });
      } catch (error) {
        if ((error as { code?: number }).code === RESOURCE_LOCKED) {
          await connection.close().catch(() => undefined);
          return null;
        }
        throw error;
      }
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined);
      // The lock is the connection: a channel the broker closed ends it too.
      channel.on('close', () => void connection.close().catch(() => undefined));
      return new RebuildLock(connection, channel, projectionQueue);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  assertHeld(): void {
    if (!this.held) throw new RebuildLockLostError();
  }

  /** Puts the marker in line with the events, straight into the projection's queue. */
  async publishSwitchMarker(marker: ReadModelSwitchMarker): Promise<void> {
    this.assertHeld();
    this.channel.publish('', this.projectionQueue, encodeSwitchMarker(marker), {
      persistent: true,
      contentType: 'application/json',
      type: READ_MODEL_SWITCH_TYPE,
      messageId: `read-model-switch:${marker.generation}:${marker.attempt}:${randomUUID()}`,
    });
    await this.channel.waitForConfirms();
  }

  async release(): Promise<void> {
    this.held = false;
    await this.connection.close().catch(() => undefined);
  }
}

export class RebuildLockLostError extends Error {
  override readonly name = 'RebuildLockLostError';

  constructor() {
    super('the rebuild lock was lost (RabbitMQ connection closed)');
  }
}
