import { holdTable, waitFor } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, sleep, useStack } from './support';

const world = useStack({ telephony: true });

const control = (p: string, body?: unknown) =>
  fetch(`${world.stack.simulatorControl}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  }).then((r) => (r.ok ? 200 : r.status));

async function provisionedEmployee(num: string) {
  const account = newAccountId();
  const creator = await world.client(account, 'RW');
  const user: string = expectSuccess(await creator.post('/v1/users/create', { password: 'Sip5ecret!', num, mail: `r${num}@example.com` }));
  // Provisioning reaches the PBX asynchronously. The phone registers as soon as the endpoint exists
  // (not at the simulator's next auto-registration poll): calls to a phone without a contact fail at
  // once, and one that ends entirely while the AMI connection is down leaves no trace to resync.
  await waitFor('endpoint provisioned', async () => (await control(`/devices/${user}/register`)) === 200, 20_000);
  expect(await control('/calls/inbound', { from: '79990000000', to_user: user })).toBe(200);
  return { account, user, reader: await world.client(account, 'RW') };
}

async function completedList(reader: Awaited<ReturnType<typeof world.client>>) {
  return expectSuccess(await reader.get('/v1/calls/complete', { days: '1', t: String(Date.now()) })) as any[];
}

describe('no call record is lost', () => {
  it('keeps every call that ended while calls-service was down, exactly once', async () => {
    const { user, reader } = await provisionedEmployee('501');
    await waitFor('first call recorded', async () => (await completedList(reader)).length === 1, 20_000);

    const service = world.stack.processes.find((p) => p.name === 'calls-service')!;
    await service.stop();
    const callers = Array.from({ length: 20 }, (_, i) => `7910000${String(i).padStart(4, '0')}`);
    for (const from of callers) expect(await control('/calls/inbound', { from, to_user: user })).toBe(200);
    // let every call finish on the PBX while nobody records them
    await new Promise((r) => setTimeout(r, 6000));

    world.stack.addApp('calls-service');
    const all = await waitFor(
      '20 records after restart',
      async () => {
        const list = await completedList(reader).catch(() => []);
        return list.length >= 21 ? list : undefined;
      },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const final = await completedList(reader);
    expect(final).toHaveLength(21);
    expect(all.length).toBe(21);
    expect(new Set(final.map((c) => c.src))).toEqual(new Set(['79990000000', ...callers]));
  });
});

describe('the AMI connection drops mid-call', () => {
  it('reconnects, resyncs, and the call still ends up in completed calls', async () => {
    const { user, reader } = await provisionedEmployee('502');
    await waitFor('first call recorded', async () => (await completedList(reader)).length === 1, 20_000);
    expect(await control('/calls/inbound', { from: '79101110000', to_user: user })).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await control('/ami/drop')).toBe(200);
    const call = await waitFor(
      'the dropped-connection call completed',
      async () => (await completedList(reader)).find((c) => c.src === '79101110000'),
      60_000,
    );
    expect(call).toMatchObject({ direction: 'incoming', dst: '502' });
    // and the adapter is back: a new call after the drop is recorded too
    expect(await control('/calls/inbound', { from: '79101110001', to_user: user })).toBe(200);
    await waitFor('call after reconnect', async () => (await completedList(reader)).some((c) => c.src === '79101110001'), 30_000);
  });
});

describe('the telephony adapter restarts while a call is up', () => {
  it('ends the call that hung up while it was away (reconciled): completed, no longer active', async () => {
    const { user, reader } = await provisionedEmployee('504');
    await waitFor('first call recorded', async () => (await completedList(reader)).length === 1, 20_000);
    const active = async () => expectSuccess(await reader.get('/v1/calls/active', { t: String(Date.now()) })) as any[];

    expect(await control('/calls/inbound', { from: '79101120000', to_user: user })).toBe(200);
    const call = await waitFor('the call active', async () => (await active()).find((c) => c.src === '79101120000'), 20_000);
    // Its user's phone rang (that files the call under the user: its CDR will never come).
    await waitFor('the user rung', async () => ['ringing_user', 'answered'].includes(expectSuccess(await reader.get(`/v1/calls/${call.call_id}`, { t: String(Date.now()) })).state), 20_000);
    const adapter = world.stack.processes.find((p) => p.name === 'telephony-adapter' && p.child.exitCode === null)!;
    await adapter.stop();
    // The call hangs up on the PBX while no adapter listens: no event of its end reaches anyone.
    await waitFor('the call gone from the PBX', async () => ((await (await fetch(`${world.stack.simulatorControl}/channels`)).json()) as unknown[]).length === 0, 20_000);
    const goneAt = Date.now();
    expect((await active()).map((c) => c.call_id)).toContain(call.call_id);
    await new Promise((r) => setTimeout(r, 3000)); // the adapter stays away a while longer

    world.stack.addApp('telephony-adapter');
    const done = await waitFor('the call completed', async () => (await completedList(reader)).find((c) => c.call_id === call.call_id), 60_000);
    expect(done).toMatchObject({ direction: 'incoming', src: '79101120000' });
    // It ended when its recording was last written (the hang-up), not when the adapter came back,
    // and that recording — which nobody stored while the adapter was away — is the call's.
    expect(new Date(done.call_end_time.replace(' ', 'T')).getTime()).toBeLessThanOrEqual(goneAt + 1000);
    const recording = await waitFor('its recording', async () => (await completedList(reader)).find((c) => c.call_id === call.call_id)?.rec_file, 30_000);
    const download = await fetch(reader.url(recording));
    expect([download.status, download.headers.get('content-type')]).toEqual([200, expect.stringMatching(/wav/)]);
    expect(await active()).toEqual([]);
    // One record, and the adapter is back: a new call is recorded too.
    expect((await completedList(reader)).filter((c) => c.call_id === call.call_id)).toHaveLength(1);
    expect(await control('/calls/inbound', { from: '79101120001', to_user: user })).toBe(200);
    await waitFor('call after restart', async () => (await completedList(reader)).some((c) => c.src === '79101120001'), 30_000);
  });
});

describe('an originate while calls-service is down', () => {
  it('still rings the phone and answers 200 with the call id; the call and its external_id are listed once calls-service is back', async () => {
    const { user, reader } = await provisionedEmployee('503');
    await waitFor('first call recorded', async () => (await completedList(reader)).length === 1, 20_000);

    const service = world.stack.processes.find((p) => p.name === 'calls-service' && p.child.exitCode === null)!;
    await service.stop();
    // The gateway sends the originate to the adapter itself; only recording the request fails.
    const res = await reader.post('/v1/calls', { user, num: '79105550000', external_id: 'lead-503' });
    expect([res.status, res.body?.data]).toEqual([200, 'Originate successfully queued']);
    const callId = res.headers.get('x-call-id');
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 3000)); // the call is placed and ends while nobody records it

    world.stack.addApp('calls-service');
    const call = await waitFor(
      'the originated call listed',
      async () => (await completedList(reader).catch(() => [])).find((c) => c.call_id === callId),
      60_000,
    );
    // Followed by its events, and the gateway recorded the request (external_id) once calls-service was back.
    expect(call).toMatchObject({ direction: 'outgoing', src: '503', dst: '79105550000' });
    await waitFor('the request recorded', async () => (await completedList(reader)).find((c) => c.call_id === callId)?.external_id === 'lead-503', 30_000);
  });
});

describe('an originate the database held until the gateway gave up', () => {
  it('answers 503 and rings nothing afterwards; the retry places the call, once', async () => {
    const { account, user, reader } = await provisionedEmployee('504');
    await waitFor('first call recorded', async () => (await completedList(reader)).length === 1, 20_000);

    // Another session holds the adapter's table of originates for longer than the gateway waits (3 s).
    const { released } = await holdTable(world.stack.databaseUrl, 'telephony.originate_requests', 4500);
    try {
      expectError(await reader.post('/v1/calls', { user, num: '79105550404' }), 503);
    } finally {
      await released;
    }

    // The adapter reads its rows now, after the client was told the call failed: nothing may ring.
    await sleep(6000); // a call placed now would ring 0.3 s, talk 2.5 s and be listed by then
    expect(expectSuccess(await (await world.client(account, 'RO')).get('/v1/calls/active'))).toEqual([]);
    expect((await completedList(reader)).filter((c) => c.dst === '79105550404')).toEqual([]);

    // The client's retry (a new key: the first attempt counted against the 1-per-5-s limit) rings, once.
    const retry = await (await world.client(account, 'RW')).post('/v1/calls', { user, num: '79105550404' });
    expectSuccess(retry);
    const listed = await waitFor('the retried call listed', async () => {
      const mine = (await completedList(reader)).filter((c) => c.dst === '79105550404');
      return mine.length > 0 && mine;
    }, 30_000);
    expect(listed).toEqual([expect.objectContaining({ call_id: retry.headers.get('x-call-id'), direction: 'outgoing', src: '504' })]);
  });
});
