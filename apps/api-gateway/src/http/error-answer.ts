import { HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '@ringcloud/contracts-common';
import { MessagingUnavailableError } from '@ringcloud/nest-nats';
import { failure } from './envelope';
import { HttpProblem } from './http-problem';

export interface ErrorAnswer {
  status: number;
  message: string;
  headers: Record<string, string>;
}

const UNAVAILABLE = 'Service is temporarily unavailable';
const logger = new Logger('GatewayErrors');

const DOMAIN_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Internal]: 500,
};

/**
 * The one mapping from anything thrown to an HTTP answer. DomainErrors keep their service's
 * message; INTERNAL (a real bug somewhere) and unknown exceptions are logged and answered 500
 * without details; transport failures (NATS down, no reply in time) answer 503.
 */
export function toErrorAnswer(exception: unknown): ErrorAnswer {
  if (exception instanceof HttpProblem) {
    return { status: exception.status, message: exception.message, headers: exception.headers };
  }
  if (exception instanceof MessagingUnavailableError) {
    logger.warn(exception.message);
    return { status: 503, message: UNAVAILABLE, headers: { 'Retry-After': '1' } };
  }
  if (exception instanceof DomainError) {
    const status = DOMAIN_STATUS[exception.code] ?? 500;
    if (status === 500) {
      logger.error(`a service answered INTERNAL: ${exception.message}`);
      return { status, message: 'Internal error', headers: {} };
    }
    const retry: Record<string, string> = status === 429 || status === 503 ? { 'Retry-After': '1' } : {};
    return { status, message: exception.message || UNAVAILABLE, headers: retry };
  }
  if (exception instanceof HttpException) {
    // Nest's own answers: only "no such route" is expected here.
    const status = exception.getStatus();
    if (status === 404) return { status, message: 'Not found', headers: {} };
    if (status < 500) return { status, message: exception.message, headers: {} };
  }
  const fastifyError = exception as { code?: unknown; statusCode?: unknown };
  if (typeof fastifyError?.code === 'string' && typeof fastifyError.statusCode === 'number') {
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, message: 'Request body is too large', headers: {} };
    if (fastifyError.code === 'FST_ERR_BAD_URL') return { status: 404, message: 'Not found', headers: {} };
    if (fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return { status: 400, message: 'Bad request', headers: {} };
    }
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : `non-error thrown: ${String(exception)}`);
  return { status: 500, message: 'Internal error', headers: {} };
}

const FILE_DOWNLOAD = Symbol('fileDownload');

/** Spec section 2: a recording download answers its errors with an empty body. */
export function markFileDownload(request: FastifyRequest): void {
  (request as any)[FILE_DOWNLOAD] = true;
}

export function writeError(request: FastifyRequest, reply: FastifyReply, exception: unknown): void {
  const answer = toErrorAnswer(exception);
  if (reply.sent) return;
  reply.status(answer.status).headers(answer.headers);
  if ((request as any)[FILE_DOWNLOAD]) {
    reply.send();
    return;
  }
  reply.header('Content-Type', 'application/json; charset=utf-8').send(JSON.stringify(failure(answer.message)));
}
