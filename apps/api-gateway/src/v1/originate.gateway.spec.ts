import { Controller, INestMicroservice, Logger, Module } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { CallsOriginateRecord } from '@ringcloud/contracts-calls';
import { DomainError } from '@ringcloud/contracts-common';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { Command, createNatsMicroservice } from '@ringcloud/nest-nats';
import { originateCallId } from './originate';
import { call, errorEnvelope, GatewayRig, startGatewayRig, successEnvelope, TestGateway } from '../testing/gateway';

/** What the fake adapter and calls-service received, and how they answer. */
const peer = {
  originates: [] as TelephonyOriginate.Request[],
  records: [] as CallsOriginateRecord.Request[],
  adapterError: null as DomainError | null,
  /** How long the adapter takes to answer (more than NATS_REQUEST_TIMEOUT_MS: the gateway gives up first). */
  adapterDelayMs: 0,
  /** The calls the adapter placed, by call id: like the real one, it answers a known call id with its call. */
  placed: new Map<string, TelephonyOriginate.Response>(),
  /** calls-service's answer to a refusal (it knows users the PBX does not). */
  recordError: null as DomainError | null,
};

@Controller()
class FakeAdapter {
  @Command(TelephonyOriginate.contract)
  async originate(@Payload() req: TelephonyOriginate.Request): Promise<TelephonyOriginate.Response> {
    peer.originates.push(req);
    if (peer.adapterError) throw peer.adapterError;
    const answer = peer.placed.get(req.call_id) ?? { call_id: req.call_id, action_id: `rc-${peer.originates.length}`, src: '401' };
    peer.placed.set(req.call_id, answer);
    if (peer.adapterDelayMs) await new Promise((resolve) => setTimeout(resolve, peer.adapterDelayMs));
    return answer;
  }
}

@Controller()
class FakeCalls {
  @Command(CallsOriginateRecord.contract)
  record(@Payload() req: CallsOriginateRecord.Request): CallsOriginateRecord.Response {
    peer.records.push(req);
    if (req.outcome.status === 'refused') throw peer.recordError ?? new DomainError(req.outcome.error.code, req.outcome.error.message);
    return { call_id: req.call_id, message: 'Originate successfully queued' };
  }
}

async function startPeer(controller: new () => unknown, natsUrl: string, queue: string): Promise<INestMicroservice> {
  @Module({ controllers: [controller] })
  class PeerModule {}
  const app = await createNatsMicroservice(PeerModule, { servers: natsUrl, queue, logger: ['error'] });
  await app.listen();
  return app;
}

/**
 * `POST /v1/calls` through a real gateway, NATS and Redis: the originate goes to the adapter
 * first and straight, then to calls-service to be recorded; each of the two may be away.
 */
