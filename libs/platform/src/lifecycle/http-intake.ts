import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server, ServerResponse } from 'node:http';

/**
 * Stops HTTP intake as the first step of shutdown (Nest's destroy hooks run before the
 * consumers stop and long before it closes the server itself): no new connections, idle
 * keep-alive connections closed, and every answer from now on, in-flight ones included,
 * closes its connection. Requests already received are answered; Nest's own close then
 * waits for them.
 */
@Injectable()
export class HttpIntake implements OnModuleDestroy {
  private stopped = false;
  private readonly unanswered = new Set<ServerResponse>();

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Called first for every request (useHttpPlatform's `onRequest` hook). */
  track(response: ServerResponse): void {
    if (this.stopped) {
      response.setHeader('Connection', 'close');
    } else {
      this.unanswered.add(response);
      response.once('close', () => this.unanswered.delete(response));
    }
  }

  onModuleDestroy(): void {
    this.stopped = true;
    // Without this a keep-alive connection outlives its last answer, and its client may send
    // the next request down it while the service is going away.
    for (const response of this.unanswered) {
      if (!response.headersSent) response.setHeader('Connection', 'close');
    }
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (server?.listening) {
      server.close();
      server.closeIdleConnections();
    }
  }
}
