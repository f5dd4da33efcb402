import { OriginateReleases } from './originate-releases';

describe('OriginateReleases', () => {
  let now = 0;
  const releases = () => new OriginateReleases({ keepMs: 1000, maxKept: 3, now: () => now });
  beforeEach(() => (now = 0));

  it('hands a decision to the originate waiting for it, or keeps it for the originate still on its way', async () => {
    const r = releases();
    const waiting = r.wait('a', 10_000);
    r.release('a', true);
    expect(await waiting).toBe(true);
    r.release('b', false);
    expect(await r.wait('b', 10_000)).toBe(false);
    expect(r.kept).toBe(0);
  });

  it('answers null when no decision came in time, and a late one does not reach a later wait forever', async () => {
    const r = releases();
    expect(await r.wait('a', 5)).toBeNull();
    r.release('a', true); // late: kept a while like any early one, then forgotten
    now = 1001;
    r.release('z', true);
    expect(await r.wait('a', 5)).toBeNull();
  });

  it('forgets decisions nobody waited for after keepMs, and keeps at most maxKept', async () => {
    const r = releases();
    r.release('old', true);
    now = 500;
    for (const id of ['b', 'c']) r.release(id, true);
    now = 1001; // 'old' expires here
    r.release('d', true);
    expect(r.kept).toBe(3);
    r.release('e', true); // over maxKept: the oldest ('b') goes
    expect(r.kept).toBe(3);
    expect(await r.wait('b', 5)).toBeNull();
    expect(await r.wait('old', 5)).toBeNull();
    expect(await r.wait('e', 5)).toBe(true);
  });

  it('withdraws every waiting originate at shutdown', async () => {
    const r = releases();
    const waiting = [r.wait('a', 10_000), r.wait('b', 10_000)];
    r.withdrawAll();
    expect(await Promise.all(waiting)).toEqual([false, false]);
  });
});
