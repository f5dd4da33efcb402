import { CallEnded, CallStarted, TELEPHONY_EVENTS_STREAM } from '@ringcloud/contracts-telephony';
import { ensureStream, jetstream } from '@ringcloud/nest-nats';
import { AmiSession } from '../ami/ami-session';
import { FakeAmiServer } from '../testing/fake-ami-server';
import { rxAfterLogin } from '../testing/ami-frames';
import { TestEnv, eventually } from '../testing/test-env';
import { CallNormaliser, FORGOTTEN_SEQ } from './call-normaliser';
import { Registrations } from './registrations';
import { RecordingJob } from './domain-events';
import { TelephonyEventPublisher } from './event-publisher';
import { PbxEventPipeline } from './pbx-event-pipeline';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

const channelEvent = (event: string, uniqueid: string, linkedid: string, channel: string, extra: Record<string, string> = {}) => ({
  Event: event,
  Privilege: 'call,all',
  Channel: channel,
  ChannelState: '6',
  ChannelStateDesc: 'Up',
  CallerIDNum: '401',
  CallerIDName: '79101234567',
  ConnectedLineNum: '<unknown>',
  ConnectedLineName: '<unknown>',
  Language: 'en',
  AccountCode: '',
  Context: 'acct-1001',
  Exten: '79101234567',
  Priority: '1',
  Uniqueid: uniqueid,
  Linkedid: linkedid,
  ...extra,
});

