import { Channel, ChannelState } from './channel';
import type { CallEngine } from './engine';
import { voicemail } from './voicemail';

/**
 * 'continue' to the next priority, 'hangup' to end the dial plan (the app returned -1), 'jump'
 * when the app moved the channel itself (Goto).
 */
export type AppResult = 'continue' | 'hangup' | 'jump';

export type App = (engine: CallEngine, ch: Channel, data: string) => Promise<AppResult>;

/** Asterisk prints applications by their registered names (Playtones in the conf is PlayTones). */
const CANONICAL: Record<string, string> = {
  answer: 'Answer',
  busy: 'Busy',
  congestion: 'Congestion',
  dial: 'Dial',
  goto: 'Goto',
  hangup: 'Hangup',
  mixmonitor: 'MixMonitor',
  noop: 'NoOp',
  playtones: 'PlayTones',
  queue: 'Queue',
  ringing: 'Ringing',
  set: 'Set',
  voicemail: 'VoiceMail',
  wait: 'Wait',
};

export const canonicalApp = (name: string) => CANONICAL[name.toLowerCase()] ?? name;

/** Blocks for `seconds` of PBX time; a hangup request ends it (and the dial plan). */
async function pause(engine: CallEngine, ch: Channel, seconds: number): Promise<AppResult> {
  const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
  return (await engine.clock.sleep(ms, ch.signal)) === 'aborted' ? 'hangup' : 'continue';
}

/** Busy() and Congestion(): an unanswered channel takes the cause and the Busy state, and says so to its caller. */
async function refuse(engine: CallEngine, ch: Channel, data: string, cause: number, what: 'busy' | 'congestion'): Promise<AppResult> {
  if (ch.state !== ChannelState.Up) {
    ch.hangupCause = cause;
    engine.setState(ch, ChannelState.Busy);
    engine.indicate(ch, what);
    if (ch.tech === 'PJSIP') {
      // chan_pjsip answers the INVITE with 486/503 at once, which ends the session (fixture 37).
      ch.techCause = what === 'busy' ? 486 : 503;
      engine.requestHangup(ch, cause, 'HangupRequest');
    }
  }
  await pause(engine, ch, data === '' ? 3600 : Number(data));
  return 'hangup';
}

export const APPS: Record<string, App> = {
  noop: async () => 'continue',
  playtones: async () => 'continue',

  /** Answers an unanswered channel, then waits half a second for media (as recorded). */
  answer: async (engine, ch) => {
    if (ch.state === ChannelState.Up) return 'continue';
    engine.answer(ch);
    engine.indicate(ch, 'answer');
    return pause(engine, ch, 0.5);
  },

  ringing: async (engine, ch) => {
    engine.indicate(ch, 'ringing');
    return 'continue';
  },

  wait: async (engine, ch, data) => pause(engine, ch, Number(data)),

  hangup: async (_engine, ch, data) => {
    if (!ch.hangupCause) ch.hangupCause = Number(data) > 0 ? Number(data) : 16;
    ch.hungUpByDialplan = true;
    return 'hangup';
  },

  busy: async (engine, ch, data) => refuse(engine, ch, data, 17, 'busy'),
  congestion: async (engine, ch, data) => refuse(engine, ch, data, 34, 'congestion'),

  /** Set(CDR(userfield)=x) writes the CDR (no VarSet); Set(NAME=value) a channel variable. */
  set: async (engine, ch, data) => {
    const eq = data.indexOf('=');
    if (eq <= 0) return 'continue';
    const name = data.slice(0, eq).trim();
    const value = data.slice(eq + 1);
    if (/^CDR\(userfield\)$/i.test(name)) engine.cdrOf(ch)?.setUserfield(value);
    else engine.setVar(ch, name, value);
    return 'continue';
  },

  /** Starts recording into the file named by the argument (written when the channel hangs up). */
  goto: async (engine, ch, data) => goto(engine, ch, data),

  voicemail: async (engine, ch, data) => voicemail(engine, ch, data),

  mixmonitor: async (engine, ch, data) => {
    // app_mixmonitor.c: "MixMonitor requires an argument", and the app returns -1 (the call ends).
    if (data === '') return 'hangup';
    engine.mixMonitor(ch, data.split(',')[0] || engine.recordingPath(ch));
    return 'continue';
  },

  dial: async (engine, ch, data) => engine.dial(ch, data),

  queue: async (engine, ch, data) => queue(engine, ch, data),
};

