import { bestMatch, matches } from './pattern';

describe('extension patterns', () => {
  it('matches Asterisk pattern characters', () => {
    expect(matches('_X.', '79101234567')).toBe(true);
    expect(matches('_X.', '7')).toBe(false); // "." needs at least one more character
    expect(matches('_4XX', '400')).toBe(true);
    expect(matches('_4XX', '4000')).toBe(false);
    expect(matches('_Z!', '1')).toBe(true);
    expect(matches('_N', '1')).toBe(false);
    expect(matches('_[+0-9].', '+79101234567')).toBe(true);
    expect(matches('74957770000', '74957770000')).toBe(true);
    expect(matches('74957770000', '7495777000')).toBe(false);
  });

  it('prefers a literal, then the most specific pattern', () => {
    const entries = [{ pattern: '_X.' }, { pattern: '_000.' }, { pattern: '_4XX' }, { pattern: '74957770000' }];
    expect(bestMatch(entries, '00079101234567')?.pattern).toBe('_000.');
    expect(bestMatch(entries, '400')?.pattern).toBe('_4XX');
    expect(bestMatch(entries, '74957770000')?.pattern).toBe('74957770000');
    expect(bestMatch(entries, '79101234567')?.pattern).toBe('_X.');
    expect(bestMatch(entries, '+7')).toBeUndefined();
  });
});
