import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { isOperationalPath, pathOf } from '../http-hardening/operational-routes';
import { insufficientScope, RequestAuthenticator } from './request-authenticator';
import { requiredScope, RequireScope, type OrderScope } from './scopes';

export const DEFAULT_SCOPE = Symbol('DefaultScope');

/**
 * Global guard of contract §7: a valid bearer token with the route's scope on every HTTP route
 * but health, metrics and docs. A no-op when auth is off.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: RequestAuthenticator,
    private readonly reflector: Reflector,
    @Inject(DEFAULT_SCOPE) private readonly defaultScope: OrderScope,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Messages are authenticated by the broker's credentials, not by tokens.
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const path = pathOf(request.url);
    if (isOperationalPath(path)) return true;
    const authentication = await this.authenticator.authenticate(request);
    switch (authentication.kind) {
      case 'off':
        return true;
      case 'rejected':
        throw authentication.problem;
      case 'authenticated': {
        const declared = this.reflector.getAllAndOverride(RequireScope, [
          context.getHandler(),
          context.getClass(),
        ]);
        const scope = requiredScope(declared, path, this.defaultScope);
        if (!authentication.principal.scopes.has(scope)) throw insufficientScope(scope);
        return true;
      }
      default: {
        const unhandled: never = authentication;
        return unhandled;
      }
    }
  }
}
