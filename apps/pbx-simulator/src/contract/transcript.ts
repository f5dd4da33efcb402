import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AmiMessage, Header, splitServerStream } from '../ami/protocol';

/** The recorded transcripts, copied into the app (the project never reads /work/shared). */
export const FIXTURES_DIR = path.resolve(__dirname, '../../fixtures/ami');

export interface Recorded {
  dir: 'S->C' | 'C->S';
  /** Seconds since the connection opened; undefined for streams recorded without times. */
  t?: number;
  /** The message bytes exactly as on the wire (CRLF line ends, blank line at the end). */
  wire: string;
}

export interface ServerMessage {
  t?: number;
  headers: Header[];
}

export interface Transcript {
  name: string;
  banner?: string;
  client: Recorded[];
  server: ServerMessage[];
  /**
   * Recorded on a session that was open already (50–53: a proxy on the adapter's own session): no
   * banner, the first client message (if any: 52 has none) is not a Login, and times count from
   * the first message. Replaying such a
   * transcript takes a session logged in beforehand (replay.ts `OpenSession`).
   */
  openSession: boolean;
}

function headersOf(wire: string): Header[] {
  return splitServerStream(wire).messages[0]?.headers.map(([k, v]) => [k, v] as const) ?? [];
}

/** Parses `NN-name.txt`: `### S->C +1.234s` / `### C->S +1.234s` markers, each followed by one message. */
export function parseTranscript(name: string, text: string): Transcript {
  const parts = text.split(/^### (S->C|C->S) \+([0-9.]+)s\r?\n/m);
  const client: Recorded[] = [];
  const server: ServerMessage[] = [];
  let banner: string | undefined;
  for (let i = 1; i < parts.length; i += 3) {
    const dir = parts[i] as Recorded['dir'];
    const t = Number(parts[i + 1]);
    const wire = parts[i + 2];
    if (dir === 'C->S') client.push({ dir, t, wire });
    else if (!wire.includes(':') && banner === undefined) banner = wire.replace(/\r?\n$/, '');
    else server.push({ t, headers: headersOf(wire) });
  }
  // 52: nothing sent at all during the recording (a phone's call), still no banner.
  const openSession = banner === undefined && (client.length === 0 || !/^Action: *Login\r?$/im.test(client[0].wire));
  return { name, banner, client, server, openSession };
}

/** When the last message of a transcript was recorded (seconds). */
export const lastRecorded = (t: Transcript) => Math.max(0, ...[...t.client, ...t.server].map((m) => m.t ?? 0));

/** A server byte stream recorded without times (scenarios 21/22): every message in order. */
export function parseRawServerStream(name: string, bytes: string, client: Recorded[]): Transcript {
  const { banner, messages } = splitServerStream(bytes);
  return { name, banner, client, server: messages.map((m: AmiMessage) => ({ headers: [...m.headers] })), openSession: false };
}

export function loadFixture(file: string): string {
  return readFileSync(path.join(FIXTURES_DIR, file), 'latin1');
}

/**
 * The client side of scenarios 21 and 22, of which only the received bytes were kept. ASTERISK.md
 * describes what was sent: login with `Events: off`, ExtensionState (Exten <user>, Context
 * agents-rt), DeviceStateList, PJSIPShowContacts, PJSIPShowEndpoint; the ActionIDs are the ones
 * the replies carry.
 */
export function deviceStateClient(user: string, username: string, secret: string): Recorded[] {
  const msg = (t: number, lines: string[]): Recorded => ({ dir: 'C->S', t, wire: `${lines.join('\r\n')}\r\n\r\n` });
  return [
    msg(0.3, ['Action: Login', `Username: ${username}`, `Secret: ${secret}`, 'Events: off', 'ActionID: l']),
    msg(0.5, ['Action: ExtensionState', `Exten: ${user}`, 'Context: agents-rt', 'ActionID: es']),
    msg(0.7, ['Action: DeviceStateList', 'ActionID: ds']),
    msg(0.9, ['Action: PJSIPShowContacts', 'ActionID: pc']),
    msg(1.1, ['Action: PJSIPShowEndpoint', `Endpoint: ${user}`, 'ActionID: pe']),
  ];
}
