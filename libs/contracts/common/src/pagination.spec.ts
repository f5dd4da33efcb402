import { DomainError } from './errors';
import {
  CURSOR_MESSAGE,
  CURSOR_NEEDS_LIMIT,
  LIMIT_MESSAGE,
  Page,
  PageRequest,
  compareCursorKeys,
  cursorAfter,
  decodeCursor,
  encodeCursor,
  pageFrom,
  pageOf,
  parsePageQuery,
} from './pagination';
import { z } from 'zod';

const q = (s: string) => new URLSearchParams(s);

describe('parsePageQuery', () => {
  it('without limit asks for the v1 answer', () => {
    expect(parsePageQuery(q(''))).toEqual({});
    expect(parsePageQuery(q('limit=&cursor='))).toEqual({});
    expect(parsePageQuery(q('days=3'))).toEqual({});
  });

  it('reads limit 1..1000 and a cursor of ours', () => {
    expect(parsePageQuery(q('limit=1'))).toEqual({ page: { limit: 1 } });
    expect(parsePageQuery(q('limit=1000'))).toEqual({ page: { limit: 1000 } });
    const cursor = encodeCursor([401, '401', '1679728441']);
    expect(parsePageQuery(q(`limit=50&cursor=${cursor}`))).toEqual({ page: { limit: 50, cursor } });
  });

  it.each(['0', '1001', '-1', '1.5', '1e3', 'ten', ' 5', '0x10', '99999', '00000001'])('refuses limit=%s', (limit) => {
    expect(parsePageQuery(q(`limit=${encodeURIComponent(limit)}`))).toEqual({ error: LIMIT_MESSAGE });
  });

  it.each([
    ['garbage', 'x'],
    ['not base64url', 'ab+c/='],
    ['base64 of something else', Buffer.from('{"a":1}').toString('base64url')],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['an empty key', Buffer.from('{"k":[]}').toString('base64url')],
    ['too long', 'a'.repeat(600)],
    ['a key with a NUL (no stored value has one)', encodeCursor([1796310516000, 1796310511000, 'a\u0000b'])],
  ])('refuses a cursor that is %s', (_, cursor) => {
    expect(parsePageQuery(q(`limit=10&cursor=${cursor}`))).toEqual({ error: CURSOR_MESSAGE });
  });

  it('refuses a cursor without limit', () => {
    expect(parsePageQuery(q(`cursor=${encodeCursor(['a'])}`))).toEqual({ error: CURSOR_NEEDS_LIMIT });
  });
});

describe('cursors', () => {
  it('round-trip their key and are URL-safe', () => {
    const key = [7, 'a b/c+d?', 'é'];
    const cursor = encodeCursor(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(key);
    expect(PageRequest.safeParse({ limit: 1, cursor }).success).toBe(true);
    expect(Page(z.string()).safeParse({ items: ['x'], next_cursor: cursor }).success).toBe(true);
    expect(Page(z.string()).safeParse({ items: [], next_cursor: 'x' }).success).toBe(false);
  });

  it('compare numbers numerically and strings by code unit', () => {
    expect(compareCursorKeys([9, 'b'], [10, 'a'])).toBeLessThan(0);
    expect(compareCursorKeys([10, 'a'], [10, 'b'])).toBeLessThan(0);
    expect(compareCursorKeys(['10'], ['9'])).toBeLessThan(0);
    expect(compareCursorKeys([1, 'x'], [1, 'x'])).toBe(0);
  });
});

describe('pageOf', () => {
  const items = Array.from({ length: 25 }, (_, i) => ({ n: i * 2, name: `u${i}` }));
  const keyOf = (x: { n: number; name: string }) => [x.n, x.name];

  it('walks the list in pages with no item twice or missed, the last page without a cursor', () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = pageOf(items, { limit: 10, cursor }, keyOf);
      pages++;
      seen.push(...page.items.map((x) => x.name));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(items.map((x) => x.name));
  });

  it('continues after the key even when that item is gone, and an exact last page has no cursor', () => {
    const first = pageOf(items, { limit: 5 }, keyOf);
    const without = items.filter((x) => x.name !== 'u4');
    expect(pageOf(without, { limit: 2, cursor: first.next_cursor! }, keyOf).items.map((x) => x.name)).toEqual(['u5', 'u6']);
    expect(pageOf(items, { limit: 25 }, keyOf).next_cursor).toBeNull();
    expect(pageOf([], { limit: 5, cursor: first.next_cursor! }, keyOf)).toEqual({ items: [], next_cursor: null });
  });

  it('refuses a cursor of another list (other key shape) as a bad request', () => {
    expect(() => pageOf(items, { limit: 5, cursor: encodeCursor(['x']) }, keyOf)).toThrow(DomainError);
    expect(() => pageOf(items, { limit: 5, cursor: encodeCursor(['x', 'y']) }, keyOf)).toThrow(CURSOR_MESSAGE);
  });
});

describe('keyset pages read from a database (cursorAfter, pageFrom)', () => {
  it('gives the key to continue after, none on the first page, and refuses a key of another shape', () => {
    expect(cursorAfter({ limit: 5 }, ['number', 'string'])).toBeUndefined();
    expect(cursorAfter({ limit: 5, cursor: encodeCursor([1001, '7495']) }, ['number', 'string'])).toEqual([1001, '7495']);
    expect(() => cursorAfter({ limit: 5, cursor: encodeCursor(['1001', '7495']) }, ['number', 'string'])).toThrow(CURSOR_MESSAGE);
    expect(() => cursorAfter({ limit: 5, cursor: encodeCursor([1001]) }, ['number', 'string'])).toThrow(CURSOR_MESSAGE);
  });

  it.each([
    ['int', 2_147_483_647, [2_147_483_648, -2_147_483_649, 1.5]],
    ['timestamp', 253_402_300_799_999, [-1, 253_402_300_800_000, -8.64e15, 0.5]],
  ] as const)('refuses a forged %s the column could not hold', (kind, largest, forged) => {
    expect(cursorAfter({ limit: 5, cursor: encodeCursor([largest]) }, [kind])).toEqual([largest]);
    expect(cursorAfter({ limit: 5, cursor: encodeCursor([0]) }, [kind])).toEqual([0]);
    for (const k of [...forged, 'x']) expect(() => cursorAfter({ limit: 5, cursor: encodeCursor([k]) }, [kind])).toThrow(CURSOR_MESSAGE);
  });

  it('cuts the page from limit + 1 rows: the extra row only says another page follows', () => {
    const keyOf = (n: number) => [n];
    expect(pageFrom([1, 2, 3], { limit: 2 }, keyOf)).toEqual({ items: [1, 2], next_cursor: encodeCursor([2]) });
    expect(pageFrom([1, 2], { limit: 2 }, keyOf)).toEqual({ items: [1, 2], next_cursor: null });
    expect(pageFrom([], { limit: 2 }, keyOf)).toEqual({ items: [], next_cursor: null });
  });
});
