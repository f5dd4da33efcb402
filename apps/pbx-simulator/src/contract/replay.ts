import net from 'node:net';
import { Header, splitServerStream } from '../ami/protocol';
import type { Recorded } from './transcript';

export interface ReplayResult {
  banner?: string;
  messages: Header[][];
  /** Everything received, byte for byte (for a session opened by the replay: from the recording's start). */
  raw: string;
}

/** Something the outside world does during a recording (a phone registers, a call arrives), at its recorded time. */
export interface SideAction {
  /** Seconds since the connection opened, as in the recording. */
  t: number;
  run(): void | Promise<void>;
}

/**
 * A client action the recording shows as a reaction to a server event (65/66: the adapter's
 * MixMonitor action 4 ms after the `BlindTransfer`/`AttendedTransfer` it reacts to). Replayed at a
 * recorded time it would reach the server before or after the event depending on how fast the
 * server got there; instead it is sent the moment the server sends the event it reacts to: the
 * first recorded client message whose `Action` is `action`, when the first server message (of the
 * recording's part) with all the `after` headers arrives. If that event never comes, the action is
 * not sent (the comparison then fails on its missing reply).
 */
export interface Reaction {
  action: string;
  after: Record<string, string>;
}

/**
 * A transcript recorded on a session that was already logged in (fixtures 50/51: a proxy on the
 * adapter's own session): no banner, no login, times from the first client message. The replay
 * logs in itself (`Events: on`, as asterisk-manager does), makes sure everything the login brings
 * (its reply, FullyBooted) has arrived by a Ping, and only then starts the recording's clock; the
 * banner and those messages are not part of the result. Nobody logs off: the replay ends `until`
 * (recording seconds, the last recorded message) + the settle time later.
 */
export interface OpenSession {
  username: string;
  secret: string;
  until: number;
}

const LOGIN_ID = 'replay-login';
const READY_ID = 'replay-ready';

/**
 * Plays a recorded client against a server: connects, sends each recorded client message at its
 * recorded time × `scale`, and collects what comes back until the server closes the connection
 * (Logoff, failed login) or `settleMs` after the last message was sent (after `open.until`).
 */
export function replay(
  port: number,
  client: Recorded[],
  scale: number,
  settleMs = 400,
  side: SideAction[] = [],
  open?: OpenSession,
  reactions: Reaction[] = [],
): Promise<ReplayResult> {
  // Each reaction takes the first recorded client message of its action not taken by another.
  const taken = new Set<Recorded>();
  const pending = reactions.map((r) => {
    const m = client.find((c) => !taken.has(c) && actionOf(c.wire) === r.action.toLowerCase());
    if (!m) throw new Error(`replay: no recorded ${r.action} action to send in reaction`);
    taken.add(m);
    return { ...r, message: m, sent: false };
  });
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    /** Where the recording starts in `raw` (undefined while an open session is still logging in). */
    let start: number | undefined = open ? undefined : 0;
    const timers: NodeJS.Timeout[] = [];
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      timers.forEach(clearTimeout);
      socket.destroy();
      const recorded = raw.slice(start ?? raw.length);
      const { banner, messages } = splitServerStream(recorded);
      resolve({ banner, raw: recorded, messages: messages.map((m) => [...m.headers]) });
    };
    const fail = () => {
      finished = true;
      socket.destroy();
      reject(new Error(`replay: the session could not log in: ${JSON.stringify(raw.slice(0, 300))}`));
    };
    const play = () => {
      const started = performance.now();
      const timed = client.filter((m) => !taken.has(m)).map((m) => ({ wire: m.wire, at: (m.t ?? 0) * scale * 1000 }));
      // One timer at a time, each message written after the one before: a timer per message fires
      // out of order now and then on a loaded machine (38: the Originate 0.8 ms after the Getvar was
      // written first), and the server then rightly answers in the order it was asked.
      const sendFrom = (i: number) => {
        for (; i < timed.length && timed[i].at <= performance.now() - started; i++) socket.write(timed[i].wire);
        if (i < timed.length) timers.push(setTimeout(() => sendFrom(i), timed[i].at - (performance.now() - started)));
      };
      sendFrom(0);
      const last = Math.max((open?.until ?? 0) * scale * 1000, ...timed.map((m) => m.at));
      for (const a of side) timers.push(setTimeout(() => void Promise.resolve(a.run()).catch((err) => reject(err)), a.t * scale * 1000));
      timers.push(setTimeout(finish, last + settleMs));
    };
    socket.setEncoding('latin1');
    /** Where the next server message not yet looked at by the reactions starts in `raw`. */
    let scanned = 0;
    const react = () => {
      if (start === undefined || pending.every((r) => r.sent)) return;
      scanned = Math.max(scanned, start);
      for (;;) {
        const end = raw.indexOf('\r\n\r\n', scanned);
        if (end < 0) return;
        const headers = splitServerStream(raw.slice(scanned, end + 4)).messages[0]?.headers ?? [];
        scanned = end + 4;
        for (const r of pending) {
          if (r.sent || !Object.entries(r.after).every(([k, v]) => headers.some(([n, x]) => n.toLowerCase() === k.toLowerCase() && x === v))) continue;
          r.sent = true;
          socket.write(r.message.wire);
        }
      }
    };
    socket.on('data', (d: string) => {
      raw += d;
      if (start !== undefined) return react();
      // The Ping's reply is the last message before the recording (replies keep the order of the actions).
      const ready = raw.indexOf(`ActionID: ${READY_ID}\r\n`);
      const end = ready < 0 ? -1 : raw.indexOf('\r\n\r\n', ready);
      if (end < 0) return;
      if (!raw.includes(`Response: Success\r\nActionID: ${LOGIN_ID}\r\n`)) return fail();
      start = end + 4;
      play();
      react();
    });
    socket.on('close', () => (start === undefined && !finished ? fail() : finish()));
    socket.on('error', (err) => (finished ? undefined : reject(err)));
    socket.on('connect', () => {
      if (!open) return play();
      socket.write(`Action: Login\r\nActionID: ${LOGIN_ID}\r\nUsername: ${open.username}\r\nSecret: ${open.secret}\r\nEvents: on\r\n\r\n`);
      socket.write(`Action: Ping\r\nActionID: ${READY_ID}\r\n\r\n`);
    });
  });
}

/** A client message's `Action` (lower case), if any. */
function actionOf(wire: string): string | undefined {
  return /^Action: *(.*)$/im.exec(wire)?.[1].trim().toLowerCase();
}
