import { AmiMessage, eventName, field, varSet } from '../ami/ami-message';
import { AmiSession } from '../ami/ami-session';
import { FakeAmiServer, amiFrame } from '../testing/fake-ami-server';
import { fixtureNames, fixtureOriginates, parseFrames, rxAfterLogin } from '../testing/ami-frames';
import { ADOPTED_SEQ_BASE, CallNormaliser, FORGOTTEN_SEQ, NormaliserOutput, OriginateIntent } from './call-normaliser';
import { EVENT_CONTRACTS, TelephonyDomainEvent, localDateTime } from './domain-events';

const T0 = Date.parse('2026-11-26T13:49:47Z');
const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Every fixture's received bytes, after the login exchange, replayed in random slices by a fake
 * AMI server to the real asterisk-manager client: the events the adapter would really see.
 */
async function eventsThroughClient(names: string[]): Promise<Map<string, AmiMessage[]>> {
  const server = await FakeAmiServer.start();
  const session = new AmiSession({
    node: 'pbx1',
    host: '127.0.0.1',
    port: server.port,
    username: 'crm',
    secret: 'crmsecret',
    actionTimeoutMs: 1000,
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    logger: quiet,
  });
  const received: AmiMessage[] = [];
  session.onEvent((e) => received.push(e));
  session.start();
  await server.waitFor(() => session.isReady);
  await server.waitFor(() => received.length === 1); // FullyBooted after login
  received.length = 0;
  const out = new Map<string, AmiMessage[]>();
  try {
    for (const name of names) {
      const bytes = rxAfterLogin(name);
      const expected = parseFrames(bytes.toString('utf8')).filter((m) => m.event !== undefined).length;
      await server.sendChunked(bytes);
      await server.waitFor(() => received.length === expected);
      out.set(name, received.splice(0));
    }
  } finally {
    await session.stop();
    await server.close();
  }
  return out;
}

/** The intents the adapter would have registered for the fixture's Originate actions. */
function intentsOf(name: string): OriginateIntent[] {
  return fixtureOriginates(name)
    .filter((o) => o.variables.RC_CALL_ID)
    .map((o) => ({
      actionId: o.actionId,
      callId: o.variables.RC_CALL_ID,
      accountId: Number(/^acct-(\d+)$/.exec(o.context)?.[1] ?? 0),
      user: /^PJSIP\/([^/@]+)$/.exec(o.channel)?.[1] ?? /^Local\/(\d+)@/.exec(o.channel)![1],
      num: o.exten,
      src: o.callerIdNum,
      at: T0,
    }));
}

/** The labs' users: the second lab's (fixtures 30–38: account 999999, named endpoints) and the third's. */
const LAB_DIRECTORY: Record<string, { accountId: number; num: string }> = {
  labtest: { accountId: 999999, num: '901' },
  labtest2: { accountId: 999999, num: '902' },
  labtest4: { accountId: 999999, num: '904' },
  // The third lab's (40–45): account 1001.
  '5683032995': { accountId: 1001, num: '901' },
  '8416832583': { accountId: 1001, num: '902' },
  // The fourth lab's (47–49): account 1001.
  '7942271805': { accountId: 1001, num: '901' },
  '6480591657': { accountId: 1001, num: '902' },
  // The sixth lab's (50–51): account 1001.
  '2079939652': { accountId: 1001, num: '901' },
  '9727349586': { accountId: 1001, num: '902' },
  // The ninth lab's (56–58): account 1001.
  '1993720936': { accountId: 1001, num: '901' },
  // The tenth lab's (63–64): account 1001.
  '9602924450': { accountId: 1001, num: '901' },
  '7555374228': { accountId: 1001, num: '902' },
};

function normalise(events: AmiMessage[], intents: OriginateIntent[] = []): NormaliserOutput[] {
  const normaliser = new CallNormaliser({ node: 'pbx1', now: () => T0, directory: (u) => LAB_DIRECTORY[u] });
  for (const intent of intents) normaliser.registerIntent(intent);
  return events.flatMap((e) => normaliser.handle(e));
}

const domain = (outputs: NormaliserOutput[]) => outputs.filter((o): o is TelephonyDomainEvent => 'payload' in o);
const one = <K extends TelephonyDomainEvent['kind']>(outputs: NormaliserOutput[], kind: K) => {
  const found = domain(outputs).filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as Extract<TelephonyDomainEvent, { kind: K }>;
};
const kinds = (outputs: NormaliserOutput[]) => outputs.filter((o) => 'payload' in o || o.kind === 'recording').map((o) => o.kind);

describe('CallNormaliser on the recorded Asterisk transcripts', () => {
  let events: Map<string, AmiMessage[]>;
  const names = fixtureNames();

  beforeAll(async () => {
    events = await eventsThroughClient(names);
  });

  it('gets every event of every fixture through the real client exactly as the bytes say', () => {
    expect(names.length).toBeGreaterThanOrEqual(15);
    for (const name of names) {
      const direct = parseFrames(rxAfterLogin(name).toString('utf8')).filter((m) => m.event !== undefined);
      expect({ name, events: events.get(name) }).toEqual({ name, events: direct });
    }
  });

  it('emits valid contract events with per-call seq from 0 and unique, repeatable event ids', () => {
    for (const name of names) {
      const first = normalise(events.get(name)!, intentsOf(name));
      const again = normalise(events.get(name)!, intentsOf(name));
      expect(again).toEqual(first);
      const byCall = new Map<string, number[]>();
      for (const e of domain(first)) {
        const parsed = EVENT_CONTRACTS[e.kind].event.safeParse(e.payload);
        expect({ name, kind: e.kind, ok: parsed.success }).toEqual({ name, kind: e.kind, ok: true });
        byCall.set(e.payload.call_id, [...(byCall.get(e.payload.call_id) ?? []), e.payload.seq]);
      }
      for (const seqs of byCall.values()) expect([...seqs].sort((a, b) => a - b)).toEqual(seqs.map((_, i) => i));
      const ids = domain(first).map((e) => e.payload.event_id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('01 answered originate: started, answered, ANSWERED cdr, recording, ended 16', () => {
    const out = normalise(events.get('01-originate-success')!, intentsOf('01-originate-success'));
    expect(kinds(out)).toEqual(['started', 'ringing', 'answered', 'cdr', 'recording', 'ended']);
    expect(one(out, 'ringing').payload).toMatchObject({ call_id: 'abc123', seq: 1, party: 'user', channel: 'Local/100@agents-00000001;1', event_id: 'pbx1:1795700987.2:ringing:user' });
    expect(one(out, 'started').payload).toMatchObject({
      event_id: 'pbx1:1795700987.2:started',
      call_id: 'abc123',
      seq: 0,
      node: 'pbx1',
      account_id: 1001,
      direction: 'outgoing',
      src: '100',
      dst: '79101234567',
      user: '100',
      linkedid: '1795700987.2',
    });
    expect(one(out, 'answered').payload.channel).toBe('Local/100@agents-00000001;1');
    expect(one(out, 'cdr').payload).toMatchObject({
      call_id: 'abc123',
      disposition: 'ANSWERED',
      direction: 'outgoing',
      src: '100',
      dst: '79101234567',
      start_time: '2026-11-26 13:49:47',
      answer_time: '2026-11-26 13:49:47',
      end_time: '2026-11-26 13:49:50',
      duration: 3,
      billsec: 3,
      uniqueid: '1795700987.2',
      account_id: 1001,
    });
    expect(one(out, 'ended').payload).toMatchObject({ cause: 16, cause_txt: 'Normal Clearing', reconciled: false });
    const rec = out.find((o) => o.kind === 'recording');
    expect(rec).toMatchObject({
      job: { callKey: '1795700987.2', fileName: '1795700987.2.wav', channel: 'Local/100@agents-00000001;1', user: '100', envelope: { account_id: 1001, call_id: 'abc123' } },
    });
  });

  it('gives a stored recording the next seq of its call when it is published, after the events before it', () => {
    const normaliser = new CallNormaliser({ node: 'pbx1', now: () => T0 });
    const out = events.get('20-pjsip-originate')!.flatMap((e) => normaliser.handle(e));
    const lastSeq = Math.max(...domain(out).map((e) => e.payload.seq));
    expect(normaliser.takeSeq('1795704110.0')).toBe(lastSeq + 1);
    expect(normaliser.takeSeq('1795704110.0')).toBe(lastSeq + 2);
    expect(normaliser.takeSeq('no-such-call')).toBeUndefined();
  });

  it('without the intent, still knows the call from RC_CALL_ID and the account from the dial plan', () => {
    const out = normalise(events.get('01-originate-success')!);
    expect(one(out, 'started').payload).toMatchObject({ call_id: 'abc123', direction: 'outgoing' });
    expect(one(out, 'cdr').payload).toMatchObject({ account_id: 1001, dst: '79101234567', src: '100' });
  });

  it.each([
    ['02-originate-B-busy-000', '00079101234567'],
    ['03-originate-B-congestion-999', '99979101234567'],
  ])('%s: B busy/congested inline is what Asterisk reported — an ANSWERED call', (name, dst) => {
    const out = normalise(events.get(name)!, intentsOf(name));
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'ANSWERED', dst, billsec: 3 });
    expect(one(out, 'ended').payload.cause).toBe(0);
  });

  it('04 no such channel type: a call without channels still gets started, ended and a FAILED cdr', () => {
    const out = normalise(events.get('04-originate-fail-no-such-channel-type')!, intentsOf('04-originate-fail-no-such-channel-type'));
    expect(kinds(out)).toEqual(['started', 'ended', 'cdr']);
    expect(one(out, 'started').payload).toMatchObject({ call_id: 't-nochan', linkedid: '', direction: 'outgoing', dst: '79101234567', account_id: 1001 });
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'FAILED', duration: 0, billsec: 0, answer_time: null });
    // No intent (another process's originate): nothing is invented.
    expect(kinds(normalise(events.get('04-originate-fail-no-such-channel-type')!))).toEqual([]);
  });

  it('05 unknown context: FAILED cdr, never answered', () => {
    const out = normalise(events.get('05-originate-fail-local-no-such-context')!, intentsOf('05-originate-fail-local-no-such-context'));
    expect(kinds(out)).toEqual(['started', 'ended', 'cdr']);
    expect(one(out, 'cdr').payload.disposition).toBe('FAILED');
  });

  it('06 agent busy: BUSY cdr and cause 17, never answered', () => {
    const out = normalise(events.get('06-originate-agent-busy')!, intentsOf('06-originate-agent-busy'));
    expect(kinds(out)).toEqual(['started', 'ringing', 'cdr', 'ended']);
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'BUSY', dst: '79101234567', duration: 0 });
    expect(one(out, 'ended').payload).toMatchObject({ cause: 17, cause_txt: 'User busy' });
  });

  it('07 agent does not answer: NO ANSWER cdr after the 5 s originate timeout, cause 19', () => {
    const out = normalise(events.get('07-originate-agent-no-answer-timeout')!, intentsOf('07-originate-agent-no-answer-timeout'));
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'NO ANSWER', duration: 5, billsec: 0 });
    expect(one(out, 'ended').payload.cause).toBe(19);
    expect(domain(out).some((e) => e.kind === 'answered')).toBe(false);
  });

  it('08 Dial() success: bridged once, ANSWERED cdr of account 1002', () => {
    const out = normalise(events.get('08-originate-dial-acct-1002-success')!, intentsOf('08-originate-dial-acct-1002-success'));
    expect(kinds(out)).toEqual(['started', 'ringing', 'answered', 'ringing', 'bridged', 'cdr', 'recording', 'ended']);
    expect(domain(out).filter((e) => e.kind === 'ringing').map((e) => e.payload)).toMatchObject([{ party: 'user' }, { party: 'customer', channel: 'Local/79101234567@pstn-sim-00000008;1' }]);
    expect(one(out, 'bridged').payload.bridge_id).toBe('7876a038-7889-4d96-be1a-aa03a920a7e4');
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'ANSWERED', account_id: 1002, billsec: 3 });
  });

  it('09 Dial() to a busy B: the BUSY cdr (the first of the channel), not the later ANSWERED fork', () => {
    const out = normalise(events.get('09-originate-dial-acct-1002-B-busy')!, intentsOf('09-originate-dial-acct-1002-B-busy'));
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'BUSY', dst: '00079101234567', account_id: 1002 });
    expect(domain(out).some((e) => e.kind === 'bridged')).toBe(false);
  });

  it('10 inbound call to an agent: incoming, from the caller to the extension that rang, account from the userfield', () => {
    const out = normalise(events.get('10-inbound-dial-agent')!);
    const started = one(out, 'started').payload;
    expect(started).toMatchObject({ call_id: 'pbx1:1795701031.22', direction: 'incoming', src: '79161234567' });
    expect(one(out, 'cdr').payload).toMatchObject({
      direction: 'incoming',
      src: '79161234567',
      dst: '100',
      account_id: 1001,
      disposition: 'ANSWERED',
      duration: 8,
    });
    expect(one(out, 'bridged').payload.account_id).toBe(1001);
    expect(out.find((o) => o.kind === 'recording')).toMatchObject({ job: { fileName: '1795701031.22.wav', envelope: { account_id: 1001 } } });
  });

  it('10/11 inbound: the simulated caller is not rung, the agent is (once, even through a queue)', () => {
    for (const name of ['10-inbound-dial-agent', '11-inbound-queue']) {
      expect(one(normalise(events.get(name)!), 'ringing').payload).toMatchObject({ party: 'user', channel: expect.stringMatching(/^Local\/100@agents-/) });
    }
  });

  it('11 inbound through a queue: incoming to the agent who answered, no recording', () => {
    const out = normalise(events.get('11-inbound-queue')!);
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'incoming', src: '79161234567', dst: '100', account_id: 1001, billsec: 8 });
    expect(out.some((o) => o.kind === 'recording')).toBe(false);
    one(out, 'bridged');
  });

  it('20 originate to a real PJSIP phone: the user from the channel, answered when the phone picks up, bridged, cdr 4 s / 3 s billed', () => {
    const out = normalise(events.get('20-pjsip-originate')!, intentsOf('20-pjsip-originate'));
    expect(kinds(out)).toEqual(['started', 'ringing', 'answered', 'ringing', 'bridged', 'recording', 'ended', 'cdr']);
    expect(one(out, 'started').payload).toMatchObject({ call_id: 't-pjsip', user: '1679728441', src: '1679728441', dst: '79101234567', account_id: 1002 });
    expect(one(out, 'answered').payload.channel).toBe('PJSIP/1679728441-00000000');
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'ANSWERED', duration: 4, billsec: 3, start_time: '2026-11-26 14:41:50', answer_time: '2026-11-26 14:41:51' });
    // Without intent, the PJSIP channel names the user.
    expect(one(normalise(events.get('20-pjsip-originate')!), 'started').payload.user).toBe('1679728441');
  });
});


