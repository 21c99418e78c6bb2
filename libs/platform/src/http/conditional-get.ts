import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Fastify `onSend` hook: a GET or HEAD whose `If-None-Match` names the ETag its handler set
 * (the order version) is answered 304 Not Modified, without a body (RFC 9110 §13.1.2, weak
 * comparison).
 */
export function answerNotModified(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (error: null, payload: unknown) => void,
): void {
  const condition = request.headers['if-none-match'];
  const etag = reply.getHeader('etag');
  if (
    condition === undefined ||
    typeof etag !== 'string' ||
    reply.statusCode !== 200 ||
    (request.method !== 'GET' && request.method !== 'HEAD') ||
    !namesTag(condition, etag)
  ) {
    done(null, payload);
    return;
  }
  void reply.code(304).removeHeader('content-type').removeHeader('content-length');
  done(null, null);
}

function namesTag(condition: string, etag: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return condition.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === wanted);
}
