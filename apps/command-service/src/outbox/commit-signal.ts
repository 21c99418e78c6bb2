import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

export const COMMIT_CHANNEL = 'orders_events_committed';

/**
 * Wakes the relay after a commit. A replica whose own relay leads wakes it in process; the
 * others send one NOTIFY per burst of commits (at most one in flight), never one per
 * transaction: a NOTIFY inside every transaction cost ~40% of insert throughput here.
 */
@Injectable()
export class CommitSignal {
  private readonly logger = new Logger(CommitSignal.name);
  private waiters: (() => void)[] = [];
  /** A wake-up nobody waited for: the next wait returns at once instead of missing it. */
  private missed = false;
  private localRelayLeads = false;
  private notifyInFlight = false;
  private notifyAgain = false;

  constructor(private readonly dataSource: DataSource) {}

  setLocalRelayLeads(leads: boolean): void {
    this.localRelayLeads = leads;
  }

  /** Called after every commit of new events. */
  committed(): void {
    if (this.localRelayLeads) {
      this.wake();
      return;
    }
    if (this.notifyInFlight) {
      this.notifyAgain = true;
      return;
    }
    void this.sendNotify();
  }

  /**
   * Wakes whoever waits (also used on shutdown). With nobody waiting (the relay is reading
   * or publishing), the next wait returns at once: the commit may have come after the relay's
   * read, and missing it cost up to a poll interval of lag (p50 ~400 ms at 100 commands/s).
   */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    this.missed = waiters.length === 0;
    for (const resolve of waiters) resolve();
  }

  /**
   * Resolves at the next wake-up (or at once after a missed one) or after `timeoutMs` with
   * true; with false if `until` settles first.
   */
  wait(timeoutMs: number, until?: Promise<unknown>): Promise<boolean> {
    if (this.missed) {
      this.missed = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      // A waiter left behind would take the next wake-up for itself, so that a commit while
      // the relay reads went unnoticed until the next poll (and an idle relay kept one a poll).
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((other) => other !== waiter);
        resolve(woken);
      };
      const waiter = () => finish(true);
      const timer = setTimeout(waiter, timeoutMs);
      until?.then(
        () => finish(false),
        () => finish(false),
      );
      this.waiters.push(waiter);
    });
  }

  private async sendNotify(): Promise<void> {
    this.notifyInFlight = true;
    try {
      do {
        this.notifyAgain = false;
        await this.dataSource.query('SELECT pg_notify($1, $2)', [COMMIT_CHANNEL, '']);
      } while (this.notifyAgain);
    } catch (error) {
      // The relay also polls; a lost wake-up costs latency, never an event.
      this.logger.warn(`commit notification failed: ${(error as Error).message}`);
    } finally {
      this.notifyInFlight = false;
    }
  }
}
