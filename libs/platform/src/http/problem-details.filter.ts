import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { PROBLEM_CONTENT_TYPE } from '@orders/contracts';
import type { Request, Response } from 'express';
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
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request>();
    const problem = this.toHttpProblem(error);
    if (problem.status >= 500) {
      this.logger.error(`${request.method} ${request.url} failed`, (error as Error).stack);
    }
    writeProblem(response, problem, request.originalUrl);
  }

  private toHttpProblem(error: unknown): HttpProblem {
    if (error instanceof HttpProblem) return error;
    const translated = this.translate(error);
    if (translated) return translated;
    if (error instanceof HttpException) {
      const status = error.getStatus();
      if (status === 404) return new HttpProblem(404, 'ROUTE_NOT_FOUND', 'No such route');
      return new HttpProblem(status, `HTTP_${status}`, error.message);
    }
    return new HttpProblem(500, 'INTERNAL_ERROR', 'Internal error');
  }
}

export function writeProblem(response: Response, problem: HttpProblem, instance?: string): void {
  if (response.headersSent) return;
  for (const [name, value] of Object.entries(problem.headers)) response.setHeader(name, value);
  response
    .status(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem.toProblem(instance)));
}
