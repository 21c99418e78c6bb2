import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { HttpProblem } from './http-problem';
import { writeProblem } from './problem-details.filter';

export const MAX_BODY_BYTES = 64 * 1024;
const OVERSIZE_LINGER_MS = 5_000;

const parseJson = express.json({
  limit: MAX_BODY_BYTES,
  strict: true,
  type: () => true,
});

/**
 * Parses JSON bodies of at most 64 KiB. Oversize bodies are refused from their
 * Content-Length (or while streaming) before any parsing; a body that is not JSON is 415.
 * An oversize body is answered at once: the body parser would read the whole declared body
 * first, so a client announcing 100 GB and sending nothing waited for the server's request
 * timeout (5 minutes) for its answer.
 */
export function jsonBody(): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const declaredLength = Number(request.headers['content-length'] ?? 0);
    const chunked = request.headers['transfer-encoding'] !== undefined;
    if (!chunked && !(declaredLength > 0)) {
      next();
      return;
    }
    if (declaredLength > MAX_BODY_BYTES) {
      refuseOversizeBody(request, response);
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
    if (chunked) {
      let received = 0;
      const count = (chunk: Buffer) => {
        received += chunk.length;
        if (received <= MAX_BODY_BYTES) return;
        request.off('data', count);
        refuseOversizeBody(request, response);
      };
      request.on('data', count);
    }
    parseJson(request, response, (error?: unknown) => {
      if (error) writeProblem(response, bodyProblem(error), request.originalUrl);
      else next();
    });
  };
}

/**
 * Answers 413 at once, then reads and discards the rest of the body for a few seconds before
 * closing: closing straight away would reset a connection the client is still writing to,
 * and a reset can lose the answer.
 */
function refuseOversizeBody(request: Request, response: Response): void {
  writeProblem(response, tooLarge(), request.originalUrl);
  const linger = setTimeout(() => request.socket.destroy(), OVERSIZE_LINGER_MS);
  linger.unref();
  request.once('close', () => clearTimeout(linger));
  request.once('end', () => clearTimeout(linger));
}

const tooLarge = () => new HttpProblem(413, 'BODY_TOO_LARGE', 'The body is over 64 KiB');

function bodyProblem(error: unknown): HttpProblem {
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large') return tooLarge();
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'The body must be UTF-8 JSON');
  }
  return new HttpProblem(400, 'MALFORMED_JSON', 'The body is not valid JSON');
}
