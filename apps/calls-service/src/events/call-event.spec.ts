import { PbxClock } from '../time/pbx-clock';
import { callEvents } from '../testing/call-events';
import { parseCallEvent } from './call-event';

describe('parseCallEvent', () => {
  const clock = new PbxClock('Europe/Moscow');
  const storedAt = new Date('2026-11-26T12:00:00Z');
  const start = new Date('2026-11-26T10:00:00Z');
  const [started, answered, bridged, ended, cdr, recording] = callEvents(
    {
      callId: 'pbx1:1795700987.2',
      account: 1001,
      user: '1679728441',
      src: '401',
      dst: '79101234567',
      direction: 'outgoing',
      start,
      answer: new Date(start.getTime() + 5000),
      end: new Date(start.getTime() + 65_000),
      disposition: 'ANSWERED',
      recording: { fileName: '1795700987.2.wav' },
    },
    clock,
  );
  const parse = (subject: string, payload: unknown) => parseCallEvent(subject, new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload)), clock, storedAt);

  it('decodes every contract event, converting PBX wall-clock times to instants', () => {
    expect(parse(started.subject, started.payload)).toEqual({
      ok: true,
      event: expect.objectContaining({ type: 'started', callId: 'pbx1:1795700987.2', seq: 1, accountId: 1001, at: start, src: '401', direction: 'outgoing' }),
    });
    for (const [e, type] of [[answered, 'answered'], [bridged, 'bridged'], [ended, 'ended']] as const) {
      expect(parse(e.subject, e.payload)).toMatchObject({ ok: true, event: { type } });
    }
    // "2026-11-26 13:00:00" Moscow time is 10:00 UTC.
    expect(cdr.payload.start_time).toBe('2026-11-26 13:00:00');
    expect(parse(cdr.subject, cdr.payload)).toMatchObject({ ok: true, event: { type: 'cdr', startedAt: start, endedAt: new Date(start.getTime() + 65_000), duration: 65, billsec: 60 } });
    expect(parse(recording.subject, recording.payload)).toMatchObject({ ok: true, event: { type: 'recording', fileName: '1795700987.2.wav', size: 48_044 } });
  });

  it('uses the time JetStream stored the message when occurred_at is unreadable', () => {
    expect(parse(started.subject, { ...started.payload, occurred_at: 'soon' })).toMatchObject({ ok: true, event: { at: storedAt } });
  });

  it('says why a poison message can never be applied', () => {
    const reason = (subject: string, payload: unknown) => {
      const r = parse(subject, payload);
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason('telephony.call.unknown', started.payload)).toBe('unexpected subject telephony.call.unknown');
    expect(reason(started.subject, '{oops')).toBe('payload is not JSON');
    expect(reason(started.subject, 'null')).toMatch(/payload/);
    expect(reason(started.subject, { ...started.payload, direction: 'sideways' })).toMatch(/^direction: /);
    expect(reason(cdr.subject, { ...cdr.payload, end_time: '2026-02-30 10:00:00' })).toMatch(/not a valid time/);
    expect(reason(cdr.subject, { ...cdr.payload, duration: -1 })).toMatch(/^duration: /);
    expect(reason(started.subject, { ...started.payload, seq: 2 ** 40 })).toMatch(/^seq: /);
    expect(reason(started.subject, { ...started.payload, account_id: 0 })).toMatch(/^account_id: /);
    expect(reason(recording.subject, { ...recording.payload, file_name: '../../etc/passwd' })).toMatch(/^file_name: /);
    expect(reason(recording.subject, { ...recording.payload, recorded_at: 'yesterday' })).toMatch(/^recorded_at: /);
  });
});