/** Goto([[context,]exten,]priority): the next step is looked up there. */
async function goto(engine: CallEngine, ch: Channel, data: string): Promise<AppResult> {
  const parts = data.split(',').map((p) => p.trim());
  const [context, exten, priority] = parts.length >= 3 ? parts : parts.length === 2 ? [ch.context, parts[0], parts[1]] : [ch.context, ch.exten, parts[0]];
  const p = Number(priority);
  if (!Number.isInteger(p) || p < 1) {
    engine.log.warn(`${ch.name}: Goto(${data}): priority must be a number here`);
    return 'hangup';
  }
  ch.context = context;
  ch.exten = exten;
  ch.priority = p;
  return 'jump';
}

/**
 * Queue(name,...) with the fixture's single static member (ringall): the events of scenario 11
 * (QueueCallerJoin, AgentCalled, AgentConnect, AgentComplete, QueueCallerLeave).
 */
async function queue(engine: CallEngine, caller: Channel, data: string): Promise<AppResult> {
  const name = data.split(',')[0];
  const member = engine.config.queues[name]?.members[0];
  if (!member) {
    engine.setVar(caller, 'QUEUESTATUS', 'JOINEMPTY');
    return 'continue';
  }
  const pub = engine.pub;
  for (const v of ['ANSWEREDTIME', 'ANSWEREDTIME_MS', 'DIALEDTIME', 'DIALEDTIME_MS', 'QUEUEWAIT', 'QUEUEWAIT_MS']) engine.setVar(caller, v, '');
  engine.devices.queueChanged(`Queue:${name}`, 'RINGING');
  pub.emit('QueueCallerJoin', 'agent,all', [...caller.snapshot(), ['Queue', name], ['Position', '1'], ['Count', '1']]);
  const joinedAt = engine.now();

  const [exten, context] = member.interface.slice('Local/'.length).split('@');
  const dialString = `${exten}@${context}`;
  const [one, two] = engine.createLocalPair(exten, context, caller.linkedid, caller.accountCode);
  one.hasCdr = false;
  engine.announce(one);
  engine.announce(two);
  one.callerId = { ...caller.callerId };
  one.outgoingAppl = 'AppQueue';
  engine.execute(one, 'AppQueue', '(Outgoing Line)');
  pub.newCallerid(one);
  engine.setVar(one, 'DIALEDPEERNUMBER', dialString);
  engine.setVar(two, 'DIALEDPEERNUMBER', dialString);
  two.callerId = { ...caller.callerId };
  two.connected = { ...caller.callerId };
  two.ani = two.callerId.num;
  pub.newCallerid(two);
  pub.newConnectedLine(two);
  one.localLinked = two.localLinked = true;
  pub.localBridge(one, two, context, exten);
  const memberBlock = (): [string, string][] => [
    ['Queue', name],
    ['Interface', member.interface],
    ['MemberName', member.name],
  ];
  // app_queue publishes AgentCalled with the member channel as it is about to be (Asterisk's own race).
  const future = one.snapshot('Dest').map(([k, v]): [string, string] =>
    k === 'DestExten' ? [k, caller.exten] : k === 'DestConnectedLineNum' ? [k, caller.callerId.num || '<unknown>'] : k === 'DestConnectedLineName' ? [k, caller.callerId.name || '<unknown>'] : [k, v],
  );
  pub.emit('AgentCalled', 'agent,all', [...caller.snapshot(), ...future, ...memberBlock()]);
  engine.devices.memberCallStarted(member.interface);
  pub.dialBegin(caller, one, member.interface);
  engine.cdrOf(caller)?.onDialBegin(caller, one, engine.now());
  one.beforeAnswer = () => {
    one.exten = caller.exten;
    one.connected = { ...caller.callerId };
  };
  engine.background(engine.runPbx(two, context, exten, 1), two.name);

  const ringStart = engine.now();
  const outcome = await engine.waitOutcome(one, 30_000, () => pub.dialState(caller, one, 'RINGING'), caller.signal);
  if (outcome !== 'answer') {
    pub.dialEnd(caller, one, outcome === 'cancel' ? 'CANCEL' : 'NOANSWER');
    engine.devices.queueChanged(`Queue:${name}`, 'NOT_INUSE');
    pub.emit('QueueCallerLeave', 'agent,all', [...caller.snapshot(), ['Queue', name], ['Position', '1'], ['Count', '0']]);
    one.requestHangup(16);
    await engine.destroy(one);
    engine.devices.memberCallEnded(member.interface, engine.now());
    return outcome === 'cancel' ? 'hangup' : 'continue';
  }
  engine.execute(one, 'AppQueue', '(Outgoing Line)');
  pub.newConnectedLine(one);
  pub.dialEnd(caller, one, 'ANSWER');
  caller.celDialStatus = 'ANSWER';
  const answeredAt = engine.now();
  engine.cdrOf(caller)?.onDialEnd(caller, 'ANSWER', answeredAt);
  engine.devices.queueChanged(`Queue:${name}`, 'NOT_INUSE');
  pub.emit('QueueCallerLeave', 'agent,all', [...caller.snapshot(), ['Queue', name], ['Position', '1'], ['Count', '0']]);
  const holdTime = Math.floor((answeredAt - joinedAt) / 1000);
  engine.setVar(caller, 'QUEUEPOSITION', '1');
  engine.setVar(caller, 'QUEUEWAIT', String(holdTime));
  engine.setVar(caller, 'QUEUEWAIT_MS', String(Math.floor(answeredAt - joinedAt)));
  pub.emit('AgentConnect', 'agent,all', [
    ...caller.snapshot(),
    ...one.snapshot('Dest'),
    ...memberBlock(),
    ['HoldTime', String(holdTime)],
    ['RingTime', String(Math.floor((answeredAt - ringStart) / 1000))],
  ]);
  caller.dialled = true;

  const complete = (reason: 'caller' | 'agent') => {
    const now = engine.now();
    engine.setVar(caller, 'ANSWEREDTIME', String(Math.floor((now - answeredAt) / 1000)));
    engine.setVar(caller, 'ANSWEREDTIME_MS', String(Math.floor(now - answeredAt)));
    engine.setVar(caller, 'DIALEDTIME', String(Math.floor((now - joinedAt) / 1000)));
    engine.setVar(caller, 'DIALEDTIME_MS', String(Math.floor(now - joinedAt)));
    return () =>
      pub.emit('AgentComplete', 'agent,all', [
        ...caller.snapshot(),
        ...one.snapshot('Dest'),
        ...memberBlock(),
        ['HoldTime', String(holdTime)],
        ['TalkTime', String(Math.floor((now - answeredAt) / 1000))],
        ['Reason', reason],
      ]);
  };
  const { leaver } = await engine.bridgeCall(caller, one, {
    clearPeerExten: false,
    // The caller hanging up is finished (AgentComplete, its Hangup) before the member leaves the bridge.
    afterFirstLeave: async (first) => {
      if (first !== caller) return;
      const agentComplete = complete('caller');
      if (!caller.hangupCause) caller.hangupCause = 16;
      engine.requestHangup(caller, 16, 'SoftHangupRequest');
      agentComplete();
      engine.devices.memberCallEnded(member.interface, engine.now());
      await engine.destroy(caller);
    },
  });
  if (leaver !== caller) {
    complete('agent')();
    engine.devices.memberCallEnded(member.interface, engine.now());
  }
  if (!one.hangupCause) one.hangupCause = 16;
  await engine.destroy(one);
  if (!caller.hangupCause) caller.hangupCause = 16;
  return 'hangup';
}
