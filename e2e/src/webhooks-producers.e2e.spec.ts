import { Webhook as StandardWebhook } from 'standardwebhooks';
import { WebhookReceiver, waitFor } from '@ringcloud/testing';
import { expectSuccess, newAccountId, useStack } from './support';

/**
 * The producers' side for real: users created, changed and deleted through v1 reach a webhook
 * receiver as signed CRM events (users-service publishes them to CRM_EVENTS through its outbox;
 * webhooks-service stores and delivers them), and the feed returns the same events.
 */
const world = useStack({ webhooks: true, env: { WEBHOOKS_POLL_MS: '100' } });
const receiver = new WebhookReceiver();

beforeAll(() => receiver.start().then(() => undefined));
afterAll(() => receiver.stop());

it('user.created, user.updated and user.deleted reach the receiver signed, without SIP secrets, and the feed has them', async () => {
  const account = newAccountId();
  const client = await world.client(account, 'RW');
  const hook = expectSuccess(await client.post('/v1/webhooks/create', { url: receiver.url('/users'), events: ['user.created', 'user.updated', 'user.deleted'] }));
  const events = () => receiver.at('/users').map((r) => new StandardWebhook(hook.secret).verify(r.body, r.headers as Record<string, string>) as any);

  const user = expectSuccess(await client.post('/v1/users/create', { password: 'Sip5ecret!', num: '401', mail: 'crm@example.com' }));
  const created = await waitFor('user.created', () => events().find((e) => e.type === 'user.created'), 30_000);
  expect(created).toMatchObject({ account_id: account, data: expect.objectContaining({ user }) });
  expectSuccess(await client.post(`/v1/users/${user}/update_email`, { mail: 'new@example.com' }));
  await waitFor('user.updated', () => events().find((e) => e.type === 'user.updated'), 30_000);
  expectSuccess(await client.post('/v1/users/delete', { user }));
  await waitFor('user.deleted', () => events().find((e) => e.type === 'user.deleted'), 30_000);

  const got = events();
  expect(got.map((e) => e.type)).toEqual(['user.created', 'user.updated', 'user.deleted']);
  expect(JSON.stringify(got)).not.toContain('Sip5ecret!');
  for (const r of receiver.at('/users')) expect(r.headers['webhook-id']).toBe(JSON.parse(r.body).id);
  const feed = expectSuccess(await client.get('/v1/events', { limit: '1000' }));
  expect(feed.map((e: any) => e.id)).toEqual(got.map((e) => e.id));
}, 120_000);
