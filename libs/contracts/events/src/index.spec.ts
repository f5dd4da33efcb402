import { CrmEvent, crmEventId, crmEventSubject } from './index';

describe('CRM events', () => {
  it('derives one stable, well-formed id per fact', () => {
    const id = crmEventId('pbx1:1795700987.2:cdr');
    expect(id).toMatch(/^evt_[a-z2-7]{26}$/);
    expect(crmEventId('pbx1:1795700987.2:cdr')).toBe(id);
    expect(crmEventId('pbx1:1795700987.2:ended')).not.toBe(id);
  });

  it('validates the envelope every receiver sees', () => {
    const event = { id: crmEventId('x'), type: 'call.ringing', timestamp: '2026-12-02T10:00:00.000Z', account_id: 1001, data: { call_id: 'c', sequence: 1 } };
    expect(CrmEvent.parse(event)).toEqual(event);
    expect(CrmEvent.safeParse({ ...event, type: 'call.exploded' }).success).toBe(false);
    expect(CrmEvent.safeParse({ ...event, id: 'evt_X' }).success).toBe(false);
    expect(crmEventSubject(1001)).toBe('crm.events.1001');
  });
});