describe('CallNormaliser on calls to a short number no colleague has (fixtures 56–57, real Asterisk, 2026-12-04)', () => {
  let events: Map<string, AmiMessage[]>;
  const names = ['56-originate-three-digit-not-extension', '57-phone-dials-three-digit-not-extension'];

  beforeAll(async () => {
    events = await eventsThroughClient(names);
  });

  // rc-outbound dialled PJSIP/777@trunk: the call went out, whatever the number's length says.
  it.each(names)('%s: outgoing from 901 to 777 once dialled, in its ringing of the customer and its record', (name) => {
    const out = domain(normalise(events.get(name)!, intentsOf(name)));
    expect(one(out, 'started').payload).toMatchObject({ src: '901', dst: '777', account_id: 1001 });
    const customer = out.filter((e) => e.kind === 'ringing').map((e) => e.payload).find((p) => (p as { party: string }).party === 'customer');
    expect(customer).toMatchObject({ direction: 'outgoing', channel: expect.stringMatching(/^PJSIP\/trunk-/), user: null });
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'outgoing', src: '901', dst: '777', disposition: 'ANSWERED', account_id: 1001, user: '1993720936' });
  });
});

describe('CallNormaliser on real Asterisk with the shipped configuration (fixtures 32–38)', () => {
  let events: Map<string, AmiMessage[]>;
  const names = ['32-originate-outbound-answered', '33-originate-outbound-busy', '34-originate-outbound-no-answer', '35-originate-outbound-trunk-down', '36-internal-call', '37-inbound-from-trunk', '38-originate-user-not-registered'];

  beforeAll(async () => {
    events = await eventsThroughClient(names);
  });

  const run = (name: string) => normalise(events.get(name)!, intentsOf(name));

  it('32 answered through the trunk: outgoing from the extension to the number, one ANSWERED cdr, the recording of leg A', () => {
    const out = run('32-originate-outbound-answered');
    expect(one(out, 'started').payload).toMatchObject({ direction: 'outgoing', src: '901', dst: '79101234567', user: 'labtest', account_id: 999999 });
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'ANSWERED', duration: 22, billsec: 21, uniqueid: '1796232102.12', account_id: 999999 });
    one(out, 'bridged');
    expect(out.filter((o) => o.kind === 'recording')).toEqual([expect.objectContaining({ job: expect.objectContaining({ fileName: '1796232102.12.wav', user: 'labtest' }) })]);
  });

  it.each([
    ['33-originate-outbound-busy', 'BUSY'],
    ['34-originate-outbound-no-answer', 'NO ANSWER'],
    // Timer B on the trunk: the CDR says NO ANSWER, DIALSTATUS says CHANUNAVAIL — nobody was reached.
    ['35-originate-outbound-trunk-down', 'FAILED'],
  ])('%s: one %s record although Asterisk sends two Cdr events (the second from Hangup(), ANSWERED, 0 s)', (name, disposition) => {
    const cdrs = events.get(name)!.filter((e) => e.event === 'Cdr');
    expect(cdrs.map((c) => c.disposition)).toEqual([expect.any(String), 'ANSWERED']);
    expect(cdrs[0].uniqueid).toBe(cdrs[1].uniqueid);
    const out = run(name);
    expect(one(out, 'cdr').payload).toMatchObject({ disposition, direction: 'outgoing', user: 'labtest', account_id: 999999 });
    one(out, 'ended');
  });

  it.each([
    ['32-originate-outbound-answered', ['user', 'customer']],
    // B busy or the trunk down: the number was still dialled.
    ['33-originate-outbound-busy', ['user', 'customer']],
    ['34-originate-outbound-no-answer', ['user', 'customer']],
    ['35-originate-outbound-trunk-down', ['user', 'customer']],
    ['36-internal-call', ['user']],
    ['37-inbound-from-trunk', []],
    ['38-originate-user-not-registered', []],
  ])('%s rings %j, each once, after started and before the call ends', (name, parties) => {
    const out = domain(run(name));
    const ringing = out.filter((e) => e.kind === 'ringing');
    expect(ringing.map((e) => (e.payload as { party: string }).party)).toEqual(parties);
    for (const e of ringing) {
      expect(e.payload.seq).toBeGreaterThan(out.find((s) => s.kind === 'started')!.payload.seq);
      expect(e.payload.seq).toBeLessThan(out.find((s) => s.kind === 'ended')!.payload.seq);
    }
    if (parties[0] === 'user' && name !== '36-internal-call') expect(ringing[0].payload).toMatchObject({ channel: expect.stringMatching(/^PJSIP\/labtest-/) });
    if (parties[1]) expect(ringing[1].payload).toMatchObject({ channel: expect.stringMatching(/^PJSIP\/trunk-/) });
  });

  it('32 with a short number no colleague has: the dial plan sent it out through the trunk, so it is outgoing once dialled', () => {
    // The same bytes with the number 777 (what real Asterisk does with any number its account's
    // switch has no row for): the length of the number says "extension", the route says otherwise.
    const short = (text: string) => JSON.parse(text.replaceAll('79101234567', '777'));
    const out = domain(normalise(short(JSON.stringify(events.get('32-originate-outbound-answered'))), short(JSON.stringify(intentsOf('32-originate-outbound-answered')))));
    expect(one(out, 'started').payload).toMatchObject({ direction: 'internal', dst: '777' }); // a guess: nothing was dialled yet
    const ringing = out.filter((e) => e.kind === 'ringing').map((e) => e.payload);
    expect(ringing).toMatchObject([{ party: 'user', direction: 'internal' }, { party: 'customer', direction: 'outgoing', channel: expect.stringMatching(/^PJSIP\/trunk-/) }]);
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'outgoing', dst: '777', disposition: 'ANSWERED' });
  });

  it("knows the direction from the start when it knows the account's extensions: 777 is none of them, 902 is", () => {
    const short = (text: string) => JSON.parse(text.replaceAll('79101234567', '777'));
    const extensions = (account: number, num: string) => (account === 999999 ? ['901', '902'].includes(num) : undefined);
    const run = (name: string, rewrite = (t: string) => JSON.parse(t)) => {
      const normaliser = new CallNormaliser({ node: 'pbx1', now: () => T0, directory: (u) => LAB_DIRECTORY[u], isExtension: extensions });
      for (const intent of rewrite(JSON.stringify(intentsOf(name)))) normaliser.registerIntent(intent);
      return domain((rewrite(JSON.stringify(events.get(name))) as AmiMessage[]).flatMap((e) => normaliser.handle(e)));
    };
    const out = run('32-originate-outbound-answered', short);
    expect([one(out, 'started').payload.direction, ...out.filter((e) => e.kind === 'ringing').map((e) => (e.payload as { direction?: string }).direction)]).toEqual([
      'outgoing',
      'outgoing',
      'outgoing',
    ]);
    expect(one(run('36-internal-call'), 'started').payload.direction).toBe('internal');
  });

  it("36 internal call: the Dial to the colleague's phone keeps it internal from start to record", () => {
    const out = domain(run('36-internal-call'));
    expect(out.filter((e) => e.kind === 'ringing').map((e) => e.payload)).toMatchObject([{ party: 'user', direction: 'internal' }]);
    expect(one(out, 'cdr').payload.direction).toBe('internal');
  });

  it('names whose phone rings: the employee an originate rings first, the colleague a phone dialled, nobody for the trunk', () => {
    const users = (name: string) => domain(run(name)).filter((e) => e.kind === 'ringing').map((e) => (e.payload as { user?: string | null }).user);
    expect(users('32-originate-outbound-answered')).toEqual(['labtest', null]);
    expect(users('36-internal-call')).toEqual(['labtest2']);
  });

  it('36 internal call: a phone dialled another extension of its account; one ANSWERED record, no recording', () => {
    const out = run('36-internal-call');
    expect(one(out, 'started').payload).toMatchObject({ direction: 'internal', src: '901', dst: '902', user: 'labtest', account_id: 999999 });
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'ANSWERED', duration: 6, billsec: 5, account_id: 999999 });
    expect(out.some((o) => o.kind === 'recording')).toBe(false);
  });

  it('37 inbound to a number nobody owns: incoming, FAILED, and no account to file it under', () => {
    const out = run('37-inbound-from-trunk');
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'incoming', src: '74950001122', disposition: 'FAILED', account_id: null });
  });

  it('38 originate to a user who never registered: Asterisk queues it, then fails it without a channel — a FAILED record', () => {
    const out = run('38-originate-user-not-registered');
    expect(kinds(out)).toEqual(['started', 'ended', 'cdr']);
    expect(one(out, 'cdr').payload).toMatchObject({ disposition: 'FAILED', direction: 'outgoing', dst: '79101234567', account_id: 999999 });
  });
});

