import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { failure } from './envelope';

/**
 * Requests Node's HTTP parser refuses (CR/LF or raw bytes in the URL, a bad Content-Length or
 * chunk, headers too large, a request not sent in time) never reach Fastify's routing: answer them
 * with the envelope too.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, message] = answerFor(err.code);
  const body = JSON.stringify(failure(message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function answerFor(code: string | undefined): [number, string] {
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'Request headers are too large'];
  // Node's headersTimeout / requestTimeout (REQUEST_TIMEOUT_MS): the client stopped sending.
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'Request timed out'];
  return [400, 'Bad request'];
}
