import { Logger } from '@nestjs/common';
import type { MongoClient } from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MongoHeartbeatWatchdogOptions {
  /** A heartbeat still running after this long is stuck: the driver's own timeouts have passed. */
  stuckAfterMs: number;
  /** Pause between attempts to connect again while the server does not answer. */
  retryMs?: number;
}

/**
 * Connects a MongoClient again when its server monitor has stopped: a heartbeat that started
 * and neither succeeded nor failed long after the driver's own socket timeout.
 *
 * Why by hand: seen with driver 7.9 and a restarted FerretDB. The monitor wrote its `hello` to
 * a socket that had been destroyed a moment before its close was handled; the driver then waits
 * for a 'drain' that a destroyed socket never emits. The server stays Unknown for good, every
 * operation fails server selection while the server answers, and nothing in the driver recovers.
 * Closing the client and connecting it again replaces the topology and its monitors; the Db and
 * Collection objects the service holds keep working. Operations in flight meanwhile fail with
 * network or not-connected errors, which every caller already treats as an outage.
 */
export class MongoHeartbeatWatchdog {
  private readonly logger = new Logger(MongoHeartbeatWatchdog.name);
  /** Running heartbeats by server address: when each started. */
  private readonly running = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly stopped = new AbortController();
  private reconnecting: Promise<void> | null = null;
  /** How many times the client was connected again; for logs, metrics and tests. */
  reconnects = 0;

  constructor(
    private readonly client: MongoClient,
    private readonly options: MongoHeartbeatWatchdogOptions,
  ) {
    client.on('serverHeartbeatStarted', this.onStarted);
    client.on('serverHeartbeatSucceeded', this.onEnded);
    client.on('serverHeartbeatFailed', this.onEnded);
    this.timer = setInterval(() => this.check(), Math.max(options.stuckAfterMs / 4, 100));
    this.timer.unref();
  }

  /** Stops watching (before the client is closed for good). Waits for a reconnect under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped.abort();
    this.client.off('serverHeartbeatStarted', this.onStarted);
    this.client.off('serverHeartbeatSucceeded', this.onEnded);
    this.client.off('serverHeartbeatFailed', this.onEnded);
    await this.reconnecting;
  }

  private readonly onStarted = ({ connectionId }: { connectionId: string }) => {
    this.running.set(connectionId, Date.now());
  };

  private readonly onEnded = ({ connectionId }: { connectionId: string }) => {
    this.running.delete(connectionId);
  };

  private check(): void {
    if (this.reconnecting !== null) return;
    const now = Date.now();
    const stuck = [...this.running].find(([, since]) => now - since > this.options.stuckAfterMs);
    if (!stuck) return;
    const [address, since] = stuck;
    this.logger.warn(
      `the heartbeat to ${address} has run for ${now - since} ms without an answer or an error; connecting the client again`,
    );
    this.reconnecting = this.reconnect().finally(() => {
      this.reconnecting = null;
    });
  }

  private async reconnect(): Promise<void> {
    this.running.clear();
    await this.client.close().catch(() => undefined);
    for (let attempt = 1; !this.stopped.signal.aborted; attempt += 1) {
      try {
        await this.client.connect();
        this.reconnects += 1;
        this.logger.warn(`read store client connected again (attempt ${attempt})`);
        return;
      } catch (error) {
        this.logger.warn(`connecting the read store client again failed: ${String(error)}`);
        await sleep(this.options.retryMs ?? 1_000, undefined, {
          signal: this.stopped.signal,
        }).catch(() => undefined);
      }
    }
  }
}
