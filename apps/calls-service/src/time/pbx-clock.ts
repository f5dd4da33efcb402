/**
 * The PBX's wall clock. Asterisk writes CDR times as local "YYYY-MM-DD HH:MM:SS" without a zone, and
 * v1 shows call times the same way: instants are stored (timestamptz) and converted at both edges
 * with the PBX's IANA time zone.
 */
export class PbxClock {
  private readonly parts: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  /** "YYYY-MM-DD HH:MM:SS" in the PBX's zone. */
  format(instant: Date): string {
    const p = this.wallClock(instant);
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
  }

  /**
   * The instant a PBX wall-clock time denotes. In the hour a DST change repeats, the earlier
   * instant is chosen; a time skipped by DST is shifted forward, as the clock would.
   */
  parse(wall: string): Date {
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(wall);
    if (!m) throw new RangeError(`not a "YYYY-MM-DD HH:MM:SS" time: ${wall}`);
    const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
    const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
    const check = new Date(asUtc);
    if (Number.isNaN(asUtc) || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
      throw new RangeError(`not a valid time: ${wall}`);
    }
    // A wall-clock time maps to asUtc minus the zone's offset; around a DST change that offset is
    // one of the two in force a day before and a day after. Keep the candidates that read back as
    // the same wall clock, earliest first; none means a skipped time, taken with the earlier offset.
    const offsets = [this.offsetAt(asUtc - 86_400_000), this.offsetAt(asUtc + 86_400_000)];
    const candidates = offsets.map((offset) => asUtc - offset).sort((a, b) => a - b);
    const exact = candidates.find((t) => this.format(new Date(t)) === wall);
    return new Date(exact ?? asUtc - offsets[0]);
  }

  /** Zone offset in ms (wall clock minus UTC) at an instant. */
  private offsetAt(epochMs: number): number {
    const p = this.wallClock(new Date(epochMs));
    const wallAsUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return wallAsUtc - Math.floor(epochMs / 1000) * 1000;
  }

  private wallClock(instant: Date) {
    const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    for (const part of this.parts.formatToParts(instant)) {
      if (part.type in out) out[part.type as keyof typeof out] = Number(part.value);
    }
    return out;
  }
}

/**
 * An event's `occurred_at`: ISO 8601 with a zone (what the adapter writes), or the PBX's wall-clock
 * form. Anything unreadable falls back to `fallback` (the time JetStream stored the message).
 */
export function parseOccurredAt(value: string, clock: PbxClock, fallback: Date): Date {
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value)) {
    try {
      return clock.parse(value);
    } catch {
      return fallback;
    }
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? fallback : new Date(ms);
}
