import net from 'node:net';
import { Header, splitServerStream } from '../ami/protocol';
import type { Recorded } from './transcript';

export interface ReplayResult {
  banner?: string;
  messages: Header[][];
  /** Everything received, byte for byte. */
  raw: string;
}

/**
 * Plays a recorded client against a server: connects, sends each recorded client message at its
 * recorded time × `scale`, and collects what comes back until the server closes the connection
 * (Logoff, failed login) or `settleMs` after the last message was sent.
 */
/** Something the outside world does during a recording (a phone registers, a call arrives), at its recorded time. */
export interface SideAction {
  /** Seconds since the connection opened, as in the recording. */
  t: number;
  run(): void | Promise<void>;
}

export function replay(port: number, client: Recorded[], scale: number, settleMs = 400, side: SideAction[] = []): Promise<ReplayResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    const timers: NodeJS.Timeout[] = [];
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      timers.forEach(clearTimeout);
      socket.destroy();
      const { banner, messages } = splitServerStream(raw);
      resolve({ banner, raw, messages: messages.map((m) => [...m.headers]) });
    };
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (raw += d));
    socket.on('close', finish);
    socket.on('error', (err) => (finished ? undefined : reject(err)));
    socket.on('connect', () => {
      let last = 0;
      for (const m of client) {
        const at = (m.t ?? 0) * scale * 1000;
        last = Math.max(last, at);
        timers.push(setTimeout(() => socket.write(m.wire), at));
      }
      for (const a of side) timers.push(setTimeout(() => void Promise.resolve(a.run()).catch((err) => reject(err)), a.t * scale * 1000));
      timers.push(setTimeout(finish, last + settleMs));
    });
  });
}
