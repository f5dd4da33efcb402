import { Webhook as StandardWebhook } from 'standardwebhooks';
import { V1Client, WebhookReceiver, waitFor } from '@ringcloud/testing';
import { expectSuccess, newAccountId, useStack } from './support';

/**
 * The producers' side for real: a call originated on the PBX simulator reaches a webhook receiver
 * as signed CRM events (calls-service publishes them to CRM_EVENTS; webhooks-service stores and
 * delivers them), and the feed returns the same.
 */
const world = useStack({ telephony: true, webhooks: true, env: { WEBHOOKS_POLL_MS: '100' } });
const receiver = new WebhookReceiver();

beforeAll(() => receiver.start().then(() => undefined));
afterAll(() => receiver.stop());

/** Originates until the PBX knows the user's device (provisioning is asynchronous). */
async function originate(client: () => Promise<V1Client>, user: string, num: string) {
  return waitFor(
    `originate ${user} → ${num}`,
    async () => {
      const res = await (await client()).post('/v1/calls', { user, num });
      if (res.status === 400 && /registered/.test(res.body?.message)) return undefined;
      return res;
    },
    30_000,
  );
}

it('a real originate on the simulator reaches the receiver as signed call events, in the call\'s order, and in the feed', async () => {
  const account = newAccountId();
  const client = () => world.client(account, 'RW');
  const hook = expectSuccess(await (await client()).post('/v1/webhooks/create', { url: receiver.url('/crm'), events: ['*'] }));
  const verify = (r: { body: string; headers: Record<string, any> }) => new StandardWebhook(hook.secret).verify(r.body, r.headers as Record<string, string>) as any;
  const events = () => receiver.at('/crm').map(verify);

  const user = expectSuccess(await (await client()).post('/v1/users/create', { password: 'Sip5ecret!', num: '401', mail: 'crm@example.com' }));

  const res = await originate(client, user, '79101234567');
  expect(res.status).toBe(200);
  const callId = res.headers.get('x-call-id');
  expect(callId).toBeTruthy();
  const ofCall = () => events().filter((e) => e.data?.call_id === callId);
  await waitFor('the call completed and its recording', () => {
    const types = ofCall().map((e) => e.type);
    return types.includes('call.completed') && types.includes('recording.ready');
  }, 60_000);

  const call = ofCall();
  const types = new Set(call.map((e) => e.type));
  for (const type of ['call.started', 'call.ringing', 'call.answered', 'call.completed', 'recording.ready']) expect(types).toContain(type);
  // Delivered in the call's own order (sequence 0, 1, 2 …), each event once.
  const sequences = call.map((e) => e.data.sequence);
  expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
  expect(new Set(call.map((e) => e.id)).size).toBe(call.length);
  expect(call.find((e) => e.type === 'call.completed').data).toMatchObject({ call_id: callId, disposition: 'ANSWERED', dst: '79101234567' });
  for (const r of receiver.at('/crm')) expect(r.headers['webhook-id']).toBe(JSON.parse(r.body).id);

  const feed = expectSuccess(await (await client()).get('/v1/events', { limit: '1000' }));
  expect(feed.filter((e: any) => e.data?.call_id === callId).map((e: any) => e.id).sort()).toEqual(call.map((e) => e.id).sort());
}, 150_000);
