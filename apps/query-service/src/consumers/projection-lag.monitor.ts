import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { hostname } from 'node:os';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import { READ_MODEL_STATE_COLLECTION } from '../read-store/read-model-generations';
import { ReadStore } from '../read-store/read-store.service';

/** How far behind the projection is, as `/health/ready` and `/metrics` report it. */
export interface ProjectionLag {
  /** Events waiting in the projection's queue (ready, not yet delivered). */
  events: number;
  /**
   * 0 when nothing waits; otherwise now − occurredAt of the newest applied event. Null when
   * events wait and none was ever applied.
   */
  seconds: number | null;
}

/** Written by whichever replica is the active consumer, so every replica can report the lag. */
interface ProjectionProgressDocument {
  _id: 'projection-progress';
  newestOccurredAt: Date;
  at: Date;
}

const PROGRESS_ID = 'projection-progress';
const PROGRESS_WRITE_MS = 1000;
const MEASURE_CACHE_MS = 1000;

/**
 * Projection lag. Under single-active-consumer only one replica applies events, so it saves
 * the newest applied event time (at most once a second, a blind replace of a document that no
 * one else derives from); every replica reads it with the queue depth.
 */
@Injectable()
export class ProjectionLagMonitor implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ProjectionLagMonitor.name);
  private newestApplied: number | null = null;
  private savedNewest: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private amqp: Promise<{ connection: ChannelModel; channel: Channel }> | null = null;
  private cached: { at: number; lag: Promise<ProjectionLag> } | null = null;

  constructor(
    @Inject(QUERY_SERVICE_CONFIG) private readonly config: QueryServiceConfig,
    private readonly readStore: ReadStore,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.saveProgress(), PROGRESS_WRITE_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.saveProgress();
    const amqp = await this.amqp?.catch(() => null);
    await amqp?.connection.close().catch(() => undefined);
  }

  /** `occurredAt` of an applied event, in epoch milliseconds. */
  recordApplied(occurredAt: number): void {
    if (this.newestApplied === null || occurredAt > this.newestApplied)
      this.newestApplied = occurredAt;
  }

  /** Cached for a second: health probes and scrapes may come often. */
  measure(): Promise<ProjectionLag> {
    const now = Date.now();
    if (this.cached === null || now - this.cached.at > MEASURE_CACHE_MS) {
      const lag = this.measureNow();
      lag.catch(() => {
        if (this.cached?.lag === lag) this.cached = null;
      });
      this.cached = { at: now, lag };
    }
    return this.cached.lag;
  }

  private async measureNow(): Promise<ProjectionLag> {
    const [events, stored] = await Promise.all([
      this.queueDepth(),
      this.progress().findOne({ _id: PROGRESS_ID }),
    ]);
    if (events === 0) return { events, seconds: 0 };
    const newest = Math.max(this.newestApplied ?? 0, stored?.newestOccurredAt.getTime() ?? 0);
    return { events, seconds: newest === 0 ? null : Math.max(0, (Date.now() - newest) / 1000) };
  }

  private async queueDepth(): Promise<number> {
    this.amqp ??= (async () => {
      const connection = await connect(this.config.rabbitmqUrl, {
        clientProperties: {
          connection_name: `orders-query-service-lag@${hostname()}:${process.pid}`,
        },
        timeout: 5_000,
      });
      connection.on('error', () => undefined);
      connection.once('close', () => (this.amqp = null));
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      // checkQueue on a missing queue closes the channel: start afresh next time.
      channel.once('close', () => {
        this.amqp = null;
        connection.close().catch(() => undefined);
      });
      return { connection, channel };
    })();
    const opening = this.amqp;
    opening.catch(() => {
      if (this.amqp === opening) this.amqp = null;
    });
    const { channel } = await opening;
    return (await channel.checkQueue(this.config.queryQueueName)).messageCount;
  }

  private async saveProgress(): Promise<void> {
    const newest = this.newestApplied;
    if (newest === null || newest === this.savedNewest) return;
    try {
      await this.progress().replaceOne(
        { _id: PROGRESS_ID },
        { newestOccurredAt: new Date(newest), at: new Date() },
        { upsert: true },
      );
      this.savedNewest = newest;
    } catch (error) {
      this.logger.debug(
        `saving projection progress failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private progress() {
    return this.readStore.db.collection<ProjectionProgressDocument>(READ_MODEL_STATE_COLLECTION);
  }
}
