import { headers as natsHeaders } from '@nats-io/nats-core';
import { DEADLINE_HEADER, deadlineAfter, msPastDeadline, requesterDeadline } from './deadline';

describe('request deadlines', () => {
  const withDeadline = (value?: string) => {
    const h = natsHeaders();
    if (value !== undefined) h.set(DEADLINE_HEADER, value);
    return h;
  };

  it('gives a handler the moment its requester stops waiting, as RpcClient set it', () => {
    expect(requesterDeadline(withDeadline(deadlineAfter(3000, 1_000_000)))).toBe(1_003_000);
  });

  it('has no deadline without the header, with an empty or malformed one, or without headers at all', () => {
    for (const value of [undefined, '', '12abc', '-5', '1.5', '1'.repeat(17)]) expect(requesterDeadline(withDeadline(value))).toBeUndefined();
    expect(requesterDeadline(undefined)).toBeUndefined();
  });

  it('counts how late a request is only once its deadline has passed', () => {
    expect(msPastDeadline('1000', 1500)).toBe(500);
    expect(msPastDeadline('1000', 1000)).toBeUndefined();
    expect(msPastDeadline('1000', 900)).toBeUndefined();
    expect(msPastDeadline('soon', 900)).toBeUndefined();
  });
});