describe('CallNormaliser on the adapter\'s own rows: voicemail, inbound numbers (fixtures 40–45)', () => {
  let events: Map<string, AmiMessage[]>;
  const names = [
    '40-voicemail-no-answer',
    '41-voicemail-busy',
    '42-inbound-did-answered',
    '43-inbound-did-voicemail',
    '45-originate-registered-qualified',
    '46-inbound-did-voicemail-unregistered',
  ];

  beforeAll(async () => {
    events = await eventsThroughClient(names);
  });

  it('40/41 voicemail after no answer / busy: the first CDR (the Dial\'s) decides, not the mailbox\'s ANSWERED one', () => {
    expect(one(normalise(events.get('40-voicemail-no-answer')!), 'cdr').payload).toMatchObject({ direction: 'internal', src: '901', dst: '902', disposition: 'NO ANSWER', account_id: 1001 });
    expect(one(normalise(events.get('41-voicemail-busy')!), 'cdr').payload).toMatchObject({ direction: 'internal', disposition: 'BUSY' });
  });

  it('40/41/43 voicemail: the record ends when the caller hung up, not when the Dial did (its duration covers the message)', () => {
    const times = (name: string) => {
      const out = normalise(events.get(name)!);
      const { start_time, answer_time, end_time, duration, billsec } = one(out, 'cdr').payload;
      return { start_time, answer_time, end_time, duration, billsec };
    };
    // Dial CDR 22:30:11–22:30:41 (30 s), the mailbox's 22:30:41–22:31:02 (20 s): the caller was on 50.3 s (+2.65 → +52.94).
    expect(times('40-voicemail-no-answer')).toEqual({ start_time: '2026-12-02 22:30:11', answer_time: null, end_time: '2026-12-02 22:31:02', duration: 50, billsec: 0 });
    expect(times('41-voicemail-busy')).toEqual({ start_time: '2026-12-02 22:31:59', answer_time: null, end_time: '2026-12-02 22:32:20', duration: 20, billsec: 0 });
    expect(times('43-inbound-did-voicemail')).toEqual({ start_time: '2026-12-02 22:34:38', answer_time: null, end_time: '2026-12-02 22:35:31', duration: 52, billsec: 0 });
    // Calls without voicemail keep their one CDR as it is.
    expect(times('42-inbound-did-answered')).toMatchObject({ duration: 16, billsec: 15 });
  });

  it('voicemail: a held record goes out as it is when the mailbox\'s CDR never comes (the sweep after the call ended)', () => {
    let now = T0;
    const n = new CallNormaliser({ node: 'pbx1', now: () => now, directory: (u) => LAB_DIRECTORY[u] });
    const all = events.get('40-voicemail-no-answer')!;
    const lastCdr = all.findLastIndex((e) => eventName(e) === 'cdr');
    const out = all.filter((_, i) => i !== lastCdr).flatMap((e) => n.handle(e));
    expect(kinds(out)).not.toContain('cdr');
    expect(kinds(out)).toContain('ended');
    now += 5_000;
    expect(n.sweep()).toEqual([]);
    now += 6_000;
    const flushed = n.sweep();
    expect(one(flushed, 'cdr').payload).toMatchObject({ disposition: 'NO ANSWER', end_time: '2026-12-02 22:30:41', duration: 30 });
    expect(n.sweep()).toEqual([]);
    // The late mailbox CDR changes nothing any more.
    expect(n.handle(all[lastCdr])).toEqual([]);
  });

  it('42 a call to an inbound number: incoming, filed under the account by the route, to the extension that rang, recorded', () => {
    const out = normalise(events.get('42-inbound-did-answered')!);
    expect(one(out, 'started').payload).toMatchObject({ direction: 'incoming', src: '74950001122', account_id: 1001 });
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'incoming', src: '74950001122', dst: '901', user: '5683032995', disposition: 'ANSWERED', account_id: 1001 });
    expect(out.filter((o) => o.kind === 'recording')).toHaveLength(1);
  });

  it('42/43 an inbound number rings the user it routes to; an inbound call from a simulated caller rings only the agent', () => {
    for (const name of ['42-inbound-did-answered', '43-inbound-did-voicemail']) {
      expect(one(normalise(events.get(name)!), 'ringing').payload).toMatchObject({ party: 'user', channel: expect.stringMatching(/^PJSIP\/(5683032995|8416832583)-/), account_id: 1001 });
    }
    // The called number is the extension that rings from then on, as the record says (the started event had the number dialled).
    for (const [name, ext] of [['42-inbound-did-answered', '901'], ['43-inbound-did-voicemail', '902']]) {
      const out = normalise(events.get(name)!);
      expect(one(out, 'started').payload.dst).not.toBe(ext);
      expect(one(out, 'ringing').payload.dst).toBe(ext);
      expect(one(out, 'cdr').payload.dst).toBe(ext);
    }
  });

  it('43 an inbound number to voicemail: incoming, NO ANSWER for the user, recorded', () => {
    const out = normalise(events.get('43-inbound-did-voicemail')!);
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'incoming', dst: '902', disposition: 'NO ANSWER', account_id: 1001 });
  });

  it("45 an originate the adapter did not send: the dialled number, never the originated channel's `s`", () => {
    const out = normalise(events.get('45-originate-registered-qualified')!);
    expect(one(out, 'cdr').payload.dst).not.toBe('s');
    expect(one(out, 'cdr').payload.dst).toMatch(/^\d+$/);
  });

  it("46 an inbound number to a user whose phone is not registered: the mailbox answers; incoming, the user's extension, NO ANSWER, recorded under the user, at once", () => {
    // Real Asterisk: Dial(PJSIP/<user>) creates no channel (no DialBegin), DIALSTATUS CHANUNAVAIL, VoiceMail()
    // answers, and ONE Cdr (LastApplication Dial, ANSWERED, no DestinationChannel, Destination 404) covers the call.
    const out = normalise(events.get('46-inbound-did-voicemail-unregistered')!);
    expect(one(out, 'cdr').payload).toMatchObject({
      direction: 'incoming',
      src: '79101234567',
      dst: '404',
      user: '4468874432',
      disposition: 'NO ANSWER',
      account_id: 2001,
      duration: 12,
      end_time: '2026-12-03 12:26:22',
    });
    const recordings = out.filter((o) => o.kind === 'recording');
    expect(recordings.map((r) => (r.kind === 'recording' ? [r.job.user, r.job.fileName] : []))).toEqual([['4468874432', '1796300770.23.wav']]);
    expect(kinds(out)).not.toContain('ringing'); // nothing rang
  });
});

