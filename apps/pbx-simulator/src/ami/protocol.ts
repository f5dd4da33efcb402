/**
 * AMI wire format: a message is a run of `Key: Value` lines, each ended by CRLF, and the message
 * is ended by an empty line. Header names are case-insensitive and may repeat (`Variable:`).
 */

export type Header = readonly [name: string, value: string];

/** One AMI message (action, response or event) with its headers in wire order. */
export class AmiMessage {
  constructor(readonly headers: Header[] = []) {}

  /** First value of a header (case-insensitive), or undefined. */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.headers.find(([k]) => k.toLowerCase() === lower)?.[1];
  }

  /** Every value of a repeated header, in order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    return this.headers.filter(([k]) => k.toLowerCase() === lower).map(([, v]) => v);
  }
}

/** CR and LF cannot travel inside a value: they would end the header (and let data inject headers). */
function clean(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** Serializes headers as Asterisk does: `Key: Value\r\n` per header and a blank line at the end. */
export function serialize(headers: readonly Header[]): string {
  let out = '';
  for (const [k, v] of headers) out += `${clean(k)}: ${clean(v)}\r\n`;
  return `${out}\r\n`;
}

export interface ParserLimits {
  /** Longest accepted line in bytes (Asterisk's own buffer is 1 KiB; a little slack here). */
  maxLineBytes: number;
  /** Largest accepted message in bytes (all its lines). */
  maxMessageBytes: number;
  /** Most headers accepted in one message. */
  maxHeaders: number;
}

export const DEFAULT_LIMITS: ParserLimits = { maxLineBytes: 8 * 1024, maxMessageBytes: 64 * 1024, maxHeaders: 256 };

export class OversizeMessageError extends Error {
  constructor(what: string) {
    super(`AMI input too large: ${what}`);
  }
}

/**
 * Incremental parser for what a client sends. Accepts CRLF or bare LF line ends (Asterisk strips
 * the CR), skips blank lines between messages and lines without a colon (Asterisk ignores them),
 * and throws OversizeMessageError when a line or a message exceeds the limits: the caller then
 * drops the connection instead of buffering without bound.
 */
export class AmiParser {
  private buffer = '';
  private headers: Header[] = [];
  private messageBytes = 0;

  constructor(private readonly limits: ParserLimits = DEFAULT_LIMITS) {}

  /** Feeds bytes; returns the messages completed by them. */
  push(chunk: Buffer | string): AmiMessage[] {
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const done: AmiMessage[] = [];
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const raw = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      this.checkLine(raw);
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') {
        if (this.headers.length > 0) done.push(new AmiMessage(this.headers));
        this.headers = [];
        this.messageBytes = 0;
        continue;
      }
      this.messageBytes += raw.length + 1;
      if (this.messageBytes > this.limits.maxMessageBytes) throw new OversizeMessageError(`message over ${this.limits.maxMessageBytes} bytes`);
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      if (this.headers.length >= this.limits.maxHeaders) throw new OversizeMessageError(`more than ${this.limits.maxHeaders} headers`);
      this.headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
    this.checkLine(this.buffer);
    return done;
  }

  private checkLine(line: string): void {
    if (line.length > this.limits.maxLineBytes) throw new OversizeMessageError(`line over ${this.limits.maxLineBytes} bytes`);
  }
}

/** Splits a server-to-client byte stream into messages; the banner line is returned on its own. */
export function splitServerStream(text: string): { banner?: string; messages: AmiMessage[] } {
  let rest = text;
  let banner: string | undefined;
  const first = rest.indexOf('\r\n');
  if (first >= 0 && !rest.slice(0, first).includes(':')) {
    banner = rest.slice(0, first);
    rest = rest.slice(first + 2);
  }
  const messages = rest
    .split('\r\n\r\n')
    .map((block) => block.split('\r\n').filter((l) => l !== ''))
    .filter((lines) => lines.length > 0)
    .map(
      (lines) =>
        new AmiMessage(
          lines.map((l) => {
            const colon = l.indexOf(':');
            return colon < 0 ? (['', l] as const) : ([l.slice(0, colon), l.slice(colon + 1).replace(/^ /, '')] as const);
          }),
        ),
    );
  return { banner, messages };
}
