import type { AmiMessage } from '../ami/protocol';
import { field, useTransferLab } from '../testing/transfer-lab';

/**
 * A phone's blind transfer (`POST /calls/transfer`, a REFER) with the shipped dial plan, as in
 * fixtures 59 (the PSTN caller transferred: its own Dial returns and its dial plan goes on at the
 * colleague's extension) and 60 (a click-to-call customer transferred: the trunk channel gets a
 * dial plan of its own), with the CDRs each leaves. The contract replays the recordings; these
 * check the rules on other users and numbers.
 */

const SCALE = 0.05;
const ACCOUNT = 8;
const ALICE = '800000011'; // extension 111, answers the DID
const BOB = '800000012'; // extension 112, the colleague
const DID = '74951238111';

const lab = useTransferLab({ account: ACCOUNT, alice: [ALICE, '111'], bob: [BOB, '112'], did: DID }, SCALE, {
  // Long enough for the transfer and the colleague's answer before the outside party hangs up.
  talkMs: 8000 * SCALE,
  sipAddress: '127.0.0.1:5999',
});
const { post } = lab;
const get = field;

/** Waits until Alice's phone talks to someone; her channel. */
async function aliceBridged(): Promise<string> {
  const enter = await lab.ami.waitEvent('BridgeEnter', { Channel: new RegExp(`^PJSIP/${ALICE}-`) }, 5000);
  await new Promise((r) => setTimeout(r, 20));
  return get(enter, 'Channel');
}

/** The Cdrs of the call whose first channel has this Linkedid, once its last channel is gone. */
async function cdrsOfCall(linkedid: string, lastChannel: RegExp): Promise<AmiMessage[]> {
  await lab.ami.waitEvent('Hangup', { Channel: lastChannel, Linkedid: linkedid }, 5000);
  await new Promise((r) => setTimeout(r, 50));
  const uniqueids = new Set(lab.ami.eventsNamed('Newchannel', { Linkedid: linkedid }).map((e) => get(e, 'Uniqueid')));
  return lab.ami.eventsNamed('Cdr').filter((c) => uniqueids.has(get(c, 'UniqueID')));
}

