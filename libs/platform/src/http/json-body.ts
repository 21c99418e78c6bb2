import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { HttpProblem } from './http-problem';
import { writeProblem } from './problem-details.filter';

export const MAX_BODY_BYTES = 64 * 1024;

const parseJson = express.json({
  limit: MAX_BODY_BYTES,
  strict: true,
  type: () => true,
});

/**
 * Parses JSON bodies of at most 64 KiB. Oversize bodies are refused from their
 * Content-Length (or while streaming) before any parsing; a body that is not JSON is 415.
 */
export function jsonBody(): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const hasBody =
      request.headers['transfer-encoding'] !== undefined ||
      Number(request.headers['content-length'] ?? 0) > 0;
    if (!hasBody) {
      next();
      return;
    }
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(type)) {
      writeProblem(
        response,
        new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json'),
        request.originalUrl,
      );
      return;
    }
    parseJson(request, response, (error?: unknown) => {
      if (error) writeProblem(response, bodyProblem(error), request.originalUrl);
      else next();
    });
  };
}

function bodyProblem(error: unknown): HttpProblem {
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large') {
    return new HttpProblem(413, 'BODY_TOO_LARGE', 'The body is over 64 KiB');
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'The body must be UTF-8 JSON');
  }
  return new HttpProblem(400, 'MALFORMED_JSON', 'The body is not valid JSON');
}
