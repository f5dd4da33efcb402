import type { AmiMessage } from '../ami/protocol';
import { field, useTransferLab } from '../testing/transfer-lab';

/**
 * A phone's hold and attended transfer (`POST /calls/hold`, a consultation through `POST
 * /calls/internal`, `POST /calls/transfer {"attended":true}`: a REFER with Replaces) with the
 * shipped dial plan, as in fixtures 61 (the PSTN caller moved to the colleague: its Dial goes on,
 * its CDR forks) and 62 (a click-to-call customer moved: its trunk channel gets a CDR of its own).
 * The contract replays the recordings; these check the rules on other users and numbers, and the
 * other party hanging up first.
 */

const SCALE = 0.05;
const ACCOUNT = 9;
const ALICE = '900000021'; // extension 121, answers the DID
const BOB = '900000022'; // extension 122, the colleague
const DID = '74951239121';

const lab = useTransferLab({ account: ACCOUNT, alice: [ALICE, '121'], bob: [BOB, '122'], did: DID }, SCALE, {
  // Nobody hangs up by the talk time during a test (the tests end the calls; each takes well under 1 s of wall time).
  talkMs: 20_000 * SCALE,
  ownInviteNativeRtp: true,
});
const { post } = lab;
const get = field;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until this user's phone talks to someone on a new channel; that channel. */
async function bridged(user: string, after = 0): Promise<string> {
  const enter = await lab.ami.waitEvent('BridgeEnter', { Channel: new RegExp(`^PJSIP/${user}-`) }, 5000);
  const all = lab.ami.eventsNamed('BridgeEnter', { Channel: new RegExp(`^PJSIP/${user}-`) });
  await pause(20);
  return get(all[after] ?? enter, 'Channel');
}

/** Alice holds the call she talks to, then calls Bob (the consultation) until he answered. */
async function holdAndConsult(): Promise<{ consult: string; bob: string }> {
  const held = await post('/calls/hold', { user: ALICE });
  expect(held.status).toBe(200);
  const consult = await post('/calls/internal', { from_user: ALICE, to_num: '122' });
  expect(consult.status).toBe(202);
  const enter = await lab.ami.waitEvent('BridgeEnter', { Channel: consult.body.channel as string }, 5000);
  await pause(20);
  const bob = lab.ami.eventsNamed('BridgeEnter', { BridgeUniqueid: get(enter, 'BridgeUniqueid') }).map((e) => get(e, 'Channel')).find((c) => c.startsWith(`PJSIP/${BOB}-`))!;
  return { consult: consult.body.channel as string, bob };
}

/** The Cdrs whose UniqueID is one of these channels', once `last` hung up. */
async function cdrsOf(last: string, ...channels: string[]): Promise<AmiMessage[]> {
  await lab.ami.waitEvent('Hangup', { Channel: last }, 5000);
  await pause(50);
  return lab.ami.eventsNamed('Cdr').filter((c) => channels.includes(get(c, 'Channel')));
}

