import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { HttpProblem } from '../http/http-problem';
import type { AuthSettings } from './auth-settings';
import { KeysUnavailable, TokenVerifier, type Principal } from './token-verifier';

export const AUTH_SETTINGS = Symbol('AuthSettings');

export type Authentication =
  | { kind: 'off' }
  | { kind: 'authenticated'; principal: Principal }
  | { kind: 'rejected'; problem: HttpProblem };

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const REALM = 'realm="orders"';

/**
 * Reads and verifies the bearer token of a request, once per request: the rate limiter (which
 * keys clients by their verified `sub`) and the auth guard share the answer.
 */
@Injectable()
export class RequestAuthenticator implements OnModuleInit {
  private readonly logger = new Logger('Auth');
  private verifier: TokenVerifier | undefined;
  private readonly answers = new WeakMap<FastifyRequest, Promise<Authentication>>();

  constructor(@Inject(AUTH_SETTINGS) private readonly settings: AuthSettings) {}

  async onModuleInit(): Promise<void> {
    if (this.settings.mode === 'off') {
      this.logger.warn(
        'authentication is OFF: every route is open to anyone. Set AUTH_JWT_SECRET (HS256) or ' +
          'AUTH_JWKS_URL (RS256) with AUTH_ISSUER and AUTH_AUDIENCE; NODE_ENV=production ' +
          'refuses to start without them.',
      );
      return;
    }
    this.verifier = await TokenVerifier.create(this.settings);
    this.logger.log(
      `bearer tokens required (${this.settings.mode === 'hs256' ? 'HS256' : 'RS256 via JWKS'}, ` +
        `issuer ${this.settings.issuer}, audience ${this.settings.audience})`,
    );
  }

  authenticate(request: FastifyRequest): Promise<Authentication> {
    let answer = this.answers.get(request);
    if (!answer) {
      answer = this.verify(request);
      this.answers.set(request, answer);
    }
    return answer;
  }

  private async verify(request: FastifyRequest): Promise<Authentication> {
    if (!this.verifier) return { kind: 'off' };
    const header = request.headers.authorization;
    if (header === undefined || !/^Bearer(\s|$)/i.test(header)) {
      return rejected(
        'AUTHENTICATION_REQUIRED',
        'Authentication required',
        'send Authorization: Bearer <JWT>',
        `Bearer ${REALM}`,
      );
    }
    const token = BEARER.exec(header)?.[1];
    if (!token) return invalidToken('the Authorization header does not hold a bearer token');
    try {
      return { kind: 'authenticated', principal: await this.verifier.verify(token) };
    } catch (error) {
      if (error instanceof KeysUnavailable) {
        this.logger.warn(error.message);
        return {
          kind: 'rejected',
          problem: new HttpProblem(
            503,
            'AUTH_UNAVAILABLE',
            'Tokens cannot be verified right now',
            undefined,
            {},
            { 'Retry-After': '5' },
          ),
        };
      }
      return invalidToken((error as Error).message);
    }
  }
}

function invalidToken(reason: string): Authentication {
  return rejected(
    'INVALID_TOKEN',
    'Invalid token',
    reason,
    `Bearer ${REALM}, error="invalid_token", error_description="${reason.replaceAll('"', "'")}"`,
  );
}

function rejected(code: string, title: string, detail: string, challenge: string): Authentication {
  return {
    kind: 'rejected',
    problem: new HttpProblem(401, code, title, detail, {}, { 'WWW-Authenticate': challenge }),
  };
}

/** 403 with the RFC 6750 challenge naming the scope the route needs. */
export function insufficientScope(scope: string): HttpProblem {
  return new HttpProblem(
    403,
    'INSUFFICIENT_SCOPE',
    'The token lacks the scope this route needs',
    `this route needs scope ${scope}`,
    { requiredScope: scope },
    { 'WWW-Authenticate': `Bearer ${REALM}, error="insufficient_scope", scope="${scope}"` },
  );
}
