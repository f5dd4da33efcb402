import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { AmiMessage } from '../ami/ami-message';

/**
 * Test-side AMI framing: splits raw bytes into messages the way Asterisk frames them (CRLF lines,
 * an empty line ends a message, the banner line stands alone) and parses them into the same
 * shape asterisk-manager produces, so fixture bytes can be compared with what the client saw.
 */
export function splitFrames(text: string): string[] {
  const body = text.replace(/^Asterisk Call Manager\/[^\r\n]*\r\n/, '');
  return body
    .split('\r\n\r\n')
    .map((frame) => frame.replace(/^(\r\n)+/, ''))
    .filter((frame) => frame.trim().length > 0);
}

/** One frame → `{key: value}` with asterisk-manager's rules (lower-case keys, arrays, `variable` objects). */
export function parseFrame(frame: string): AmiMessage {
  const item: Record<string, any> = {};
  for (const line of frame.split(/\r?\n/)) {
    if (!line) continue;
    const parts = line.split(': ');
    const key = (parts.shift() ?? '').trim().toLowerCase();
    const value = parts.join(': ');
    if (key === 'variable' || key === 'chanvariable') {
      if (typeof item[key] !== 'object') item[key] = {};
      const [name, ...rest] = value.split('=');
      item[key][name] = rest.join('=');
    } else if (key in item) {
      item[key] = Array.isArray(item[key]) ? [...item[key], value] : [item[key], value];
    } else item[key] = value;
  }
  return item;
}

export function parseFrames(text: string): AmiMessage[] {
  return splitFrames(text).map(parseFrame);
}

/**
 * The repository's copy of the real Asterisk transcripts (the PBX simulator owns it).
 * AMI_FIXTURES_DIR may point elsewhere while developing.
 */
export const FIXTURES_DIR =
  process.env.AMI_FIXTURES_DIR ?? path.resolve(__dirname, '../../../pbx-simulator/fixtures/ami');

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith('.rx.raw'))
    .map((f) => f.replace(/\.rx\.raw$/, ''))
    .sort();
}

export function readFixture(name: string, direction: 'rx' | 'tx'): Buffer {
  return readFileSync(path.join(FIXTURES_DIR, `${name}.${direction}.raw`));
}

/**
 * The received stream after the login exchange (banner and `Response: … ActionID: login`), i.e.
 * what a server sends once a client is logged in. Byte-exact otherwise.
 */
export function rxAfterLogin(name: string): Buffer {
  const raw = readFixture(name, 'rx');
  const text = raw.toString('latin1');
  const login = text.search(/Response: \w+\r\nActionID: (login|l)\r\n/);
  if (login < 0) return raw;
  const end = text.indexOf('\r\n\r\n', login);
  return raw.subarray(end + 4);
}

export interface FixtureOriginate {
  actionId: string;
  channel: string;
  context: string;
  exten: string;
  callerIdNum: string;
  variables: Record<string, string>;
}

/** The Originate actions the recording client sent (tx side). */
export function fixtureOriginates(name: string): FixtureOriginate[] {
  let tx: string;
  try {
    tx = readFixture(name, 'tx').toString('utf8');
  } catch {
    return [];
  }
  return parseFrames(tx)
    .filter((m) => String(m.action).toLowerCase() === 'originate')
    .map((m) => ({
      actionId: String(m.actionid),
      channel: String(m.channel),
      context: String(m.context),
      exten: String(m.exten),
      callerIdNum: /<([^>]*)>/.exec(String(m.callerid))?.[1] ?? '',
      variables: (m.variable as Record<string, string>) ?? {},
    }));
}