describe('a blind transfer by a phone', () => {
  it("moves the PSTN caller to the colleague: its Dial returns, its dial plan dials the colleague in the call's Linkedid, its CDR forks", async () => {
    const placed = await post('/calls/inbound', { from: '79161230000', to: DID });
    expect(placed.status).toBe(202);
    const caller = placed.body.channel;
    const alice = await aliceBridged();

    const res = await post('/calls/transfer', { user: ALICE, to: '112' });
    expect(res).toEqual({ status: 200, body: { channel: alice, transferee: caller } });

    const xfer = await lab.ami.waitEvent('BlindTransfer');
    expect([get(xfer, 'TransfererChannel'), get(xfer, 'TransfereeChannel'), get(xfer, 'TransfereeExten'), get(xfer, 'Context'), get(xfer, 'Extension'), get(xfer, 'IsExternal')]).toEqual([
      alice,
      caller,
      '111',
      `acct-${ACCOUNT}`,
      '112',
      'Yes',
    ]);
    const vars = (ch: string) => new Map(lab.ami.eventsNamed('VarSet', { Channel: ch }).map((e) => [get(e, 'Variable'), get(e, 'Value')]));
    expect(vars(caller).get('SIPREFERTOHDR')).toBe('sip:112@127.0.0.1:5999');
    // The phone names itself by its AOR at the host of the contact it registered (the lab's phones of 63/64).
    expect(vars(caller).get('__SIPREFERREDBYHDR')).toBe(`<sip:${ALICE}@127.0.0.1>`);
    // The goto's Newexten shows the new place with the application the caller is still in.
    const goto = lab.ami.eventsNamed('Newexten', { Channel: caller, Exten: '112' });
    expect(goto.map((e) => get(e, 'AppData'))).toEqual([`PJSIP/${ALICE},30,`]);
    expect(get(await lab.ami.waitEvent('Hangup', { Channel: alice }), 'Cause')).toBe('16');
    expect(lab.ami.eventsNamed('SoftHangupRequest', { Channel: alice })).toHaveLength(0);

    const linkedid = get(lab.ami.eventsNamed('Newchannel', { Channel: caller })[0], 'Linkedid');
    const bob = await lab.ami.waitEvent('Newchannel', { Channel: new RegExp(`^PJSIP/${BOB}-`) });
    expect(get(bob, 'Linkedid')).toBe(linkedid);
    await lab.ami.waitEvent('VarSet', { Channel: get(bob, 'Channel'), Variable: '__SIPREFERREDBYHDR', Value: `<sip:${ALICE}@127.0.0.1>` });
    await lab.ami.waitEvent('VarSet', { Channel: caller, Variable: 'BLINDTRANSFER', Value: '' });

    const cdrs = await cdrsOfCall(linkedid, /^PJSIP\/trunk-/);
    expect(cdrs.map((c) => [get(c, 'Channel'), get(c, 'Destination'), get(c, 'DestinationChannel'), get(c, 'LastData'), get(c, 'Disposition'), get(c, 'UserField')])).toEqual([
      [caller, '112', alice, `PJSIP/${ALICE},30,`, 'ANSWERED', `acct-${ACCOUNT}`],
      [caller, '112', get(bob, 'Channel'), `PJSIP/${BOB},30,`, 'ANSWERED', `acct-${ACCOUNT}`],
    ]);
    // The second record starts answered where the first ended.
    expect(get(cdrs[1], 'StartTime')).toBe(get(cdrs[1], 'AnswerTime'));
    expect(get(cdrs[1], 'StartTime')).toBe(get(cdrs[0], 'EndTime'));
  });

  it("gives the click-to-call customer's trunk channel a dial plan and a CDR of its own; the employee's Dial ends with its own CDR", async () => {
    await lab.ami.action('Originate', {
      Channel: `PJSIP/${ALICE}`,
      Context: `acct-${ACCOUNT}`,
      Exten: '79101230000',
      Priority: '1',
      Async: 'true',
      Timeout: '30000',
      CallerID: '"79101230000" <111>',
      ActionID: 'c2c',
      Variable: ['RC_CALL_ID=c2c', `RC_ACCOUNT=${ACCOUNT}`, `RC_USER=${ALICE}`],
    });
    const alice = get(await lab.ami.waitEvent('OriginateResponse', { ActionID: 'c2c' }), 'Channel');
    await aliceBridged();
    const trunk = get(await lab.ami.waitEvent('DialBegin', { Channel: alice }), 'DestChannel');

    // The phone's own Referred-By when the test gives one (the lab's SIPp phone of 59/60 left the host out).
    expect(await post('/calls/transfer', { user: ALICE, to: '112', referred_by: `<sip:${ALICE}@>` })).toEqual({ status: 200, body: { channel: alice, transferee: trunk } });
    expect(get((await lab.ami.waitEvent('VarSet', { Channel: trunk, Variable: '__SIPREFERREDBYHDR' }))!, 'Value')).toBe(`<sip:${ALICE}@>`);
    const aliceCdr = await lab.ami.waitEvent('Cdr', { Channel: alice });
    expect([get(aliceCdr, 'Destination'), get(aliceCdr, 'DestinationChannel'), get(aliceCdr, 'Disposition')]).toEqual(['79101230000', trunk, 'ANSWERED']);
    await lab.ami.waitEvent('SoftHangupRequest', { Channel: alice });
    const goto = lab.ami.eventsNamed('Newexten', { Channel: trunk, Exten: '112' });
    expect(goto.map((e) => [get(e, 'Application'), get(e, 'AppData')])).toEqual([['AppDial', '(Outgoing Line)']]);

    const linkedid = get(lab.ami.eventsNamed('Newchannel', { Channel: alice })[0], 'Linkedid');
    const bob = get(await lab.ami.waitEvent('DialBegin', { Channel: trunk }), 'DestChannel');
    expect(bob).toMatch(new RegExp(`^PJSIP/${BOB}-`));
    const cdrs = await cdrsOfCall(linkedid, /^PJSIP\/trunk-/);
    const own = cdrs.filter((c) => get(c, 'Channel') === trunk);
    expect(own.map((c) => [get(c, 'Source'), get(c, 'Destination'), get(c, 'DestinationChannel'), get(c, 'UserField'), get(c, 'AccountCode'), get(c, 'Disposition')])).toEqual([
      ['79101230000', '112', bob, '', String(ACCOUNT), 'ANSWERED'],
    ]);
    expect(get(own[0], 'StartTime')).toBe(get(own[0], 'AnswerTime'));
  });
});

