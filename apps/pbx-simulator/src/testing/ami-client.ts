import net from 'node:net';
import { AmiMessage, AmiParser, Header, serialize } from '../ami/protocol';

/**
 * A minimal AMI client for tests: sends actions, matches replies by ActionID, keeps every event
 * and lets a test wait for the one it expects.
 */
export class TestAmiClient {
  readonly events: AmiMessage[] = [];
  readonly responses: AmiMessage[] = [];
  /** When each message arrived (Date.now()). */
  readonly receivedAt = new WeakMap<AmiMessage, number>();
  raw = '';
  closed = false;
  private readonly parser = new AmiParser({ maxLineBytes: 1 << 20, maxMessageBytes: 1 << 24, maxHeaders: 10_000 });
  private readonly waiters: { pred: (m: AmiMessage) => boolean; resolve: (m: AmiMessage) => void }[] = [];
  private seq = 0;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.raw += d;
      // The banner has no colon: the parser skips it.
      for (const m of this.parser.push(d)) {
        this.receivedAt.set(m, Date.now());
        (m.get('Event') !== undefined ? this.events : this.responses).push(m);
        for (const w of [...this.waiters]) {
          if (w.pred(m)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(m);
          }
        }
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<TestAmiClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new TestAmiClient(socket)));
      socket.once('error', reject);
    });
  }

  static async login(port: number, opts: { username?: string; secret?: string; events?: string } = {}): Promise<TestAmiClient> {
    const c = await TestAmiClient.connect(port);
    const res = await c.action('Login', { Username: opts.username ?? 'crm', Secret: opts.secret ?? 'crmsecret', ...(opts.events ? { Events: opts.events } : {}) });
    if (res.get('Response') !== 'Success') throw new Error(`login failed: ${res.get('Message')}`);
    return c;
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(pred: (m: AmiMessage) => boolean, timeoutMs = 5000, what = 'message'): Promise<AmiMessage> {
    const seen = [...this.responses, ...this.events].find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  waitEvent(name: string, match: Record<string, string | RegExp> = {}, timeoutMs = 5000): Promise<AmiMessage> {
    return this.waitFor((m) => m.get('Event') === name && matches(m, match), timeoutMs, `${name} ${JSON.stringify(match, (_k, v) => (v instanceof RegExp ? String(v) : v))}`);
  }

  eventsNamed(name: string, match: Record<string, string | RegExp> = {}): AmiMessage[] {
    return this.events.filter((m) => m.get('Event') === name && matches(m, match));
  }

  send(headers: Header[]): void {
    this.socket.write(serialize(headers));
  }

  /** Sends an action with a fresh ActionID and resolves with its Response. */
  action(name: string, fields: Record<string, string | string[]> = {}, timeoutMs = 5000): Promise<AmiMessage> {
    const given = fields.ActionID;
    const id = typeof given === 'string' ? given : `t${++this.seq}`;
    const headers: Header[] = [['Action', name], ['ActionID', id]];
    for (const [k, v] of Object.entries(fields)) if (k !== 'ActionID') for (const one of Array.isArray(v) ? v : [v]) headers.push([k, one]);
    const reply = this.waitFor((m) => m.get('Response') !== undefined && m.get('ActionID') === id, timeoutMs, `reply to ${name}`);
    this.send(headers);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}

function matches(m: AmiMessage, match: Record<string, string | RegExp>): boolean {
  return Object.entries(match).every(([k, v]) => {
    const got = m.get(k);
    return got !== undefined && (v instanceof RegExp ? v.test(got) : got === v);
  });
}