describe('an attended transfer by a phone', () => {
  it("puts the PSTN caller on hold, moves it to the colleague's bridge, hangs up both of the phone's channels; the colleague joins the call; its CDR forks", async () => {
    const placed = await post('/calls/inbound', { from: '79161239999', to: DID });
    const caller = placed.body.channel as string;
    const alice = await bridged(ALICE);

    expect(await post('/calls/hold', { user: ALICE })).toEqual({ status: 200, body: { channel: alice, held: caller } });
    expect(get(await lab.ami.waitEvent('Hold', { Channel: alice }), 'MusicClass')).toBe('default');
    await lab.ami.waitEvent('DeviceStateChange', { Device: 'PJSIP/trunk', State: 'ONHOLD' });
    // A second hold finds no party that is not held.
    expect((await post('/calls/hold', { user: ALICE })).status).toBe(404);

    const consult = await post('/calls/internal', { from_user: ALICE, to_num: '122' });
    const consultCh = consult.body.channel as string;
    const consultLinkedid = consult.body.linkedid as string;
    expect(consultLinkedid).toBe(consult.body.uniqueid);
    const enter = await lab.ami.waitEvent('BridgeEnter', { Channel: consultCh }, 5000);
    await pause(20);
    const bob = lab.ami.eventsNamed('BridgeEnter', { BridgeUniqueid: get(enter, 'BridgeUniqueid') }).map((e) => get(e, 'Channel')).find((c) => c.startsWith(`PJSIP/${BOB}-`))!;

    expect(await post('/calls/transfer', { user: ALICE, attended: true })).toEqual({ status: 200, body: { channel: alice, transferee: caller, target: bob } });
    const xfer = await lab.ami.waitEvent('AttendedTransfer');
    const linkedid = get(lab.ami.eventsNamed('Newchannel', { Channel: caller })[0], 'Linkedid');
    expect(
      ['OrigTransfererChannel', 'SecondTransfererChannel', 'TransfereeChannel', 'TransferTargetChannel', 'TransferTargetLinkedid', 'TransfereeExten', 'DestType', 'IsExternal'].map((k) => get(xfer, k)),
    ).toEqual([alice, consultCh, caller, bob, consultLinkedid, '121', 'Bridge', 'No']);
    expect(get(xfer, 'DestBridgeUniqueid')).toBe(get(enter, 'BridgeUniqueid'));
    await lab.ami.waitEvent('Unhold', { Channel: alice });
    await lab.ami.waitEvent('Unhold', { Channel: consultCh });
    await lab.ami.waitEvent('DeviceStateChange', { Device: 'PJSIP/trunk', State: 'INUSE' });
    // The caller entered Bob's bridge in place of the consultation channel; it took Bob's peer account.
    const swap = await lab.ami.waitEvent('BridgeEnter', { Channel: caller, BridgeUniqueid: get(enter, 'BridgeUniqueid') });
    expect(get(swap, 'SwapUniqueid')).toBe(consult.body.uniqueid);
    expect(get(await lab.ami.waitEvent('NewAccountCode', { Channel: caller }), 'AccountCode')).toBe(String(ACCOUNT));
    expect(lab.ami.eventsNamed('SoftHangupRequest', { Channel: consultCh }).map((e) => get(e, 'Cause'))).toEqual(['1', '16']);
    expect(get(await lab.ami.waitEvent('Hangup', { Channel: alice }), 'Cause')).toBe('16');
    expect(lab.ami.eventsNamed('SoftHangupRequest', { Channel: alice })).toHaveLength(0);
    const consultCdr = await lab.ami.waitEvent('Cdr', { Channel: consultCh });
    expect([get(consultCdr, 'Destination'), get(consultCdr, 'DestinationChannel'), get(consultCdr, 'UserField')]).toEqual(['122', bob, '']);
    const bobVar = await lab.ami.waitEvent('VarSet', { Channel: bob, Variable: 'BRIDGEPEER', Value: caller });
    expect(get(bobVar, 'Linkedid')).toBe(linkedid);

    // Bob hangs up first: the caller's Dial ends (its timers), its dial plan ends, both CDRs at its hangup.
    expect(await post('/calls/hangup', { user: BOB })).toEqual({ status: 200, body: { channels: [bob] } });
    expect(get(await lab.ami.waitEvent('Hangup', { Channel: bob }), 'Linkedid')).toBe(linkedid);
    await lab.ami.waitEvent('VarSet', { Channel: caller, Variable: 'DIALSTATUS', Value: 'ANSWER' });
    const cdrs = await cdrsOf(caller, caller);
    expect(cdrs.map((c) => [get(c, 'Destination'), get(c, 'DestinationChannel'), get(c, 'LastData'), get(c, 'AccountCode'), get(c, 'UserField')])).toEqual([
      ['121', alice, `PJSIP/${ALICE},30,`, '', `acct-${ACCOUNT}`],
      ['121', bob, `PJSIP/${ALICE},30,`, String(ACCOUNT), `acct-${ACCOUNT}`],
    ]);
    expect(get(cdrs[1], 'StartTime')).toBe(get(cdrs[1], 'AnswerTime'));
  });

  it("moves the click-to-call customer to the colleague: the employee's Dial ends with its Cdr, the trunk channel's own Cdr names no destination", async () => {
    await lab.ami.action('Originate', {
      Channel: `PJSIP/${ALICE}`,
      Context: `acct-${ACCOUNT}`,
      Exten: '79101239999',
      Priority: '1',
      Async: 'true',
      Timeout: '30000',
      CallerID: '"79101239999" <121>',
      ActionID: 'c2c-att',
      Variable: ['RC_CALL_ID=c2c-att', `RC_ACCOUNT=${ACCOUNT}`, `RC_USER=${ALICE}`],
    });
    const alice = get(await lab.ami.waitEvent('OriginateResponse', { ActionID: 'c2c-att' }), 'Channel');
    const trunk = get(await lab.ami.waitEvent('DialBegin', { Channel: alice }), 'DestChannel');
    await bridged(ALICE);
    const { consult, bob } = await holdAndConsult();

    expect(await post('/calls/transfer', { user: ALICE, attended: true })).toEqual({ status: 200, body: { channel: alice, transferee: trunk, target: bob } });
    const aliceCdr = await lab.ami.waitEvent('Cdr', { Channel: alice });
    expect([get(aliceCdr, 'Destination'), get(aliceCdr, 'DestinationChannel'), get(aliceCdr, 'UserField')]).toEqual(['79101239999', trunk, `acct-${ACCOUNT}`]);
    expect(lab.ami.eventsNamed('SoftHangupRequest', { Channel: alice }).map((e) => get(e, 'Cause'))).toEqual(['16']);
    await lab.ami.waitEvent('Hangup', { Channel: consult });
    // The customer's account code came with the Dial: no NewAccountCode at the transfer.
    expect(lab.ami.eventsNamed('NewAccountCode', { Channel: trunk })).toHaveLength(1);

    await post('/calls/hangup', { user: BOB });
    const linkedid = get(lab.ami.eventsNamed('Newchannel', { Channel: alice })[0], 'Linkedid');
    expect(get(await lab.ami.waitEvent('Hangup', { Channel: bob }), 'Linkedid')).toBe(linkedid);
    const [own] = await cdrsOf(trunk, trunk);
    expect([get(own, 'Source'), get(own, 'Destination'), get(own, 'DestinationContext'), get(own, 'DestinationChannel'), get(own, 'LastApplication'), get(own, 'UserField'), get(own, 'AccountCode')]).toEqual([
      '79101239999',
      '',
      'from-pstn',
      bob,
      'AppDial',
      '',
      String(ACCOUNT),
    ]);
    expect(get(own, 'StartTime')).toBe(get(own, 'AnswerTime'));
    expect(lab.ami.eventsNamed('SoftHangupRequest', { Channel: trunk })).toHaveLength(0);
  });
});

