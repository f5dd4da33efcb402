import type { Header } from './protocol';
import { AmiMessage } from './protocol';
import { ActionHandler, AmiSession, parseEventMask } from './session';
import { formatDuration, formatTv } from '../engine/clock';
import { Channel, parseCallerId, stateDesc } from '../engine/channel';
import type { CallEngine, OriginateOutcome, OriginateRequest } from '../engine/engine';
import { pjsipActions } from './pjsip';

const truthy = (v: string | undefined) => v !== undefined && ['true', 'yes', '1', 'on'].includes(v.trim().toLowerCase());

/** `Variable: A=1,B=2` (and repeated Variable headers) → pairs. */
export function parseVariables(msg: AmiMessage): [string, string][] {
  const out: [string, string][] = [];
  for (const header of msg.getAll('Variable')) {
    for (const part of header.split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) out.push([part.slice(0, eq).trim(), part.slice(eq + 1)]);
    }
  }
  return out;
}

/** Every action the simulator implements, by lower-case name. */
export function createActions(engine: CallEngine): Record<string, ActionHandler> {
  const seconds = (ch: Channel) => Math.max(0, Math.floor((engine.now() - ch.createdAt) / 1000));

  /**
   * `${DEVICE_STATE(PJSIP/<user>)}` as Asterisk answers it without a channel: the cached state,
   * else what chan_pjsip computes now (INVALID for an unknown endpoint); globals by name; other
   * variables are empty.
   */
  const channelless = async (variable: string): Promise<string> => {
    const device = /^DEVICE_STATE\((.+)\)$/.exec(variable)?.[1];
    if (!device) return engine.globals[variable] ?? '';
    const user = /^PJSIP\/(.+)$/.exec(device)?.[1];
    if (user === undefined) return engine.devices.cached(device) ?? 'UNKNOWN';
    const cached = engine.devices.cached(device);
    if (cached !== undefined) return cached;
    return (await engine.findEndpoint(user)) ? engine.devices.pjsipState(user) : 'INVALID';
  };

  const originateResponse = (req: OriginateRequest, o: OriginateOutcome) => {
    const ch = o.channel;
    const id = ch?.callerId ?? req.callerId;
    engine.pub.emit('OriginateResponse', 'call,all', [
      ...(req.actionId !== undefined ? ([['ActionID', req.actionId]] as Header[]) : []),
      ['Response', o.success ? 'Success' : 'Failure'],
      ['Channel', ch?.name ?? req.channel],
      ['Context', req.context],
      ['Exten', req.exten],
      ['Reason', String(o.reason)],
      ['Uniqueid', ch?.uniqueid ?? '<unknown>'],
      ['CallerIDNum', id?.num || '<unknown>'],
      ['CallerIDName', id?.name || '<unknown>'],
    ]);
  };

  const actions: Record<string, ActionHandler> = {
    login: (s, m) => s.login(m),

    logoff: (s, m) => {
      s.respond(m, 'Goodbye', [['Message', 'Thanks for all the fish.']]);
      s.end();
    },

    ping: (s, m) => s.respond(m, 'Success', [['Ping', 'Pong'], ['Timestamp', (engine.now() / 1000).toFixed(6)]]),

    events: (s, m) => {
      s.events = parseEventMask(m.get('EventMask'), s.events);
      s.respond(m, 'Success', [['Events', s.events.size > 0 ? 'On' : 'Off']]);
    },

    originate: async (s, m) => {
      const channel = m.get('Channel');
      if (!channel) return s.respond(m, 'Error', [['Message', 'Channel not specified']]);
      if (m.get('Application')) return s.respond(m, 'Error', [['Message', 'Originate with Application is not supported by the simulator']]);
      const priority = Number(m.get('Priority') ?? '1');
      if (!Number.isInteger(priority) || priority < 1) return s.respond(m, 'Error', [['Message', 'Invalid priority']]);
      const timeout = Number(m.get('Timeout') ?? '30000');
      const req: OriginateRequest = {
        channel,
        context: m.get('Context') || 'default',
        exten: m.get('Exten') || 's',
        priority,
        timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 30000,
        callerId: parseCallerId(m.get('CallerID')),
        // astman_get_variables: every Variable header's pairs, prepended (the VarSets come in reverse order, fixture 32).
        variables: parseVariables(m).reverse(),
        actionId: m.get('ActionID'),
      };
      if (truthy(m.get('Async'))) {
        s.respond(m, 'Success', [['Message', 'Originate successfully queued']]);
        engine.background(engine.originate(req, (o) => originateResponse(req, o)), `originate ${channel}`);
        return;
      }
      // Synchronous: the reply waits for leg A's answer and no OriginateResponse is sent (scenario 12).
      await new Promise<void>((resolve) => {
        engine.background(
          engine.originate(req, (o) => {
            if (o.success) s.respond(m, 'Success', [['Message', 'Originate successfully queued']]);
            else s.respond(m, 'Error', [['Message', 'Originate failed']]);
            resolve();
          }),
          `originate ${channel}`,
        );
      });
    },

    hangup: (s, m) => {
      // Exact channel names only: Asterisk also takes /regex/, which would let a client stall the process.
      const ch = engine.find(m.get('Channel') ?? '');
      if (!ch) return s.respond(m, 'Error', [['Message', 'No such channel']]);
      const cause = Number(m.get('Cause') ?? '16');
      engine.requestHangup(ch, Number.isInteger(cause) && cause > 0 ? cause : 16, 'SoftHangupRequest');
      s.respond(m, 'Success', [['Message', 'Channel Hungup']]);
    },

    getvar: async (s, m) => {
      const variable = m.get('Variable');
      if (!variable) return s.respond(m, 'Error', [['Message', 'No variable specified']]);
      const name = m.get('Channel');
      const ch = name ? engine.find(name) : undefined;
      if (name && !ch) return s.respond(m, 'Error', [['Message', 'No such channel']]);
      // Without a channel Asterisk still evaluates dial-plan functions; DEVICE_STATE is the one clients use.
      const value = ch ? engine.substitute(`\${${variable}}`, ch) : await channelless(variable);
      s.respond(m, 'Success', [['Variable', variable], ['Value', value]]);
    },

    // app_mixmonitor.c manager_mixmonitor: the same MixMonitor as the dial plan's, on a live channel.
    mixmonitor: (s, m) => {
      const name = m.get('Channel');
      if (!name) return s.respond(m, 'Error', [['Message', 'No channel specified']]);
      const ch = engine.find(name);
      if (!ch) return s.respond(m, 'Error', [['Message', 'No such channel']]);
      const file = m.get('File') ?? '';
      if (file === '') return s.respond(m, 'Error', [['Message', 'Could not start monitoring channel']]);
      // The reply comes first, then the channel's VarSet and MixMonitorStart (65–67: the audiohook is
      // attached on the channel's side after manager_mixmonitor answered).
      s.respond(m, 'Success');
      engine.mixMonitor(ch, file, true);
    },

    setvar: (s, m) => {
      const variable = m.get('Variable');
      if (!variable) return s.respond(m, 'Error', [['Message', 'Variable not specified']]);
      const name = m.get('Channel');
      const ch = name ? engine.find(name) : undefined;
      if (name && !ch) return s.respond(m, 'Error', [['Message', 'No such channel']]);
      if (ch) engine.setVar(ch, variable, m.get('Value') ?? '');
      s.respond(m, 'Success', [['Message', 'Variable Set']]);
    },

    coreshowchannels: (s, m) => {
      const actionId = idHeader(m);
      s.respond(m, 'Success', [['EventList', 'start'], ['Message', 'Channels will follow']]);
      const list = engine.list();
      for (const ch of list) {
        s.send([
          ['Event', 'CoreShowChannel'],
          ...actionId,
          ...ch.snapshot(),
          ['Application', ch.appl],
          ['ApplicationData', ch.data],
          ['Duration', formatDuration(seconds(ch))],
          ['BridgeId', ch.bridge?.id ?? ''],
        ]);
      }
      s.send([['Event', 'CoreShowChannelsComplete'], ...actionId, ['EventList', 'Complete'], ['ListItems', String(list.length)]]);
    },

    status: (s, m) => {
      const actionId = idHeader(m);
      const name = m.get('Channel');
      const list = name ? [engine.find(name)].filter((c): c is Channel => c !== undefined) : engine.list();
      if (name && list.length === 0) return s.respond(m, 'Error', [['Message', 'No such channel']]);
      s.respond(m, 'Success', [['EventList', 'start'], ['Message', 'Channel status will follow']]);
      for (const ch of list) {
        const format = ch.tech === 'PJSIP' ? 'ulaw' : 'slin';
        s.send([
          ['Event', 'Status'],
          ['Privilege', 'Call'],
          ...ch.snapshot(),
          ['Type', ch.tech],
          ['DNID', ''],
          ['EffectiveConnectedLineNum', ch.connected.num || '<unknown>'],
          ['EffectiveConnectedLineName', ch.connected.name || '<unknown>'],
          ['TimeToHangup', '0'],
          ['BridgeID', ch.bridge?.id ?? ''],
          ['Application', ch.appl],
          ['Data', ch.data],
          ['Nativeformats', `(${format})`],
          ['Readformat', format],
          ['Readtrans', ''],
          ['Writeformat', format],
          ['Writetrans', ''],
          ['Callgroup', '0'],
          ['Pickupgroup', '0'],
          ['Seconds', String(seconds(ch))],
          ...actionId,
        ]);
      }
      s.send([['Event', 'StatusComplete'], ...actionId, ['EventList', 'Complete'], ['ListItems', String(list.length)], ['Items', String(list.length)]]);
    },

    command: async (s, m) => {
      const command = (m.get('Command') ?? '').trim().replace(/\s+/g, ' ');
      let output: string[];
      let after: (() => Promise<void>) | undefined;
      if (command === 'core show channels concise') {
        output = engine
          .list()
          .map((ch) =>
            [ch.name, ch.context, ch.exten, ch.priority, stateDesc(ch.state), ch.appl, ch.data, ch.callerId.num, ch.accountCode, '', 3, seconds(ch), ch.bridge?.id ?? '', ch.uniqueid].join('!'),
          );
      } else if (command === 'dialplan reload') {
        // The reply comes first, then the reload's VarSets of the globals (fixture 30).
        output = ['Dialplan reloaded.'];
        after = () => engine.reloadDialplan();
      } else if (command === 'core show version') {
        output = ['Asterisk 22.10.1 (RingCloud PBX simulator)'];
      } else if (command === 'core show uptime seconds') {
        output = [`System uptime: ${Math.floor((engine.now() - engine.startedAt) / 1000)}`, `Last reload: ${Math.floor((engine.now() - engine.startedAt) / 1000)}`];
      } else {
        output = [`No such command '${command}' (type 'core show help ${command}' for other possible commands)`];
      }
      s.respond(m, 'Success', [['Message', 'Command output follows'], ...output.map((line): Header => ['Output', line])]);
      await after?.();
    },

    devicestatelist: async (s, m) => {
      const actionId = idHeader(m);
      // The device state cache: a device Asterisk never computed (an endpoint provisioned after
      // start whose phone raised no event) is not listed (fixture 30).
      const rows = engine.devices.snapshot();
      s.respond(m, 'Success', [['EventList', 'start'], ['Message', 'Device State Changes will follow']]);
      for (const [device, state] of rows) s.send([['Event', 'DeviceStateChange'], ...actionId, ['Device', device], ['State', state]]);
      s.send([['Event', 'DeviceStateListComplete'], ...actionId, ['EventList', 'Complete'], ['ListItems', String(rows.length)]]);
    },

    extensionstate: (s, m) => {
      // The simulator defines no hints: Asterisk answers -1 / Unknown for those (scenarios 21/22).
      s.respond(m, 'Success', [
        ['Message', 'Extension Status'],
        ['Exten', m.get('Exten') ?? ''],
        ['Context', m.get('Context') ?? ''],
        ['Hint', ''],
        ['Status', '-1'],
        ['StatusText', 'Unknown'],
      ]);
    },

    ...pjsipActions(engine),
  };
  return actions;
}

