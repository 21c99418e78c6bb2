import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { activeTraceFields } from '../tracing/trace-context';
import { currentRequestContext } from './request-context';

export type LogLevelName = Level;

export const SERVICE_LOGGER = Symbol('ServiceLogger');

/**
 * One JSON object per line: ISO time, level name, service, message, the request and
 * correlation ids of the request (or message) being served, and its trace and span ids when
 * it is traced.
 */
export function createServiceLogger(
  service: string,
  level: LogLevelName | 'silent',
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    mixin: () => {
      const request = currentRequestContext();
      const traced = activeTraceFields();
      return traced ? Object.assign({}, request, traced) : (request ?? {});
    },
    redact: { paths: ['authorization', '*.authorization'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Nest's logger on top of pino, so Nest's own lines and every `new Logger(...)` are JSON too. */
@Injectable()
export class ServiceLogger implements LoggerService {
  constructor(@Inject(SERVICE_LOGGER) readonly pino: Logger) {}

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  /** Nest passes the context (the logger's name) last, and for errors a stack before it. */
  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const rest = [...params];
    const fields: Record<string, unknown> = {};
    if (rest.length > 0 && typeof rest.at(-1) === 'string') fields.context = rest.pop();
    if (level === 'error' || level === 'fatal') {
      const stack = rest.find((param) => typeof param === 'string');
      if (stack) fields.stack = stack;
    }
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...message });
    } else {
      this.pino[level](fields, String(message));
    }
  }
}
