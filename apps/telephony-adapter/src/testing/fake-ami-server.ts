import { AddressInfo, Server, Socket, createServer } from 'node:net';
import type { AmiMessage } from '../ami/ami-message';
import { parseFrame } from './ami-frames';

export type Headers = Array<[string, string]> | Record<string, string>;

/** Serialises one AMI message as Asterisk writes it. */
export function amiFrame(headers: Headers): string {
  const entries = Array.isArray(headers) ? headers : Object.entries(headers);
  return entries.map(([k, v]) => `${k}: ${v}`).join('\r\n') + '\r\n\r\n';
}

/**
 * An event of a click-to-call's first channel — `user`'s phone (account 1001, extension 401)
 * calling 79101234567 — as Asterisk writes it; `extra` adds or overrides headers.
 */
export function userChannelFrame(user: string, event: string, uniqueid: string, extra: Record<string, string> = {}): string {
  return amiFrame({
    Event: event,
    Privilege: 'call,all',
    Channel: `PJSIP/${user}-00000007`,
    ChannelState: '6',
    ChannelStateDesc: 'Up',
    CallerIDNum: '401',
    CallerIDName: '79101234567',
    ConnectedLineNum: '79101234567',
    ConnectedLineName: '<unknown>',
    Language: 'en',
    AccountCode: '1001',
    Context: 'acct-1001',
    Exten: '79101234567',
    Priority: '1',
    Uniqueid: uniqueid,
    Linkedid: uniqueid,
    ...extra,
  });
}

export interface CoreShowChannelItem {
  Channel: string;
  Uniqueid: string;
  Linkedid: string;
  Context: string;
  Exten: string;
  ChannelStateDesc: string;
  CallerIDNum?: string;
  CallerIDName?: string;
  ConnectedLineNum?: string;
  ConnectedLineName?: string;
  Duration?: string;
}

interface Connection {
  socket: Socket;
  buffer: string;
  loggedIn: boolean;
}

/**
 * A small AMI server for tests, speaking like the recorded Asterisk 22: the same banner, login
 * answers, list actions (CoreShowChannels, PJSIPShowContacts) with `EventList` framing, Getvar,
 * async Originate ("successfully queued"). Tests push events (or raw fixture bytes) to logged-in
 * clients, drop connections, or make it stop answering.
 */
export class FakeAmiServer {
  readonly actions: AmiMessage[] = [];
  /** How each client connection ended: `reset` (RST from the client) or `closed`. */
  readonly closings: Array<'reset' | 'closed'> = [];
  /** Everything clients wrote, byte for byte (injection tests read it). */
  rawReceived = '';
  logins = 0;
  channels: CoreShowChannelItem[] = [];
  /** Registered contacts: endpoint → ContactStatus (NonQualified, Reachable, Unreachable). */
  contacts: Record<string, string> = {};
  vars: Record<string, Record<string, string>> = {};
  /** When false, actions other than Login get no response at all. */
  answerActions = true;
  /** When false, Login gets no response (the client's login must time out). */
  answerLogin = true;
  onOriginate?: (action: AmiMessage, connection: { send(text: string): void }) => void;
  /** How long an Originate waits for its answer (a busy PBX). */
  originateDelayMs = 0;

  private server!: Server;
  private readonly connections = new Set<Connection>();
  port = 0;

  constructor(
    readonly username = 'crm',
    readonly secret = 'crmsecret',
  ) {}

  static async start(username?: string, secret?: string): Promise<FakeAmiServer> {
    const fake = new FakeAmiServer(username, secret);
    await fake.listen();
    return fake;
  }

