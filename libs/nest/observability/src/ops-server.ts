import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { metricsRegistry } from './metrics';

/** Named checks: 'ok' or what is wrong. */
export type ReadinessChecks = Record<string, string>;

export interface OpsServerOptions {
  port: number;
  host?: string;
  /** Readiness checks; resolve to names → 'ok' | problem. */
  readiness: () => Promise<ReadinessChecks>;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The operations port of an app without HTTP of its own: /metrics (Prometheus text), /healthz
 * (the process answers) and /readyz (its dependencies answer; 503 lists what is missing).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const answer = (status: number, type: string, body: string) => res.writeHead(status, { 'Content-Type': type }).end(body);
    if (req.method !== 'GET') return answer(405, 'text/plain', 'method not allowed\n');
    if (path === '/metrics') {
      metricsRegistry.metrics().then(
        (text) => answer(200, metricsRegistry.contentType, text),
        (err: Error) => answer(500, 'text/plain', `${err.message}\n`),
      );
    } else if (path === '/healthz') {
      answer(200, 'application/json', JSON.stringify({ status: 'ok' }));
    } else if (path === '/readyz') {
      readinessAnswer(options.readiness).then(({ status, body }) => answer(status, 'application/json', body));
    } else answer(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function readinessAnswer(readiness: () => Promise<ReadinessChecks>): Promise<{ status: number; body: string }> {
  let checks: ReadinessChecks;
  try {
    checks = await readiness();
  } catch (err) {
    checks = { readiness: (err as Error)?.message || 'failed' };
  }
  const ready = Object.values(checks).every((state) => state === 'ok');
  return { status: ready ? 200 : 503, body: JSON.stringify({ status: ready ? 'ready' : 'not ready', checks }) };
}

/** Runs a check and reports 'ok' or its error message, never throwing. */
export async function checkOutcome(check: () => unknown, timeoutMs = 1000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(check),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs))),
    ]);
    return 'ok';
  } catch (err) {
    return (err as Error)?.message || 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/** METRICS_PORT: the operations port of a NATS-only app (default 9464; 0 turns it off). */
export function metricsPortFrom(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.METRICS_PORT ?? '9464';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) throw new Error(`invalid configuration:\n  METRICS_PORT: expected a port number, got "${raw}"`);
  return port;
}
