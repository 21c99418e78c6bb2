import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { PROBLEM_CONTENT_TYPE } from '@orders/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblem } from './http-problem';

/**
 * Answers every error as RFC 9457 problem+json. Services translate their own errors into
 * HttpProblem through `translate`; anything left unknown is a 500 and is logged in full.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  constructor(
    private readonly translate: (error: unknown) => HttpProblem | undefined = () => undefined,
  ) {}

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    const response = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const problem = this.toHttpProblem(error);
    if (problem.status >= 500) {
      this.logger.error(`${request.method} ${request.url} failed`, (error as Error).stack);
    }
    writeProblem(response, problem, request.url);
  }

  private toHttpProblem(error: unknown): HttpProblem {
    if (error instanceof HttpProblem) return error;
    const translated = this.translate(error);
    if (translated) return translated;
    if (error instanceof HttpException) return httpLayerProblem(error.getStatus(), error.message);
    return new HttpProblem(500, 'INTERNAL_ERROR', 'Internal error');
  }
}

export function writeProblem(reply: FastifyReply, problem: HttpProblem, instance?: string): void {
  if (reply.sent || reply.raw.headersSent) return;
  void reply
    .headers(problem.headers)
    .status(problem.status)
    .type(`${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
    .send(JSON.stringify(problem.toProblem(instance)));
}

/**
 * Refusals of the HTTP layer: no route, and what Fastify refuses before a handler runs (a body
 * over the limit or of another media type, a URL that does not decode), which Nest hands over
 * as HttpExceptions.
 */
export function httpLayerProblem(status: number, message: string): HttpProblem {
  switch (status) {
    case 404:
      return new HttpProblem(404, 'ROUTE_NOT_FOUND', 'No such route');
    case 413:
      return new HttpProblem(413, 'BODY_TOO_LARGE', 'The body is over 64 KiB');
    case 415:
      return new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json');
    default:
      return new HttpProblem(status, `HTTP_${status}`, message);
  }
}