const idHeader = (m: AmiMessage): Header[] => {
  const id = m.get('ActionID');
  return id !== undefined ? [['ActionID', id]] : [];
};

/** After a login: FullyBooted to the session, SuccessfulAuth to everyone listening for security events. */
export function loginEvents(engine: CallEngine, session: AmiSession, username: string, localPort: number): void {
  const uptime = String(Math.floor((engine.now() - engine.startedAt) / 1000));
  session.deliver({
    name: 'FullyBooted',
    category: 'system',
    headers: [
      ['Event', 'FullyBooted'],
      ['Privilege', 'system,all'],
      ['Uptime', uptime],
      ['LastReload', uptime],
      ['Status', 'Fully Booted'],
    ],
  });
  const tv = formatTv(engine.now());
  engine.pub.emit('SuccessfulAuth', 'security,all', [
    ['EventTV', tv],
    ['Severity', 'Informational'],
    ['Service', 'AMI'],
    ['EventVersion', '1'],
    ['AccountID', username],
    ['SessionID', session.id],
    ['LocalAddress', `IPV4/TCP/${session.socket.localAddress ?? '127.0.0.1'}/${localPort}`],
    ['RemoteAddress', `IPV4/TCP/${session.socket.remoteAddress ?? '127.0.0.1'}/${session.socket.remotePort ?? 0}`],
    ['UsingPassword', '0'],
    ['SessionTV', tv],
  ]);
}
