import { PbxClock, parseOccurredAt } from './pbx-clock';

describe('PbxClock', () => {
  it('reads and writes UTC wall clocks', () => {
    const clock = new PbxClock('UTC');
    expect(clock.parse('2026-11-26 13:49:47').toISOString()).toBe('2026-11-26T13:49:47.000Z');
    expect(clock.format(new Date('2026-11-26T13:49:47.900Z'))).toBe('2026-11-26 13:49:47');
  });

  it('applies the zone offset both ways', () => {
    const moscow = new PbxClock('Europe/Moscow'); // UTC+3, no DST
    expect(moscow.parse('2026-11-26 13:49:47').toISOString()).toBe('2026-11-26T10:49:47.000Z');
    expect(moscow.format(new Date('2026-11-26T22:30:00Z'))).toBe('2026-11-27 01:30:00');
    const newYork = new PbxClock('America/New_York');
    expect(newYork.parse('2026-07-01 12:00:00').toISOString()).toBe('2026-07-01T16:00:00.000Z'); // EDT
    expect(newYork.parse('2026-12-01 12:00:00').toISOString()).toBe('2026-12-01T17:00:00.000Z'); // EST
  });

  it('round-trips across DST changes', () => {
    const berlin = new PbxClock('Europe/Berlin');
    for (const iso of ['2026-03-29T00:59:59Z', '2026-03-29T01:00:00Z', '2026-10-25T00:30:00Z', '2026-10-25T02:30:00Z']) {
      const instant = new Date(iso);
      const back = berlin.parse(berlin.format(instant));
      // The repeated hour maps to its first occurrence; everything else round-trips exactly.
      expect(instant.getTime() - back.getTime()).toBeGreaterThanOrEqual(0);
      expect(instant.getTime() - back.getTime()).toBeLessThanOrEqual(3600_000);
    }
    expect(berlin.parse('2026-10-25 02:30:00').toISOString()).toBe('2026-10-25T00:30:00.000Z');
    // 02:30 does not exist on 2026-03-29 in Berlin: read as 03:30 CEST.
    expect(berlin.parse('2026-03-29 02:30:00').toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });

  it('refuses malformed times', () => {
    const clock = new PbxClock('UTC');
    for (const bad of ['2026-11-26T13:49:47', '2026-13-01 00:00:00', '2026-02-31 10:00:00', '2026-11-26 24:00:00', '']) expect(() => clock.parse(bad)).toThrow(RangeError);
  });
});

describe('parseOccurredAt', () => {
  const clock = new PbxClock('Europe/Moscow');
  const fallback = new Date('2030-01-01T00:00:00Z');
  it('accepts ISO instants, PBX wall clocks, and falls back for anything else', () => {
    expect(parseOccurredAt('2026-11-26T10:00:00.123Z', clock, fallback).toISOString()).toBe('2026-11-26T10:00:00.123Z');
    expect(parseOccurredAt('2026-11-26T13:00:00+03:00', clock, fallback).toISOString()).toBe('2026-11-26T10:00:00.000Z');
    expect(parseOccurredAt('2026-11-26 13:00:00', clock, fallback).toISOString()).toBe('2026-11-26T10:00:00.000Z');
    expect(parseOccurredAt('yesterday', clock, fallback)).toBe(fallback);
  });
});
