import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from '../log';
import type { AmiEvent } from '../engine/publisher';
import { AmiMessage, AmiParser, Header, OversizeMessageError, serialize } from './protocol';

export const BANNER = 'Asterisk Call Manager/11.0.0';

/** Event classes of manager.conf (`read =`), for `Events:` masks. */
export const CLASSES = ['system', 'call', 'log', 'verbose', 'command', 'agent', 'user', 'config', 'dtmf', 'reporting', 'cdr', 'dialplan', 'originate', 'agi', 'cc', 'aoc', 'test', 'security', 'message'];

/** `on`, `off`, or a list of classes → the set of classes to deliver. */
export function parseEventMask(mask: string | undefined, current: Set<string>): Set<string> {
  if (mask === undefined) return current;
  const m = mask.trim().toLowerCase();
  if (['on', 'yes', 'true', '1', 'all'].includes(m)) return new Set(CLASSES);
  if (['off', 'no', 'false', '0', ''].includes(m)) return new Set();
  return new Set(m.split(',').map((c) => c.trim()).filter((c) => CLASSES.includes(c) || c === 'all').flatMap((c) => (c === 'all' ? CLASSES : [c])));
}

export type ActionHandler = (session: AmiSession, msg: AmiMessage) => Promise<void> | void;

export interface SessionHost {
  username: string;
  secret: string;
  /** Delay before answering a failed login, wall ms (Asterisk waits about a second). */
  authFailureDelayMs: number;
  actions: Record<string, ActionHandler>;
  /** manager.conf `read =` of the user: classes outside it are never delivered. */
  readClasses?: Set<string>;
  log: Logger;
  onLogin(session: AmiSession): void;
  onClose(session: AmiSession): void;
}

/**
 * One manager connection: the banner, authentication, the per-session event mask, and the
 * dispatch of actions. Actions are handled one at a time in arrival order (as Asterisk's session
 * thread does), so replies keep the order of the requests.
 */
export class AmiSession {
  readonly id = `0x${randomBytes(6).toString('hex')}`;
  authenticated = false;
  events = new Set(CLASSES);
  private readonly parser = new AmiParser();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly socket: Socket,
    private readonly host: SessionHost,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.host.log.debug(`AMI ${this.remote}: ${err.message}`));
    socket.on('close', () => this.onClosed());
    this.writeRaw(`${BANNER}\r\n`);
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private onData(chunk: Buffer): void {
    let messages: AmiMessage[];
    try {
      messages = this.parser.push(chunk);
    } catch (err) {
      if (err instanceof OversizeMessageError) this.host.log.warn(`AMI ${this.remote}: ${err.message}; dropping the connection`);
      this.destroy();
      return;
    }
    for (const msg of messages) this.queue = this.queue.then(() => this.handle(msg).catch((err) => this.failed(msg, err)));
  }

  /** A bug in an action must not leave the client waiting for a reply forever. */
  private failed(msg: AmiMessage, err: unknown): void {
    this.host.log.error(`AMI ${this.remote}: action ${msg.get('Action')} failed: ${(err as Error)?.stack ?? err}`);
    this.respond(msg, 'Error', [['Message', 'Internal simulator error']]);
  }

  private async handle(msg: AmiMessage): Promise<void> {
    if (this.closed) return;
    const action = msg.get('Action');
    if (action === undefined || action === '') {
      this.respond(msg, 'Error', [['Message', 'Missing action in request']]);
      return;
    }
    const name = action.toLowerCase();
    if (!this.authenticated && name !== 'login' && name !== 'logoff' && name !== 'challenge') {
      this.respond(msg, 'Error', [['Message', 'Permission denied']]);
      return;
    }
    const handler = this.host.actions[name];
    if (!handler) {
      this.respond(msg, 'Error', [['Message', 'Invalid/unknown command']]);
      return;
    }
    await handler(this, msg);
  }

  /** `Response: <status>`, the ActionID when the request had one, then the rest. */
  respond(request: AmiMessage, status: string, rest: Header[] = []): void {
    const actionId = request.get('ActionID');
    this.send([['Response', status], ...(actionId !== undefined ? ([['ActionID', actionId]] as Header[]) : []), ...rest]);
  }

  send(headers: readonly Header[]): void {
    this.writeRaw(serialize(headers));
  }

  writeRaw(text: string): void {
    if (this.closed) return;
    // A client that stops reading must not make the simulator buffer without bound.
    if (this.socket.writableLength > 16 * 1024 * 1024) {
      this.host.log.warn(`AMI ${this.remote}: client does not read; dropping the connection`);
      this.destroy();
      return;
    }
    this.socket.write(text);
  }

  /** Delivers an engine event if this session is logged in and its mask allows the class. */
  deliver(event: AmiEvent, wire?: string): void {
    if (!this.authenticated || !this.events.has(event.category)) return;
    if (this.host.readClasses && !this.host.readClasses.has(event.category)) return;
    this.writeRaw(wire ?? serialize(event.headers));
  }

  async login(msg: AmiMessage): Promise<void> {
    const ok = msg.get('Username') === this.host.username && msg.get('Secret') === this.host.secret;
    if (!ok) {
      await new Promise((r) => setTimeout(r, this.host.authFailureDelayMs));
      this.host.log.log(`AMI ${this.remote}: authentication failed for '${msg.get('Username') ?? ''}'`);
      this.respond(msg, 'Error', [['Message', 'Authentication failed']]);
      this.end();
      return;
    }
    this.events = parseEventMask(msg.get('Events'), this.events);
    this.authenticated = true;
    this.respond(msg, 'Success', [['Message', 'Authentication accepted']]);
    this.host.onLogin(this);
  }

  /** Closes after what was written is flushed (Logoff, failed login). */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
  }

  /** Drops the connection at once (oversize input, /ami/drop). */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onClosed(): void {
    this.closed = true;
    this.host.onClose(this);
  }
}
