import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  normalizeIp,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { RequestAuthenticator } from '../auth/request-authenticator';
import { HttpProblem } from '../http/http-problem';
import { isOperationalPath, pathOf } from './operational-routes';

/**
 * Requests per client per minute (contract §7), counted across all routes of this replica.
 * A client is its verified token subject, or its IP address when it has none; runs before the
 * auth guard, so clients sending bad tokens are limited by address too.
 */
@Injectable()
export class ClientRateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly authenticator: RequestAuthenticator,
  ) {
    super(options, storage, reflector);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return Promise.resolve(true);
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return Promise.resolve(isOperationalPath(pathOf(request.url)));
  }

  protected override async getTracker(request: FastifyRequest): Promise<string> {
    const authentication = await this.authenticator.authenticate(request);
    if (authentication.kind === 'authenticated' && authentication.principal.subject) {
      return `sub:${authentication.principal.subject}`;
    }
    return `ip:${normalizeIp(request.ip, this.ipv6SubnetPrefix)}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string): string {
    return tracker;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new HttpProblem(
      429,
      'RATE_LIMITED',
      'Too many requests',
      `at most ${detail.limit} requests per minute per client`,
      {},
      { 'Retry-After': String(Math.max(1, detail.timeToBlockExpire)) },
    );
  }
}
