import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { GatewayConfig } from '../config';
import { GATEWAY_CONFIG, REDIS } from '../tokens';

/** The answer a replay repeats: a success's data and the route's own headers (X-Call-Id). */
export interface RecordedAnswer {
  status: 200;
  data: unknown;
  headers: Record<string, string>;
}

/** What Redis holds per account + route + key. */
type Entry =
  | { state: 'running'; fingerprint: string; owner: string }
  | { state: 'done'; fingerprint: string; answer: RecordedAnswer };

export type Begin =
  /** First with this key: run the request, then call finish(). */
  | { kind: 'run'; claim: Claim }
  /** Answered before with the same params: repeat it. */
  | { kind: 'replay'; answer: RecordedAnswer }
  /** The key was used with other params. */
  | { kind: 'mismatch' }
  /** Still running elsewhere after waiting `waitMs`. */
  | { kind: 'busy' };

export interface Claim {
  key: string;
  running: string;
  fingerprint: string;
}

export interface IdempotencyTimings {
  /** How long an answer is kept (24 h). */
  keepMs: number;
  /** How long a running request holds its key if its gateway dies before finishing. */
  lockMs: number;
  /** How long a duplicate waits for the first to finish before answering 409. */
  waitMs: number;
  /** How often a waiting duplicate looks. */
  pollMs: number;
}

export const DEFAULT_IDEMPOTENCY_TIMINGS: IdempotencyTimings = { keepMs: 24 * 3600 * 1000, lockMs: 60_000, waitMs: 30_000, pollMs: 25 };

/** Claims the key when free (returns nil), else returns what is there. */
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

/** Only the owner of a running entry finishes it: stores the answer (ARGV[2] non-empty) or frees the key. */
const FINISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`;

type IdempotencyRedis = Redis & {
  rcIdemClaim(key: string, entry: string, lockMs: number): Promise<string | null>;
  rcIdemFinish(key: string, running: string, done: string, keepMs: number): Promise<number>;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Idempotency-Key records in Redis, scoped by account + route + key. The first request claims the
 * key atomically (one Lua script, so exactly one of N concurrent duplicates on any number of
 * gateways runs); the others wait for its answer and replay it. Only a success is kept: an error
 * frees the key, so a retry runs again (and a duplicate that was waiting runs then).
 */
@Injectable()
export class IdempotencyStore {
  private readonly redis: IdempotencyRedis;
  timings: IdempotencyTimings = DEFAULT_IDEMPOTENCY_TIMINGS;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    redis.defineCommand('rcIdemClaim', { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand('rcIdemFinish', { numberOfKeys: 1, lua: FINISH });
    this.redis = redis as IdempotencyRedis;
  }

  /** Rejects when Redis cannot answer (the caller answers 503 and runs nothing). */
  async begin(accountId: number, routeId: string, idempotencyKey: string, fingerprint: string): Promise<Begin> {
    // Hashed: bounded Redis key names whatever the client sends.
    const digest = createHash('sha256').update(idempotencyKey).digest('base64url');
    const key = `${this.config.REDIS_PREFIX}idem:${accountId}:${routeId}:${digest}`;
    const running = JSON.stringify({ state: 'running', fingerprint, owner: randomUUID() } satisfies Entry);
    const deadline = Date.now() + this.timings.waitMs;
    for (;;) {
      this.assertConnected();
      const current = await this.redis.rcIdemClaim(key, running, this.timings.lockMs);
      if (current === null) return { kind: 'run', claim: { key, running, fingerprint } };
      const entry = JSON.parse(current) as Entry;
      if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (entry.state === 'done') return { kind: 'replay', answer: entry.answer };
      if (Date.now() >= deadline) return { kind: 'busy' };
      await sleep(this.timings.pollMs);
    }
  }

  /** Keeps the answer for 24 h, or with `null` frees the key. Rejects when Redis cannot answer. */
  async finish(claim: Claim, answer: RecordedAnswer | null): Promise<void> {
    this.assertConnected();
    const done = answer ? JSON.stringify({ state: 'done', fingerprint: claim.fingerprint, answer } satisfies Entry) : '';
    await this.redis.rcIdemFinish(claim.key, claim.running, done, this.timings.keepMs);
  }

  private assertConnected(): void {
    if (this.redis.status !== 'ready') throw new Error(`Redis is not connected (${this.redis.status})`);
  }
}
