import { Client } from 'pg';
import { V1Client, waitFor } from '@ringcloud/testing';
import { expectSuccess, newAccountId, sleep, useStack, simulatorControl } from './support';

// Calls to an employee whose phone rings and is not picked up, through the shipped dial plan
// (docker/asterisk/extensions.conf) and the rows the telephony-adapter writes (issue 7):
// - without voicemail, the extension's Hangup() ends the call — were it missing, Asterisk would
//   look for the Dial's next priority in rc-outbound and dial the extension out through the trunk;
// - with voicemail, the caller leaves a message and the record ends when the caller hung up.
// The PBX runs at 2× (libs/testing): the 30 s Dial timeout rings out in 15 s.
const world = useStack({ telephony: true });

const control = simulatorControl(world);

interface LiveChannel {
  channel: string;
  linkedid: string;
  application: string;
}

/** Every channel the PBX had while `done` is pending (the simulator's channel list, polled). */
async function channelsWhile(done: Promise<unknown>): Promise<LiveChannel[]> {
  const seen = new Map<string, LiveChannel>();
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  while (!finished) {
    const res = await control('/channels');
    if (res.ok) for (const c of res.body as LiveChannel[]) seen.set(c.channel, c);
    await sleep(100);
  }
  return [...seen.values()];
}

async function completed(client: V1Client, predicate: (c: any) => boolean, timeoutMs = 60_000) {
  let n = 0;
  return waitFor(
    'completed call',
    async () => expectSuccess(await client.get('/v1/calls/complete', { days: '1', poll: String(++n) })).find(predicate),
    timeoutMs,
  );
}

/** The adapter writes a number's route asynchronously: routed once a call to it (from `callerPrefix`NNNN) is listed. */
async function numberRouted(reader: V1Client, number: string, callerPrefix: string): Promise<void> {
  let tries = 0;
  await waitFor(
    'the number routed to the user',
    async () => {
      const from = `${callerPrefix}${String(++tries).padStart(4, '0')}`;
      if (!(await control('/calls/inbound', { from, to: number })).ok) return undefined;
      return completed(reader, (c) => c.src === from, 8_000).catch(() => undefined);
    },
    60_000,
  );
}

const seconds = (time: string) => Date.parse(`${time.replace(' ', 'T')}Z`) / 1000;