describe('CallNormaliser on an originate to a colleague\'s extension (fixtures 47–49)', () => {
  let events: Map<string, AmiMessage[]>;
  const names = ['47-originate-to-extension', '48-originate-to-extension-no-answer', '49-originate-to-extension-voicemail'];
  const A = '7942271805';
  const B = '6480591657';

  beforeAll(async () => {
    events = await eventsThroughClient(names);
  });

  /** The adapter's own intent (its Originate was on another AMI session than the recorder's): from the events. */
  const intentOf = (name: string): OriginateIntent => {
    const all = events.get(name)!;
    const response = all.find((e) => eventName(e) === 'originateresponse')!;
    const callId = all.map((e) => (eventName(e) === 'varset' ? varSet(e) : undefined)).find((v) => v?.name === 'RC_CALL_ID')!.value;
    return { actionId: field(response, 'actionid'), callId, accountId: 1001, user: A, num: '902', src: '901', at: T0 };
  };

  it('47 answered: internal from the caller\'s extension to the colleague\'s, the employee rung, then the colleague as the customer; one ANSWERED record', () => {
    const out = normalise(events.get('47-originate-to-extension')!, [intentOf('47-originate-to-extension')]);
    expect(one(out, 'started').payload).toMatchObject({ direction: 'internal', src: '901', dst: '902', user: A, account_id: 1001 });
    const rung = domain(out).filter((o) => o.kind === 'ringing').map((o) => o.payload);
    expect(rung).toEqual([
      expect.objectContaining({ party: 'user', channel: expect.stringMatching(new RegExp(`^PJSIP/${A}-`)) }),
      expect.objectContaining({ party: 'customer', channel: expect.stringMatching(new RegExp(`^PJSIP/${B}-`)) }),
    ]);
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'internal', src: '901', dst: '902', user: A, disposition: 'ANSWERED', duration: 11, billsec: 10, account_id: 1001 });
    // The extension's row dials the phone directly: rc-outbound (and its MixMonitor) never runs.
    expect(kinds(out)).not.toContain('recording');
  });

  it('47 without the intent (an adapter that restarted): the record is still internal, by the number OriginateResponse names', () => {
    expect(one(normalise(events.get('47-originate-to-extension')!), 'cdr').payload).toMatchObject({ direction: 'internal', dst: '902', disposition: 'ANSWERED' });
  });

  it('48/49 unanswered, voicemail on: one NO ANSWER record (not the mailbox\'s ANSWERED one, whose LastApplication real Asterisk garbles) that lasts until the caller left', () => {
    const times = (name: string) => {
      const out = normalise(events.get(name)!, [intentOf(name)]);
      expect(domain(out).filter((o) => o.kind === 'ringing').map((o) => o.payload.party)).toEqual(['user', 'customer']);
      const { direction, dst, disposition, start_time, end_time, duration } = one(out, 'cdr').payload;
      return { direction, dst, disposition, start_time, end_time, duration };
    };
    // (The CDR's AnswerTime is the employee's: an originate's leg A answers first.)
    const unanswered = { direction: 'internal', dst: '902', disposition: 'NO ANSWER' };
    // No prompts installed: VoiceMail() fails at once (VMSTATUS FAILED) and the caller is hung up on.
    expect(times('48-originate-to-extension-no-answer')).toMatchObject(unanswered);
    // With prompts, a message is left: the caller was on from 17:45:48 to the mailbox's end, 17:46:35.
    expect(times('49-originate-to-extension-voicemail')).toEqual({ ...unanswered, start_time: '2026-12-03 17:45:48', end_time: '2026-12-03 17:46:35', duration: 46 });
  });
});

describe('CallNormaliser on an originate to a colleague\'s extension that shows the colleague the caller (fixtures 50–51)', () => {
  let events: Map<string, AmiMessage[]>;
  const names = ['50-originate-to-extension-caller-shown', '51-originate-to-extension-caller-shown-no-answer'];
  const A = '2079939652';
  const B = '9727349586';

  beforeAll(async () => {
    events = await eventsThroughClient(names);
  });

  it('50 answered: the Dial with f() (B\'s connected line is the caller) is listed like 47', () => {
    const out = normalise(events.get(names[0])!, intentsOf(names[0]));
    expect(one(out, 'started').payload).toMatchObject({ direction: 'internal', src: '901', dst: '902', user: A, account_id: 1001 });
    expect(domain(out).filter((o) => o.kind === 'ringing').map((o) => [o.payload.party, o.payload.channel.split('-')[0]])).toEqual([
      ['user', `PJSIP/${A}`],
      ['customer', `PJSIP/${B}`],
    ]);
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'internal', src: '901', dst: '902', user: A, disposition: 'ANSWERED', account_id: 1001 });
  });

  it('51 unanswered: one NO ANSWER record; the second Cdr, whose LastApplication is freed memory, changes nothing', () => {
    const out = normalise(events.get(names[1])!, intentsOf(names[1]));
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'internal', dst: '902', disposition: 'NO ANSWER', duration: 31 });
    expect(kinds(out)).toEqual(expect.arrayContaining(['started', 'ringing', 'cdr', 'ended']));
  });
});

describe('CallNormaliser when the user a call rings is deleted meanwhile (fixtures 52–53, rc-outbound\'s fall-through guard)', () => {
  let events: Map<string, AmiMessage[]>;
  const names = ['52-extension-user-deleted-while-ringing', '53-originate-to-extension-user-deleted-while-ringing'];

  beforeAll(async () => {
    events = await eventsThroughClient(names);
  });

  // The rung user is gone from the directory by the time the records come (deleted 4 s into the ringing).
  it('52 phone-dialled: one internal BUSY record; the call never went out (no recording), the guard\'s Cdr changes nothing', () => {
    const out = normalise(events.get(names[0])!);
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'internal', src: '901', dst: '902', disposition: 'BUSY', account_id: 1001 });
    expect(kinds(out)).not.toContain('recording');
  });

  it('53 click-to-call: one internal BUSY record, as for a colleague who declined', () => {
    const out = normalise(events.get(names[1])!, intentsOf(names[1]));
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'internal', src: '901', dst: '902', disposition: 'BUSY', user: '2079939652', account_id: 1001 });
    expect(kinds(out)).not.toContain('recording');
  });
});

describe("CallNormaliser for a call from the PSTN whose number's route leads to an extension without rows (fixture 54)", () => {
  const name = '54-inbound-number-extension-without-rows';
  let events: Map<string, AmiMessage[]>;

  beforeAll(async () => {
    events = await eventsThroughClient([name]);
  });

  it('one incoming FAILED record to the number dialled, under the account of its route', () => {
    const out = normalise(events.get(name)!);
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'incoming', src: '79161234567', dst: '74951230306', disposition: 'FAILED', duration: 0, account_id: 3003 });
  });
});

