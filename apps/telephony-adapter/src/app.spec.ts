import { createHash, randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { INestMicroservice } from '@nestjs/common';
import { Objm } from '@nats-io/obj';
import { DomainError } from '@ringcloud/contracts-common';
import {
  RECORDINGS_BUCKET,
  TELEPHONY_EVENTS_STREAM,
  TelephonyChannelGet,
  TelephonyChannelList,
  TelephonyHealthPing,
  TelephonyOriginate,
} from '@ringcloud/contracts-telephony';
import { UserProvisioning, UsersUserCreated, UsersUserDeleted } from '@ringcloud/contracts-users';
import { RpcClient, createNatsMicroservice, jetstream } from '@ringcloud/nest-nats';
import { AppModule } from './app.module';
import { dialData } from './provisioning/provisioning.service';
import { pcmWav } from './recordings/wav';
import { holdTable } from '@ringcloud/testing';
import { FakeAmiServer, amiFrame, userChannelFrame } from './testing/fake-ami-server';
import { TestEnv, eventually, testConfig } from './testing/test-env';

const USER = '1679728441';
const OTHER_USER = '1679728499';

function userCreated(user: string, accountId: number, num: string): UserProvisioning {
  return {
    event_id: randomUUID(),
    occurred_at: new Date().toISOString(),
    version: 1,
    account_id: accountId,
    user,
    num,
    mail: `${user}@example.com`,
    voice_mail_box: 'off',
    sip: { username: user, realm: 'ringcloud', md5_cred: createHash('md5').update(`${user}:ringcloud:Str0ngPass`).digest('hex') },
    changed: ['password', 'num', 'mail', 'voice_mail_box'],
  };
}

const channel = (event: string, uniqueid: string, extra: Record<string, string> = {}) => userChannelFrame(USER, event, uniqueid, extra);

/** The real microservice (AppModule) on a private NATS, a fresh schema and a fake PBX. */
describe('telephony-adapter over NATS (end to end)', () => {
  let env: TestEnv;
  let server: FakeAmiServer;
  let app: INestMicroservice;
  let rpc: RpcClient;

  beforeAll(async () => {
    env = await TestEnv.start();
    server = await FakeAmiServer.start();
    const config = testConfig({ natsUrl: env.nats.url, databaseUrl: env.schema!.databaseUrl, amiPort: server.port, recordingsDir: env.recordingsDir });
    app = await createNatsMicroservice(AppModule.forRoot(config), { servers: env.nats.url, queue: 'telephony-adapter', logger: false });
    await app.listen();
    rpc = new RpcClient({ servers: env.nats.url, requestTimeoutMs: 3000, name: 'test-calls-service' });
    await rpc.connect();
    // users-service's events provision both users.
    const js = jetstream(env.nc);
    for (const e of [userCreated(USER, 1001, '401'), userCreated(OTHER_USER, 1002, '401')]) await js.publish(UsersUserCreated.subject, JSON.stringify(e), { msgID: e.event_id });
    await eventually(async () => (await env.prisma!.psEndpoint.count()) === 2, 10_000);
    await eventually(async () => (await rpc.send(TelephonyHealthPing.contract, {})).ami === true, 10_000);
  }, 60_000);

  afterAll(async () => {
    await rpc?.onApplicationShutdown();
    await app?.close();
    await server?.close();
    await env?.stop();
  });

  const error = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a failure');
      },
      (err: DomainError) => ({ code: err.code, message: err.message }),
    );
  const events = () => env.streamMessages(TELEPHONY_EVENTS_STREAM.name);
  const originate = (over: Partial<TelephonyOriginate.Request> = {}) =>
    rpc.send(TelephonyOriginate.contract, { call_id: randomUUID(), account_id: 1001, user: USER, num: '79101234567', ...over });

  it('provisioned the realtime rows from USERS_EVENTS', async () => {
    const endpoint = await env.prisma!.psEndpoint.findUnique({ where: { id: USER } });
    expect(endpoint).toMatchObject({ context: 'acct-1001', aors: USER, auth: USER });
    expect(await env.prisma!.extension.findMany({ where: { exten: '401' }, orderBy: [{ context: 'asc' }, { priority: 'asc' }] })).toEqual([
      expect.objectContaining({ context: 'acct-1001', priority: 1, appdata: dialData(USER) }),
      expect.objectContaining({ context: 'acct-1001', priority: 2, app: 'Hangup' }),
      expect.objectContaining({ context: 'acct-1002', priority: 1, appdata: dialData(OTHER_USER) }),
      expect.objectContaining({ context: 'acct-1002', priority: 2, app: 'Hangup' }),
    ]);
  });

  it('asked the PBX to reload its dial plan for the new account contexts', async () => {
    await eventually(() => server.actions.some((a) => a.action === 'Command' && a.command === 'dialplan reload'));
  });

  it('refuses to originate to a user without a contact, from the contacts it tracks (no question to the PBX per call)', async () => {
    const questions = () => server.actions.filter((a) => a.action !== 'Originate' && a.action !== 'Command').length;
    const before = questions();
    expect(await error(originate())).toEqual({ code: 'BAD_REQUEST', message: 'User has no registered device' });
    server.onOriginate = () => undefined;
    const accepted = () => originate().then(() => true, () => false);
    server.register(USER, 'NonQualified'); // REGISTER of a qualified AOR: ContactStatus at once
    await eventually(accepted);
    // Qualify timed out: Asterisk skips unreachable contacts when dialling (AST_SIP_CONTACT_FILTER_REACHABLE).
    server.register(USER, 'Unreachable');
    await eventually(async () => !(await accepted()));
    server.register(USER, 'Reachable');
    await eventually(accepted);
    server.unregister(USER);
    await eventually(async () => (await error(originate())).message === 'User has no registered device');
    expect(questions()).toBe(before);
    expect(server.actions.some((a) => a.action === 'Getvar')).toBe(false);
    server.onOriginate = undefined;
  });

  it('originates exactly as Asterisk expects, once per call id', async () => {
    server.register(USER);
    const originates = () => server.actions.filter((a) => a.action === 'Originate');
    const before = originates().length;
    const callId = randomUUID();
    const answer = await originate({ call_id: callId });
    expect(answer).toEqual({ call_id: callId, action_id: expect.stringMatching(/^rc-/), src: '401' });
    const sent = originates().slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toEqual({
      action: 'Originate',
      actionid: answer.action_id,
      async: 'true',
      callerid: `"79101234567" <401>`,
      channel: `PJSIP/${USER}`,
      context: 'acct-1001',
      exten: '79101234567',
      priority: '1',
      timeout: '30000',
      variable: { RC_CALL_ID: callId, RC_ACCOUNT: '1001', RC_USER: USER },
    });
    expect(await env.prisma!.originateRequest.findUnique({ where: { callId } })).toMatchObject({ actionId: answer.action_id, src: '401', node: 'pbx1' });
    // calls-service retrying after a timeout must not ring the phone twice.
    expect(await originate({ call_id: callId })).toEqual(answer);
    expect(originates().length).toBe(before + 1);
  });

  it('places one call when its requester gave up during a slow Originate and retries with the same call id (an idempotent v1 retry)', async () => {
    server.register(USER);
    const originates = () => server.actions.filter((a) => a.action === 'Originate');
    const before = originates().length;
    const impatient = new RpcClient({ servers: env.nats.url, requestTimeoutMs: 200, name: 'test-impatient-gateway' });
    await impatient.connect();
    try {
      server.originateDelayMs = 600; // longer than the requester waits, shorter than the AMI action timeout
      const callId = randomUUID();
      await expect(impatient.send(TelephonyOriginate.contract, { call_id: callId, account_id: 1001, user: USER, num: '79101234567' })).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
      // The request reached the adapter in time: the Originate goes on after the requester gave up.
      await eventually(async () => originates().length === before + 1, 5000);
      await new Promise((r) => setTimeout(r, 700));
      server.originateDelayMs = 0;
      const retried = await originate({ call_id: callId });
      expect(retried).toEqual({ call_id: callId, action_id: originates()[before].actionid, src: '401' });
      expect(originates().length).toBe(before + 1);
    } finally {
      server.originateDelayMs = 0;
      await impatient.onApplicationShutdown();
    }
  });

  it('rings nothing when the database kept an originate until its requester gave up (the client was told it failed)', async () => {
    server.register(USER);
    const originates = () => server.actions.filter((a) => a.action === 'Originate');
    const before = originates().length;
    const callId = randomUUID();
    // Another session holds the table the adapter reads first: its originate waits for the database.
    const { released } = await holdTable(env.schema!.databaseUrl, 'originate_requests', 1500);
    await expect(rpc.send(TelephonyOriginate.contract, { call_id: callId, account_id: 1001, user: USER, num: '79101234567' }, 400)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    await released;
    // The adapter got its rows after the requester had answered its client: it must not ring now.
    await new Promise((r) => setTimeout(r, 500));
    expect(originates().length).toBe(before);
    expect(await env.prisma!.originateRequest.findUnique({ where: { callId } })).toBeNull();
    // The client's retry (same call id, as an Idempotency-Key gives) places the call, once.
    const retried = await originate({ call_id: callId });
    expect(originates().slice(before)).toEqual([expect.objectContaining({ actionid: retried.action_id })]);
  });

  it("refuses unknown users, another account's user and CR/LF smuggled into any value", async () => {
    expect(await error(originate({ user: OTHER_USER }))).toEqual({ code: 'NOT_FOUND', message: `Unknown user ${OTHER_USER}` });
    // Not provisioned at all (never created, or deleted): the same answer, before any AMI action.
    const actions = server.actions.length;
    expect(await error(originate({ user: '1679728400' }))).toEqual({ code: 'NOT_FOUND', message: 'Unknown user 1679728400' });
    expect(server.actions.length).toBe(actions);
    const before = server.rawReceived.length;
    for (const bad of [{ num: '79101234567\r\nAction: Hangup' }, { user: `${USER}\r\n` }, { num: '1\n\nAction: Command' }]) {
      expect((await error(originate(bad as any))).code).toBe('BAD_REQUEST');
    }
    expect(server.rawReceived.slice(before)).not.toMatch(/Hangup|Command/);
  });

  it("refuses a deleted user at once, although its phone's contact is still there", async () => {
    const GONE = '1679728477';
    const js = jetstream(env.nc);
    const created = userCreated(GONE, 1001, '477');
    await js.publish(UsersUserCreated.subject, JSON.stringify(created), { msgID: created.event_id });
    await eventually(async () => (await env.prisma!.psEndpoint.count({ where: { id: GONE } })) === 1);
    server.register(GONE);
    server.onOriginate = () => undefined;
    try {
      await eventually(() => originate({ user: GONE }).then(() => true, () => false));
      const deleted = { event_id: randomUUID(), occurred_at: new Date().toISOString(), version: 2, account_id: 1001, user: GONE, num: '477' };
      await js.publish(UsersUserDeleted.subject, JSON.stringify(deleted), { msgID: deleted.event_id });
      await eventually(async () => (await env.prisma!.psEndpoint.count({ where: { id: GONE } })) === 0);
      const actions = server.actions.length;
      expect(await error(originate({ user: GONE }))).toEqual({ code: 'NOT_FOUND', message: `Unknown user ${GONE}` });
      expect(server.actions.length).toBe(actions);
    } finally {
      server.onOriginate = undefined;
    }
  });

  it('publishes a failed originate that never created a channel as a FAILED call', async () => {
    server.onOriginate = (action, conn) =>
      conn.send(
        amiFrame({
          Event: 'OriginateResponse',
          Privilege: 'call,all',
          ActionID: String(action.actionid),
          Response: 'Failure',
          Channel: String(action.channel),
          Context: String(action.context),
          Exten: String(action.exten),
          Reason: '0',
          Uniqueid: '<unknown>',
          CallerIDNum: '401',
          CallerIDName: '79101234567',
        }),
      );
    const answer = await originate();
    const mine = await eventually(async () => {
      const found = (await events()).filter((e) => e.data.call_id === answer.call_id);
      return found.length === 3 && found;
    });
    expect(mine.map((e) => e.subject)).toEqual(['telephony.call.started', 'telephony.call.ended', 'telephony.call.cdr']);
    expect(mine[2].data).toMatchObject({ disposition: 'FAILED', src: '401', dst: '79101234567', user: USER, account_id: 1001, direction: 'outgoing' });
    await eventually(async () => (await env.prisma!.originateRequest.findUnique({ where: { callId: answer.call_id } }))?.response === 'Failure');
    server.onOriginate = undefined;
  });

  it('lists and shows live channels of the account only', async () => {
    server.send(channel('Newchannel', '1795900000.1', { ChannelStateDesc: 'Ring', ChannelState: '4' }));
    await eventually(async () => (await rpc.send(TelephonyChannelList.contract, { account_id: 1001 })).length === 1);
    expect(await rpc.send(TelephonyChannelList.contract, { account_id: 1001 })).toEqual([`PJSIP/${USER}-00000007`]);
    expect(await rpc.send(TelephonyChannelList.contract, { account_id: 1002 })).toEqual([]);
    expect(await rpc.send(TelephonyChannelGet.contract, { account_id: 1001, channel: `PJSIP/${USER}-00000007` })).toEqual({
      Channel: `PJSIP/${USER}-00000007`,
      CallerIDNum: '401',
      CallerIDName: '79101234567',
      ConnectedLineNum: '79101234567',
      ConnectedLineName: '<unknown>',
      Seconds: 0,
    });
    expect(await error(rpc.send(TelephonyChannelGet.contract, { account_id: 1002, channel: `PJSIP/${USER}-00000007` }))).toEqual({
      code: 'NOT_FOUND',
      message: 'Channel not found',
    });
    expect((await error(rpc.send(TelephonyChannelGet.contract, { account_id: 1001, channel: 'PJSIP/x\r\nAction: Hangup' }))).code).toBe('BAD_REQUEST');
    server.send(channel('Hangup', '1795900000.1', { Cause: '16', 'Cause-txt': 'Normal Clearing' }));
    await eventually(async () => (await rpc.send(TelephonyChannelList.contract, { account_id: 1001 })).length === 0);
  });

  it('stores the recording of a call and publishes recording.finished after the hang-up', async () => {
    const uid = '1795900000.5';
    const callId = randomUUID();
    const wav = pcmWav(8000 * 2);
    server.send(channel('Newchannel', uid, { ChannelStateDesc: 'Ring', ChannelState: '4' }));
    server.send(channel('VarSet', uid, { Variable: 'RC_CALL_ID', Value: callId }));
    server.send(channel('VarSet', uid, { Variable: 'RC_USER', Value: USER }));
    server.send(channel('Newstate', uid));
    server.send(channel('VarSet', uid, { Variable: 'MIXMONITOR_FILENAME', Value: `/var/spool/asterisk/monitor/${uid}.wav` }));
    server.send(channel('MixMonitorStart', uid));
    writeFileSync(path.join(env.recordingsDir, `${uid}.wav`), wav);
    server.send(channel('Hangup', uid, { Cause: '16', 'Cause-txt': 'Normal Clearing' }));

    const finished = await eventually(async () => (await events()).find((e) => e.subject === 'telephony.recording.finished' && e.data.call_id === callId), 10_000);
    expect(finished.data).toMatchObject({ object_name: `1001/${uid}.wav`, file_name: `${uid}.wav`, user: USER, size: wav.length, duration_s: 2, account_id: 1001 });
    const store = await new Objm(env.nc).open(RECORDINGS_BUCKET);
    expect(Buffer.from((await store.getBlob(`1001/${uid}.wav`))!)).toEqual(wav);
    // Stored, so the PBX's copy goes (recordingsKeepLocal false, the default).
    await eventually(async () => !existsSync(path.join(env.recordingsDir, `${uid}.wav`)) || undefined);
    const mine = (await events()).filter((e) => e.data.call_id === callId);
    expect(mine.map((e) => e.subject)).toEqual(['telephony.call.started', 'telephony.call.answered', 'telephony.call.ended', 'telephony.recording.finished']);
    expect(mine.map((e) => e.data.seq)).toEqual([0, 1, 2, 3]); // stream order is seq order, the slow recording included
  });

  it('answers ami=false and UNAVAILABLE at once while the PBX is down, and recovers', async () => {
    const port = server.port;
    await server.stopListening();
    await eventually(async () => (await rpc.send(TelephonyHealthPing.contract, {})).ami === false);
    const started = Date.now();
    expect((await error(originate())).code).toBe('UNAVAILABLE');
    expect((await error(rpc.send(TelephonyChannelList.contract, { account_id: 1001 }))).code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(1000);

    await server.listen(port);
    await eventually(async () => (await rpc.send(TelephonyHealthPing.contract, {})).ami === true, 10_000);
  });
});
