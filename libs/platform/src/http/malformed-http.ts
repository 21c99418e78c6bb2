import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE } from '@orders/contracts';
import { HttpProblem } from './http-problem';

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser rejects before Fastify sees them
 * (an unknown method, a bad header, Content-Length together with Transfer-Encoding, headers
 * too large, a request that took too long) get a problem+json answer like every other
 * refusal. The connection is closed, as Node does: the parser cannot resume.
 */
export function answerMalformedHttpWithProblem(error: NodeJS.ErrnoException, socket: Socket): void {
  // As Node's own handler does: no second answer once one has begun on this connection.
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
    socket.destroy();
    return;
  }
  const problem = problemOf(error.code);
  const body = JSON.stringify(problem.toProblem());
  socket.end(
    [
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}`,
      `Content-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8`,
      `Content-Length: ${Buffer.byteLength(body)}`,
      'X-Content-Type-Options: nosniff',
      "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'",
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}

function problemOf(code: string | undefined): HttpProblem {
  switch (code ?? '') {
    case 'HPE_HEADER_OVERFLOW':
      return new HttpProblem(431, 'HEADERS_TOO_LARGE', 'The request headers are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpProblem(408, 'REQUEST_TIMEOUT', 'The request took too long to arrive');
    case 'HPE_INVALID_METHOD':
      return new HttpProblem(400, 'MALFORMED_REQUEST', 'Unknown HTTP method');
    default:
      return new HttpProblem(400, 'MALFORMED_REQUEST', 'The request is not valid HTTP/1.1');
  }
}
