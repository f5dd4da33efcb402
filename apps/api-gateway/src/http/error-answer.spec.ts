import { DomainError, ErrorCode } from '@ringcloud/contracts-common';
import { MessagingUnavailableError } from '@ringcloud/nest-nats';
import { Logger, NotFoundException } from '@nestjs/common';
import { toErrorAnswer } from './error-answer';
import { HttpProblem } from './http-problem';

describe('toErrorAnswer (the one error mapping)', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  it('maps every DomainError code', () => {
    const codes: Array<[ErrorCode, number]> = [
      [ErrorCode.BadRequest, 400],
      [ErrorCode.Forbidden, 403],
      [ErrorCode.NotFound, 404],
      [ErrorCode.RateLimited, 429],
      [ErrorCode.Unavailable, 503],
      [ErrorCode.Internal, 500],
    ];
    for (const [code, status] of codes) expect([code, toErrorAnswer(new DomainError(code, 'm')).status]).toEqual([code, status]);
    expect(toErrorAnswer(DomainError.badRequest('extension 401 is already used')).message).toBe('extension 401 is already used');
    expect(toErrorAnswer(DomainError.unavailable('PBX is unavailable')).headers['Retry-After']).toBe('1');
    expect(toErrorAnswer(new DomainError(ErrorCode.Internal, 'stack details')).message).toBe('Internal error');
  });

  it('answers transport failures with a generic 503', () => {
    const a = toErrorAnswer(new MessagingUnavailableError('service did not answer in time (users.user.get)'));
    expect(a).toEqual({ status: 503, message: 'Service is temporarily unavailable', headers: { 'Retry-After': '1' } });
  });

  it('keeps HttpProblem answers and maps framework errors without 500s', () => {
    expect(toErrorAnswer(HttpProblem.methodNotAllowed(['GET']))).toEqual({ status: 405, message: 'Method not allowed', headers: { Allow: 'GET' } });
    expect(toErrorAnswer(new NotFoundException('Cannot GET /x')).message).toBe('Not found');
    expect(toErrorAnswer(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })).status).toBe(413);
    expect(toErrorAnswer(Object.assign(new Error('x'), { code: 'FST_ERR_BAD_URL', statusCode: 400 })).status).toBe(404);
    expect(toErrorAnswer(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400 })).status).toBe(400);
    expect(toErrorAnswer(new TypeError('bug')).status).toBe(500);
  });
});