describe('unanswered calls to an employee (real processes, shipped dial plan)', () => {
  it('ends as NO ANSWER without voicemail — never dialled through the trunk — and lasts until the caller hangs up with voicemail', async () => {
    const account = newAccountId();
    // users.create is limited per key and URL: one key per user.
    const create = async (num: string) =>
      expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Sip5ecret!', num, mail: `u${num}@example.com` }));
    const caller = await create('501');
    const plain = await create('502');
    const withVoicemail = await create('503');
    const reader = await world.client(account, 'RW');
    expectSuccess(await reader.post(`/v1/users/${withVoicemail}/voice_mail_box_on`, {}));

    // The account's context is in the dial plan once an originate through it works (the adapter reloads it).
    await waitFor(
      'account provisioned on the PBX',
      async () => {
        const res = await (await world.client(account, 'RW')).post('/v1/calls', { user: caller, num: '79100000001' });
        return res.status === 200 ? res : undefined;
      },
      30_000,
    );
    await completed(reader, (c) => c.dst === '79100000001');
    await waitFor('mailbox provisioned', async () => (await control(`/voicemail/acct-${account}/503`)).body?.exists === true, 20_000);
    for (const user of [plain, withVoicemail]) {
      await waitFor(`${user} rings without answering`, async () => (await control(`/devices/${user}/register`, { behaviour: 'no_answer' })).ok, 20_000);
    }

    const call = async (num: string) => {
      const res = await waitFor(`internal call to ${num}`, async () => {
        const r = await control('/calls/internal', { from_user: caller, to_num: num });
        return r.ok ? r : undefined;
      });
      return res.body as { channel: string; linkedid: string };
    };
    const [toPlain, toVoicemail] = [await call('502'), await call('503')];
    const records = Promise.all([
      completed(reader, (c) => c.direction === 'internal' && c.dst === '502'),
      completed(reader, (c) => c.direction === 'internal' && c.dst === '503'),
    ]);
    const channels = await channelsWhile(records);
    const [plainRecord, voicemailRecord] = await records;

    // The PBX never dialled out: only the caller's channel and the employee's phone.
    expect(channels.filter((c) => c.linkedid === toPlain.linkedid).map((c) => c.channel.replace(/-[0-9a-f]{8}$/, ''))).toEqual(
      expect.arrayContaining([`PJSIP/${caller}`, `PJSIP/${plain}`]),
    );
    expect(channels.filter((c) => [toPlain.linkedid, toVoicemail.linkedid].includes(c.linkedid) && c.channel.startsWith('PJSIP/trunk-'))).toEqual([]);
    expect(plainRecord).toMatchObject({ status: 'complete', src: '501', dst: '502', direction: 'internal', disposition: 'NO ANSWER', rec_file: null });
    // Ringing only: the 30 s Dial timeout (PBX seconds; timers run late on a loaded machine).
    expect(plainRecord.duration).toBeGreaterThanOrEqual(29);
    expect(plainRecord.duration).toBeLessThanOrEqual(40);

    // Voicemail: the user did not answer (NO ANSWER), but the caller stayed on to leave a message
    // (the simulated caller talks SIM_TALK_MS, 5 PBX seconds): the record ends at the hang-up.
    expect(voicemailRecord).toMatchObject({ src: '501', dst: '503', direction: 'internal', disposition: 'NO ANSWER' });
    expect(voicemailRecord.duration).toBeGreaterThanOrEqual(33);
    // The end is the hang-up's: start to end spans the duration (two CDRs' whole seconds: ±2; fixture 40: 51 vs 30 + 20).
    const span = seconds(voicemailRecord.call_end_time) - seconds(voicemailRecord.call_start_time);
    expect(Math.abs(span - voicemailRecord.duration)).toBeLessThanOrEqual(2);
    const mailbox = (await control(`/voicemail/acct-${account}/503`)).body;
    expect(mailbox.messages).toHaveLength(1);
  }, 150_000);

  it('an extension renumbered or deleted while its phone rings: the call ends there, never dialled out through the trunk', async () => {
    const account = newAccountId();
    const create = async (num: string) =>
      expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Sip5ecret!', num, mail: `u${num}@example.com` }));
    const caller = await create('601');
    const renumbered = await create('602');
    const deleted = await create('603');
    const rw = await world.client(account, 'RW');
    await waitFor(
      'account provisioned on the PBX',
      async () => {
        const res = await (await world.client(account, 'RW')).post('/v1/calls', { user: caller, num: '79100000002' });
        return res.status === 200 ? res : undefined;
      },
      30_000,
    );
    for (const user of [renumbered, deleted]) {
      await waitFor(`${user} rings without answering`, async () => (await control(`/devices/${user}/register`, { behaviour: 'no_answer' })).ok, 20_000);
    }
    const call = async (num: string) =>
      (await waitFor(`internal call to ${num}`, async () => {
        const r = await control('/calls/internal', { from_user: caller, to_num: num });
        return r.ok ? r : undefined;
      })).body as { linkedid: string };
    const calls = [await call('602'), await call('603')];
    const ringing = async () => {
      const live = (await control('/channels')).body as LiveChannel[];
      return [renumbered, deleted].every((u) => live.some((c) => c.channel.startsWith(`PJSIP/${u}-`)));
    };
    await waitFor('both phones ring', ringing, 10_000);
    // While the callers sit on their extension's Dial, the rows behind it change.
    expectSuccess(await rw.post(`/v1/users/${renumbered}/update_extension_number`, { num: '612' }));
    expectSuccess(await rw.post('/v1/users/delete', { user: deleted }));

    const records = Promise.all([
      completed(rw, (c) => c.direction === 'internal' && c.dst === '602'),
      completed(rw, (c) => c.direction === 'internal' && c.dst === '603'),
    ]);
    const channels = await channelsWhile(records);
    await records;
    await sleep(3000); // a fall-through would dial the trunk right after the Dial timed out
    const later = (await control('/channels')).body as LiveChannel[];
    const linked = calls.map((c) => c.linkedid);
    expect([...channels, ...later].filter((c) => linked.includes(c.linkedid) && c.channel.startsWith('PJSIP/trunk-'))).toEqual([]);
  }, 150_000);

  it("from the PSTN to a number whose route still leads to an extension that lost its rows: ended there, never dialled out through the trunk, listed as a FAILED incoming call", async () => {
    const account = newAccountId();
    const user: string = expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Sip5ecret!', num: '505', mail: 'u505@example.com' }));
    const reader = await world.client(account, 'RW');
    const number = `7496${String(account).padStart(7, '0')}`;
    expectSuccess(await world.admin.call('POST', '/admin/v1/numbers', { number, account_id: account, user }));
    await waitFor(`${user} registered`, async () => (await control(`/devices/${user}/register`, { behaviour: 'answer' })).ok, 20_000);
    await numberRouted(reader, number, '7910300');

    // The state another adapter replica can leave for a moment (it applied the user's deletion or new
    // extension, this one not yet the number's new route): the route leads to an extension without rows.
    const db = new Client({ connectionString: world.stack.databaseUrl });
    await db.connect();
    try {
      const removed = await db.query("DELETE FROM telephony.extensions WHERE context = $1 AND exten = '505'", [`acct-${account}`]);
      expect(removed.rowCount).toBeGreaterThan(0);
    } finally {
      await db.end();
    }
    const res = await control('/calls/inbound', { from: '79103330505', to: number });
    expect(res.ok).toBe(true);
    const call = res.body as { channel: string; linkedid: string };
    const record = completed(reader, (c) => c.src === '79103330505');
    const channels = await channelsWhile(record);
    await sleep(1000);
    const later = (await control('/channels')).body as LiveChannel[];
    // Only the PSTN caller's own channel: no second trunk channel dialling 505 out.
    expect([...channels, ...later].filter((c) => c.linkedid === call.linkedid).map((c) => c.channel)).toEqual([call.channel]);
    // Nobody could be rung: FAILED, as a call to an extension that does not exist.
    expect(await record).toMatchObject({ direction: 'incoming', src: '79103330505', disposition: 'FAILED' });
  }, 150_000);

  it("to an inbound number whose employee's phone is not registered: the mailbox takes it, listed incoming to the extension, NO ANSWER, recorded under the user (fixture 46)", async () => {
    const account = newAccountId();
    const user: string = expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Sip5ecret!', num: '504', mail: 'u504@example.com' }));
    const reader = await world.client(account, 'RW');
    expectSuccess(await reader.post(`/v1/users/${user}/voice_mail_box_on`, {}));
    const number = `7495${String(account).padStart(7, '0')}`;
    expectSuccess(await world.admin.call('POST', '/admin/v1/numbers', { number, account_id: account, user }));
    await waitFor('mailbox provisioned', async () => (await control(`/voicemail/acct-${account}/504`)).body?.exists === true, 20_000);
    await waitFor(`${user} registered`, async () => (await control(`/devices/${user}/register`, { behaviour: 'answer' })).ok, 20_000);

    await numberRouted(reader, number, '7910200');

    expect((await control(`/devices/${user}/unregister`, {})).ok).toBe(true);
    expect((await control('/calls/inbound', { from: '79103330046', to: number })).ok).toBe(true);
    // The recording is stored after the call record: wait until the record links it.
    const record = await completed(reader, (c) => c.src === '79103330046' && c.rec_file);
    expect(record).toMatchObject({ direction: 'incoming', dst: '504', disposition: 'NO ANSWER', rec_file: expect.stringMatching(new RegExp(`^/v1/users/${user}/records/`)) });
    const mailbox = (await control(`/voicemail/acct-${account}/504`)).body;
    expect(mailbox.messages).toHaveLength(1);
  }, 150_000);
});
