import { lastValueFrom, throwError } from 'rxjs';
import { DomainError, ErrorCode } from '@ringcloud/contracts-common';
import { DatabaseUnavailableInterceptor, UNSTORABLE_TEXT_MESSAGE } from './database-unavailable.interceptor';
import { parseDatabaseUrl, quoteIdent } from './database-url';
import { isDatabaseConnectionFailure, isDatabaseUnavailable, isUnstorableText } from './prisma-errors';

describe('parseDatabaseUrl', () => {
  it('moves ?schema= out of the connection string', () => {
    expect(parseDatabaseUrl('postgresql://u@h:5432/db?schema=users&sslmode=disable')).toEqual({
      connectionString: 'postgresql://u@h:5432/db?sslmode=disable',
      schema: 'users',
    });
  });
  it('defaults to public', () => {
    expect(parseDatabaseUrl('postgresql://u@h/db').schema).toBe('public');
  });
});

it('quoteIdent doubles embedded quotes', () => {
  expect(quoteIdent('a"b')).toBe('"a""b"');
});

describe('database error classification', () => {
  it('knows Prisma codes and driver-adapter kinds of an outage', () => {
    expect(isDatabaseUnavailable({ code: 'P1001' })).toBe(true);
    expect(isDatabaseUnavailable({ meta: { driverAdapterError: { cause: { kind: 'AuthenticationFailed' } } } })).toBe(true);
    expect(isDatabaseUnavailable({ code: 'P2002' })).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
  it('knows raw pg network failures', () => {
    expect(isDatabaseConnectionFailure({ code: 'ECONNREFUSED' })).toBe(true);
    expect(isDatabaseConnectionFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseConnectionFailure(new Error('syntax error'))).toBe(false);
  });
  it('knows text PostgreSQL cannot store (22021, 22P05), from Prisma or raw pg', () => {
    const viaPrisma = (code: string) => ({ code: 'P2039', meta: { driverAdapterError: { cause: { originalCode: code, kind: 'postgres', code } } } });
    expect(isUnstorableText(viaPrisma('22021'))).toBe(true);
    expect(isUnstorableText(viaPrisma('22P05'))).toBe(true);
    expect(isUnstorableText({ code: '22021' })).toBe(true); // pg's DatabaseError
    expect(isUnstorableText(viaPrisma('23505'))).toBe(false);
    expect(isUnstorableText({ code: 'P2002' })).toBe(false);
    expect(isUnstorableText(undefined)).toBe(false);
  });
});

describe('DatabaseUnavailableInterceptor', () => {
  const run = (interceptor: DatabaseUnavailableInterceptor, err: unknown) =>
    lastValueFrom(interceptor.intercept({} as any, { handle: () => throwError(() => err) })).catch((e) => e);

  it('turns an outage into UNAVAILABLE with the service message', async () => {
    const out = await run(new DatabaseUnavailableInterceptor('x database is unavailable'), { code: 'P1001' });
    expect(out).toBeInstanceOf(DomainError);
    expect(out).toMatchObject({ code: ErrorCode.Unavailable, message: 'x database is unavailable' });
  });
  it('passes other errors through', async () => {
    const err = new Error('boom');
    expect(await run(new DatabaseUnavailableInterceptor('x'), err)).toBe(err);
  });
  it('turns text the database cannot store into BAD_REQUEST, not INTERNAL', async () => {
    const out = await run(new DatabaseUnavailableInterceptor('x'), { code: 'P2010', meta: { driverAdapterError: { cause: { originalCode: '22021' } } } });
    expect(out).toBeInstanceOf(DomainError);
    expect(out).toMatchObject({ code: ErrorCode.BadRequest, message: UNSTORABLE_TEXT_MESSAGE });
  });
  it('uses the classifier it is given', async () => {
    const out = await run(new DatabaseUnavailableInterceptor('x', () => true), new Error('anything'));
    expect(out).toMatchObject({ code: ErrorCode.Unavailable });
  });
});
