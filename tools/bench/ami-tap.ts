/**
 * A transparent TCP proxy between the telephony adapter and the PBX (simulator) that watches the
 * AMI bytes in both directions without changing them:
 * - adapter → PBX: the moment each `Action: Originate` frame arrives, keyed by its `Exten`
 *   (the dialled number, unique per request in the bench);
 * - PBX → adapter: every `Event:` frame is counted with its arrival time, and may be kept byte
 *   for byte (the captured burst is replayed into a second adapter later).
 * Timestamps are `performance.now()` of this process, the same clock the bench starts its requests on.
 */
import net from 'node:net';

const FRAME_END = Buffer.from('\r\n\r\n');

/** Splits a byte stream into AMI frames (each ended by an empty line), across chunk boundaries. */
class FrameSplitter {
  private rest: Buffer = Buffer.alloc(0);

  /** Calls `frame` for each complete frame (without its terminator); returns how many. */
  push(chunk: Buffer, frame: (bytes: Buffer) => void): number {
    const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let start = 0;
    let n = 0;
    for (;;) {
      const end = data.indexOf(FRAME_END, start);
      if (end < 0) break;
      frame(data.subarray(start, end));
      start = end + FRAME_END.length;
      n++;
    }
    this.rest = Buffer.from(data.subarray(start));
    return n;
  }
}

const EVENT_PREFIX = Buffer.from('Event:');
const RESPONSE_PREFIX = Buffer.from('Response:');
const BANNER_PREFIX = Buffer.from('Asterisk Call Manager');

/** The first frame after connecting starts with the banner line; an event may follow it in that frame. */
function isEvent(frame: Buffer): boolean {
  if (frame.subarray(0, EVENT_PREFIX.length).equals(EVENT_PREFIX)) return true;
  if (frame.subarray(0, BANNER_PREFIX.length).equals(BANNER_PREFIX)) {
    const nl = frame.indexOf('\n');
    return nl > 0 && isEvent(frame.subarray(nl + 1));
  }
  return false;
}

function header(frame: string, name: string): string | undefined {
  const m = new RegExp(`^${name}: *(.*)$`, 'im').exec(frame);
  return m?.[1].trim();
}

export interface ActionTiming {
  /** Lower-case action name. */
  name: string;
  /** When the action's frame arrived from the adapter. */
  at: number;
  /** When the PBX's response frame arrived. */
  answeredAt?: number;
}

export class AmiTap {
  /** Exten of each Originate → when its frame arrived. */
  readonly originates = new Map<string, number>();
  /** Events seen from the PBX, and when the first and the latest arrived (since the last reset). */
  events = 0;
  firstEventAt = 0;
  lastEventAt = 0;
  /** Every action the adapter sent (since the last clearActions), with when the PBX answered it. */
  actions: ActionTiming[] = [];
  private readonly pendingActions = new Map<string, ActionTiming>();
  /** Raw event frames (with their terminator), while capturing. */
  private captured: Buffer[] | undefined;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly upstreamPort: number,
    private readonly upstreamHost = '127.0.0.1',
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Zeroes the event counters (start of a measured window). */
  resetEvents(): void {
    this.events = 0;
    this.firstEventAt = 0;
    this.lastEventAt = 0;
  }

  clearActions(): void {
    this.actions = [];
  }

  /** How long the PBX took to answer `name` actions (request frame in → response frame out), ms. */
  responseMs(name: string): number[] {
    return this.actions.filter((a) => a.name === name && a.answeredAt !== undefined).map((a) => a.answeredAt! - a.at);
  }

  startCapture(): void {
    this.captured = [];
  }

  /** The event frames seen since startCapture(), as one buffer of wire bytes. */
  stopCapture(): Buffer {
    const frames = this.captured ?? [];
    this.captured = undefined;
    return Buffer.concat(frames);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private response(frame: Buffer, at: number): void {
    const actionId = header(frame.toString('latin1'), 'ActionID');
    const pending = actionId === undefined ? undefined : this.pendingActions.get(actionId);
    if (!pending) return;
    this.pendingActions.delete(actionId!);
    pending.answeredAt = at;
  }

  private accept(client: net.Socket): void {
    client.setNoDelay(true);
    const upstream = net.connect(this.upstreamPort, this.upstreamHost);
    upstream.setNoDelay(true);
    this.sockets.add(client).add(upstream);
    const fromClient = new FrameSplitter();
    const fromPbx = new FrameSplitter();

    client.on('data', (chunk: Buffer) => {
      const at = performance.now();
      upstream.write(chunk);
      fromClient.push(chunk, (frame) => {
        const text = frame.toString('latin1');
        const name = header(text, 'Action')?.toLowerCase();
        const actionId = header(text, 'ActionID');
        if (name && actionId) {
          const timing: ActionTiming = { name, at };
          this.pendingActions.set(actionId, timing);
          this.actions.push(timing);
        }
        if (name !== 'originate') return;
        const exten = header(text, 'Exten');
        if (exten !== undefined && !this.originates.has(exten)) this.originates.set(exten, at);
      });
    });
    upstream.on('data', (chunk: Buffer) => {
      const at = performance.now();
      client.write(chunk);
      fromPbx.push(chunk, (frame) => {
        if (frame.subarray(0, RESPONSE_PREFIX.length).equals(RESPONSE_PREFIX)) return this.response(frame, at);
        if (!isEvent(frame)) return;
        this.events++;
        if (this.firstEventAt === 0) this.firstEventAt = at;
        this.lastEventAt = at;
        if (this.captured) {
          // The banner never belongs to a replayed burst: keep from the Event line on.
          const start = frame.indexOf(EVENT_PREFIX);
          this.captured.push(Buffer.concat([frame.subarray(start), FRAME_END]));
        }
      });
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
  }
}
