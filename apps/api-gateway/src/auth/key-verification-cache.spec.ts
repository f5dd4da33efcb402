import type { VerifyResult } from '@ringcloud/contracts-users';
import { KeyVerificationCache } from './key-verification-cache';
import { readApiKey } from './key-change.listener';

const ok: VerifyResult = { ok: true, account_id: 1001, access: 'RW' };
const refused: VerifyResult = { ok: false, reason: 'invalid_hash' };

describe('KeyVerificationCache', () => {
  let now = 0;
  const cache = (ttl = 500, max = 10_000) => new KeyVerificationCache(ttl, max, () => now);
  beforeEach(() => (now = 1_000_000));

  it('reuses a verification (positive or negative) until its TTL', async () => {
    const c = cache();
    const verify = jest.fn().mockResolvedValueOnce(ok).mockResolvedValueOnce(refused).mockResolvedValue(ok);
    expect(await c.get('k', 'h', verify)).toEqual(ok);
    expect(await c.get('k', 'h', verify)).toEqual(ok);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(await c.get('k', 'wrong', verify)).toEqual(refused);
    expect(await c.get('k', 'wrong', verify)).toEqual(refused);
    expect(verify).toHaveBeenCalledTimes(2);
    now += 501;
    await c.get('k', 'h', verify);
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('verifies an entry used in the second half of its life again in the background, so a key in use never waits', async () => {
    const c = cache();
    let answer: (r: VerifyResult) => void = () => undefined;
    const verify = jest.fn().mockResolvedValueOnce(ok).mockImplementation(() => new Promise<VerifyResult>((resolve) => (answer = resolve)));
    await c.get('k', 'h', verify);
    now += 200; // first half: nothing to do
    expect(await c.get('k', 'h', verify)).toEqual(ok);
    expect(verify).toHaveBeenCalledTimes(1);
    now += 100; // second half: answered from the entry, re-verified meanwhile (once, however many requests)
    expect(await c.get('k', 'h', verify)).toEqual(ok);
    expect(await c.get('k', 'h', verify)).toEqual(ok);
    expect(verify).toHaveBeenCalledTimes(2);
    answer(refused); // the key changed without an event reaching this replica
    await new Promise((r) => setImmediate(r));
    now += 210; // past the first entry's TTL: the refreshed one answers, without waiting
    expect(await c.get('k', 'h', verify)).toEqual(refused);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('never serves an entry past its TTL: a failed or stale refresh leaves the next request to verify itself', async () => {
    const c = cache();
    const verify = jest.fn().mockResolvedValueOnce(ok).mockRejectedValueOnce(new Error('users-service away')).mockResolvedValue(refused);
    await c.get('k', 'h', verify);
    now += 300;
    expect(await c.get('k', 'h', verify)).toEqual(ok); // refresh started, fails
    await new Promise((r) => setImmediate(r));
    now += 201;
    expect(await c.get('k', 'h', verify)).toEqual(refused);
    expect(verify).toHaveBeenCalledTimes(3);
    // A refresh in flight when the key changes is not stored.
    let answer: (r: VerifyResult) => void = () => undefined;
    verify.mockImplementationOnce(() => new Promise<VerifyResult>((resolve) => (answer = resolve)));
    now += 300;
    await c.get('k', 'h', verify);
    c.invalidate('k');
    answer(ok);
    await new Promise((r) => setImmediate(r));
    expect(c.size).toBe(0);
  });

  it('never keeps the raw hash', async () => {
    const c = cache();
    await c.get('k', 'd41d8cd98f00b204e9800998ecf8427e', async () => ok);
    const ids = [...(c as any).entries.keys()].join('|');
    expect(ids).not.toContain('d41d8cd98f00b204e9800998ecf8427e');
    expect(c.size).toBe(1);
  });

  it('drops every entry of a key on invalidate, and only that key', async () => {
    const c = cache(60_000);
    const verify = jest.fn().mockResolvedValue(ok);
    await c.get('k1', 'a', verify);
    await c.get('k1', 'b', verify);
    await c.get('k2', 'a', verify);
    c.invalidate('k1');
    expect(c.size).toBe(1);
    await c.get('k2', 'a', verify);
    expect(verify).toHaveBeenCalledTimes(3);
    await c.get('k1', 'a', verify);
    expect(verify).toHaveBeenCalledTimes(4);
  });

  it('shares one verification between concurrent misses, and does not store it if the key changed meanwhile', async () => {
    const c = cache(60_000);
    let release!: (r: VerifyResult) => void;
    const verify = jest.fn(() => new Promise<VerifyResult>((r) => (release = r)));
    const first = c.get('k', 'h', verify);
    const second = c.get('k', 'h', verify);
    expect(verify).toHaveBeenCalledTimes(1);
    c.invalidate('k');
    release(ok);
    expect(await first).toEqual(ok);
    expect(await second).toEqual(ok);
    expect(c.size).toBe(0);
  });

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const c = cache(60_000, 2);
    const verify = jest.fn().mockResolvedValue(ok);
    await c.get('a', 'h', verify);
    await c.get('b', 'h', verify);
    await c.get('a', 'h', verify); // a is now the most recent
    await c.get('c', 'h', verify); // evicts b
    expect(c.size).toBe(2);
    verify.mockClear();
    await c.get('a', 'h', verify);
    expect(verify).not.toHaveBeenCalled();
    await c.get('b', 'h', verify);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('does not cache failures to verify', async () => {
    const c = cache();
    await expect(c.get('k', 'h', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    const verify = jest.fn().mockResolvedValue(ok);
    await c.get('k', 'h', verify);
    expect(verify).toHaveBeenCalledTimes(1);
  });
});

describe('readApiKey (UsersApiKeyChanged payloads)', () => {
  const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
  it('reads the plain event and the Nest emit packet', () => {
    expect(readApiKey(bytes({ api_key: '1001_abc' }))).toBe('1001_abc');
    expect(readApiKey(bytes({ pattern: 'users.apikey.changed', data: { api_key: '1001_abc' } }))).toBe('1001_abc');
  });
  it('returns undefined for anything else', () => {
    for (const junk of ['nope', { api_key: 5 }, null, [], { pattern: 'x', data: null }]) {
      expect(readApiKey(bytes(junk))).toBeUndefined();
    }
  });
});
