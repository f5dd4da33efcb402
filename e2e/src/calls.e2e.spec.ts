import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { V1Client, waitFor } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, useStack } from './support';

// The whole system: gateway, users-service, calls-service, telephony-adapter and the PBX simulator.
// Originate is 1 per 5 s per key and URL: the calls here each use a key of their own.
// Recordings stay in the simulator's folder once stored (RECORDINGS_KEEP_LOCAL), so downloads can be compared with them.
const world = useStack({ telephony: true, env: { RECORDINGS_KEEP_LOCAL: 'true' } });

const control = (p: string, body?: unknown) =>
  fetch(`${world.stack.simulatorControl}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  }).then(async (r) => ({ status: r.status, ok: r.ok, body: await r.json().catch(() => undefined) }));

interface Employee {
  account: number;
  user: string;
  num: string;
}

/** A new account with one provisioned employee, ready to be called (its device registered). */
async function employee(num = '401'): Promise<Employee & { client: () => Promise<V1Client> }> {
  const account = newAccountId();
  const creator = await world.client(account, 'RW');
  const user = expectSuccess(await creator.post('/v1/users/create', { password: 'Sip5ecret!', num, mail: `e${num}@example.com` }));
  return { account, user, num, client: () => world.client(account, 'RW') };
}

/** Originates until the PBX knows the user's device (provisioning is asynchronous, through JetStream). */
async function originate(e: Awaited<ReturnType<typeof employee>>, num: string) {
  return waitFor(
    `originate ${e.user} → ${num}`,
    async () => {
      const res = await (await e.client()).post('/v1/calls', { user: e.user, num });
      if (res.status === 400 && /registered/.test(res.body?.message)) return undefined;
      return res;
    },
    20_000,
  );
}

async function completed(client: V1Client, predicate: (c: any) => boolean, timeoutMs = 20_000) {
  let n = 0;
  return waitFor(
    'completed call',
    async () => {
      // each poll is another exact URL, so the 1-per-5-s limit never gets in the way
      const list = expectSuccess(await client.get('/v1/calls/complete', { days: '1', poll: String(++n) }));
      return list.find(predicate);
    },
    timeoutMs,
  );
}

describe('calls end to end (spec section 7)', () => {
  it('originates an answered call: active while it lasts, then completed with its recording', async () => {
    const e = await employee('401');
    const reader = await e.client();
    const res = await originate(e, '79101234567');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: null, data: 'Originate successfully queued' });

    let poll = 0;
    const active = await waitFor('active call', async () => {
      const list = expectSuccess(await reader.get('/v1/calls/active', { p: String(++poll) }));
      return list.length ? list : undefined;
    });
    expect(active[0]).toEqual({ src: expect.any(String), dst: expect.any(String), seconds: expect.any(Number), status: 'current', call_id: expect.any(String), external_id: null });

    // the recording is stored after the call record: wait until the record links it
    const call = await completed(reader, (c) => c.dst === '79101234567' && c.rec_file);
    expect(call).toEqual({
      status: 'complete',
      src: '401',
      dst: '79101234567',
      direction: 'outgoing',
      call_start_time: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      call_end_time: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      duration: expect.any(Number),
      disposition: 'ANSWERED',
      rec_file: expect.stringMatching(new RegExp(`^/v1/users/${e.user}/records/[A-Za-z0-9._-]+$`)),
      call_id: expect.any(String),
      external_id: null,
      transferred_to: null,
    });

    const fileName = call.rec_file.split('/').pop();
    const records = await waitFor('recording listed', async () => {
      const list = expectSuccess(await reader.get(`/v1/users/${e.user}/records`, { p: String(Date.now()) }));
      return list.length ? list : undefined;
    });
    expect(records[0]).toEqual([fileName, expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)]);

    const download = await fetch(reader.url(call.rec_file));
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toMatch(/audio\/(x-)?wav/);
    expect(download.headers.get('content-disposition')).toContain(fileName);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(Number(download.headers.get('content-length'))).toBe(bytes.length);
    const original = readdirSync(world.stack.recordingsDir!).find((f) => f === fileName || fileName.endsWith(f));
    expect(original).toBeDefined();
    expect(bytes.equals(readFileSync(path.join(world.stack.recordingsDir!, original!)))).toBe(true);

    await new Promise((r) => setTimeout(r, 1100));
    const partial = await fetch(reader.url(call.rec_file), { headers: { range: 'bytes=0-43' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 0-43/${bytes.length}`);
    expect(Buffer.from(await partial.arrayBuffer()).equals(bytes.subarray(0, 44))).toBe(true);
  });

  it.each([
    ['busy', '0001234567', 'BUSY'],
    ['no answer', '5551234567', 'NO ANSWER'],
    ['failed', '9991234567', 'FAILED'],
  ])('records a %s call with its disposition', async (_name, num, disposition) => {
    const e = await employee('402');
    expect((await originate(e, num)).status).toBe(200);
    const call = await completed(await e.client(), (c) => c.dst === num, 40_000);
    expect(call).toMatchObject({ direction: 'outgoing', src: '402', dst: num, disposition, rec_file: null });
  });

  it("shows the called party the employee's own inbound number once they have one — the extension before, never the number dialled", async () => {
    const e = await employee('403');
    const invites = async () => (await (await fetch(`${world.stack.simulatorControl}/trunk/invites`)).json()) as { number: string; caller: { num: string; name: string } }[];
    const inviteTo = (num: string) => waitFor(`INVITE to ${num}`, async () => (await invites()).find((i) => i.number === num), 20_000);
    expect((await originate(e, '79101230001')).status).toBe(200);
    expect((await inviteTo('79101230001')).caller).toEqual({ num: '403', name: '' });

    const own = '74951230403';
    expectSuccess(await world.admin.call('POST', '/admin/v1/numbers', { number: own, account_id: e.account, user: e.user }));
    // The adapter applies the number asynchronously: call until the PSTN is shown it.
    let tries = 0;
    const dialled = await waitFor(
      'the own number presented',
      async () => {
        const num = `7910123${String(++tries).padStart(4, '0')}`;
        if ((await (await e.client()).post('/v1/calls', { user: e.user, num })).status !== 200) return undefined;
        return (await inviteTo(num)).caller.num === own ? num : undefined;
      },
      30_000,
    );
    expect((await inviteTo(dialled)).caller).toEqual({ num: own, name: '' });
    // The call itself is still the employee's.
    expect(await completed(await e.client(), (c) => c.dst === dialled)).toMatchObject({ src: '403', direction: 'outgoing' });
  });

  it('rings once for concurrent identical originates: the others answer 429 and never reach the PBX', async () => {
    const e = await employee('404');
    const reader = await e.client();
    expect((await originate(e, '0001230000')).status).toBe(200); // the device is known from here on
    const burst = await e.client();
    const results = await Promise.all(Array.from({ length: 10 }, () => burst.post('/v1/calls', { user: e.user, num: '0001239999' })));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(429)]);
    await completed(reader, (c) => c.dst === '0001239999', 40_000);
    await new Promise((r) => setTimeout(r, 2000)); // any other call of the burst would be listed by now
    const all = expectSuccess(await reader.get('/v1/calls/complete', { days: '1', after: 'burst' })) as any[];
    expect(all.map((c) => c.dst).sort()).toEqual(['0001230000', '0001239999']);
  });

  it('refuses unknown users, bad numbers and unregistered devices with 400', async () => {
    const e = await employee('403');
    expectError(await (await e.client()).post('/v1/calls', { user: '1234567890', num: '79101234567' }), 400, /user/i);
    expectError(await (await e.client()).post('/v1/calls', { user: e.user, num: '12-34' }), 400, /num/);
    // provisioning is asynchronous: wait until the device is known and its call is over, then unplug it
    const reader = await e.client();
    expect((await originate(e, '79101234567')).status).toBe(200);
    await completed(reader, (c) => c.dst === '79101234567');
    expect((await control(`/devices/${e.user}/unregister`)).ok).toBe(true);
    expectError(await (await e.client()).post('/v1/calls', { user: e.user, num: '79101234567' }), 400, /registered/);
  });

  it('records inbound and internal calls with their direction', async () => {
    const a = await employee('411');
    const creator = await world.client(a.account, 'RW');
    const b = expectSuccess(await creator.post('/v1/users/create', { password: 'Sip5ecret!', num: '412', mail: 'b@example.com' }));
    await originate(a, '79100000001'); // makes sure the account is provisioned on the PBX
    await waitFor('inbound accepted', async () => (await control('/calls/inbound', { from: '79105550001', to_user: a.user })).ok);
    await waitFor('internal accepted', async () => (await control('/calls/internal', { from_user: b, to_num: '411' })).ok);
    const reader = await a.client();
    // a call is listed when it ends; its CDR (which names the dialled extension) follows within moments
    expect(await completed(reader, (c) => c.direction === 'incoming' && c.dst === '411')).toMatchObject({ src: '79105550001', disposition: 'ANSWERED' });
    expect(await completed(reader, (c) => c.direction === 'internal')).toMatchObject({ src: '412', dst: '411' });
  });

  it('lists an originate to a colleague\'s extension as internal, from the caller\'s extension to the colleague\'s', async () => {
    const a = await employee('421');
    const creator = await world.client(a.account, 'RW');
    const b = expectSuccess(await creator.post('/v1/users/create', { password: 'Sip5ecret!', num: '422', mail: 'c@example.com' }));
    // The colleague's phone is on the PBX once its provisioning (asynchronous, through JetStream) is in.
    await waitFor('colleague registered', async () => (await control(`/devices/${b}/register`, { behaviour: 'answer' })).ok);
    const res = await originate(a, '422');
    const callId = res.headers.get('x-call-id');
    expect([res.status, res.body?.data, callId]).toEqual([200, 'Originate successfully queued', expect.stringMatching(/^[0-9a-f-]{36}$/)]);
    const reader = await a.client();
    expect(await completed(reader, (c) => c.call_id === callId)).toMatchObject({ direction: 'internal', src: '421', dst: '422', disposition: 'ANSWERED' });
  });

  it('lists calls to a short number no colleague has as outgoing: the dial plan sent them out through the trunk', async () => {
    // 777 and 778 look like extensions, but no user of the account has them: Asterisk's dial plan
    // dials them out (rc-outbound), as a PBX does with a service number. The route names the direction.
    const a = await employee('431');
    const invites = async () => (await (await fetch(`${world.stack.simulatorControl}/trunk/invites`)).json()) as { number: string }[];
    const res = await originate(a, '777');
    expect(res.status).toBe(200);
    const reader = await a.client();
    expect(await completed(reader, (c) => c.call_id === res.headers.get('x-call-id'))).toMatchObject({ direction: 'outgoing', src: '431', dst: '777', disposition: 'ANSWERED' });
    await waitFor('phone dials 778', async () => (await control('/calls/dial', { from_user: a.user, to_num: '778' })).ok);
    expect(await completed(reader, (c) => c.dst === '778')).toMatchObject({ direction: 'outgoing', src: '431', disposition: 'ANSWERED' });
    expect((await invites()).map((i) => i.number)).toEqual(expect.arrayContaining(['777', '778']));
  });

  it('shows live channels of the account only, by name raw or %2F-encoded', async () => {
    const e = await employee('421');
    const reader = await e.client();
    const stranger = await world.client(newAccountId(), 'RW');
    expect((await originate(e, '79101234568')).status).toBe(200);
    let poll = 0;
    const channels: string[] = await waitFor('live channel', async () => {
      const list = expectSuccess(await reader.get('/v1/calls/channels', { p: String(++poll) }));
      return list.length ? list : undefined;
    });
    const name = channels.find((c) => c.includes('/'))!;
    const raw = expectSuccess(await reader.get(`/v1/calls/channels/${name}`));
    expect(raw).toEqual({
      Channel: name,
      CallerIDNum: expect.any(String),
      CallerIDName: expect.any(String),
      ConnectedLineNum: expect.any(String),
      ConnectedLineName: expect.any(String),
      Seconds: expect.any(Number),
    });
    await new Promise((r) => setTimeout(r, 2100));
    expect(expectSuccess(await reader.get(`/v1/calls/channels/${encodeURIComponent(name)}`)).Channel).toBe(name);
    expectError(await stranger.get(`/v1/calls/channels/${name}`), 404);
    expect(expectSuccess(await stranger.get('/v1/calls/channels'))).toEqual([]);
  });

  it('never shows one tenant another tenant’s calls or recordings', async () => {
    const e = await employee('431');
    expect((await originate(e, '79101234569')).status).toBe(200);
    const call = await completed(await e.client(), (c) => c.dst === '79101234569' && c.rec_file);
    const stranger = await world.client(newAccountId(), 'RW');
    expect(expectSuccess(await stranger.get('/v1/calls/complete'))).toEqual([]);
    expect(expectSuccess(await stranger.get('/v1/calls/active'))).toEqual([]);
    expectError(await stranger.get(`/v1/users/${e.user}/records`), 404);
    const download = await fetch(stranger.url(call.rec_file));
    expect(download.status).toBe(404);
    expect(await download.text()).toBe('');
    expectError(await stranger.post('/v1/calls', { user: e.user, num: '79101234567' }), 400);
  });

  it('answers 404 with an empty body for traversal in recording names', async () => {
    const e = await employee('441');
    const reader = await e.client();
    for (const name of ['..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd', '....wav', 'a%00.wav']) {
      const res = await fetch(reader.url(`/v1/users/${e.user}/records/${name}`));
      expect([name, res.status, await res.text()]).toEqual([name, 404, '']);
    }
  });
});
