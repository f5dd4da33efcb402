import { V1Client } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, sleep, useStack } from './support';

const world = useStack();

/** Issue 9 on the users side, over the real processes: pagination of GET /v1/users. */
describe('GET /v1/users pagination (real processes)', () => {
  const account = newAccountId();
  const other = newAccountId();
  let rw: V1Client;
  let ro: V1Client;
  const created: string[] = [];

  beforeAll(async () => {
    // users/create allows 1 per 60 s per key: one key per user.
    for (const num of ['30', '1000', '07', '200', '31']) {
      const key = await world.client(account, 'RW');
      created.push(expectSuccess(await key.post('/v1/users/create', { password: 'Passw0rd42', num, mail: `u${num}@example.com` })));
    }
    expectSuccess(await (await world.client(other, 'RW')).post('/v1/users/create', { password: 'Passw0rd42', num: '30', mail: 'o@example.com' }));
    rw = await world.client(account, 'RW');
    ro = await world.client(account, 'RO');
  });

  it('without limit answers the whole v1 list and no X-Next-Cursor', async () => {
    const res = await rw.get('/v1/users');
    expect(expectSuccess(res).map((u: any) => u.num)).toEqual(['07', '30', '31', '200', '1000']);
    expect(res.headers.get('x-next-cursor')).toBeNull();
  });

  it('pages in the same order, the cursor in X-Next-Cursor, none after the last page', async () => {
    const whole = expectSuccess(await ro.get('/v1/users'));
    const pages: any[][] = [];
    let query: Record<string, string> = { limit: '2' };
    for (;;) {
      const res = await ro.get('/v1/users', query);
      pages.push(expectSuccess(res));
      const next = res.headers.get('x-next-cursor');
      if (!next) break;
      query = { limit: '2', cursor: next };
    }
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(whole);
    expect(pages.flat().every((u) => u.password === null && u.account_id === account)).toBe(true);
  });

  it('answers 400 with the v1 envelope for a bad limit or cursor', async () => {
    for (const [query, message] of [
      [{ limit: '0' }, /limit must be a whole number from 1 to 1000/],
      [{ limit: '1001' }, /limit/],
      [{ limit: 'all' }, /limit/],
      [{ limit: '2', cursor: 'bm9wZQ' }, /cursor is not valid/],
      [{ cursor: 'eyJrIjpbN119' }, /cursor needs limit/],
    ] as const) {
      expectError(await rw.get('/v1/users', query), 400, message);
      await sleep(5);
    }
  });
});
