import { waitFor } from '@ringcloud/testing';
import { expectSuccess, useStack } from './support';
import { callHelpers } from './call-helpers';

// A phone's blind transfer (SIP REFER, res_pjsip_refer) through the shipped dial plan: the call goes
// on with the colleague and stays one call — active while the customer talks to the colleague, then
// one record from the first ring to the last hang-up, under the employee who answered (real
// transcripts 59–60). Transfers reach the account's extensions only (rc-outbound refuses them, 59d).
// The PSTN hangs up 6 s after it answered: time to transfer and to look meanwhile. The PBX runs at
// 2× (libs/testing): its records count 12 s for those 6.
const world = useStack({ telephony: true, webhooks: true, env: { SIM_TALK_MS: '6000' } });

const { control, completed, colleagues, originateFrom, transferred, channels, colleagueTalks, recordingSeconds } = callHelpers(world);

describe('call transfers (real processes, shipped dial plan)', () => {
  it('a click-to-call customer transferred to a colleague: active while they talk, then one record of the whole call', async () => {
    const team = await colleagues('611', '612');
    const originate = await originateFrom(team, '79101234567');
    expect(originate.status).toBe(200);
    const callId = originate.headers.get('x-call-id');

    expect(await transferred(team.a, '612')).toEqual({ channel: expect.stringMatching(new RegExp(`^PJSIP/${team.a}-`)), transferee: expect.stringMatching(/^PJSIP\/trunk-/) });
    // The colleague's phone rings and answers the customer; the employee's channel is gone.
    const live = await colleagueTalks(team);
    expect(new Set(live.map((c) => c.linkedid)).size).toBe(1);
    const reader = await team.client();
    expect(expectSuccess(await reader.get('/v1/calls/active', { p: 'after-transfer' }))).toEqual([
      expect.objectContaining({ call_id: callId, src: '611', dst: '79101234567', status: 'current' }),
    ]);

    const call = await completed(reader, (c) => c.call_id === callId && c.rec_file);
    expect(call).toMatchObject({
      direction: 'outgoing',
      src: '611',
      dst: '79101234567',
      disposition: 'ANSWERED',
      rec_file: expect.stringContaining(`/v1/users/${team.a}/records/`),
      transferred_to: team.b,
    });
    // The whole call: the customer talked 6 s (12 s of PBX time) after answering, most of it with the colleague.
    expect(call.duration).toBeGreaterThanOrEqual(12);
    const seconds = (time: string) => Date.parse(`${time.replace(' ', 'T')}Z`) / 1000;
    expect(Math.abs(seconds(call.call_end_time) - seconds(call.call_start_time) - call.duration)).toBeLessThanOrEqual(1);
    // The recording holds the whole conversation, the colleague's part too (before: the employee's
    // part alone, cut at the transfer): the employee's file and the customer's, joined.
    expect(await recordingSeconds(reader, call.rec_file)).toBeGreaterThanOrEqual(10);
    // The colleague who took the call finds it among their own recordings too.
    const fileName = call.rec_file.split('/').pop();
    expect(expectSuccess(await reader.get(`/v1/users/${team.b}/records`)).map(([f]: [string, string]) => f)).toEqual([fileName]);
    expect(await recordingSeconds(reader, `/v1/users/${team.b}/records/${fileName}`)).toBeGreaterThanOrEqual(10);
    expect(expectSuccess(await reader.get('/v1/calls/complete', { days: '1', p: 'all' }))).toHaveLength(1);
    expect(expectSuccess(await reader.get('/v1/calls/active', { p: 'after-end' }))).toEqual([]);
    expect(expectSuccess(await reader.get(`/v1/calls/${callId}`))).toMatchObject({ state: 'completed', user: team.a, transferred_to: team.b });

    // The CRM is told while it happens: call.transferred between call.answered and call.completed.
    let poll = 0;
    const events = await waitFor(
      'call.completed in the feed',
      async () => {
        // Each poll another exact URL: the feed allows one request per second and URL.
        const page = await reader.get('/v1/events', { limit: String(1000 - ++poll) });
        const list = (expectSuccess(page) as any[]).filter((e) => e.data.call_id === callId);
        return list.some((e) => e.type === 'call.completed') ? list : undefined;
      },
      20_000,
    );
    const types = events.map((e) => e.type);
    expect(types.indexOf('call.transferred')).toBeGreaterThan(types.indexOf('call.answered'));
    expect(types.indexOf('call.transferred')).toBeLessThan(types.indexOf('call.completed'));
    expect(events.find((e) => e.type === 'call.transferred').data).toMatchObject({ user: team.a, to_user: team.b, to: '612', state: 'answered' });
  });

  it("a PSTN caller to the employee's number transferred to a colleague: one incoming record of the whole call", async () => {
    const team = await colleagues('631', '632');
    const number = '74951230631';
    const assigned = await world.admin.call('POST', '/admin/v1/numbers', { number, account_id: team.account, user: team.a });
    expect(assigned.status).toBe(200);
    // The adapter writes the number's route asynchronously: call until the employee talks to the caller.
    let tries = 0;
    const from = '79161230631';
    const transfer = await waitFor(
      'the caller talks to the employee, who transfers',
      async () => {
        // A new call every 4 s: until the route is written the PSTN's call is refused at once.
        if (tries++ % 40 === 0 && !(await control('/calls/inbound', { from, to: number })).ok) return undefined;
        const res = await control('/calls/transfer', { user: team.a, to: '632' });
        return res.ok ? res.body : undefined;
      },
      30_000,
    );
    expect(transfer).toMatchObject({ channel: expect.stringMatching(new RegExp(`^PJSIP/${team.a}-`)), transferee: expect.stringMatching(/^PJSIP\/trunk-/) });
    const reader = await team.client();
    // While the caller talks to the colleague the call is listed active to the extension that rang, as its record
    // will be (before: the number dialled, 74951230631, which the record never shows).
    expect(expectSuccess(await reader.get('/v1/calls/active', { p: 'inbound' }))).toEqual([expect.objectContaining({ src: from, dst: '631', status: 'current' })]);
    const call = await completed(reader, (c) => c.src === from && c.transferred_to && c.rec_file);
    expect(call).toMatchObject({ direction: 'incoming', dst: '631', disposition: 'ANSWERED', transferred_to: team.b, rec_file: expect.stringContaining(`/v1/users/${team.a}/records/`) });
    expect(call.duration).toBeGreaterThanOrEqual(12);
  });

  it('an attended transfer: the employee holds the customer, calls the colleague, and joins them — the call goes on as one, the consultation is a call of its own', async () => {
    const team = await colleagues('651', '652');
    const originate = await originateFrom(team, '79101234569');
    const callId = originate.headers.get('x-call-id');
    // The customer answers; the employee's phone puts them on hold and calls the colleague's extension.
    await waitFor('the customer on hold', async () => ((await control('/calls/hold', { user: team.a })).ok ? true : undefined), 15_000);
    expect((await control('/calls/internal', { from_user: team.a, to_num: '652' })).status).toBe(202);
    const joined = await waitFor(
      'the colleague answers and the phone joins them',
      async () => {
        const res = await control('/calls/transfer', { user: team.a, attended: true });
        return res.ok ? res.body : undefined;
      },
      10_000,
    );
    expect(joined).toMatchObject({ transferee: expect.stringMatching(/^PJSIP\/trunk-/), target: expect.stringMatching(new RegExp(`^PJSIP/${team.b}-`)) });
    const reader = await team.client();
    expect(expectSuccess(await reader.get('/v1/calls/active', { p: 'joined' })).map((c: any) => c.call_id)).toContain(callId);

    const call = await completed(reader, (c) => c.call_id === callId && c.rec_file);
    expect(call).toMatchObject({ direction: 'outgoing', src: '651', dst: '79101234569', disposition: 'ANSWERED', transferred_to: team.b });
    expect(call.duration).toBeGreaterThanOrEqual(12);
    // Recorded after the transfer too: the customer's talk with the colleague is in the recording.
    expect(await recordingSeconds(reader, call.rec_file)).toBeGreaterThanOrEqual(10);
    const consultation = await completed(reader, (c) => c.direction === 'internal' && c.dst === '652');
    expect(consultation).toMatchObject({ src: '651', disposition: 'ANSWERED', transferred_to: null });
    expect(consultation.call_id).not.toBe(callId);
  });

  it('a call transferred on by the colleague: listed under all three who talked, transferred_to the last', async () => {
    const team = await colleagues('651', '652');
    const third: string = expectSuccess(await (await team.client()).post('/v1/users/create', { password: 'Sip5ecret!', num: '653', mail: 'u653@example.com' }));
    await waitFor(`${third} registered`, async () => (await control(`/devices/${third}/register`, {})).ok, 20_000);
    const originate = await originateFrom(team, '79101234651');
    const callId = originate.headers.get('x-call-id');
    await transferred(team.a, '652');
    await colleagueTalks(team);
    await transferred(team.b, '653');
    await colleagueTalks({ a: team.b, b: third });

    const reader = await team.client();
    const call = await completed(reader, (c) => c.call_id === callId && c.rec_file);
    expect(call).toMatchObject({ direction: 'outgoing', src: '651', dst: '79101234651', transferred_to: third });
    const fileName = call.rec_file.split('/').pop();
    for (const user of [team.a, team.b, third]) {
      expect(expectSuccess(await reader.get(`/v1/users/${user}/records`)).map(([f]: [string, string]) => f)).toEqual([fileName]);
    }
  });

  it('a transfer to a number that is no extension is refused: nothing is dialled out, the call ends', async () => {
    const team = await colleagues('621', '622');
    const invites = async () => ((await control('/trunk/invites')).body as { number: string }[]).map((i) => i.number);
    const originate = await originateFrom(team, '79101234568');
    const callId = originate.headers.get('x-call-id');
    expect(await transferred(team.a, '79107777777')).toMatchObject({ transferee: expect.stringMatching(/^PJSIP\/trunk-/) });
    await waitFor('the call ended', async () => ((await channels()).length === 0 ? true : undefined), 10_000);
    const call = await completed(await team.client(), (c) => c.call_id === callId);
    expect(call).toMatchObject({ direction: 'outgoing', src: '621', dst: '79101234568', disposition: 'ANSWERED', transferred_to: null });
    expect(call.duration).toBeLessThan(12);
    expect(await invites()).not.toContain('79107777777');
  });
});