describe('POST /v1/calls: adapter first, then the record', () => {
  let rig: GatewayRig;
  let gw: TestGateway;
  let adapter: INestMicroservice | undefined;
  let calls: INestMicroservice | undefined;
  let auth: string;
  let alice: string;
  let nums = 0;

  beforeAll(async () => {
    rig = await startGatewayRig({ RATE_LIMIT_PROFILE: 'bench', NATS_REQUEST_TIMEOUT_MS: '1500' });
    [gw] = rig.gateways;
    auth = rig.fake.addKey(1001, 'RW').auth;
    alice = rig.fake.addUser(1001, '401');
  }, 30_000);

  afterAll(async () => {
    await adapter?.close();
    await calls?.close();
    await rig?.close();
    Logger.flush();
  });

  beforeEach(async () => {
    peer.originates.length = 0;
    peer.records.length = 0;
    peer.adapterError = null;
    peer.recordError = null;
    peer.adapterDelayMs = 0;
    peer.placed.clear();
    adapter ??= await startPeer(FakeAdapter, rig.nats.url, 'fake-adapter');
    calls ??= await startPeer(FakeCalls, rig.nats.url, 'fake-calls');
  });

  // A number of its own per request: the same URL and body twice in 5 s would be rate limited.
  const originate = (params: Record<string, unknown> = {}) =>
    call(gw.url, 'POST', `/v1/calls?${auth}`, { body: JSON.stringify({ params: { user: alice, num: `7910${String(++nums).padStart(7, '0')}`, ...params } }) });

  it('sends the adapter a new call id, then records the request with the outcome under the same id, and answers it', async () => {
    const asked = Date.now();
    const res = await originate({ external_id: 'lead #5' });
    expect([res.status, res.body]).toEqual([200, successEnvelope('Originate successfully queued')]);
    const callId = res.headers.get('x-call-id');
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(peer.originates).toEqual([{ call_id: callId, account_id: 1001, user: alice, num: expect.stringMatching(/^7910/) }]);
    expect(peer.records).toEqual([
      {
        call_id: callId,
        account_id: 1001,
        user: alice,
        num: peer.originates[0].num,
        external_id: 'lead #5',
        outcome: { status: 'queued', action_id: 'rc-1', src: '401' },
        requested_at: expect.any(String),
      },
    ]);
    // The time the request arrived, not when it is recorded (calls-service may record it late).
    expect(Date.parse(String(peer.records[0].requested_at))).toBeGreaterThanOrEqual(asked - 5);
    expect(Date.parse(String(peer.records[0].requested_at))).toBeLessThanOrEqual(Date.now());
    const second = await originate();
    expect(second.headers.get('x-call-id')).not.toBe(callId);
    expect(peer.records[1].external_id).toBeNull();
  });

  it("answers calls-service's verdict on a refusal", async () => {
    peer.adapterError = DomainError.notFound(`Unknown user ${alice}`);
    peer.recordError = DomainError.badRequest('User has no registered device');
    const res = await originate();
    expect([res.status, res.body, res.headers.get('x-call-id')]).toEqual([400, errorEnvelope('User has no registered device'), null]);
    expect(peer.records.map((r) => r.outcome)).toEqual([{ status: 'refused', error: { code: 'NOT_FOUND', message: `Unknown user ${alice}` } }]);
  });

  it('answers 200 for a queued call even when calls-service cannot record it (an error would make the CRM dial twice), and records it once calls-service is back', async () => {
    await calls!.close();
    calls = undefined;
    const res = await originate({ external_id: 'lead #6' });
    expect(res.status).toBe(200);
    const callId = res.headers.get('x-call-id');
    expect(callId).toBe(peer.originates[0].call_id);
    expect(peer.records).toEqual([]);
    await new Promise((r) => setTimeout(r, 400)); // the first retry (250 ms) finds nobody either
    calls = await startPeer(FakeCalls, rig.nats.url, 'fake-calls');
    for (let waited = 0; peer.records.length === 0 && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(peer.records).toEqual([expect.objectContaining({ call_id: callId, external_id: 'lead #6', outcome: { status: 'queued', action_id: 'rc-1', src: '401' } })]);
  });

  it("answers the adapter's refusal itself when calls-service is away: a user the PBX does not know is unknown", async () => {
    await calls!.close();
    calls = undefined;
    peer.adapterError = DomainError.notFound('Unknown user 1999999999');
    const unknown = await originate({ user: '1999999999' });
    expect([unknown.status, unknown.body]).toEqual([400, errorEnvelope('Unknown user 1999999999')]);
    peer.adapterError = DomainError.badRequest('User has no registered device');
    const unregistered = await originate();
    expect([unregistered.status, unregistered.body]).toEqual([400, errorEnvelope('User has no registered device')]);
  });

  it('answers 503 when the adapter is away, and calls-service records the failure', async () => {
    await adapter!.close();
    adapter = undefined;
    const res = await originate();
    expect([res.status, res.body]).toEqual([503, errorEnvelope('Service is temporarily unavailable')]);
    expect(peer.records.map((r) => r.outcome)).toEqual([{ status: 'refused', error: { code: 'UNAVAILABLE', message: 'the telephony adapter is unavailable' } }]);
  });

  describe('with an Idempotency-Key', () => {
    const params = () => ({ user: alice, num: `7910${String(++nums).padStart(7, '0')}` });
    const originateWithKey = (key: string, body: Record<string, unknown>) =>
      call(gw.url, 'POST', `/v1/calls?${auth}`, { body: JSON.stringify({ params: body }), headers: { 'Idempotency-Key': key } });

    it('retried after the gateway gave up on a slow adapter, reaches it with the same call id: one call placed, answered on the retry', async () => {
      const body = params();
      peer.adapterDelayMs = 2_000; // NATS_REQUEST_TIMEOUT_MS is 1500
      const first = await originateWithKey('slow-1', body);
      expect([first.status, first.body]).toEqual([503, errorEnvelope('Service is temporarily unavailable')]);
      // The adapter placed the call after all, once the gateway had answered the client.
      await new Promise((r) => setTimeout(r, 700));
      expect(peer.placed.size).toBe(1);

      peer.adapterDelayMs = 0;
      const retry = await originateWithKey('slow-1', body);
      expect(retry.status).toBe(200);
      const [callId] = peer.placed.keys();
      expect(retry.headers.get('x-call-id')).toBe(callId);
      expect(peer.originates.map((o) => o.call_id)).toEqual([callId, callId]);
      expect(peer.placed.size).toBe(1);
      expect(peer.records.map((r) => [r.call_id, r.outcome.status])).toEqual([
        [callId, 'refused'],
        [callId, 'queued'],
      ]);
    });

    it('gives different keys, and the same key in another account, different call ids', async () => {
      const body = params();
      const a = await originateWithKey('key-a', body);
      const b = await originateWithKey('key-b', body);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.headers.get('x-call-id')).not.toBe(b.headers.get('x-call-id'));
      expect(peer.placed.size).toBe(2);
      const request = { account_id: 1001, user: alice, num: body.num, external_id: null };
      expect(a.headers.get('x-call-id')).toBe(originateCallId(request, 'key-a'));
      expect(originateCallId({ ...request, account_id: 1002 }, 'key-a')).not.toBe(originateCallId(request, 'key-a'));
    });
  });

  it('derives name-based (version 5) UUIDs: the same for the same account, key and params, another for other params', () => {
    const request = { account_id: 1001, user: '401', num: '79105550001', external_id: null };
    const id = originateCallId(request, 'stop-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(originateCallId({ ...request }, 'stop-1')).toBe(id);
    expect(originateCallId({ ...request, num: '79105550002' }, 'stop-1')).not.toBe(id);
  });

  it('validates the params before anything is sent', async () => {
    for (const params of [{ num: '12-34' }, { user: '../1' }, { external_id: 'x'.repeat(65) }]) {
      expect((await originate(params)).status).toBe(400);
    }
    // A user that is not a user name, whatever its JSON type, gets the same clear message.
    for (const user of [1985761906.5, null, 9007199254740993, true, [], '12ab']) {
      const res = await originate({ user });
      expect([user, res.status, res.body]).toEqual([user, 400, errorEnvelope('user must be a numeric user name')]);
    }
    expect([peer.originates, peer.records]).toEqual([[], []]);
  });
});
