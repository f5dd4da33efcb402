import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** performance.now() when the body was complete. */
  at: number;
  /** performance.now() when the answer was sent; unset while it is held (or if the sender gave up first). */
  answeredAt?: number;
}

/** What the receiver answers on a path: a status, optionally held back until `holdUntil` settles. */
export type ReceiverBehaviour = (request: ReceivedWebhook, countOnPath: number) => { status: number; holdUntil?: Promise<unknown> };

/**
 * A real HTTP webhook receiver on 127.0.0.1 for tests and the benchmark: records every request
 * and answers per path (200 unless told otherwise).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private readonly behaviours = new Map<string, ReceiverBehaviour>();
  private readonly listeners = new Set<(r: ReceivedWebhook) => void>();
  private server?: http.Server;
  base = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0];
        const got: ReceivedWebhook = { path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() };
        this.received.push(got);
        for (const listener of this.listeners) listener(got);
        const count = this.received.filter((r) => r.path === path).length;
        const { status, holdUntil } = this.behaviours.get(path)?.(got, count) ?? { status: 200 };
        const answer = () => {
          if (res.destroyed) return;
          got.answeredAt = performance.now();
          res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
        };
        if (holdUntil) void holdUntil.finally(answer);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The URL of a path on this receiver. */
  url(path: string): string {
    return `${this.base}${path}`;
  }

  on(path: string, behaviour: ReceiverBehaviour): void {
    this.behaviours.set(path, behaviour);
  }

  onReceive(listener: (r: ReceivedWebhook) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  at(path: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
