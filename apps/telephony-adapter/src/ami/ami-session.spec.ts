import { freePort } from '@ringcloud/testing';
import { DomainError } from '@ringcloud/contracts-common';
import { FakeAmiServer } from '../testing/fake-ami-server';
import { AmiSession, AmiSessionOptions } from './ami-session';
import { AmiMessage, field } from './ami-message';
import { Logs } from '../testing/logs';

function sessionFor(port: number, logs: Logs, overrides: Partial<AmiSessionOptions> = {}): AmiSession {
  return new AmiSession({
    node: 'pbx1',
    host: '127.0.0.1',
    port,
    username: 'crm',
    secret: 'crmsecret',
    actionTimeoutMs: 500,
    reconnectMinMs: 50,
    reconnectMaxMs: 400,
    logger: logs,
    ...overrides,
  });
}

const until = async (check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('AmiSession (real asterisk-manager client against a fake AMI server)', () => {
  let server: FakeAmiServer;
  let session: AmiSession;
  let logs: Logs;

  beforeEach(async () => {
    server = await FakeAmiServer.start();
    logs = new Logs();
  });
  afterEach(async () => {
    await session?.stop();
    await server.close();
  });

  it('logs in, answers actions and delivers events', async () => {
    session = sessionFor(server.port, logs);
    const events: AmiMessage[] = [];
    session.onEvent((e) => events.push(e));
    session.start();
    await until(() => session.isReady);
    expect(server.actions[0]).toMatchObject({ action: 'login', username: 'crm', secret: 'crmsecret' });

    expect(field(await session.action({ Action: 'Ping' }), 'ping')).toBe('Pong');
    // An unknown action is answered too (Response: Error): the caller reads it.
    expect(field(await session.action({ Action: 'NoSuchAction' }), 'response')).toBe('Error');
    server.event({ Event: 'DeviceStateChange', Privilege: 'call,all', Device: 'PJSIP/1679728441', State: 'NOT_INUSE' });
    await until(() => events.some((e) => e.event === 'DeviceStateChange'));
    expect(events.find((e) => e.event === 'DeviceStateChange')).toMatchObject({ device: 'PJSIP/1679728441', state: 'NOT_INUSE' });
  });

  it('fails actions at once with UNAVAILABLE while disconnected, and never writes them later', async () => {
    const port = await freePort(); // nothing listens there
    session = sessionFor(port, logs);
    session.start();
    const started = Date.now();
    await expect(session.action({ Action: 'CoreShowChannels' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(3000); // under the 5 s action timeout: it did not wait
    // The connection error was listened to and logged, not thrown or swallowed.
    await until(() => logs.lines.some((l) => l.startsWith('warn') && l.includes('ECONNREFUSED')));
    expect(session.isReady).toBe(false);
  });

  it('times out an action whose response never comes', async () => {
    session = sessionFor(server.port, logs);
    session.start();
    await until(() => session.isReady);
    server.answerActions = false;
    const started = Date.now();
    await expect(session.action({ Action: 'CoreShowChannels' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails a pending action as soon as the connection drops, then reconnects, logs in again and keeps its listeners', async () => {
    session = sessionFor(server.port, logs);
    const events: AmiMessage[] = [];
    let readyCount = 0;
    let downCount = 0;
    session.onEvent((e) => events.push(e));
    session.onReady(() => readyCount++);
    session.onDown(() => downCount++);
    session.start();
    await until(() => readyCount === 1);

    server.answerActions = false;
    const pending = session.action({ Action: 'CoreShowChannels' }, { timeoutMs: 10_000 });
    await until(() => server.actions.some((a) => a.action === 'CoreShowChannels'));
    const dropped = Date.now();
    server.dropAll();
    await expect(pending).rejects.toBeInstanceOf(DomainError);
    expect(Date.now() - dropped).toBeLessThan(5000); // not the 10 s timeout
    expect(downCount).toBe(1);

    await until(() => readyCount === 2);
    expect(server.logins).toBe(2);
    server.answerActions = true;
    server.event({ Event: 'Newchannel', Channel: 'PJSIP/1679728441-00000001', Uniqueid: '1.1', Linkedid: '1.1' });
    await until(() => events.some((e) => e.event === 'Newchannel'));
  });

  it('pings a silent PBX, and drops and retries the connection of one that stopped answering (hung, TCP still open)', async () => {
    session = sessionFor(server.port, logs, { keepaliveMs: 150, actionTimeoutMs: 300 });
    let downs = 0;
    session.onDown(() => downs++);
    session.start();
    await until(() => session.isReady);
    const pings = () => server.actions.filter((a) => a.action === 'Ping').length;
    await until(() => pings() >= 2);
    expect([session.isReady, downs, server.logins]).toEqual([true, 0, 1]);

    // The PBX hangs: the connection stays open, nothing is answered any more.
    server.answerActions = false;
    const hungAt = Date.now();
    await until(() => downs === 1, 3000);
    expect(Date.now() - hungAt).toBeLessThan(1500);
    expect(session.isReady).toBe(false);
    expect(logs.lines).toContainEqual(expect.stringMatching(/^warn AMI 127\.0\.0\.1:\d+: the PBX did not answer a keepalive Ping/));
    // Reset, not ended: a real Asterisk would run what it still holds unread when it resumes.
    await until(() => server.closings.includes('reset'));
    await expect(session.action({ Action: 'Originate' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    // It answers again: logged in anew, and a PBX that talks is not pinged.
    server.answerActions = true;
    await until(() => session.isReady && server.logins >= 2, 3000);
    const downsNow = downs;
    const before = pings();
    for (let i = 0; i < 10; i++) {
      server.event({ Event: 'PeerStatus', Peer: 'PJSIP/1679728441', PeerStatus: 'Reachable' });
      await new Promise((r) => setTimeout(r, 40));
    }
    expect([pings() - before, downs]).toEqual([0, downsNow]);
  });

  it('backs off exponentially with jitter while the PBX is away, and comes back', async () => {
    const port = await freePort();
    session = sessionFor(port, logs, { reconnectMinMs: 40, reconnectMaxMs: 160, random: () => 1 });
    session.start();
    await until(() => logs.lines.filter((l) => l.startsWith('debug AMI reconnect')).length >= 4);
    const delays = logs.lines.filter((l) => l.startsWith('debug AMI reconnect')).map((l) => Number(/in (\d+) ms/.exec(l)![1]));
    expect(delays.slice(0, 4)).toEqual([40, 80, 160, 160]);
    // The repeated ECONNREFUSED is logged once, not on every attempt.
    expect(logs.lines.filter((l) => l.includes('ECONNREFUSED'))).toHaveLength(1);

    const late = new FakeAmiServer();
    await late.listen(port);
    try {
      await until(() => session.isReady, 3000);
    } finally {
      await session.stop();
      await late.close();
    }
  });

  it('keeps retrying (and logs without the secret) when the login is refused', async () => {
    session = sessionFor(server.port, logs, { secret: 'wrong-secret' });
    session.start();
    await until(() => server.actions.filter((a) => a.action === 'login').length >= 2);
    expect(session.isReady).toBe(false);
    const refused = logs.lines.filter((l) => l.includes('refused'));
    expect(refused.length).toBeGreaterThan(0);
    expect(logs.lines.join('\n')).not.toContain('wrong-secret');
  });

  it('abandons a login that is never answered and tries again', async () => {
    server.answerLogin = false;
    session = sessionFor(server.port, logs, { connectTimeoutMs: 200 });
    session.start();
    await until(() => server.actions.filter((a) => a.action === 'login').length >= 3, 3000);
    expect(session.isReady).toBe(false);
    // Each abandoned attempt is reset: none lingers to log in (or time out unauthenticated) later.
    await until(() => server.closings.filter((c) => c === 'reset').length >= 2);
    expect(server.openConnections).toBeLessThanOrEqual(1);
    server.answerLogin = true;
    await until(() => session.isReady, 3000);
    expect(server.openConnections).toBe(1);
  });

  it('refuses CR/LF in any header before a byte is written', async () => {
    session = sessionFor(server.port, logs);
    session.start();
    await until(() => session.isReady);
    const before = server.rawReceived;
    for (const value of ['1\r\nAction: Hangup', 'x\nChannel: PJSIP/1', 'a\rb', 'nul\0']) {
      await expect(session.action({ Action: 'Originate', Exten: value })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(session.action({ Action: 'Originate', Variable: { RC_CALL_ID: value } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
    await expect(session.action({ Action: 'Originate', Variable: { RC_CALL_ID: 'a,RC_ACCOUNT=2' } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(session.action({ 'Action\r\nX': 'Originate' } as any)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(server.rawReceived).toBe(before);
    expect(server.actions.filter((a) => String(a.action).toLowerCase() === 'originate')).toHaveLength(0);
  });
});