describe('the control routes of hold and attended transfer', () => {
  it.each([
    ['/calls/hold', '{}', 400, /user must be/],
    ['/calls/hold', '{"user":"999999999"}', 404, /no endpoint 999999999/],
    ['/calls/hold', `{"user":"${ALICE}"}`, 404, /has no bridged call to hold/],
    ['/calls/transfer', `{"user":"${ALICE}","attended":"yes"}`, 400, /attended must be true or false/],
    ['/calls/transfer', `{"user":"${ALICE}","attended":true,"to":"122"}`, 400, /has no to/],
    ['/calls/transfer', `{"user":"${ALICE}","attended":true}`, 404, /has no held call and answered consultation call/],
    ['/calls/transfer', `{"user":"${ALICE}","attended":false}`, 400, /to must be an extension/],
    ['/calls/hangup', '{"user":7}', 400, /user must be/],
    ['/calls/hangup', `{"user":"${ALICE}"}`, 404, /has no answered call/],
    ['/devices/999999999/unreachable', '{}', 404, /no endpoint 999999999/],
  ])('%s %s → %i', async (route, body, status, message) => {
    const res = await fetch(`http://127.0.0.1:${lab.sim.controlPort}${route}`, { method: 'POST', body });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });

  it('answers 404 for a held call without a consultation, and the call goes on', async () => {
    const placed = await post('/calls/inbound', { from: '79161239998', to: DID });
    await bridged(ALICE);
    expect((await post('/calls/hold', { user: ALICE })).status).toBe(200);
    expect((await post('/calls/transfer', { user: ALICE, attended: true })).status).toBe(404);
    expect(lab.ami.eventsNamed('AttendedTransfer')).toHaveLength(0);
    expect((await post('/calls/hangup', { user: ALICE })).status).toBe(200);
    await lab.ami.waitEvent('Hangup', { Channel: placed.body.channel as string }, 5000);
  });

  it("makes a qualified phone unreachable: PeerStatus and ContactStatus Unreachable, its device UNAVAILABLE; a phone without a qualified contact answers 409", async () => {
    // Registered by auto-registration and qualified (qualify_frequency 60).
    await pause(200);
    const res = await post(`/devices/${BOB}/unreachable`, {});
    expect(res).toEqual({ status: 200, body: { user: BOB, state: 'UNAVAILABLE' } });
    await lab.ami.waitEvent('PeerStatus', { Peer: `PJSIP/${BOB}`, PeerStatus: 'Unreachable' });
    expect(get(await lab.ami.waitEvent('ContactStatus', { AOR: BOB, ContactStatus: 'Unreachable' }), 'RoundtripUsec')).toBe('0');
    await lab.ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${BOB}`, State: 'UNAVAILABLE' });
    await post(`/devices/${BOB}/unregister`, {});
    expect((await post(`/devices/${BOB}/unreachable`, {})).status).toBe(409);
    await post(`/devices/${BOB}/register`, {});
  });
});
