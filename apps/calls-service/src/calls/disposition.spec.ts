import { provisionalDisposition } from './disposition';

describe('provisionalDisposition', () => {
  const t = new Date('2026-11-26T10:00:00Z');
  const call = (over: Partial<Parameters<typeof provisionalDisposition>[0]>) =>
    provisionalDisposition({ bridgedAt: null, answeredAt: null, endCause: 16, ...over });

  it('is ANSWERED when the parties were bridged, whatever the cause', () => {
    expect(call({ bridgedAt: t, endCause: 17 })).toBe('ANSWERED');
    expect(call({ bridgedAt: t, answeredAt: t, endCause: 16 })).toBe('ANSWERED');
  });
  it('tells busy and failed causes', () => {
    expect(call({ endCause: 17 })).toBe('BUSY');
    expect(call({ answeredAt: t, endCause: 17 })).toBe('BUSY');
    expect(call({ endCause: 21 })).toBe('BUSY');
    expect(call({ endCause: 34 })).toBe('FAILED');
    expect(call({ endCause: 1 })).toBe('FAILED');
  });
  it('is ANSWERED for an answered channel, NO ANSWER otherwise', () => {
    expect(call({ answeredAt: t })).toBe('ANSWERED');
    expect(call({ endCause: 16 })).toBe('NO ANSWER');
    expect(call({ endCause: 19 })).toBe('NO ANSWER');
    expect(call({ endCause: null })).toBe('NO ANSWER');
    expect(call({ endCause: 0, answeredAt: t })).toBe('ANSWERED');
  });
});