describe('CallNormaliser state', () => {
  let now = T0;
  const ev = (headers: Record<string, string>): AmiMessage => parseFrames(amiFrame(headers))[0];
  const chan = (event: string, uniqueid: string, extra: Record<string, string> = {}) =>
    ev({
      Event: event,
      Channel: `PJSIP/1679728441-0000000${uniqueid.slice(-1)}`,
      ChannelStateDesc: 'Up',
      CallerIDNum: '401',
      CallerIDName: 'Ivan',
      ConnectedLineNum: '79101234567',
      ConnectedLineName: '<unknown>',
      Context: 'acct-1001',
      Exten: '79101234567',
      Uniqueid: uniqueid,
      Linkedid: '1700000000.1',
      ...extra,
    });
  const make = () => new CallNormaliser({ node: 'pbx1', now: () => now, retainMs: 1000 });

  beforeEach(() => (now = T0));

  it('ends the calls held open elsewhere only when it knows nothing of them (by linkedid, call id or originate intent)', () => {
    const n = make();
    n.handle(chan('Newchannel', '1700000000.1', { ChannelStateDesc: 'Ring' }));
    n.handle(chan('Newexten', '1700000000.1', { Application: 'Dial' }));
    n.registerIntent({ actionId: 'a-1', callId: 'placed-just-now', accountId: 1001, user: '1679728441', num: '79101234567', src: '401', at: T0 });
    const open = [
      { call_id: 'pbx1:1700000000.1', account_id: 1001, linkedid: '1700000000.1' },
      { call_id: 'placed-just-now', account_id: 1001, linkedid: null },
      { call_id: 'pbx1:1699999999.7', account_id: 1001, linkedid: '1699999999.7' },
      { call_id: 'lost-originate', account_id: null, linkedid: null },
    ];
    const out = domain(n.endForgotten(open));
    expect(out.map((o) => [o.kind, o.payload.call_id, o.payload.event_id])).toEqual([
      ['ended', 'pbx1:1699999999.7', 'pbx1:1699999999.7:ended:forgotten'],
      ['ended', 'lost-originate', 'pbx1:lost-originate:ended:forgotten'],
    ]);
    expect(out[0].payload).toMatchObject({ seq: FORGOTTEN_SEQ, reconciled: true, account_id: 1001, cause: 0, occurred_at: new Date(T0).toISOString() });
    expect(out[1].payload.account_id).toBeNull();
  });

  it('ends a forgotten call when its recording was last written, and stores that recording (fixture 58: it ended while no adapter listened)', () => {
    const n = make();
    const open = [
      { call_id: '3af8deb4-7056-45c2-a17d-6c8711eab63b', account_id: 1001, linkedid: '1796389828.6' },
      { call_id: 'pbx1:1796389900.9', account_id: 1001, linkedid: '1796389900.9' },
    ];
    const lastWrite = T0 - 8_000;
    const left = new Map([['3af8deb4-7056-45c2-a17d-6c8711eab63b', { fileName: '1796389828.6.wav', startedAtMs: T0 - 66_000, lastWriteMs: lastWrite }]]);
    const out = n.endForgotten(open, left);
    expect(domain(out).map((o) => [o.payload.call_id, o.payload.occurred_at])).toEqual([
      ['3af8deb4-7056-45c2-a17d-6c8711eab63b', new Date(lastWrite).toISOString()],
      ['pbx1:1796389900.9', new Date(T0).toISOString()], // no recording: it ends now
    ]);
    const jobs = out.filter((o) => o.kind === 'recording').map((o) => (o as Extract<NormaliserOutput, { kind: 'recording' }>).job);
    expect(jobs).toEqual([
      expect.objectContaining({
        fileName: '1796389828.6.wav',
        user: null,
        envelope: expect.objectContaining({
          call_id: '3af8deb4-7056-45c2-a17d-6c8711eab63b',
          seq: FORGOTTEN_SEQ + 1,
          account_id: 1001,
          event_id: 'pbx1:1796389828.6:recording.finished:1796389828.6.wav',
        }),
      }),
    ]);
    // A clock ahead of this one (a shared folder's server): never an end in the future.
    const ahead = new Map([['pbx1:1796389900.9', { fileName: '1796389900.9.wav', startedAtMs: T0, lastWriteMs: T0 + 60_000 }]]);
    expect(domain(make().endForgotten([open[1]], ahead))[0].payload.occurred_at).toBe(new Date(T0).toISOString());
    expect(jobs[0].continuation).toBeUndefined();
    // A transferred call's later parts, found beside it, are stored with it as one recording.
    const parts = new Map([['pbx1:1796389900.9', { fileName: '1796389900.9.wav', continuation: ['1796389900.9-2.wav'], startedAtMs: T0 - 9_000, lastWriteMs: T0 - 1_000 }]]);
    expect(make().endForgotten([open[1]], parts).find((o) => o.kind === 'recording')).toMatchObject({ job: { fileName: '1796389900.9.wav', continuation: ['1796389900.9-2.wav'] } });
  });

  it('ends a call whose channels vanished while disconnected with reconciled=true, and spares channels born during the listing', () => {
    const n = make();
    n.handle(chan('Newchannel', '1700000000.1', { ChannelStateDesc: 'Ring' }));
    n.handle(chan('VarSet', '1700000000.1', { Variable: 'RC_CALL_ID', Value: 'c-1' }));
    expect(kinds(n.handle(chan('Newstate', '1700000000.1')))).toEqual(['started', 'answered']);

    n.beginResync('rs-1');
    // A new call appears while the list is being sent: it was not in the snapshot, and it is not gone.
    n.handle(ev({ Event: 'Newchannel', Channel: 'PJSIP/1679728442-00000009', Uniqueid: '1700000001.9', Linkedid: '1700000001.9', Context: 'acct-1001', Exten: '402', ChannelStateDesc: 'Ring' }));
    n.handle(ev({ Event: 'CoreShowChannel', ActionID: 'other', Channel: 'x', Uniqueid: '1700000000.1', Linkedid: '1700000000.1' }));
    const out = n.handle(ev({ Event: 'CoreShowChannelsComplete', ActionID: 'rs-1', EventList: 'Complete', ListItems: '0' }));
    expect(kinds(out)).toEqual(['ended']);
    expect(one(out, 'ended').payload).toMatchObject({ call_id: 'c-1', reconciled: true, seq: 2, event_id: 'pbx1:1700000000.1:ended' });
    expect(out.at(-1)).toEqual({ kind: 'resynced', adopted: [] });
    expect(n.liveChannels().map((c) => c.name)).toEqual(['PJSIP/1679728442-00000009']);
  });

  it('adopts calls it never saw (after a restart) and starts their seq above anything sent before', () => {
    const n = make();
    n.beginResync('rs-2');
    const item = (uniqueid: string, channel: string, state: string) =>
      ev({ Event: 'CoreShowChannel', ActionID: 'rs-2', Channel: channel, Uniqueid: uniqueid, Linkedid: '1700000000.5', Context: 'acct-1002', Exten: '79101234567', ChannelStateDesc: state, CallerIDNum: '401', Duration: '00:01:05' });
    n.handle(item('1700000000.5', 'PJSIP/1679728441-00000005', 'Up'));
    n.handle(item('1700000000.6', 'Local/79101234567@pstn-sim-00000001;1', 'Up'));
    const done = n.handle(ev({ Event: 'CoreShowChannelsComplete', ActionID: 'rs-2', EventList: 'Complete', ListItems: '2' }));
    expect(done).toEqual([
      { kind: 'resynced', adopted: [{ linkedid: '1700000000.5', channel: 'PJSIP/1679728441-00000005', channels: ['PJSIP/1679728441-00000005', 'Local/79101234567@pstn-sim-00000001;1'] }] },
    ]);

    n.applyAdoptedVars('1700000000.5', { RC_CALL_ID: 'c-5', RC_ACCOUNT: '1002', RC_USER: '1679728441' });
    const out = n.completeAdoption('1700000000.5');
    expect(kinds(out)).toEqual(['started', 'answered']);
    expect(one(out, 'started').payload).toMatchObject({ call_id: 'c-5', seq: ADOPTED_SEQ_BASE, direction: 'outgoing', account_id: 1002, user: '1679728441', dst: '79101234567' });
    expect(n.liveChannels().find((c) => c.name.startsWith('PJSIP'))).toMatchObject({ accounts: [1002], createdAt: T0 - 65_000 });

    const ended = n.handle(chan('Hangup', '1700000000.5', { Linkedid: '1700000000.5', Cause: '16', 'Cause-txt': 'Normal Clearing' }));
    expect(ended).toEqual([]); // the Local channel is still up
  });

  describe("an adopted call's recording (MIXMONITOR_FILENAME read from its live channels)", () => {
    /** A resync that finds one call's channels ([Uniqueid, name, Duration]), before its variables are read. */
    const found = (linkedid: string, exten: string, channels: Array<[string, string, string?]>) => {
      const n = make();
      n.beginResync('rs-r');
      for (const [uniqueid, channel, duration = '00:00:30'] of channels) {
        n.handle(ev({ Event: 'CoreShowChannel', ActionID: 'rs-r', Channel: channel, Uniqueid: uniqueid, Linkedid: linkedid, Context: 'acct-1002', Exten: exten, ChannelStateDesc: 'Up', Duration: duration }));
      }
      n.handle(ev({ Event: 'CoreShowChannelsComplete', ActionID: 'rs-r', EventList: 'Complete' }));
      return n;
    };
    const adopt = (channels: Array<[string, string]>) => {
      const n = found('1700000000.5', '79101234567', channels);
      n.applyAdoptedVars('1700000000.5', { RC_CALL_ID: 'c-5', RC_ACCOUNT: '1002', RC_USER: '1679728441' });
      return n;
    };
    const hangUp = (n: CallNormaliser, channels: Array<[string, string]>) =>
      channels.flatMap(([uniqueid, channel]) => n.handle(ev({ Event: 'Hangup', Channel: channel, Uniqueid: uniqueid, Linkedid: '1700000000.5', Cause: '16' })));
    const jobs = (out: NormaliserOutput[]) => out.flatMap((o) => (o.kind === 'recording' ? [o.job] : []));

    it('is stored when the call ends, under the call and its user, dated from the channel\'s start', () => {
      const channels: Array<[string, string]> = [['1700000000.5', 'PJSIP/1679728441-00000005'], ['1700000000.6', 'PJSIP/trunk-00000006']];
      const n = adopt(channels);
      n.adoptRecording('1700000000.5', 'PJSIP/1679728441-00000005', '/var/spool/asterisk/monitor/1700000000.5.wav');
      n.completeAdoption('1700000000.5');
      const out = hangUp(n, channels);
      expect(jobs(out)).toEqual([
        expect.objectContaining({ fileName: '1700000000.5.wav', user: '1679728441', channel: 'PJSIP/1679728441-00000005', envelope: expect.objectContaining({ call_id: 'c-5', account_id: 1002 }) }),
      ]);
      expect(jobs(out)[0].continuation).toBeUndefined();
      expect(jobs(out)[0].recordedAt).toBe(localDateTime(T0 - 30_000));
    });

    it("a transferred call's later part (<Uniqueid>-2.wav on the customer's channel) is stored with the first, as one recording", () => {
      const channels: Array<[string, string]> = [['1700000000.6', 'PJSIP/trunk-00000006'], ['1700000000.9', 'PJSIP/1679728442-00000009']];
      const n = adopt(channels);
      n.adoptRecording('1700000000.5', 'PJSIP/trunk-00000006', '/var/spool/asterisk/monitor/1700000000.5-2.wav');
      n.completeAdoption('1700000000.5');
      const out = hangUp(n, channels);
      expect(jobs(out)).toEqual([expect.objectContaining({ fileName: '1700000000.5.wav', continuation: ['1700000000.5-2.wav'], channel: '' })]);
      // Only when the call ended (the colleague's phone hung up last).
      expect(jobs(hangUp(adopt(channels), channels.slice(0, 1)))).toEqual([]);
    });

    it('takes the id and description calls-service holds (a transfer took the employee\'s channel and its RC_* variables)', () => {
      const channels: Array<[string, string]> = [['1700000000.6', 'PJSIP/trunk-00000006'], ['1700000000.9', 'PJSIP/1679728442-00000009']];
      const n = make();
      n.beginResync('rs-k');
      for (const [uniqueid, channel] of channels) {
        n.handle(ev({ Event: 'CoreShowChannel', ActionID: 'rs-k', Channel: channel, Uniqueid: uniqueid, Linkedid: '1700000000.5', Context: 'acct-1002', Exten: '402', ChannelStateDesc: 'Up', CallerIDNum: '79101234567' }));
      }
      n.handle(ev({ Event: 'CoreShowChannelsComplete', ActionID: 'rs-k', EventList: 'Complete' }));
      n.applyAdoptedVars('1700000000.5', {});
      n.applyKnownCall('1700000000.5', {
        call_id: 'c-5',
        account_id: 1002,
        linkedid: '1700000000.5',
        direction: 'outgoing',
        src: '401',
        dst: '79101234567',
        user: '1679728441',
        transferred: true,
        started_at: new Date(T0 - 40_000).toISOString(),
        answered_at: new Date(T0 - 38_000).toISOString(),
      });
      const started = n.completeAdoption('1700000000.5');
      expect(one(started, 'started').payload).toMatchObject({ call_id: 'c-5', account_id: 1002, direction: 'outgoing', src: '401', dst: '79101234567', user: '1679728441' });
      hangUp(n, channels);
      // The customer's part from the transfer on (the employee's CDR went with the process before):
      // its parties are the customer and the colleague's extension, its times the last 20 s. The
      // record keeps the call's parties and its start and answer as calls-service saw them.
      const [start, end] = [localDateTime(T0 - 20_000), localDateTime(T0)];
      const cdr = n.handle(
        ev({ Event: 'Cdr', Source: '79101234567', Destination: '402', Channel: 'PJSIP/trunk-00000006', DestinationChannel: 'PJSIP/1679728442-00000009', StartTime: start, AnswerTime: start, EndTime: end, Duration: '20', BillableSeconds: '20', Disposition: 'ANSWERED', UniqueID: '1700000000.6', UserField: 'acct-1002' }),
      );
      expect(one(cdr, 'cdr').payload).toMatchObject({
        call_id: 'c-5',
        direction: 'outgoing',
        src: '401',
        dst: '79101234567',
        user: '1679728441',
        disposition: 'ANSWERED',
        start_time: localDateTime(T0 - 40_000),
        answer_time: localDateTime(T0 - 38_000),
        end_time: end,
        duration: 40,
        billsec: 38,
      });
    });

    it("its first channel gone and nothing recording (transferred while no adapter listened): the first channel's file, when the call ends", () => {
      const channels: Array<[string, string]> = [['1700000000.6', 'PJSIP/trunk-00000006'], ['1700000000.9', 'PJSIP/1679728442-00000009']];
      const n = adopt(channels);
      n.completeAdoption('1700000000.5');
      expect(jobs(hangUp(n, channels.slice(0, 1)))).toEqual([]);
      const out = hangUp(n, channels.slice(1));
      expect(jobs(out)).toEqual([expect.objectContaining({ fileName: '1700000000.5.wav', channel: '', recordedAt: localDateTime(T0 - 30_000) })]);
      expect(jobs(out)[0].continuation).toBeUndefined();
      // With its first channel live, nothing is assumed: no MIXMONITOR_FILENAME there, no recording.
      const live: Array<[string, string]> = [['1700000000.5', 'PJSIP/1679728441-00000005']];
      const m = adopt(live);
      m.completeAdoption('1700000000.5');
      expect(jobs(hangUp(m, live))).toEqual([]);
    });

    it("its first channel gone and nothing recording, given the PBX's recordings folder: the rest is recorded on the channel in the call longest, and both parts stored as one", () => {
      // The customer's channel since the call began (40 s), the colleague's since the transfer (10 s).
      const n = found('1700000000.5', '402', [
        ['1700000000.9', 'PJSIP/1679728442-00000009', '00:00:10'],
        ['1700000000.6', 'PJSIP/trunk-00000006', '00:00:40'],
      ]);
      n.applyAdoptedVars('1700000000.5', {});
      expect(n.lostItsRecording('1700000000.5')).toBe(true);
      const left = { fileName: '1700000000.5.wav', startedAtMs: T0 - 40_000, lastWriteMs: T0 - 10_000 };
      const adopted = n.completeAdoption('1700000000.5', { folder: '/var/spool/asterisk/monitor', left });
      expect(adopted.filter((o) => o.kind === 'record-channel')).toEqual([
        { kind: 'record-channel', channel: 'PJSIP/trunk-00000006', file: '/var/spool/asterisk/monitor/1700000000.5-2.wav' },
      ]);
      expect(n.lostItsRecording('1700000000.5')).toBe(false);
      // MixMonitor starts on the customer's channel (app_mixmonitor: the variable, then MixMonitorStart).
      n.handle(ev({ Event: 'VarSet', Channel: 'PJSIP/trunk-00000006', Uniqueid: '1700000000.6', Linkedid: '1700000000.5', Variable: 'MIXMONITOR_FILENAME', Value: '/var/spool/asterisk/monitor/1700000000.5-2.wav' }));
      n.handle(ev({ Event: 'MixMonitorStart', Channel: 'PJSIP/trunk-00000006', Uniqueid: '1700000000.6', Linkedid: '1700000000.5' }));
      const channels: Array<[string, string]> = [['1700000000.6', 'PJSIP/trunk-00000006'], ['1700000000.9', 'PJSIP/1679728442-00000009']];
      expect(jobs(hangUp(n, channels.slice(0, 1)))).toEqual([]);
      expect(jobs(hangUp(n, channels.slice(1)))).toEqual([
        expect.objectContaining({ fileName: '1700000000.5.wav', continuation: ['1700000000.5-2.wav'], channel: '', recordedAt: localDateTime(T0 - 40_000) }),
      ]);
    });

    it("transferred while no adapter listened (no transfer calls-service knows of): told at adoption, and its record is the CDRs left", () => {
      const channels: Array<[string, string]> = [['1700000000.6', 'PJSIP/trunk-00000006'], ['1700000000.9', 'PJSIP/1679728442-00000009']];
      const n = found('1700000000.5', '402', [
        [...channels[1], '00:00:10'],
        [...channels[0], '00:00:40'],
      ]);
      n.applyAdoptedVars('1700000000.5', {});
      const known = { call_id: 'c-5', account_id: 1002, linkedid: '1700000000.5', direction: 'outgoing' as const, src: '401', dst: '79101234567', user: '1679728441' };
      n.applyKnownCall('1700000000.5', { ...known, transferred: false, started_at: new Date(T0 - 45_000).toISOString(), answered_at: new Date(T0 - 42_000).toISOString() });
      const adopted = n.completeAdoption('1700000000.5');
      expect(adopted.map((o) => o.kind)).toEqual(['started', 'answered', 'transferred']);
      // To the colleague whose phone is in the call, by the call's user, dated when that channel began.
      expect(one(adopted, 'transferred').payload).toMatchObject({ call_id: 'c-5', kind: 'unseen', by_user: '1679728441', to: '402', to_user: '1679728442', occurred_at: new Date(T0 - 10_000).toISOString() });
      hangUp(n, channels);
      // The only CDR left is the customer's channel's (the first channel's went with it): the record.
      const [start, end] = [localDateTime(T0 - 10_000), localDateTime(T0)];
      const cdr = n.handle(
        ev({ Event: 'Cdr', Source: '79101234567', Destination: '402', Channel: 'PJSIP/trunk-00000006', DestinationChannel: 'PJSIP/1679728442-00000009', StartTime: start, AnswerTime: start, EndTime: end, Duration: '10', BillableSeconds: '10', Disposition: 'ANSWERED', UniqueID: '1700000000.6', UserField: 'acct-1002' }),
      );
      expect(one(cdr, 'cdr').payload).toMatchObject({ call_id: 'c-5', direction: 'outgoing', dst: '79101234567', disposition: 'ANSWERED', start_time: localDateTime(T0 - 45_000), duration: 45, billsec: 42 });
      // Its first channel live: nothing is assumed.
      const live = adopt([['1700000000.5', 'PJSIP/1679728441-00000005'], ['1700000000.6', 'PJSIP/trunk-00000006']]);
      expect(live.completeAdoption('1700000000.5').map((o) => o.kind)).not.toContain('transferred');
    });

    it("an inbound call its employee transferred while no adapter listened: the caller's channel stays, the employee's phone is gone, a colleague's is in the call", () => {
      const known = { call_id: 'c-7', account_id: 1002, linkedid: '1700000000.7', direction: 'incoming' as const, src: '79161230000', dst: '401', user: '1679728441', transferred: false };
      const adoptInbound = (channels: Array<[string, string, string]>) => {
        const n = found('1700000000.7', '401', channels);
        n.applyAdoptedVars('1700000000.7', {});
        n.applyKnownCall('1700000000.7', known);
        return n;
      };
      const caller: [string, string, string] = ['1700000000.7', 'PJSIP/trunk-00000007', '00:00:30'];
      const transferred = adoptInbound([caller, ['1700000000.10', 'PJSIP/1679728442-0000000a', '00:00:05']]).completeAdoption('1700000000.7');
      expect(one(transferred, 'transferred').payload).toMatchObject({ call_id: 'c-7', kind: 'unseen', by_user: '1679728441', to_user: '1679728442' });
      // The employee still on it, or nobody's phone (the caller in voicemail): no transfer.
      expect(adoptInbound([caller, ['1700000000.8', 'PJSIP/1679728441-00000008', '00:00:25']]).completeAdoption('1700000000.7').map((o) => o.kind)).not.toContain('transferred');
      expect(adoptInbound([caller]).completeAdoption('1700000000.7').map((o) => o.kind)).not.toContain('transferred');
    });

    it('a call whose first channel is live, or that records on another channel, needs no recordings folder', () => {
      const live: Array<[string, string]> = [['1700000000.5', 'PJSIP/1679728441-00000005']];
      expect(adopt(live).lostItsRecording('1700000000.5')).toBe(false);
      const recorded: Array<[string, string]> = [['1700000000.6', 'PJSIP/trunk-00000006']];
      const n = adopt(recorded);
      n.adoptRecording('1700000000.5', 'PJSIP/trunk-00000006', '/var/spool/asterisk/monitor/1700000000.5-2.wav');
      expect(n.lostItsRecording('1700000000.5')).toBe(false);
      const left = { fileName: '1700000000.5.wav', startedAtMs: T0 - 40_000, lastWriteMs: T0 - 10_000 };
      expect(n.completeAdoption('1700000000.5', { folder: '/var/spool/asterisk/monitor', left }).filter((o) => o.kind === 'record-channel')).toEqual([]);
    });

    it('after parts already left (a transfer before, then another while no adapter listened), the rest is the next part', () => {
      const channels: Array<[string, string]> = [['1700000000.6', 'PJSIP/trunk-00000006'], ['1700000000.11', 'PJSIP/1679728443-0000000b']];
      const n = adopt(channels);
      const left = { fileName: '1700000000.5.wav', continuation: ['1700000000.5-2.wav'], startedAtMs: T0 - 40_000, lastWriteMs: T0 - 5_000 };
      const adopted = n.completeAdoption('1700000000.5', { folder: '/rec', left });
      expect(adopted.filter((o) => o.kind === 'record-channel')).toEqual([expect.objectContaining({ file: '/rec/1700000000.5-3.wav' })]);
      n.handle(ev({ Event: 'VarSet', Channel: 'PJSIP/trunk-00000006', Uniqueid: '1700000000.6', Linkedid: '1700000000.5', Variable: 'MIXMONITOR_FILENAME', Value: '/rec/1700000000.5-3.wav' }));
      n.handle(ev({ Event: 'MixMonitorStart', Channel: 'PJSIP/trunk-00000006', Uniqueid: '1700000000.6', Linkedid: '1700000000.5' }));
      expect(jobs(hangUp(n, channels))).toEqual([expect.objectContaining({ fileName: '1700000000.5.wav', continuation: ['1700000000.5-2.wav', '1700000000.5-3.wav'] })]);
    });

    it('an RC_CALL_ID on its channels wins over another call calls-service names for the same Linkedid', () => {
      const channels: Array<[string, string]> = [['1700000000.5', 'PJSIP/1679728441-00000005']];
      const n = adopt(channels);
      n.applyKnownCall('1700000000.5', { call_id: 'other', account_id: 1002, linkedid: '1700000000.5', direction: 'incoming', src: 'x', dst: 'y', user: null });
      expect(one(n.completeAdoption('1700000000.5'), 'started').payload).toMatchObject({ call_id: 'c-5', direction: 'outgoing', dst: '79101234567' });
    });

    it('a file not named like a later part is a recording of its own; an unknown or gone channel adds nothing', () => {
      const channels: Array<[string, string]> = [['1700000000.5', 'PJSIP/1679728441-00000005']];
      const n = adopt(channels);
      n.adoptRecording('1700000000.5', 'PJSIP/1679728441-00000005', '/var/spool/asterisk/monitor/sales-2.wav');
      n.adoptRecording('1700000000.5', 'PJSIP/1679728441-00000005', '/var/spool/asterisk/monitor/second.wav'); // one per channel
      n.adoptRecording('1700000000.5', 'PJSIP/nobody-00000001', '/var/spool/asterisk/monitor/x.wav');
      n.adoptRecording('1700000009.9', 'PJSIP/1679728441-00000005', '/var/spool/asterisk/monitor/y.wav');
      n.completeAdoption('1700000000.5');
      expect(jobs(hangUp(n, channels))).toEqual([expect.objectContaining({ fileName: 'sales-2.wav' })]);
    });
  });

  it('does not adopt a channel listed in the snapshot that hung up before the list ended', () => {
    const n = make();
    n.handle(chan('Newchannel', '1700000000.1'));
    n.handle(chan('Newstate', '1700000000.1'));
    n.beginResync('rs-3');
    n.handle(ev({ Event: 'CoreShowChannel', ActionID: 'rs-3', Channel: 'PJSIP/1679728441-00000001', Uniqueid: '1700000000.1', Linkedid: '1700000000.1', Context: 'acct-1001', Exten: '7', ChannelStateDesc: 'Up' }));
    expect(kinds(n.handle(chan('Hangup', '1700000000.1', { Cause: '16' })))).toEqual(['ended']);
    const out = n.handle(ev({ Event: 'CoreShowChannelsComplete', ActionID: 'rs-3' }));
    expect(out).toEqual([{ kind: 'resynced', adopted: [] }]);
    expect(n.liveChannels()).toEqual([]);
  });

  it('forgets ended calls after the retention time and ignores their stray events', () => {
    const n = make();
    n.handle(chan('Newchannel', '1700000000.1'));
    n.handle(chan('Newstate', '1700000000.1'));
    n.handle(chan('Hangup', '1700000000.1', { Cause: '16' }));
    n.sweep();
    expect(n.size).toBe(1); // kept for its late CDR
    now += 5000;
    n.sweep();
    expect(n.size).toBe(0);
    expect(n.handle(chan('HangupRequest', '1700000000.1'))).toEqual([]);
    expect(n.size).toBe(0);
  });

  it('files an originate to an extension as internal: the employee is rung first, then the colleague as the customer', () => {
    const n = make();
    n.registerIntent({ actionId: 'a1', callId: 'c1', accountId: 1001, user: '1679728441', num: '402', src: '401', at: T0 });
    const a = { Channel: 'PJSIP/1679728441-00000001', Uniqueid: '1700000000.1', Linkedid: '1700000000.1', Context: 'acct-1001', CallerIDNum: '401' };
    const b = { Channel: 'PJSIP/1679728442-00000002', Uniqueid: '1700000000.2', Linkedid: '1700000000.1', Context: 'acct-1001', CallerIDNum: '402' };
    const dest = (c: typeof b) => ({ DestChannel: c.Channel, DestUniqueid: c.Uniqueid, DestLinkedid: c.Linkedid, DestContext: c.Context });
    const frames: Array<Record<string, string>> = [
      { Event: 'Newchannel', ...a, Exten: 's', ChannelStateDesc: 'Down' },
      { Event: 'VarSet', ...a, Exten: 's', Variable: 'RC_CALL_ID', Value: 'c1' },
      { Event: 'DialBegin', ...dest(a), DestExten: 's', DialString: '1679728441' },
      { Event: 'Newstate', ...a, Exten: 's', ChannelStateDesc: 'Up' },
      { Event: 'OriginateResponse', ActionID: 'a1', Response: 'Success', Channel: a.Channel, Context: 'acct-1001', Exten: '402', Reason: '4', Uniqueid: a.Uniqueid },
      { Event: 'Newexten', ...a, Exten: '402', Application: 'Dial', AppData: 'PJSIP/1679728442,30' },
      { Event: 'Newchannel', ...b, Exten: 's', ChannelStateDesc: 'Down' },
      { Event: 'DialBegin', ...a, Exten: '402', ...dest(b), DestExten: 's', DialString: '1679728442' },
      { Event: 'Newstate', ...b, Exten: 's', ChannelStateDesc: 'Up' },
      { Event: 'DialEnd', ...a, Exten: '402', ...dest(b), DialStatus: 'ANSWER' },
      { Event: 'Hangup', ...b, Exten: 's', ChannelStateDesc: 'Up', Cause: '16', 'Cause-txt': 'Normal Clearing' },
      { Event: 'Hangup', ...a, Exten: '402', ChannelStateDesc: 'Up', Cause: '16', 'Cause-txt': 'Normal Clearing' },
      { Event: 'Cdr', Source: '401', Destination: '402', DestinationContext: 'acct-1001', Channel: a.Channel, DestinationChannel: b.Channel,
        LastApplication: 'Dial', Disposition: 'ANSWERED', Duration: '9', BillableSeconds: '5', UniqueID: a.Uniqueid, UserField: 'acct-1001',
        StartTime: '2026-11-26 16:49:47', AnswerTime: '2026-11-26 16:49:51', EndTime: '2026-11-26 16:49:56' },
    ];
    const out = frames.flatMap((headers) => n.handle(ev(headers)));
    expect(one(out, 'started').payload).toMatchObject({ call_id: 'c1', direction: 'internal', src: '401', dst: '402', user: '1679728441', account_id: 1001 });
    const rung = domain(out).filter((o) => o.kind === 'ringing').map((o) => o.payload);
    expect(rung).toEqual([
      expect.objectContaining({ party: 'user', channel: a.Channel }),
      expect.objectContaining({ party: 'customer', channel: b.Channel }),
    ]);
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'internal', src: '401', dst: '402', user: '1679728441', disposition: 'ANSWERED' });
  });

  it('files a failed originate to an extension (no channel ever created) as internal too', () => {
    const n = make();
    n.registerIntent({ actionId: 'a2', callId: 'c2', accountId: 1001, user: '1679728441', num: '402', src: '401', at: T0 });
    const out = n.handle(ev({ Event: 'OriginateResponse', ActionID: 'a2', Response: 'Failure', Channel: 'PJSIP/1679728441', Context: 'acct-1001', Exten: '402', Reason: '0', Uniqueid: '<unknown>' }));
    expect(one(out, 'started').payload).toMatchObject({ direction: 'internal', dst: '402' });
    expect(one(out, 'cdr').payload).toMatchObject({ direction: 'internal', dst: '402', disposition: 'FAILED' });
  });

  it('tells internal calls (phone to extension) from outgoing ones', () => {
    const n = make();
    n.handle(chan('Newchannel', '1700000000.1', { Exten: '402', ChannelStateDesc: 'Ring' }));
    const out = n.handle(chan('Newexten', '1700000000.1', { Exten: '402', Application: 'Dial', AppData: 'PJSIP/1679728442,30' }));
    expect(one(out, 'started').payload).toMatchObject({ direction: 'internal', src: '401', dst: '402', user: '1679728441', account_id: 1001 });
    const n2 = make();
    n2.handle(chan('Newchannel', '1700000000.1', { ChannelStateDesc: 'Ring' }));
    expect(one(n2.handle(chan('Newexten', '1700000000.1', { Application: 'Dial' })), 'started').payload.direction).toBe('outgoing');
  });
});

