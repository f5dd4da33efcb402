import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AmiServer } from '../ami/server';
import type { PhoneBehaviour } from '../engine/devices';
import { type CallEngine, TransferRefused } from '../engine/engine';
import { listMailbox } from '../engine/voicemail';
import { virtualKey } from '../dialplan/dialplan';
import type { Logger } from '../log';

/** An error the client caused: answered with its status and `{error}`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 64 * 1024;
const USER = /^[A-Za-z0-9_.-]{1,64}$/;
const NUMBER = /^\+?[0-9]{2,20}$/;
/** The caller the PSTN presents (its From user): a number, or a SIP user name as pjsua's `pstn` (67). */
const CALLER = /^(\+?[0-9]{2,20}|[A-Za-z][A-Za-z0-9._-]{1,31})$/;
const EXTEN = /^[0-9*#]{1,20}$/;
/** A REFER's Referred-By as a phone writes it: `<sip:user@host>` (a host may be missing, as SIPp left it). */
const REFERRED_BY = /^<sips?:[^<>\s]{1,200}>$/;
const SIP_URI = /^sips?:[A-Za-z0-9_.!~*'()&=+$,;?\/%-]+@[A-Za-z0-9.-]+(:\d{1,5})?(;[A-Za-z0-9=_.-]*)*$/;
const CONTEXT = /^(?!\.)[A-Za-z0-9_.-]{1,80}$/;
const BEHAVIOURS: PhoneBehaviour[] = ['answer', 'busy', 'no_answer', 'ring_busy'];

type Json = Record<string, unknown>;
type Handler = (params: string[], body: Json) => Promise<{ status: number; body: unknown }>;

/**
 * The simulator's control API (JSON over HTTP): what, on a real system, SIP phones and the
 * outside world would do — register a phone, place an inbound or internal call — plus
 * `POST /ami/drop` to test reconnects and `GET /channels` to look inside.
 */
export class ControlServer {
  private readonly server: http.Server;
  private readonly routes: { method: string; path: RegExp; handler: Handler }[];

  constructor(
    private readonly engine: CallEngine,
    private readonly ami: AmiServer,
    private readonly log: Logger,
  ) {
    this.routes = [
      { method: 'GET', path: /^\/health$/, handler: async () => ({ status: 200, body: { status: 'ok', ami_sessions: this.ami.sessionCount, channels: this.engine.list().length } }) },
      { method: 'GET', path: /^\/channels$/, handler: async () => ({ status: 200, body: this.channels() }) },
      { method: 'POST', path: /^\/devices\/([^/]+)\/register$/, handler: (p, b) => this.register(p[0], true, b) },
      { method: 'POST', path: /^\/devices\/([^/]+)\/unregister$/, handler: (p, b) => this.register(p[0], false, b) },
      { method: 'POST', path: /^\/devices\/([^/]+)\/unreachable$/, handler: (p) => this.unreachable(p[0]) },
      { method: 'POST', path: /^\/calls\/inbound$/, handler: (_p, b) => this.inbound(b) },
      { method: 'POST', path: /^\/calls\/internal$/, handler: (_p, b) => this.phoneDials(b, 'extension') },
      { method: 'POST', path: /^\/calls\/dial$/, handler: (_p, b) => this.phoneDials(b, 'any') },
      { method: 'POST', path: /^\/calls\/transfer$/, handler: (_p, b) => this.transfer(b) },
      { method: 'POST', path: /^\/calls\/hold$/, handler: (_p, b) => this.hold(b) },
      { method: 'POST', path: /^\/calls\/hangup$/, handler: (_p, b) => this.hangup(b) },
      { method: 'GET', path: /^\/trunk$/, handler: async () => ({ status: 200, body: { up: this.engine.trunk.up } }) },
      { method: 'GET', path: /^\/trunk\/invites$/, handler: async () => ({ status: 200, body: this.engine.trunkInvites }) },
      { method: 'POST', path: /^\/trunk\/(up|down)$/, handler: async (p) => this.setTrunk(p[0] === 'up') },
      { method: 'GET', path: /^\/voicemail\/([^/]+)\/([^/]+)$/, handler: (p) => this.mailbox(p[0], p[1]) },
      { method: 'POST', path: /^\/ami\/drop$/, handler: async () => ({ status: 200, body: { dropped: this.ami.dropAll() } }) },
    ];
    this.server = http.createServer((req, res) => void this.serve(req, res));
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let status = 500;
    let body: unknown = { error: 'internal error' };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const matching = this.routes.filter((r) => r.path.test(url.pathname));
      if (matching.length === 0) throw new HttpError(404, `no route ${url.pathname}`);
      const route = matching.find((r) => r.method === req.method);
      if (!route) {
        res.setHeader('Allow', matching.map((r) => r.method).join(', '));
        throw new HttpError(405, `method ${req.method} not allowed on ${url.pathname}`);
      }
      const params = route.path.exec(url.pathname)!.slice(1).map(decodeSegment);
      const parsed = req.method === 'POST' ? await readJson(req) : {};
      ({ status, body } = await route.handler(params, parsed));
    } catch (err) {
      if (err instanceof HttpError) {
        status = err.status;
        body = { error: err.message };
      } else this.log.error(`control API ${req.method} ${req.url}: ${(err as Error).stack ?? err}`);
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private channels() {
    return this.engine.list().map((c) => ({
      channel: c.name,
      state: c.state,
      context: c.context,
      exten: c.exten,
      priority: c.priority,
      caller_id_num: c.callerId.num,
      connected_line_num: c.connected.num,
      application: c.appl,
      data: c.data,
      uniqueid: c.uniqueid,
      linkedid: c.linkedid,
      bridge_id: c.bridge?.id ?? null,
    }));
  }

  private async endpoint(user: string, field: string) {
    if (!USER.test(user)) throw new HttpError(400, `${field} must be a SIP user name`);
    const ep = await this.engine.realtime.findEndpoint(user);
    if (!ep) throw new HttpError(404, `no endpoint ${user} in ps_endpoints`);
    return ep;
  }

  private async register(user: string, registered: boolean, body: Json) {
    const ep = await this.endpoint(user, 'user');
    const behaviour = body.behaviour ?? this.engine.registrations.behaviour(ep.id);
    if (!BEHAVIOURS.includes(behaviour as PhoneBehaviour)) throw new HttpError(400, `behaviour must be one of ${BEHAVIOURS.join(', ')}`);
    if (registered) {
      const { uri, user_agent: userAgent, expires, hangs_up: hangsUp } = body;
      if (uri !== undefined && (typeof uri !== 'string' || uri.length > 200 || !SIP_URI.test(uri))) throw new HttpError(400, 'uri must be a SIP URI like sip:user@127.0.0.1:5060');
      if (userAgent !== undefined && (typeof userAgent !== 'string' || userAgent.length > 100 || /[\r\n]/.test(userAgent))) throw new HttpError(400, 'user_agent must be a short single-line string');
      if (expires !== undefined && (typeof expires !== 'number' || !Number.isInteger(expires) || expires < 1 || expires > 86_400)) throw new HttpError(400, 'expires must be 1 to 86400 seconds');
      if (hangsUp !== undefined && typeof hangsUp !== 'boolean') throw new HttpError(400, 'hangs_up must be true or false');
      await this.engine.phones.register(ep, {
        behaviour: behaviour as PhoneBehaviour,
        uri: uri as string | undefined,
        userAgent: userAgent as string | undefined,
        expires: expires as number | undefined,
        hangsUp: hangsUp as boolean | undefined,
      });
    } else {
      this.engine.registrations.setBehaviour(ep.id, behaviour as PhoneBehaviour);
      this.engine.phones.unregister(ep.id);
    }
    this.log.log(`device PJSIP/${ep.id} ${registered ? 'registered' : 'unregistered'}`);
    const state = this.engine.devices.deviceState(`PJSIP/${ep.id}`);
    return { status: 200, body: { user: ep.id, registered, behaviour, state } };
  }

  /**
   * A call from the PSTN through the trunk to `to` (a number: from-pstn routes it by its DID rows,
   * an unassigned one ends in rc-unrouted). Deprecated: `to_user` instead of `to` rings that
   * user as if its extension number had DID rows (userfield, recording, Goto its extension).
   */
  private async inbound(body: Json) {
    const from = body.from;
    if (typeof from !== 'string' || !CALLER.test(from)) throw new HttpError(400, 'from must be 2 to 20 digits with an optional leading +, or a SIP user name');
    if (body.to !== undefined) {
      if (typeof body.to !== 'string' || !NUMBER.test(body.to)) throw new HttpError(400, 'to must be 2 to 20 digits with an optional leading +');
      const ch = await this.engine.inboundCall(from, body.to);
      return { status: 202, body: { channel: ch.name, uniqueid: ch.uniqueid, linkedid: ch.linkedid } };
    }
    if (typeof body.to_user !== 'string') throw new HttpError(400, 'to (a number) or to_user (deprecated) is required');
    const ep = await this.endpoint(body.to_user, 'to_user');
    const account = accountContext(ep.context);
    const did = (await this.engine.realtime.extensionOf(account, ep.id)) ?? (ep.callerid?.match(/<([^>]+)>/)?.[1] || ep.id);
    const rows = new Map([
      [
        virtualKey('from-pstn', did),
        [
          { app: 'Set', data: `CDR(userfield)=${account}` },
          { app: 'MixMonitor', data: '${RECDIR}/${UNIQUEID}.wav' },
          // The account's context exists once the adapter's `dialplan reload` arrived; until then the user is dialled directly.
          this.engine.dialplan.hasContext(account) ? { app: 'Goto', data: `${account},${did},1` } : { app: 'Dial', data: `PJSIP/${ep.id},30` },
        ],
      ],
    ]);
    const ch = await this.engine.inboundCall(from, did, rows);
    return { status: 202, body: { channel: ch.name, uniqueid: ch.uniqueid, linkedid: ch.linkedid, did } };
  }

  private async setTrunk(up: boolean) {
    this.engine.trunk.up = up;
    this.log.log(`trunk ${up ? 'up' : 'down: INVITEs to the PSTN go unanswered'}`);
    return { status: 200, body: { up } };
  }

  private async mailbox(context: string, mailbox: string) {
    if (!CONTEXT.test(context) || !CONTEXT.test(mailbox)) throw new HttpError(400, 'context and mailbox must be names');
    // `exists`: whether VoiceMail() would find the box (its realtime row), as VM_INFO(<box>,exists) says.
    const exists = (await this.engine.realtime.findMailbox(context, mailbox)) !== undefined;
    return { status: 200, body: { context, mailbox, exists, messages: await listMailbox(this.engine.config.voicemailDir, context, mailbox) } };
  }

  /**
   * A registered phone dials `to_num` in its account's context. `extension` (`/calls/internal`)
   * insists on a colleague's extension (404 otherwise, a guard for tests); `any` (`/calls/dial`)
   * dials what a phone can, and the dial plan decides: an extension's rows, else out via the trunk.
   */
  private async phoneDials(body: Json, what: 'extension' | 'any') {
    if (typeof body.from_user !== 'string') throw new HttpError(400, 'from_user must be a SIP user name');
    const toNum = body.to_num;
    if (typeof toNum !== 'string' || !(what === 'any' ? NUMBER : EXTEN).test(toNum)) {
      throw new HttpError(400, what === 'any' ? 'to_num must be 2–20 digits, optionally after +' : 'to_num must be an extension (digits)');
    }
    const ep = await this.endpoint(body.from_user, 'from_user');
    if (!this.engine.registrations.isRegistered(ep.id)) throw new HttpError(409, `device PJSIP/${ep.id} is not registered`);
    const account = accountContext(ep.context);
    if (what === 'extension' && (await this.engine.realtime.extensionRows(account, toNum)).length === 0) throw new HttpError(404, `no extension ${toNum} in ${account}`);
    const ch = await this.engine.callFromPhone(ep, toNum);
    return { status: 202, body: { channel: ch.name, uniqueid: ch.uniqueid, linkedid: ch.linkedid } };
  }

  /**
   * A phone's blind transfer (its transfer button: a REFER): `user`'s phone sends the party it
   * talks to to the extension `to` of its own context, and its own part of the call ends (fixtures
   * 59/60). 404 when the user has no bridged call, or the context no such extension (the REFER's
   * 404); 409 when that party cannot be moved (a Local channel the phone's call dialled).
   */
  private async transfer(body: Json) {
    if (typeof body.user !== 'string') throw new HttpError(400, 'user must be a SIP user name');
    if (body.attended !== undefined && typeof body.attended !== 'boolean') throw new HttpError(400, 'attended must be true or false');
    if (body.attended) {
      if (body.to !== undefined) throw new HttpError(400, 'an attended transfer has no to: the consultation call chose the colleague');
      return this.attendedTransfer(body.user);
    }
    if (typeof body.to !== 'string' || !EXTEN.test(body.to)) throw new HttpError(400, 'to must be an extension (digits, * or #)');
    if (body.referred_by !== undefined && (typeof body.referred_by !== 'string' || !REFERRED_BY.test(body.referred_by))) {
      throw new HttpError(400, 'referred_by must be a SIP name-addr such as <sip:1001@example.com>');
    }
    const ep = await this.endpoint(body.user, 'user');
    let moved;
    try {
      moved = await this.engine.blindTransfer(ep.id, body.to, body.referred_by);
    } catch (err) {
      if (err instanceof TransferRefused) throw new HttpError(err.reason === 'no-extension' ? 404 : 409, err.message);
      throw err;
    }
    if (!moved) throw new HttpError(404, `user ${ep.id} has no bridged call`);
    this.log.log(`PJSIP/${ep.id} blind-transferred ${moved.transferee.name} to ${body.to}`);
    return { status: 200, body: { channel: moved.transferer.name, transferee: moved.transferee.name } };
  }

  /**
   * A phone's attended transfer (a REFER with Replaces, fixtures 61/62): `user`'s phone, with one
   * call on hold (`POST /calls/hold`) and a consultation call it placed answered (`POST
   * /calls/internal`), joins the held party with the colleague; both of its own channels hang up.
   * 404 when the phone has no held call and consultation, 409 when a party cannot be moved.
   */
  private async attendedTransfer(user: string) {
    const ep = await this.endpoint(user, 'user');
    let moved;
    try {
      moved = this.engine.attendedTransfer(ep.id);
    } catch (err) {
      if (err instanceof TransferRefused) throw new HttpError(409, err.message);
      throw err;
    }
    if (!moved) throw new HttpError(404, `user ${ep.id} has no held call and answered consultation call`);
    this.log.log(`PJSIP/${ep.id} transferred ${moved.transferee.name} to ${moved.target.name} (attended)`);
    return { status: 200, body: { channel: moved.transferer.name, transferee: moved.transferee.name, target: moved.target.name } };
  }

  /** The phone puts the party it talks to on hold (fixtures 61/62): 404 when it has no bridged call whose party is not held. */
  private async hold(body: Json) {
    if (typeof body.user !== 'string') throw new HttpError(400, 'user must be a SIP user name');
    const ep = await this.endpoint(body.user, 'user');
    const held = this.engine.hold(ep.id);
    if (!held) throw new HttpError(404, `user ${ep.id} has no bridged call to hold`);
    return { status: 200, body: { channel: held.channel.name, held: held.held.name } };
  }

  /** The phone hangs up (BYE) every answered call it has: 404 when it has none. */
  private async hangup(body: Json) {
    if (typeof body.user !== 'string') throw new HttpError(400, 'user must be a SIP user name');
    const ep = await this.endpoint(body.user, 'user');
    const gone = this.engine.hangUpPhone(ep.id);
    if (gone.length === 0) throw new HttpError(404, `user ${ep.id} has no answered call`);
    return { status: 200, body: { channels: gone.map((c) => c.name) } };
  }

  /** The phone stops answering OPTIONS: its qualify times out (62). 409 when it has no qualified contact. */
  private async unreachable(user: string) {
    const ep = await this.endpoint(user, 'user');
    if (!this.engine.phones.qualifyTimedOut(ep.id)) throw new HttpError(409, `device PJSIP/${ep.id} has no qualified contact`);
    return { status: 200, body: { user: ep.id, state: this.engine.devices.deviceState(`PJSIP/${ep.id}`) } };
  }
}

function accountContext(context: string | null): string {
  if (!context || !/^acct-\d+$/.test(context)) throw new HttpError(409, `endpoint context '${context ?? ''}' is not an acct-<N> context`);
  return context;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'malformed path');
  }
}

function readJson(req: http.IncomingMessage): Promise<Json> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY && !failed) {
        failed = true;
        reject(new HttpError(413, `body over ${MAX_BODY} bytes`));
        req.resume();
      } else if (!failed) chunks.push(c);
    });
    req.on('error', () => !failed && reject(new HttpError(400, 'unreadable body')));
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve({});
      try {
        const value = JSON.parse(text);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return reject(new HttpError(400, 'body must be a JSON object'));
        resolve(value as Json);
      } catch {
        reject(new HttpError(400, 'body is not valid JSON'));
      }
    });
  });
}