describe('PbxEventPipeline (fake AMI server, real asterisk-manager, real JetStream)', () => {
  let env: TestEnv;
  let server: FakeAmiServer;
  let session: AmiSession;
  let pipeline: PbxEventPipeline;
  let publisher: TelephonyEventPublisher;
  let registrations: Registrations;
  const recordings: RecordingJob[] = [];
  const newPipeline = (logger: ConstructorParameters<typeof PbxEventPipeline>[5] = quiet) =>
    new PbxEventPipeline(session, new CallNormaliser({ node: 'pbx1' }), registrations, { publish: (e) => publisher.publish(e), recording: (job) => recordings.push(job) }, undefined, logger);

  beforeAll(async () => {
    env = await TestEnv.start({ database: false });
    await ensureStream(env.nc, TELEPHONY_EVENTS_STREAM);
  });
  afterAll(async () => env?.stop());

  beforeEach(async () => {
    recordings.length = 0;
    server = await FakeAmiServer.start();
    session = new AmiSession({
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
    registrations = new Registrations();
    publisher = new TelephonyEventPublisher(jetstream(env.nc), quiet);
    pipeline = newPipeline();
  });
  afterEach(async () => {
    await pipeline.stop();
    await server.close();
  });

  const published = async () => {
    await pipeline.idle();
    await publisher.flush();
    return env.streamMessages(TELEPHONY_EVENTS_STREAM.name);
  };

  it('reconnects after a drop, logs in, resyncs, ends the call that vanished meanwhile (reconciled) and keeps the one still up', async () => {
    server.contacts = { '1679728441': 'Reachable' };
    const resynced = pipeline.nextResync();
    pipeline.start();
    expect(await resynced).toBe(true);
    expect(registrations.isRegistered('1679728441')).toBe(true);

    // Two live calls.
    for (const [uid, callId, chan] of [
      ['1795800000.1', 'call-vanishes', 'PJSIP/1679728441-00000001'],
      ['1795800000.2', 'call-stays', 'PJSIP/1679728442-00000002'],
    ]) {
      server.event(channelEvent('Newchannel', uid, uid, chan, { ChannelStateDesc: 'Ring', ChannelState: '4' }));
      server.event(channelEvent('VarSet', uid, uid, chan, { Variable: 'RC_CALL_ID', Value: callId }));
      server.event(channelEvent('Newstate', uid, uid, chan));
    }
    await eventually(async () => (await published()).length === 4);

    // The PBX drops the session; while we are away the first call hangs up (no event reaches us).
    const again = pipeline.nextResync();
    server.dropAll();
    await eventually(() => !session.isReady);
    server.channels = [
      { Channel: 'PJSIP/1679728442-00000002', Uniqueid: '1795800000.2', Linkedid: '1795800000.2', Context: 'acct-1001', Exten: '79101234567', ChannelStateDesc: 'Up' },
    ];
    server.contacts = {}; // the phone's registration expired meanwhile: "No Contacts found"
    expect(await again).toBe(true);
    expect(server.logins).toBe(2);
    const afterLogin = server.actions.slice(server.actions.findLastIndex((a) => a.action === 'login'));
    expect(afterLogin.map((a) => a.action)).toEqual(expect.arrayContaining(['CoreShowChannels', 'PJSIPShowContacts']));
    await eventually(() => registrations.isSynced);
    expect(registrations.isRegistered('1679728441')).toBe(false);

    const events = await published();
    const ended = events.filter((e) => e.subject === CallEnded.subject);
    expect(ended).toHaveLength(1);
    expect(CallEnded.event.parse(ended[0].data)).toMatchObject({ call_id: 'call-vanishes', reconciled: true, seq: 2, account_id: 1001 });
    expect(ended[0].msgId).toBe('pbx1:1795800000.1:ended');

    // The call that survived still ends normally, with its seq continuing.
    server.event(channelEvent('Hangup', '1795800000.2', '1795800000.2', 'PJSIP/1679728442-00000002', { Cause: '16', 'Cause-txt': 'Normal Clearing' }));
    await eventually(async () => (await published()).filter((e) => e.subject === CallEnded.subject).length === 2);
    const last = (await published()).filter((e) => e.subject === CallEnded.subject)[1];
    expect(last.data).toMatchObject({ call_id: 'call-stays', reconciled: false, cause: 16, seq: 2 });
  });

  it('resyncs periodically too, ending a call whose hang-up was never seen', async () => {
    await pipeline.stop();
    pipeline = new PbxEventPipeline(
      session,
      new CallNormaliser({ node: 'pbx1' }),
      registrations,
      { publish: (e) => publisher.publish(e), recording: (job) => recordings.push(job) },
      undefined,
      quiet,
      { resyncEveryMs: 150 },
    );
    const first = pipeline.nextResync();
    pipeline.start();
    await first;
    const uid = '1795800000.7';
    server.channels = [{ Channel: 'PJSIP/1679728447-00000007', Uniqueid: uid, Linkedid: uid, Context: 'acct-1001', Exten: '79101234567', ChannelStateDesc: 'Up' }];
    server.event(channelEvent('Newchannel', uid, uid, 'PJSIP/1679728447-00000007'));
    server.event(channelEvent('VarSet', uid, uid, 'PJSIP/1679728447-00000007', { Variable: 'RC_CALL_ID', Value: 'lost-hangup' }));
    server.event(channelEvent('Newstate', uid, uid, 'PJSIP/1679728447-00000007'));
    await pipeline.nextResync(); // still there: nothing happens
    expect((await published()).some((e) => e.data.call_id === 'lost-hangup' && e.subject === CallEnded.subject)).toBe(false);
    server.channels = [];
    await eventually(async () => (await published()).find((e) => e.data.call_id === 'lost-hangup' && e.subject === CallEnded.subject)?.data.reconciled === true, 3000);
    expect(server.logins).toBe(1);
  });

  it('adopts a call found live at start with the RC_* variables read from its channel', async () => {
    server.channels = [
      { Channel: 'PJSIP/1679728443-00000003', Uniqueid: '1795800000.3', Linkedid: '1795800000.3', Context: 'acct-1002', Exten: '79101234567', ChannelStateDesc: 'Up', CallerIDNum: '403' },
    ];
    server.vars = { 'PJSIP/1679728443-00000003': { RC_CALL_ID: 'adopted-call', RC_ACCOUNT: '1002', RC_USER: '1679728443' } };
    const resynced = pipeline.nextResync();
    pipeline.start();
    expect(await resynced).toBe(true);
    const started = (await published()).filter((e) => e.subject === CallStarted.subject && e.data.call_id === 'adopted-call');
    expect(started).toHaveLength(1);
    expect(started[0].data).toMatchObject({ seq: 1000, direction: 'outgoing', user: '1679728443', account_id: 1002, src: '403', dst: '79101234567' });
    expect(server.actions.filter((a) => a.action === 'Getvar').map((a) => Object.keys(a.variable as object)[0])).toEqual(['RC_CALL_ID', 'RC_ACCOUNT', 'RC_USER', 'MIXMONITOR_FILENAME']);
  });

  it("stores the recording running on an adopted call's channels when the call ends (read with Getvar MIXMONITOR_FILENAME)", async () => {
    const [employee, customer] = ['PJSIP/1679728444-00000004', 'PJSIP/trunk-00000005'];
    server.channels = [
      { Channel: employee, Uniqueid: '1795800000.4', Linkedid: '1795800000.4', Context: 'acct-1002', Exten: '79101234567', ChannelStateDesc: 'Up', CallerIDNum: '404' },
      { Channel: customer, Uniqueid: '1795800000.5', Linkedid: '1795800000.4', Context: 'rc-outbound', Exten: '79101234567', ChannelStateDesc: 'Up' },
    ];
    server.vars = {
      [employee]: { RC_CALL_ID: 'adopted-recorded', RC_ACCOUNT: '1002', RC_USER: '1679728444', MIXMONITOR_FILENAME: '/var/spool/asterisk/monitor/1795800000.4.wav' },
    };
    const resynced = pipeline.nextResync();
    pipeline.start();
    expect(await resynced).toBe(true);
    expect(server.actions.filter((a) => a.action === 'Getvar' && Object.keys(a.variable as object)[0] === 'MIXMONITOR_FILENAME').map((a) => a.channel)).toEqual([employee, customer]);
    server.event(channelEvent('Hangup', '1795800000.5', '1795800000.4', customer, { Cause: '16' }));
    server.event(channelEvent('Hangup', '1795800000.4', '1795800000.4', employee, { Cause: '16' }));
    await eventually(() => recordings.length === 1);
    expect(recordings[0]).toMatchObject({ fileName: '1795800000.4.wav', user: '1679728444', channel: employee, envelope: expect.objectContaining({ call_id: 'adopted-recorded', account_id: 1002 }) });
  });

  it('adopts a transferred call (no RC_* on the channels left) as calls-service holds it, reading its open calls once', async () => {
    const [customer, colleague] = ['PJSIP/trunk-00000006', 'PJSIP/1679728442-00000009'];
    server.channels = [
      { Channel: colleague, Uniqueid: '1795800000.9', Linkedid: '1795800000.5', Context: 'acct-1002', Exten: '402', ChannelStateDesc: 'Up', Duration: '00:00:10' },
      { Channel: customer, Uniqueid: '1795800000.6', Linkedid: '1795800000.5', Context: 'acct-1002', Exten: '402', ChannelStateDesc: 'Up', CallerIDNum: '79101234567', Duration: '00:00:40' },
      { Channel: 'PJSIP/1679728443-0000000a', Uniqueid: '1795800000.10', Linkedid: '1795800000.10', Context: 'from-pstn', Exten: '74951230000', ChannelStateDesc: 'Up', CallerIDNum: '79160000000' },
      // An internal call 404 → 405 that 404 transferred: never recorded, so nothing to go on with.
      { Channel: 'PJSIP/1679728445-0000000c', Uniqueid: '1795800000.12', Linkedid: '1795800000.11', Context: 'acct-1002', Exten: '406', ChannelStateDesc: 'Up' },
    ];
    // Transferred while no adapter listened: nothing records it any more (no MIXMONITOR_FILENAME).
    server.vars = { '': { RECDIR: '/var/spool/asterisk/monitor' } };
    let reads = 0;
    const open = [
      { call_id: 'transferred-call', account_id: 1002, linkedid: '1795800000.5', direction: 'outgoing' as const, src: '401', dst: '79101234567', user: '1679728441', transferred: true },
    ];
    pipeline = new PbxEventPipeline(session, new CallNormaliser({ node: 'pbx1' }), registrations, { publish: (e) => publisher.publish(e), recording: (job) => recordings.push(job) }, undefined, quiet, {
      openCalls: async () => (++reads, open),
      // The dial plan recorded the click-to-call on the employee's channel; the internal call has no file.
      leftRecording: async (linkedid) => (linkedid === '1795800000.5' ? { fileName: '1795800000.5.wav', startedAtMs: Date.now() - 40_000, lastWriteMs: Date.now() - 10_000 } : undefined),
    });
    const resynced = pipeline.nextResync();
    pipeline.start();
    expect(await resynced).toBe(true);
    const started = await eventually(async () => (await published()).find((e) => e.subject === CallStarted.subject && e.data.call_id === 'transferred-call'));
    expect(started!.data).toMatchObject({ direction: 'outgoing', src: '401', dst: '79101234567', user: '1679728441', account_id: 1002 });
    // Read once for the two adopted calls (then once more to reconcile, as at every resync).
    await pipeline.idle();
    expect(reads).toBe(2);
    // The rest of its recording, on the customer's channel (in the call longest), where the dial plan
    // records (its global RECDIR, read without a channel, once); nothing for the internal call.
    await eventually(() => server.actions.some((a) => a.action === 'MixMonitor'));
    expect(server.actions.filter((a) => a.action === 'MixMonitor')).toEqual([expect.objectContaining({ channel: customer, file: '/var/spool/asterisk/monitor/1795800000.5-2.wav' })]);
    const recdir = server.actions.filter((a) => a.action === 'Getvar' && Object.keys(a.variable as object)[0] === 'RECDIR');
    expect(recdir).toHaveLength(1);
    expect(recdir[0].channel).toBeUndefined();
  });

  it('publishes the domain events of a replayed transcript once, even when the same bytes come twice (JetStream msgID)', async () => {
    const resynced = pipeline.nextResync();
    pipeline.start();
    await resynced;
    const before = (await published()).length;
    await server.sendChunked(rxAfterLogin('20-pjsip-originate'));
    await eventually(async () => (await published()).length === before + 7);
    expect(recordings.map((r) => r.fileName)).toEqual(['1795704110.0.wav']);

    // A second process replaying the same PBX events (or a re-publish) adds nothing to the stream.
    const twin = new TelephonyEventPublisher(jetstream(env.nc), quiet);
    const normaliser = new CallNormaliser({ node: 'pbx1' });
    const { parseFrames } = await import('../testing/ami-frames');
    for (const m of parseFrames(rxAfterLogin('20-pjsip-originate').toString('utf8'))) {
      for (const out of normaliser.handle(m)) if ('payload' in out) twin.publish(out);
    }
    await twin.flush();
    const subjects = (await published()).slice(before).map((e) => e.subject);
    expect(subjects).toEqual(['telephony.call.started', 'telephony.call.ringing', 'telephony.call.answered', 'telephony.call.ringing', 'telephony.call.bridged', 'telephony.call.ended', 'telephony.call.cdr']);
  });

  it("continues a click-to-call's recording on the customer's channel at a transfer (AMI MixMonitor), and a refusal only costs that part", async () => {
    const warnings: string[] = [];
    pipeline = newPipeline({ ...quiet, warn: (m: string) => warnings.push(m) });
    const resynced = pipeline.nextResync();
    pipeline.start();
    await resynced;
    await server.sendChunked(rxAfterLogin('60-blind-transfer-click-to-call-customer-to-902'));
    await eventually(() => recordings.length === 1);
    const mixMonitor = server.actions.filter((a) => a.action === 'MixMonitor');
    expect(mixMonitor).toEqual([expect.objectContaining({ channel: 'PJSIP/trunk-0000001c', file: '/work/lab/rec/1796392077.27-2.wav' })]);
    // The fake PBX refuses it (as Asterisk does for a channel gone meanwhile): a warning, and the first part alone is stored.
    await eventually(() => warnings.some((w) => w.startsWith('recording not continued on PJSIP/trunk-0000001c after a transfer')));
    expect(recordings).toEqual([expect.objectContaining({ fileName: '1796392077.27.wav' })]);
    expect(recordings[0].continuation).toBeUndefined();
  });

  it('after a resync, ends the calls held open elsewhere that it does not know (it restarted meanwhile), not the live ones', async () => {
    let reads = 0;
    const open = [
      { call_id: 'call-ended-while-away', account_id: 1001, linkedid: '1795700000.1' },
      { call_id: 'pbx1:1795700000.2', account_id: 1001, linkedid: '1795700000.2' },
    ];
    pipeline = new PbxEventPipeline(session, new CallNormaliser({ node: 'pbx1' }), registrations, { publish: (e) => publisher.publish(e), recording: () => undefined }, undefined, quiet, {
      // calls-service is still starting at the first read
      openCalls: async () => {
        if (++reads === 1) throw new Error('service did not answer in time');
        return open;
      },
      openCallsRetryMs: [20],
    });
    server.channels = [{ Channel: 'PJSIP/1679728442-00000002', Uniqueid: '1795700000.2', Linkedid: '1795700000.2', Context: 'acct-1001', Exten: '79101234567', ChannelStateDesc: 'Up' }];
    const resynced = pipeline.nextResync();
    pipeline.start();
    expect(await resynced).toBe(true);

    await eventually(async () => (await published()).some((e) => e.subject === CallEnded.subject && (e.data as { call_id: string }).call_id === 'call-ended-while-away'));
    await pipeline.idle();
    const mine = new Set(open.map((c) => c.call_id));
    const ended = (await published()).filter((e) => e.subject === CallEnded.subject && mine.has((e.data as { call_id: string }).call_id));
    expect(ended.map((e) => e.data)).toEqual([
      expect.objectContaining({ call_id: 'call-ended-while-away', account_id: 1001, reconciled: true, seq: FORGOTTEN_SEQ, node: 'pbx1' }),
    ]);
    expect(ended[0].msgId).toBe('pbx1:1795700000.1:ended:forgotten');
    expect(reads).toBe(2);
    // The live call was adopted and goes on.
    expect((await published()).filter((e) => e.subject === CallStarted.subject).map((e) => (e.data as { call_id: string }).call_id)).toContain('pbx1:1795700000.2');
  });
});
