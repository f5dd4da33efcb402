/**
 * The smallest AMI server the telephony adapter will work with, for the replay baseline: the
 * banner, Login, empty CoreShowChannels / PJSIPShowContacts lists (the adapter's resync after
 * login), and a plain Success for anything else. `replay(bytes)` then writes captured event
 * bytes to every logged-in client in one go, as fast as the socket takes them.
 */
import net from 'node:net';

function parseFrame(frame: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of frame.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

const frame = (headers: [string, string][]) => headers.map(([k, v]) => `${k}: ${v}`).join('\r\n') + '\r\n\r\n';

export class FakeAmi {
  private readonly server: net.Server;
  private readonly clients = new Set<net.Socket>();
  /** Lower-case action names received, in order (the bench waits for the adapter's resync). */
  readonly actions: string[] = [];
  port = 0;

  constructor(
    private readonly username = 'crm',
    private readonly secret = 'crmsecret',
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  get loggedIn(): number {
    return this.clients.size;
  }

  /** Writes `bytes` to every logged-in client; resolves when the kernel has taken them all. */
  replay(bytes: Buffer): Promise<void> {
    return Promise.all(
      [...this.clients].map((socket) => new Promise<void>((resolve) => (socket.write(bytes) ? resolve() : socket.once('drain', () => resolve())))),
    ).then(() => undefined);
  }

  async close(): Promise<void> {
    for (const s of this.clients) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => this.clients.delete(socket));
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      let end: number;
      while ((end = buffer.indexOf('\r\n\r\n')) >= 0) {
        const text = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        if (text.trim()) this.handle(socket, parseFrame(text));
      }
    });
  }

  private handle(socket: net.Socket, action: Map<string, string>): void {
    const name = (action.get('action') ?? '').toLowerCase();
    const id = action.get('actionid') ?? '';
    this.actions.push(name);
    const reply = (headers: [string, string][]) => socket.write(frame([['Response', 'Success'], ['ActionID', id], ...headers]));
    switch (name) {
      case 'login':
        if (action.get('username') !== this.username || action.get('secret') !== this.secret) {
          socket.write(frame([['Response', 'Error'], ['ActionID', id], ['Message', 'Authentication failed']]));
          socket.end();
          return;
        }
        this.clients.add(socket);
        reply([['Message', 'Authentication accepted']]);
        socket.write(frame([['Event', 'FullyBooted'], ['Privilege', 'system,all'], ['Uptime', '1'], ['LastReload', '1'], ['Status', 'Fully Booted']]));
        return;
      case 'coreshowchannels':
        reply([['EventList', 'start'], ['Message', 'Channels will follow']]);
        socket.write(frame([['Event', 'CoreShowChannelsComplete'], ['ActionID', id], ['EventList', 'Complete'], ['ListItems', '0']]));
        return;
      case 'pjsipshowcontacts':
        // As res_pjsip answers an empty contact list.
        socket.write(frame([['Response', 'Error'], ['ActionID', id], ['Message', 'No Contacts found']]));
        return;
      default:
        reply([['Message', 'OK']]);
    }
  }
}
