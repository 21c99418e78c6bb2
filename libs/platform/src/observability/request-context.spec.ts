import {
  Controller,
  Get,
  Injectable,
  Logger,
  Post,
  UseGuards,
  type CanActivate,
} from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ORDER_SCOPES } from '../auth/scopes';
import { createHttpAdapter } from '../http/http-adapter';
import { acceptJsonBodies } from '../http/json-body';
import { HttpPlatformModule } from '../http-platform.module';
import { useHttpPlatform } from '../use-http-platform';
import { createServiceLogger, SERVICE_LOGGER } from './service-logger';

@Injectable()
class LoggingGuard implements CanActivate {
  private readonly logger = new Logger('ProbeGuard');

  canActivate(): boolean {
    this.logger.log('guard ran');
    return true;
  }
}

@Controller('probe')
class ProbeController {
  private readonly logger = new Logger('ProbeHandler');

  @Post()
  @UseGuards(LoggingGuard)
  async post(): Promise<{ ok: true }> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.logger.log('after an await in the handler');
    return { ok: true };
  }

  @Get()
  get(): { ok: true } {
    this.logger.warn('plain GET');
    return { ok: true };
  }
}

describe('request context in logs', () => {
  const lines: Record<string, unknown>[] = [];
  let app: NestFastifyApplication;
  let url: string;

  beforeAll(async () => {
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    const moduleRef = await Test.createTestingModule({
      imports: [
        HttpPlatformModule.forRoot({
          serviceName: 'probe',
          logLevel: 'info',
          auth: { mode: 'off' },
          defaultScope: ORDER_SCOPES.read,
          rateLimitPerMinute: 0,
        }),
      ],
      controllers: [ProbeController],
      providers: [LoggingGuard],
    })
      .overrideProvider(SERVICE_LOGGER)
      .useValue(createServiceLogger('probe', 'info', capture))
      .compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(createHttpAdapter(), {
      bodyParser: false,
      bufferLogs: true,
    });
    useHttpPlatform(app, {
      title: 'probe',
      description: 'probe',
      version: '1',
      defaultScope: ORDER_SCOPES.read,
      operations: {},
    });
    acceptJsonBodies(app);
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app.close();
  });

  it('carries the ids into guards and handlers, past body parsing and awaits', async () => {
    const response = await fetch(`${url}/probe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'request-1',
        'x-correlation-id': 'correlation-1',
      },
      body: JSON.stringify({ some: 'body' }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('request-1');
    const ids = { requestId: 'request-1', correlationId: 'correlation-1' };
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ...ids, context: 'ProbeGuard', msg: 'guard ran' }),
        expect.objectContaining({
          ...ids,
          level: 'info',
          service: 'probe',
          context: 'ProbeHandler',
          msg: 'after an await in the handler',
        }),
        expect.objectContaining({ ...ids, msg: 'request completed', status: 201 }),
      ]),
    );
  });

  it('makes a request id when the header is absent or not an id, and correlates by it', async () => {
    const response = await fetch(`${url}/probe`, { headers: { 'x-request-id': 'has space' } });
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines).toContainEqual(
      expect.objectContaining({ requestId, correlationId: requestId, msg: 'plain GET' }),
    );
  });

  it('writes lines outside any request without ids', () => {
    new Logger('Outside').warn('no request here');
    const line = lines.find((l) => l.msg === 'no request here');
    expect(line).toMatchObject({ level: 'warn', context: 'Outside' });
    expect(line).not.toHaveProperty('requestId');
  });
});
