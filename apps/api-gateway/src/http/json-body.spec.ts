import { HttpProblem } from './http-problem';
import { parseJsonBody, readQuery } from './json-body';
import { z } from 'zod';

const messageOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(HttpProblem);
    return (err as Error).message;
  }
};

describe('parseJsonBody', () => {
  it('skips one leading UTF-8 byte order mark', () => {
    expect(parseJsonBody('\uFEFF{"params":{"a":1}}')).toEqual({ params: { a: 1 } });
    expect(parseJsonBody('\uFEFF')).toBeUndefined();
    expect(messageOf(() => parseJsonBody('\uFEFF\uFEFF{}'))).toBe('Malformed JSON body');
  });

  it.each([
    ['{"params":{"url":"https://example.com/a\\u0000b"}}', 'params.url must not contain NUL characters'],
    ['{"params":{"events":["*","a\\u0000"]}}', 'params.events[1] must not contain NUL characters'],
    ['{"name":"a\\u0000b","account_id":6001}', 'name must not contain NUL characters'],
    ['{"params":{"a\\u0000b":1}}', 'a key of params must not contain NUL characters'],
    ['"\\u0000"', 'the body must not contain NUL characters'],
  ])('refuses a NUL anywhere in %s', (body, message) => {
    expect(messageOf(() => parseJsonBody(body))).toBe(message);
  });

  it('walks deeply nested bodies without overflowing the stack', () => {
    const deep = `${'['.repeat(20_000)}"\\u0000"${']'.repeat(20_000)}`;
    expect(messageOf(() => parseJsonBody(deep))).toMatch(/must not contain NUL characters$/);
    expect(parseJsonBody(`${'['.repeat(20_000)}"ok"${']'.repeat(20_000)}`)).toBeDefined();
  });

  it('leaves other characters alone', () => {
    expect(parseJsonBody('{"name":"x\\u0001y"}')).toEqual({ name: 'x\u0001y' });
  });
});

describe('readQuery', () => {
  it('refuses a NUL in a parameter value or name', () => {
    const schema = z.object({ num: z.string().optional() }).catchall(z.string());
    expect(messageOf(() => readQuery(schema, new URLSearchParams('num=4%000')))).toBe('parameter num must not contain NUL characters');
    expect(messageOf(() => readQuery(schema, new URLSearchParams('n%00um=1')))).toBe('parameter num must not contain NUL characters');
  });
});
