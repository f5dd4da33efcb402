import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';

/**
 * A private, real NATS server for one test file. The shared one (127.0.0.1:4222) also carries the
 * real users-service while colleagues' suites run, and its replies would race our test responder.
 * NATS_TEST_URL points the tests at an existing server instead; without a nats-server binary the
 * shared server is used.
 */
export interface TestNats {
  url: string;
  stop(): Promise<void>;
}

const BINARIES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export async function startNats(): Promise<TestNats> {
  if (process.env.NATS_TEST_URL) return { url: process.env.NATS_TEST_URL, stop: async () => undefined };
  const binary = BINARIES.find((b) => existsSync(b));
  if (!binary) return { url: 'nats://127.0.0.1:4222', stop: async () => undefined };
  const port = await freePort();
  const child: ChildProcess = spawn(binary, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await waitForPort(port, 5000);
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A port nothing listens on (for "dependency is down" tests), or a free one to start a server on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => (socket.destroy(), resolve(false)));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
}