  async listen(port = 0): Promise<void> {
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The PBX goes away: stops listening and drops every connection. `listen(port)` brings it back. */
  async stopListening(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.dropAll();
    await closed;
  }

  /** Connections open now, logged in or not. */
  get openConnections(): number {
    return this.connections.size;
  }

  get clients(): number {
    return [...this.connections].filter((c) => c.loggedIn).length;
  }

  /** Writes to every logged-in client. */
  send(data: string | Buffer): void {
    for (const c of this.connections) if (c.loggedIn) c.socket.write(data);
  }

  event(headers: Headers): void {
    this.send(amiFrame(headers));
  }

  /** Writes `data` in random slices, so frames are split across TCP reads as on a real network. */
  async sendChunked(data: Buffer, maxChunk = 700): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const size = 1 + Math.floor(Math.random() * maxChunk);
      this.send(data.subarray(offset, offset + size));
      offset += size;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** A phone registers (or its qualify result changes): the contact and Asterisk's ContactStatus event. */
  register(endpoint: string, status = 'NonQualified'): void {
    this.contacts[endpoint] = status;
    this.event({ Event: 'ContactStatus', Privilege: 'system,all', URI: contactUri(endpoint), ContactStatus: status, AOR: endpoint, EndpointName: endpoint, RoundtripUsec: '0' });
  }

  unregister(endpoint: string): void {
    delete this.contacts[endpoint];
    this.event({ Event: 'ContactStatus', Privilege: 'system,all', URI: contactUri(endpoint), ContactStatus: 'Removed', AOR: endpoint, EndpointName: endpoint, RoundtripUsec: '0' });
  }

  /** Closes every connection abruptly (like `POST /ami/drop` on the simulator). */
  dropAll(): void {
    for (const c of this.connections) c.socket.destroy();
    this.connections.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
  }

  async waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('fake AMI server: condition not met in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private accept(socket: Socket): void {
    const connection: Connection = { socket, buffer: '', loggedIn: false };
    this.connections.add(connection);
    let reset = false;
    socket.on('error', (err: NodeJS.ErrnoException) => (reset ||= err.code === 'ECONNRESET'));
    socket.on('close', () => {
      this.connections.delete(connection);
      this.closings.push(reset ? 'reset' : 'closed');
    });
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.rawReceived += text;
      connection.buffer += text;
      let end: number;
      while ((end = connection.buffer.indexOf('\r\n\r\n')) >= 0) {
        const frame = connection.buffer.slice(0, end);
        connection.buffer = connection.buffer.slice(end + 4);
        if (frame.trim()) this.handle(connection, parseFrame(frame));
      }
    });
  }

  private handle(connection: Connection, action: AmiMessage): void {
    this.actions.push(action);
    const name = String(action.action ?? '').toLowerCase();
    const id = String(action.actionid ?? '');
    const reply = (headers: Headers) => connection.socket.write(amiFrame(headers));
    if (name === 'login') {
      if (!this.answerLogin) return;
      if (action.username === this.username && action.secret === this.secret) {
        connection.loggedIn = true;
        this.logins++;
        reply([['Response', 'Success'], ['ActionID', id], ['Message', 'Authentication accepted']]);
        reply([['Event', 'FullyBooted'], ['Privilege', 'system,all'], ['Uptime', '13'], ['LastReload', '13'], ['Status', 'Fully Booted']]);
      } else {
        reply([['Response', 'Error'], ['ActionID', id], ['Message', 'Authentication failed']]);
      }
      return;
    }
    if (!connection.loggedIn) {
      reply([['Response', 'Error'], ['ActionID', id], ['Message', 'Permission denied']]);
      return;
    }
    if (!this.answerActions) return;
    switch (name) {
      case 'logoff':
        reply([['Response', 'Goodbye'], ['ActionID', id], ['Message', 'Thanks for all the fish.']]);
        connection.socket.end();
        return;
      case 'ping':
        reply([['Response', 'Success'], ['ActionID', id], ['Ping', 'Pong'], ['Timestamp', (Date.now() / 1000).toFixed(6)]]);
        return;
      case 'coreshowchannels':
        reply([['Response', 'Success'], ['ActionID', id], ['EventList', 'start'], ['Message', 'Channels will follow']]);
        for (const c of this.channels) {
          reply([
            ['Event', 'CoreShowChannel'],
            ['ActionID', id],
            ['Channel', c.Channel],
            ['ChannelState', c.ChannelStateDesc === 'Up' ? '6' : '4'],
            ['ChannelStateDesc', c.ChannelStateDesc],
            ['CallerIDNum', c.CallerIDNum ?? '<unknown>'],
            ['CallerIDName', c.CallerIDName ?? '<unknown>'],
            ['ConnectedLineNum', c.ConnectedLineNum ?? '<unknown>'],
            ['ConnectedLineName', c.ConnectedLineName ?? '<unknown>'],
            ['Language', 'en'],
            ['AccountCode', ''],
            ['Context', c.Context],
            ['Exten', c.Exten],
            ['Priority', '1'],
            ['Uniqueid', c.Uniqueid],
            ['Linkedid', c.Linkedid],
            ['Application', 'Wait'],
            ['ApplicationData', '30'],
            ['Duration', c.Duration ?? '00:00:05'],
            ['BridgeId', ''],
          ]);
        }
        reply([['Event', 'CoreShowChannelsComplete'], ['ActionID', id], ['EventList', 'Complete'], ['ListItems', String(this.channels.length)]]);
        return;
      case 'pjsipshowcontacts': {
        const contacts = Object.entries(this.contacts);
        // res_pjsip's ami_show_contacts: an empty list is an error answer, not an empty list.
        if (contacts.length === 0) {
          reply([['Response', 'Error'], ['ActionID', id], ['Message', 'No Contacts found']]);
          return;
        }
        reply([['Response', 'Success'], ['ActionID', id], ['EventList', 'start'], ['Message', 'A listing of Contacts follows, presented as ContactList events']]);
        for (const [endpoint, status] of contacts) {
          reply([
            ['Event', 'ContactList'],
            ['ActionID', id],
            ['ObjectType', 'contact'],
            ['ObjectName', `${endpoint};@0123456789abcdef`],
            ['Endpoint', endpoint],
            ['Uri', contactUri(endpoint)],
            ['QualifyFrequency', '60'],
            ['Status', status],
          ]);
        }
        reply([['Event', 'ContactListComplete'], ['ActionID', id], ['EventList', 'Complete'], ['ListItems', String(contacts.length)]]);
        return;
      }
      case 'getvar': {
        // The client's `Variable: NAME` header parses as { NAME: '' }.
        const variable = typeof action.variable === 'object' ? Object.keys(action.variable)[0] : String(action.variable ?? '');
        // Without a channel, a global: vars['']
        const value = this.vars[action.channel === undefined ? '' : String(action.channel)]?.[variable];
        if (value === undefined) reply([['Response', 'Error'], ['ActionID', id], ['Message', 'No such channel']]);
        else reply([['Response', 'Success'], ['ActionID', id], ['Variable', variable], ['Value', value]]);
        return;
      }
      case 'originate': {
        const queued = () => {
          reply([['Response', 'Success'], ['ActionID', id], ['Message', 'Originate successfully queued']]);
          this.onOriginate?.(action, { send: (text) => connection.socket.write(text) });
        };
        if (this.originateDelayMs > 0) setTimeout(queued, this.originateDelayMs);
        else queued();
        return;
      }
      default:
        reply([['Response', 'Error'], ['ActionID', id], ['Message', 'Invalid/unknown command']]);
    }
  }
}

const contactUri = (endpoint: string) => `sip:${endpoint}@127.0.0.1:5070`;
