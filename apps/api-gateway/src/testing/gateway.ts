import { connect as netConnect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { startNatsServer, TestNats } from '@ringcloud/testing';
import { createGateway } from '../app';
import { loadGatewayConfig } from '../config';
import { KeyChangeListener } from '../auth/key-change.listener';
import { FakeUsers, RunningFake, startFakeUsersService } from './fake-users-service';

export interface TestGateway {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
}

export const TEST_REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

/** A Redis key prefix of its own per test file: runs never see each other's counters. */
export const testRedisPrefix = () => `rc:test:${randomUUID()}:`;

/** Starts a real gateway in-process on a free port, with the given environment on top of the defaults. */
export async function startGateway(env: Record<string, string>): Promise<TestGateway> {
  // Only users-service has a stand-in in these tests; /readyz waits for nothing else.
  const config = loadGatewayConfig({ HOST: '127.0.0.1', PORT: '0', REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'error', READINESS_SERVICES: 'users', ...env });
  const app = await createGateway(config);
  await app.listen(0, '127.0.0.1');
  // Key-change broadcasts must be subscribed before a test relies on them (no-op if NATS is down).
  await app.get(KeyChangeListener).waitUntilSubscribed(2000);
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** What most gateway specs run against: a private NATS server, the users-service stand-in and gateways sharing one Redis prefix. */
export interface GatewayRig {
  nats: TestNats;
  users: RunningFake;
  fake: FakeUsers;
  prefix: string;
  /** One per environment given to startGatewayRig, in that order. */
  gateways: TestGateway[];
  /** Stops the gateways, the stand-in and NATS, and drops the Redis prefix. */
  close(): Promise<void>;
}

/** Starts a GatewayRig with one gateway per environment (each on top of NATS_URL and REDIS_PREFIX). */
export async function startGatewayRig(...envs: Record<string, string>[]): Promise<GatewayRig> {
  const prefix = testRedisPrefix();
  const nats = await startNatsServer();
  let users: RunningFake | undefined;
  const gateways: TestGateway[] = [];
  const close = async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await users?.stop();
    await nats.stop();
    await dropRedisPrefix(prefix);
  };
  try {
    users = await startFakeUsersService(nats.url);
    const started = await Promise.allSettled(envs.map((env) => startGateway({ NATS_URL: nats.url, REDIS_PREFIX: prefix, ...env })));
    for (const s of started) if (s.status === 'fulfilled') gateways.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return { nats, users, fake: users.fake, prefix, gateways, close };
}

/** Deletes the keys a test file wrote under its prefix. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** fetch + the body parsed as JSON when it is JSON. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(base + path, { method, body: options.body, headers: options.headers });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/**
 * The path exactly as given (no URL normalisation: `..` stays), for garbage-in-the-path tests.
 */
export function rawCall(base: string, method: string, rawPath: string): Promise<{ status: number; body: any; text: string; headers: IncomingHttpHeaders }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path: rawPath }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, body, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export const errorEnvelope = (message: string) => ({ status: 'error', message, data: null });
export const successEnvelope = (data: unknown) => ({ status: 'success', message: null, data });

/** Bytes straight onto a socket (for requests no HTTP client would send); resolves with the whole answer. */
export function rawSocket(base: string, bytes: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = netConnect(Number(port), hostname, () => socket.write(bytes));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(answer);
    });
  });
}
