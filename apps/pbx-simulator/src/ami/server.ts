import net from 'node:net';
import type { AmiEvent } from '../engine/publisher';
import type { Logger } from '../log';
import { serialize } from './protocol';
import { AmiSession, SessionHost } from './session';

export interface AmiServerOptions extends Omit<SessionHost, 'onLogin' | 'onClose'> {
  host: string;
  port: number;
  /** Called after a successful login (FullyBooted, SuccessfulAuth). */
  onLogin(session: AmiSession): void;
  log: Logger;
}

/** The manager TCP server: accepts sessions and fans every engine event out to all of them. */
export class AmiServer {
  private readonly server: net.Server;
  private readonly sessions = new Set<AmiSession>();

  constructor(private readonly options: AmiServerOptions) {
    const host: SessionHost = {
      ...options,
      onLogin: (s) => options.onLogin(s),
      onClose: (s) => this.sessions.delete(s),
    };
    this.server = net.createServer((socket) => {
      const session = new AmiSession(socket, host);
      this.sessions.add(session);
      options.log.debug(`AMI connection from ${session.remote}`);
    });
    this.server.on('error', (err) => options.log.error(`AMI server: ${err.message}`));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  broadcast(event: AmiEvent): void {
    if (this.sessions.size === 0) return;
    const wire = serialize(event.headers);
    for (const s of this.sessions) s.deliver(event, wire);
  }

  /** Closes every connection abruptly (what a PBX crash looks like to the client). */
  dropAll(): number {
    const n = this.sessions.size;
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
    return n;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
