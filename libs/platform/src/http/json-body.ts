import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { HttpProblem } from './http-problem';

export const MAX_BODY_BYTES = 64 * 1024;

const JSON_MEDIA_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

/**
 * Bodies are JSON (`application/json` or any `+json` type) in UTF-8, of at most 64 KiB
 * (MAX_BODY_BYTES, the adapter's `bodyLimit`): Fastify refuses a larger Content-Length before
 * reading anything, and a chunked body as soon as it grows past the limit (413). Any other
 * media type is 415; a body that is not JSON is 400. An empty body is no body.
 */
export function acceptJsonBodies(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'string' }, (request, body, done) => {
    const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'The body must be UTF-8 JSON'));
      return;
    }
    if (body === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, body as string, (error, value) => {
      if (error) done(new HttpProblem(400, 'MALFORMED_JSON', 'The body is not valid JSON'));
      else done(null, value);
    });
  });
}
