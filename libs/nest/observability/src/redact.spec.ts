import { Writable } from 'node:stream';
import { AppLogger } from './logger';
import { withRequestId } from './correlation';
import { redactText, redactValue } from './redact';

const KEY = 'k3yValue0123456789abcdef';
const HASH = '0cc175b9c0f1b6a831c399e269772661';
const PASSWORD = 'Sip5ecret!';

function memoryLogger(level: 'log' | 'debug' = 'log') {
  const lines: any[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().trim().split('\n').map((l: string) => JSON.parse(l)));
      done();
    },
  });
  return { logger: new AppLogger({ app: 'test', level, format: 'json', destination }), lines };
}

describe('redaction', () => {
  it('removes credentials from query strings, JSON and header-like text', () => {
    const text = redactText(
      `GET /v1/users?api_key=${KEY}&hash=${HASH}&a=1 body {"password":"${PASSWORD}","num":"101"} authorization: Bearer ${KEY}`,
    );
    for (const secret of [KEY, HASH, PASSWORD]) expect(text).not.toContain(secret);
    expect(text).toContain('a=1');
    expect(text).toContain('"num":"101"');
  });

  it('redacts secret-named fields at any depth and leaves the others', () => {
    expect(redactValue({ user: { md5_cred: HASH, num: '101' }, list: [{ sip_secret: PASSWORD }] })).toEqual({
      user: { md5_cred: '[REDACTED]', num: '101' },
      list: [{ sip_secret: '[REDACTED]' }],
    });
  });

  it('never writes a key, hash or password in a log line, whatever carries it', () => {
    const { logger, lines } = memoryLogger();
    logger.log(`request /v1/users?api_key=${KEY}&hash=${HASH}`, 'Access');
    logger.warn({ msg: 'user created', password: PASSWORD, token: KEY });
    logger.error(new Error(`login failed for hash=${HASH}`));
    logger.error(`failed: {"api_key":"${KEY}"}`, `Error: x\n    at f (password=${PASSWORD})`, 'Ctx');
    expect(lines).toHaveLength(4);
    const all = JSON.stringify(lines);
    for (const secret of [KEY, HASH, PASSWORD]) expect(all).not.toContain(secret);
    expect(lines[0]).toMatchObject({ level: 'info', context: 'Access', app: 'test' });
    expect(lines[0].msg).toContain('/v1/users?api_key=[REDACTED]');
  });

  it('adds the request id of the work in progress and respects the level', () => {
    const { logger, lines } = memoryLogger('log');
    withRequestId('req-42', () => logger.log('inside'));
    logger.log('outside');
    logger.debug('hidden');
    expect(lines.map((l) => [l.msg, l.req_id])).toEqual([
      ['inside', 'req-42'],
      ['outside', undefined],
    ]);
  });
});
