import { NEXT_CURSOR_HEADER, PAGE_LIMIT_MAX, Page, PageRequest, parsePageQuery } from '@ringcloud/contracts-common';
import { HttpProblem } from '../http/http-problem';
import { refuseRepeated } from '../http/json-body';
import type { QueryParamDoc, ResponseHeaderDoc, V1Call } from './routes';

/**
 * The gateway half of pagination (the convention is in @ringcloud/contracts-common pagination.ts).
 * A paginated route declares `query: [...PAGE_QUERY]`, `responseHeaders: [NEXT_CURSOR]`, and in its
 * handler:
 *
 *   const page = pageQuery(call);
 *   if (!page) return rpc.send(List.contract, …);                 // exactly v1's answer
 *   // (or allPages(…ListPage…) when the whole list may not fit one NATS reply)
 *   return answerPage(call, await rpc.send(ListPage.contract, { …, page }));
 */

export const PAGE_QUERY: readonly QueryParamDoc[] = [
  {
    name: 'limit',
    description: `Page size, 1–${PAGE_LIMIT_MAX}. Without it the whole list is answered (v1). The next page's cursor comes in \`${NEXT_CURSOR_HEADER}\`.`,
    schema: { type: 'integer', minimum: 1, maximum: PAGE_LIMIT_MAX },
  },
  {
    name: 'cursor',
    description: `The \`${NEXT_CURSOR_HEADER}\` of the previous page, unchanged (opaque); needs \`limit\`.`,
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', maxLength: 512 },
  },
];

export const NEXT_CURSOR: ResponseHeaderDoc = {
  name: NEXT_CURSOR_HEADER,
  description: 'With `limit`: the `cursor` of the next page; absent on the last page (and without `limit`).',
  schema: { type: 'string' },
};

/** The page the client asked for, undefined for the v1 answer; a bad `limit`/`cursor` is a 400. */
export function pageQuery(call: Pick<V1Call, 'query'>): PageRequest | undefined {
  refuseRepeated(call.query, ['limit', 'cursor']);
  const { page, error } = parsePageQuery(call.query);
  if (error) throw HttpProblem.badRequest(error);
  return page;
}

/**
 * The whole list (v1's answer without `limit`), read from the service page by page: a large
 * account's list in one reply would exceed NATS's message size (1 MB), and the request would time
 * out (503) for good. `max`: a list v1 caps (its first `max` items).
 */
export async function allPages<T>(readPage: (page: PageRequest) => Promise<Page<T>>, max = Infinity): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const limit = Math.min(PAGE_LIMIT_MAX, max - items.length);
    const page = await readPage(cursor ? { limit, cursor } : { limit });
    items.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && items.length < max);
  return items;
}

/** The page's items as `data`, its next cursor in the header. */
export function answerPage<T>(call: Pick<V1Call, 'setHeader'>, page: Page<T>): T[] {
  if (page.next_cursor) call.setHeader(NEXT_CURSOR_HEADER, page.next_cursor);
  return page.items;
}