describe('CallNormaliser on call transfers (fixtures 59–62, real Asterisk with res_pjsip_refer)', () => {
  const names = {
    blindInbound: '59-blind-transfer-inbound-pstn-to-902',
    blindClickToCall: '60-blind-transfer-click-to-call-customer-to-902',
    attendedInbound: '61-attended-transfer-inbound-pstn-to-902',
    attendedClickToCall: '62-attended-transfer-click-to-call-customer-to-902',
  };
  const A = '1993720936';
  let events: Map<string, AmiMessage[]>;

  beforeAll(async () => {
    events = await eventsThroughClient(Object.values(names));
  });

  const recordsOf = (out: NormaliserOutput[], callId: string) =>
    domain(out).filter((e): e is Extract<TelephonyDomainEvent, { kind: 'cdr' }> => e.kind === 'cdr' && e.payload.call_id === callId);
  const indexOf = (out: NormaliserOutput[], kind: string, callId: string) => domain(out).findIndex((e) => e.kind === kind && e.payload.call_id === callId);

  // Before: the record was the first CDR (59: 3 s of 13; 60: sent at the transfer while the customer talked on).
  it.each([
    [names.blindInbound, { direction: 'incoming', src: '79161234567', dst: '901', start_time: '2026-12-04 13:47:03', end_time: '2026-12-04 13:47:16', duration: 13 }],
    [names.blindClickToCall, { direction: 'outgoing', src: '901', dst: '79101234567', start_time: '2026-12-04 13:47:57', end_time: '2026-12-04 13:48:04', duration: 7 }],
    [names.attendedInbound, { direction: 'incoming', src: '79161234567', dst: '901', start_time: '2026-12-04 13:50:31', end_time: '2026-12-04 13:50:48', duration: 17 }],
    [names.attendedClickToCall, { direction: 'outgoing', src: '901', dst: '79107654321', start_time: '2026-12-04 13:52:44', end_time: '2026-12-04 13:53:18', duration: 34 }],
  ])('%s: one ANSWERED record from the first ring to the last hang-up, under the employee who answered first, sent once the call ended', (name, expected) => {
    const out = normalise(events.get(name)!, intentsOf(name));
    const callId = domain(out).find((e) => e.kind === 'started')!.payload.call_id;
    const records = recordsOf(out, callId);
    expect(records).toHaveLength(1);
    expect(records[0].payload).toMatchObject({ ...expected, user: A, disposition: 'ANSWERED', account_id: 1001 });
    expect(indexOf(out, 'cdr', callId)).toBeGreaterThan(indexOf(out, 'ended', callId));
    const ended = domain(out).filter((e) => e.kind === 'ended' && e.payload.call_id === callId);
    expect(ended).toHaveLength(1);
  });

  it.each([
    [names.blindInbound, 'blind'],
    [names.blindClickToCall, 'blind'],
    [names.attendedInbound, 'attended'],
    [names.attendedClickToCall, 'attended'],
  ])("%s: says who transferred the call to which colleague (%s), once, while it goes on", (name, kind) => {
    const out = normalise(events.get(name)!, intentsOf(name));
    const callId = domain(out).find((e) => e.kind === 'started')!.payload.call_id;
    const transfers = domain(out).filter((e) => e.kind === 'transferred');
    expect(transfers.map((e) => e.payload)).toEqual([expect.objectContaining({ call_id: callId, kind, by_user: A, to: '902', to_user: '4181950764', account_id: 1001 })]);
    expect(indexOf(out, 'transferred', callId)).toBeLessThan(indexOf(out, 'ended', callId));
  });

  // The attended transfer's consultation call (A → 902) is a call of its own, over when A's phone left it.
  it.each([names.attendedInbound, names.attendedClickToCall])('%s: the consultation is its own internal record, ended at the transfer, before the transferred call', (name) => {
    const out = normalise(events.get(name)!, intentsOf(name));
    const started = domain(out).filter((e) => e.kind === 'started');
    expect(started).toHaveLength(2);
    const main = started[0].payload.call_id;
    const consultation = started[1].payload.call_id;
    expect(recordsOf(out, consultation).map((e) => e.payload)).toEqual([
      expect.objectContaining({ direction: 'internal', src: '901', dst: '902', user: A, duration: 4, disposition: 'ANSWERED' }),
    ]);
    expect(indexOf(out, 'ended', consultation)).toBeGreaterThan(-1);
    expect(indexOf(out, 'ended', consultation)).toBeLessThan(indexOf(out, 'ended', main));
    // The colleague's channel went with the caller: the consultation is over before the colleague hangs up.
    const all = events.get(name)!;
    const colleagueHangup = all.findIndex((e) => eventName(e) === 'hangup' && field(e, 'channel').startsWith('PJSIP/4181950764'));
    const before = normalise(all.slice(0, colleagueHangup), intentsOf(name));
    expect(indexOf(before, 'ended', consultation)).toBeGreaterThan(-1);
    expect(indexOf(before, 'ended', main)).toBe(-1);
  });

  it("61: the record waits for the colleague's CDR, which real Asterisk sends after the caller's Hangup", () => {
    const name = names.attendedInbound;
    const all = events.get(name)!;
    const lastHangup = all.map((e) => eventName(e)).lastIndexOf('hangup');
    expect(all.slice(lastHangup + 1).filter((e) => eventName(e) === 'cdr')).toHaveLength(2);
    const out = normalise(all.slice(0, lastHangup + 1));
    expect(domain(out).filter((e) => e.kind === 'cdr' && e.payload.call_id === 'pbx1:1796392231.33')).toHaveLength(0);
  });

  it("sends what it has when the colleague's CDR never comes (the sweep after the call ended)", () => {
    const all = events.get(names.attendedInbound)!;
    const withoutLast = all.filter((e, i) => !(eventName(e) === 'cdr' && field(e, 'destinationchannel').startsWith('PJSIP/4181950764') && i > all.length - 20));
    let now = T0;
    const normaliser = new CallNormaliser({ node: 'pbx1', now: () => now, directory: (u) => LAB_DIRECTORY[u] });
    const out = withoutLast.flatMap((e) => normaliser.handle(e));
    expect(recordsOf(out, 'pbx1:1796392231.33')).toHaveLength(0);
    now += 10_000;
    const swept = normaliser.sweep();
    expect(recordsOf(swept, 'pbx1:1796392231.33').map((e) => e.payload)).toEqual([
      expect.objectContaining({ direction: 'incoming', src: '79161234567', dst: '901', duration: 7, disposition: 'ANSWERED' }),
    ]);
  });

  // rc-outbound refuses a channel a phone transferred: nothing dialled out, the call ends (63, 64: real Asterisk with the guard).
  it.each([
    ['63-blind-transfer-inbound-to-non-extension-refused', { direction: 'incoming', src: '79161234567', dst: '901', duration: 4, user: '9602924450' }],
    ['64-blind-transfer-click-to-call-to-outside-refused', { direction: 'outgoing', src: '901', dst: '79101234567', duration: 4, user: '9602924450' }],
  ])("%s: one ANSWERED record of the employee's part and no transfer told (nobody took the call)", async (name, expected) => {
    const out = normalise((await eventsThroughClient([name])).get(name)!, intentsOf(name));
    const callId = domain(out).find((e) => e.kind === 'started')!.payload.call_id;
    expect(recordsOf(out, callId).map((e) => e.payload)).toEqual([expect.objectContaining({ ...expected, disposition: 'ANSWERED', account_id: 1001 })]);
    expect(domain(out).filter((e) => e.kind === 'transferred')).toEqual([]);
    expect(domain(out).filter((e) => e.kind === 'ended')).toHaveLength(1);
  });

  // The dial plan records a click-to-call on the employee's channel, which leaves at the transfer (before: 2.5 s of a 10 s call).
  const recordChannels = (out: NormaliserOutput[]) => out.filter((o): o is Extract<NormaliserOutput, { kind: 'record-channel' }> => o.kind === 'record-channel');
  const recordingJobs = (out: NormaliserOutput[]) => out.flatMap((o) => (o.kind === 'recording' ? [o.job] : []));

  it.each([
    [names.blindClickToCall, 'blindtransfer', 'PJSIP/trunk-0000001c', '/work/lab/rec/1796392077.27-2.wav'],
    [names.attendedClickToCall, 'attendedtransfer', 'PJSIP/trunk-0000002a', '/work/lab/rec/1796392364.41-2.wav'],
  ])("%s: at the transfer, asks for the rest of the recording on the customer's channel, in Asterisk's folder", (name, transferEvent, customer, file) => {
    const all = events.get(name)!;
    const transfer = all.findIndex((e) => eventName(e) === transferEvent);
    const out = normalise(all.slice(0, transfer + 1), intentsOf(name));
    expect(recordChannels(out)).toEqual([{ kind: 'record-channel', channel: customer, file }]);
    // Once: the whole transcript asks for nothing more.
    expect(recordChannels(normalise(all, intentsOf(name)))).toHaveLength(1);
  });

  it.each([names.blindInbound, names.attendedInbound])("%s: asks for nothing: the caller's channel, which stays, is recorded from the start by the route", (name) => {
    const out = normalise(events.get(name)!, intentsOf(name));
    expect(recordChannels(out)).toEqual([]);
    expect(recordingJobs(out)).toHaveLength(1);
  });

  it("60 with the rest recorded: one recording job of both parts, sent when the call ended, under the employee's first file", () => {
    const all = events.get(names.blindClickToCall)!;
    const transfer = all.findIndex((e) => eventName(e) === 'blindtransfer');
    // What the MixMonitor action on the customer's channel adds (app_mixmonitor: the variable, then
    // MixMonitorStart): the employee's own two events, moved to the customer's channel.
    const customer = all.find((e) => eventName(e) === 'newchannel' && field(e, 'channel') === 'PJSIP/trunk-0000001c')!;
    const moved = (e: AmiMessage) => {
      const copy: AmiMessage = { ...e, channel: customer.channel, uniqueid: customer.uniqueid, linkedid: customer.linkedid };
      if (eventName(e) === 'varset') copy.value = '/work/lab/rec/1796392077.27-2.wav';
      return copy;
    };
    const employeeRecording = all.filter((e) => (eventName(e) === 'varset' && varSet(e)?.name === 'MIXMONITOR_FILENAME') || eventName(e) === 'mixmonitorstart');
    expect(employeeRecording.map(eventName)).toEqual(['varset', 'mixmonitorstart']);
    const started = employeeRecording.map(moved);
    const withRest = [...all.slice(0, transfer + 1), ...started, ...all.slice(transfer + 1)];
    const out = normalise(withRest, intentsOf(names.blindClickToCall));
    const jobs = recordingJobs(out);
    expect(jobs).toEqual([expect.objectContaining({ fileName: '1796392077.27.wav', continuation: ['1796392077.27-2.wav'], user: A })]);
    const employeeHangup = withRest.findIndex((e) => eventName(e) === 'hangup' && field(e, 'channel') === 'PJSIP/1993720936-0000001b');
    expect(recordingJobs(normalise(withRest.slice(0, employeeHangup + 1), intentsOf(names.blindClickToCall)))).toEqual([]);
    const ended = out.findIndex((o) => o.kind === 'ended');
    expect(out.findIndex((o) => o.kind === 'recording')).toBeGreaterThan(ended);
  });

  // 65, 66 (real Asterisk, eleventh lab): the recorder's session sent the MixMonitor action the adapter sends, at the transfer.
  it.each([
    ['65-blind-transfer-click-to-call-mixmonitor-on-customer', 'PJSIP/trunk-00000014', '1796407794.19'],
    ['66-attended-transfer-click-to-call-mixmonitor-on-customer', 'PJSIP/trunk-00000017', '1796407808.22'],
  ])('%s: asks for the same action the lab sent, and stores both parts as one recording once the call ended', async (name, customer, linkedid) => {
    const all = (await eventsThroughClient([name])).get(name)!;
    const out = normalise(all, intentsOf(name));
    expect(recordChannels(out)).toEqual([{ kind: 'record-channel', channel: customer, file: `/var/spool/asterisk/monitor/${linkedid}-2.wav` }]);
    expect(recordingJobs(out)).toEqual([expect.objectContaining({ fileName: `${linkedid}.wav`, continuation: [`${linkedid}-2.wav`] })]);
    const main = (o: NormaliserOutput) => 'payload' in o && o.payload.call_id === domain(out)[0].payload.call_id;
    expect(out.findIndex((o) => o.kind === 'recording')).toBeGreaterThan(out.findIndex((o) => o.kind === 'ended' && main(o)));
  });

  it('60 without the rest (the action was refused): the first part alone, when the call ended', () => {
    const out = normalise(events.get(names.blindClickToCall)!, intentsOf(names.blindClickToCall));
    expect(recordingJobs(out)).toEqual([expect.objectContaining({ fileName: '1796392077.27.wav', user: A })]);
    expect(recordingJobs(out)[0].continuation).toBeUndefined();
  });

  it('widens a sent record when another CDR of the call comes after it', () => {
    const all = events.get(names.blindInbound)!;
    const cdrs = all.filter((e) => eventName(e) === 'cdr');
    // The colleague's part first, then the employee's (as if Asterisk had sent them the other way round).
    const reordered = [...all.filter((e) => eventName(e) !== 'cdr'), cdrs[1], cdrs[0]];
    const out = normalise(reordered);
    const records = recordsOf(out, 'pbx1:1796392023.24').map((e) => e.payload);
    expect(records.map((r) => [r.start_time, r.end_time, r.duration])).toEqual([
      ['2026-12-04 13:47:06', '2026-12-04 13:47:16', 10],
      ['2026-12-04 13:47:03', '2026-12-04 13:47:16', 13],
    ]);
    expect(new Set(records.map((r) => r.event_id)).size).toBe(2);
  });
});
