import { z } from 'zod';
import { DomainError } from './errors';

/**
 * Pagination of v1 lists (`GET /v1/users`, `GET /v1/calls/complete`, …):
 *
 * - `?limit=1..1000` asks for one page; `&cursor=…` continues after the previous page.
 * - The answer's `data` is the page's items, as the list's v1 items; when more may follow, the
 *   cursor of the next page is in the `X-Next-Cursor` response header (absent on the last page).
 * - Without `limit` the answer is exactly v1's (the whole list, no header). A `cursor` without
 *   `limit` is a 400: the page size is not carried in the cursor.
 *
 * Cursors are opaque to clients: base64url of the last item's sort key (keyset pagination, so
 * items added or removed meanwhile neither repeat nor shift a page). Services list in a total
 * order whose key they put in the cursor (`encodeCursor`) and read back (`decodeCursor`).
 */

export const PAGE_LIMIT_MAX = 1000;
export const NEXT_CURSOR_HEADER = 'X-Next-Cursor';

export const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${PAGE_LIMIT_MAX}`;
export const CURSOR_MESSAGE = 'cursor is not valid: pass the X-Next-Cursor header of the previous page unchanged';
export const CURSOR_NEEDS_LIMIT = 'cursor needs limit (send the same limit as for the first page)';

/** A sort key: what a cursor carries. */
export type CursorKey = ReadonlyArray<string | number>;

const CURSOR_MAX_LENGTH = 512;
// Keys are database values, which never hold a NUL (PostgreSQL refuses it in text): a key with one is forged.
const CursorKeyText = z.string().max(256).refine((s) => !s.includes('\u0000'));
const CursorKeySchema = z.array(z.union([CursorKeyText, z.number().finite()])).min(1).max(8);

export const Cursor = z
  .string()
  .max(CURSOR_MAX_LENGTH, CURSOR_MESSAGE)
  .regex(/^[A-Za-z0-9_-]+$/, CURSOR_MESSAGE)
  .refine((c) => decodeCursor(c) !== undefined, CURSOR_MESSAGE);

/** What a list command receives when the client asked for a page. */
export const PageRequest = z.object({
  limit: z.number().int().min(1, LIMIT_MESSAGE).max(PAGE_LIMIT_MAX, LIMIT_MESSAGE),
  cursor: Cursor.optional(),
});
export type PageRequest = z.output<typeof PageRequest>;

/** What a list command answers for a page: its items and the next page's cursor (null: last page). */
export const Page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next_cursor: Cursor.nullable() });
export type Page<T> = { items: T[]; next_cursor: string | null };

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

/** The key in a cursor, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): CursorKey | undefined {
  if (!cursor || cursor.length > CURSOR_MAX_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    const parsed = z.object({ k: CursorKeySchema }).strict().safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data.k : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The page query of a v1 list URL: undefined without `limit` (the v1 answer), else the page;
 * `{error}` with the 400 text for a bad value. An empty value counts as absent, as for other
 * v1 query parameters.
 */
export function parsePageQuery(query: { get(name: string): string | null }): { page?: PageRequest; error?: string } {
  const limit = query.get('limit') || undefined;
  const cursor = query.get('cursor') || undefined;
  if (limit === undefined) return cursor === undefined ? {} : { error: CURSOR_NEEDS_LIMIT };
  if (!/^[0-9]{1,4}$/.test(limit)) return { error: LIMIT_MESSAGE };
  const parsed = PageRequest.safeParse({ limit: Number(limit), cursor });
  if (!parsed.success) return { error: parsed.error.issues[0]?.message ?? LIMIT_MESSAGE };
  return { page: parsed.data };
}

/** Orders sort keys element by element: numbers numerically, strings by code unit. */
export function compareCursorKeys(a: CursorKey, b: CursorKey): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

/** Latest instant a timestamp in a cursor may name: 9999-12-31T23:59:59.999Z. */
const MAX_TIMESTAMP_MS = 253_402_300_799_999;

/**
 * What one element of a list's sort key is, so a forged cursor is refused before it reaches the
 * database (which would refuse it as its own error): text, any finite number, a PostgreSQL
 * `integer`, or a timestamp as epoch milliseconds (1970 to 9999).
 */
export type CursorKeyKind = 'string' | 'number' | 'int' | 'timestamp';

const fitsKind: Record<CursorKeyKind, (v: string | number) => boolean> = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number',
  int: (v) => Number.isInteger(v) && (v as number) >= -2_147_483_648 && (v as number) <= 2_147_483_647,
  timestamp: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_TIMESTAMP_MS,
};

/**
 * The key a page continues after (undefined on the first page). A cursor whose key is not of
 * `shape` (the kinds of the list's sort key, when known) throws BAD_REQUEST.
 */
export function cursorAfter(page: PageRequest, shape?: ReadonlyArray<CursorKeyKind>): CursorKey | undefined {
  if (page.cursor === undefined) return undefined;
  const after = decodeCursor(page.cursor);
  if (!after || (shape && (after.length !== shape.length || after.some((v, i) => !fitsKind[shape[i]](v))))) {
    throw DomainError.badRequest(CURSOR_MESSAGE);
  }
  return after;
}

/**
 * A page from the items read after the cursor's key, in order, at most `limit + 1` of them
 * (keyset pagination in the database: the one past the limit only tells that more follow).
 */
export function pageFrom<T>(rows: readonly T[], page: PageRequest, keyOf: (item: T) => CursorKey): Page<T> {
  const items = rows.slice(0, page.limit);
  return { items, next_cursor: rows.length > page.limit ? encodeCursor(keyOf(items[items.length - 1])) : null };
}

/**
 * One page of a list already in memory, sorted ascending by `keyOf` (compareCursorKeys order):
 * the items after the cursor's key, at most `limit`, and the next cursor when more follow.
 * A cursor whose key has another shape than `keyOf`'s throws BAD_REQUEST.
 */
export function pageOf<T>(sorted: readonly T[], page: PageRequest, keyOf: (item: T) => CursorKey): Page<T> {
  const shape = sorted.length ? keyOf(sorted[0]).map((v) => (typeof v === 'number' ? 'number' : 'string')) : undefined;
  const after = cursorAfter(page, shape);
  let start = after === undefined ? 0 : sorted.findIndex((item) => compareCursorKeys(keyOf(item), after) > 0);
  if (start < 0) start = sorted.length;
  return pageFrom(sorted.slice(start, start + page.limit + 1), page, keyOf);
}
