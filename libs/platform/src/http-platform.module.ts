import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { AuthSettings } from './auth/auth-settings';
import { BearerAuthGuard, DEFAULT_SCOPE } from './auth/bearer-auth.guard';
import { AUTH_SETTINGS, RequestAuthenticator } from './auth/request-authenticator';
import type { OrderScope } from './auth/scopes';
import { ClientRateLimitGuard } from './http-hardening/client-rate-limit.guard';
import { HttpIntake } from './lifecycle/http-intake';
import { MetricsController } from './observability/metrics.controller';
import {
  createServiceLogger,
  SERVICE_LOGGER,
  ServiceLogger,
  type LogLevelName,
} from './observability/service-logger';

export interface HttpPlatformOptions {
  /** `service` on every log line. */
  serviceName: string;
  logLevel: LogLevelName;
  auth: AuthSettings;
  /** The scope a route needs unless it declares another with @RequireScope. */
  defaultScope: OrderScope;
  /** Requests per client per minute; 0 turns rate limiting off. */
  rateLimitPerMinute: number;
}

const ONE_MINUTE_MS = 60_000;

/**
 * What both services' HTTP sides share (contract §7, §8): bearer-token auth and per-client rate
 * limits as global guards (the limiter first), the JSON logger, `GET /metrics`, and the HTTP
 * intake that stops first on shutdown. The Fastify-level parts are applied by `useHttpPlatform`.
 */
@Module({})
export class HttpPlatformModule {
  static forRoot(options: HttpPlatformOptions): DynamicModule {
    const rateLimited = options.rateLimitPerMinute > 0;
    return {
      module: HttpPlatformModule,
      imports: rateLimited
        ? [
            ThrottlerModule.forRoot({
              throttlers: [{ ttl: ONE_MINUTE_MS, limit: options.rateLimitPerMinute }],
            }),
          ]
        : [],
      controllers: [MetricsController],
      providers: [
        {
          provide: SERVICE_LOGGER,
          useFactory: () => createServiceLogger(options.serviceName, options.logLevel),
        },
        ServiceLogger,
        HttpIntake,
        { provide: AUTH_SETTINGS, useValue: options.auth },
        { provide: DEFAULT_SCOPE, useValue: options.defaultScope },
        RequestAuthenticator,
        ...(rateLimited ? [{ provide: APP_GUARD, useClass: ClientRateLimitGuard }] : []),
        { provide: APP_GUARD, useClass: BearerAuthGuard },
      ],
      exports: [ServiceLogger, RequestAuthenticator, HttpIntake],
    };
  }
}