describe('POST /calls/transfer', () => {
  it.each([
    ['{"to":"112"}', 400, /user must be/],
    [`{"user":"${ALICE}"}`, 400, /to must be an extension/],
    [`{"user":"${ALICE}","to":"1 2"}`, 400, /to must be an extension/],
    ['{"user":"../x","to":"112"}', 400, /SIP user name/],
    ['{"user":"999999999","to":"112"}', 404, /no endpoint 999999999/],
    [`{"user":"${ALICE}","to":"112"}`, 404, /has no bridged call/],
    [`{"user":"${ALICE}","to":"112","referred_by":"sip:x@y"}`, 400, /referred_by must be/],
    [`{"user":"${ALICE}","to":"112","referred_by":7}`, 400, /referred_by must be/],
  ])('%s → %i', async (body, status, message) => {
    const res = await fetch(`http://127.0.0.1:${lab.sim.controlPort}/calls/transfer`, { method: 'POST', body });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });

  it('answers 409 for a Local channel the phone dialled (it cannot take a dial plan of its own), and leaves the call as it was', async () => {
    // Extension 150 reaches Bob through a Local channel: Alice's phone talks to Local/112@acct-8-…;1.
    await lab.db.query(`INSERT INTO extensions (context, exten, priority, app, appdata) VALUES ($1, '150', 1, 'Dial', $2)`, [`acct-${ACCOUNT}`, `Local/112@acct-${ACCOUNT}`]);
    try {
      const placed = await post('/calls/internal', { from_user: ALICE, to_num: '150' });
      expect(placed.status).toBe(202);
      await aliceBridged();
      const res = await post('/calls/transfer', { user: ALICE, to: '112' });
      expect(res.status).toBe(409);
      expect(res.body.error).toMatch(new RegExp(`^Local/112@acct-${ACCOUNT}-[0-9a-f]{8};1 cannot be transferred$`));
      const hangup = await lab.ami.waitEvent('Hangup', { Channel: placed.body.channel }, 5000);
      expect(get(hangup, 'Cause')).toBe('16');
      expect(lab.ami.eventsNamed('BlindTransfer')).toHaveLength(0);
      expect(lab.ami.eventsNamed('Unhold')).toHaveLength(0);
    } finally {
      await lab.db.query(`DELETE FROM extensions WHERE exten = '150'`);
    }
  });

  it('answers 404 for an extension the context does not have, and leaves the call as it was', async () => {
    // Any digits exist in an account's context (rc-outbound's `_X.`): a transfer context without them.
    await lab.db.query(`UPDATE ps_endpoints SET set_var = 'TRANSFER_CONTEXT=rc-unrouted-none' WHERE id = $1`, [ALICE]);
    try {
      const placed = await post('/calls/inbound', { from: '79161230001', to: DID });
      await aliceBridged();
      const res = await post('/calls/transfer', { user: ALICE, to: '112' });
      expect(res).toEqual({ status: 404, body: { error: 'no extension 112 in rc-unrouted-none' } });
      expect(lab.ami.eventsNamed('BlindTransfer')).toHaveLength(0);
      const hangup = await lab.ami.waitEvent('Hangup', { Channel: placed.body.channel }, 5000);
      expect(get(hangup, 'Cause')).toBe('16');
      expect(lab.ami.eventsNamed('BlindTransfer')).toHaveLength(0);
    } finally {
      await lab.db.query(`UPDATE ps_endpoints SET set_var = NULL WHERE id = $1`, [ALICE]);
    }
  });
});
