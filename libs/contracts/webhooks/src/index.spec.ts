import { firstIssueMessage } from '@ringcloud/contracts-common';
import { CreateWebhookParams, DeliveriesQuery, EventsQuery, UpdateWebhookParams } from './index';

const message = (result: { success: boolean; error?: any }) => (result.success ? 'ok' : firstIssueMessage(result.error));

describe('webhook params', () => {
  it('accepts https and http URLs with events or "*"', () => {
    expect(CreateWebhookParams.parse({ url: 'https://crm.example.com/hook', events: ['call.ringing', 'call.ringing'] })).toEqual({
      url: 'https://crm.example.com/hook',
      events: ['call.ringing'],
    });
    expect(CreateWebhookParams.parse({ url: 'http://127.0.0.1:8080/', events: ['*', 'user.created'] }).events).toEqual(['*']);
  });

  it('refuses bad input with a clear message', () => {
    const ok = { url: 'https://crm.example.com/hook', events: ['*'] };
    expect(message(CreateWebhookParams.safeParse({ events: ['*'] }))).toBe('url is required');
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: 5 }))).toBe('url must be a string');
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: 'ftp://x/' }))).toMatch(/https/);
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: 'not a url' }))).toMatch(/https/);
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: 'https://u:p@x.example/' }))).toMatch(/credentials/);
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: `https://x.example/${'a'.repeat(2100)}` }))).toMatch(/too long/);
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: 'http://127.0.0.1:8000/a\u0007b\u001b[31m' }))).toBe('url must not contain control characters');
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: 'https://example.com/a\u0000b' }))).toBe('url must not contain control characters');
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: 'https://example.com/a\u007f' }))).toBe('url must not contain control characters');
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: 'https://example.com:0/h' }))).toBe('url must not use port 0');
    expect(message(UpdateWebhookParams.safeParse({ url: 'https://example.com:0/h' }))).toBe('url must not use port 0');
    expect(message(CreateWebhookParams.safeParse({ ...ok, url: 'https://example.com:8443/h' }))).toBe('ok');
    // What the URL parser would take and guess at: refused, since the url is stored and shown as given.
    for (const url of ['https:///x', 'https:example.com/x', 'https:/example.com/x', 'https:////example.com/x', 'https:\\\\example.com\\x', 'https://example.com\\x', 'https://-/x', 'https://./x', 'https://a..b/x', 'https://-a.example/x', 'https://?x', 'https://#x']) {
      expect([url, message(CreateWebhookParams.safeParse({ ...ok, url }))]).toEqual([url, 'url must be an absolute https:// URL']);
    }
    for (const url of ['HTTPS://CRM.Example.com/h', 'https://crm.example.com./h', 'https://my_host.example.com/h', 'https://[2001:db8::1]:8443/h', 'https://203.0.113.5/h', 'https://xn--e1afmkfd.xn--p1ai/h', 'https://пример.рф/h']) {
      expect([url, message(CreateWebhookParams.safeParse({ ...ok, url }))]).toEqual([url, 'ok']);
    }
    expect(message(CreateWebhookParams.safeParse({ url: ok.url }))).toBe('events is required');
    expect(message(CreateWebhookParams.safeParse({ ...ok, events: [] }))).toMatch(/events must be/);
    expect(message(CreateWebhookParams.safeParse({ ...ok, events: 'call.ringing' }))).toMatch(/events must be/);
    expect(message(CreateWebhookParams.safeParse({ ...ok, events: ['call.exploded'] }))).toMatch(/events must be/);
    expect(message(CreateWebhookParams.safeParse({ ...ok, description: 'a\r\nb' }))).toMatch(/control/);
    expect(message(CreateWebhookParams.safeParse({ ...ok, extra: 1 }))).toBe('unknown parameter extra');
  });

  it('update needs at least one field', () => {
    expect(message(UpdateWebhookParams.safeParse({}))).toMatch(/at least one/);
    expect(UpdateWebhookParams.parse({ enabled: false })).toEqual({ enabled: false });
    expect(message(UpdateWebhookParams.safeParse({ enabled: 'yes' }))).toBe('enabled must be true or false');
  });

  it('reads the feed query', () => {
    expect(EventsQuery.parse({})).toEqual({ limit: 100 });
    expect(EventsQuery.parse({ limit: '1000' })).toEqual({ limit: 1000 });
    for (const limit of ['0', '1001', 'x', '1.5', '1e1', '+5', '1.0', ' 5', '0x10']) {
      expect([limit, message(EventsQuery.safeParse({ limit }))]).toEqual([limit, 'limit must be a whole number from 1 to 1000']);
      expect([limit, message(DeliveriesQuery.safeParse({ limit }))]).toEqual([limit, 'limit must be a whole number from 1 to 1000']);
    }
    expect(message(EventsQuery.safeParse({ after: 'evt_x' }))).toMatch(/after must be/);
    const id = 'evt_' + 'a'.repeat(26);
    expect(EventsQuery.parse({ cursor: id, utm_source: 'crm' })).toEqual({ after: id, limit: 100 });
    expect(EventsQuery.parse({ after: id, cursor: id })).toEqual({ after: id, limit: 100 });
    expect(message(EventsQuery.safeParse({ after: id, cursor: 'evt_' + 'b'.repeat(26) }))).toBe('after and cursor name the same position: give one');
    expect(DeliveriesQuery.parse({ limit: '5', _: '1796300000000' })).toEqual({ limit: 5 });
  });
});
