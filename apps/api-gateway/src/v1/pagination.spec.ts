import { CallsCompleteList, CallsCompletePage, COMPLETED_LIST_MAX } from '@ringcloud/contracts-calls';
import { V1_ROUTES, V1Call, V1Deps } from './routes';

/**
 * Whole lists without `limit` are read from the service page by page (allPages): one NATS reply
 * holds at most 1 MB, and v1's 3,000 completed calls with CRM tags are more than that.
 */
describe('calls.complete without limit', () => {
  const route = V1_ROUTES.find((r) => r.id === 'calls.complete')!;
  const completed = (i: number) => ({ call_id: `c${i}`, external_id: 'x'.repeat(64) });

  async function list(total: number) {
    const sent: Array<{ subject: string; request: any }> = [];
    const rpc = {
      send: async (contract: { subject: string }, request: any) => {
        sent.push({ subject: contract.subject, request });
        if (contract.subject !== CallsCompletePage.subject) throw new Error(`unexpected ${contract.subject}`);
        const start = request.page.cursor ? Number(request.page.cursor.slice(1)) : 0;
        const end = Math.min(start + request.page.limit, total);
        const items = Array.from({ length: end - start }, (_, i) => completed(start + i));
        return { items, next_cursor: end < total ? `c${end}` : null };
      },
    };
    const call = { key: { account_id: 1001, access: 'RO' }, path: {}, params: undefined, query: new URLSearchParams('days=2'), setHeader: jest.fn() } as unknown as V1Call;
    const data = (await route.handle(call, { rpc } as unknown as V1Deps)) as unknown[];
    return { data, sent, headers: (call.setHeader as jest.Mock).mock.calls };
  }

  it('reads pages of 1,000 and answers the newest 3,000 at most, as v1 (no cursor header)', async () => {
    const { data, sent, headers } = await list(4500);
    expect(data).toHaveLength(COMPLETED_LIST_MAX);
    expect(data[2999]).toEqual(completed(2999));
    expect(sent.map((s) => [s.request.page.limit, s.request.page.cursor])).toEqual([
      [1000, undefined],
      [1000, 'c1000'],
      [1000, 'c2000'],
    ]);
    expect(sent[0].request).toMatchObject({ account_id: 1001, days: 2 });
    expect(sent.every((s) => s.subject !== CallsCompleteList.subject)).toBe(true);
    expect(headers).toEqual([]);
  });

  it('stops at the last page of a short list', async () => {
    const { data, sent } = await list(1200);
    expect([data.length, sent.length]).toEqual([1200, 2]);
  });
});
