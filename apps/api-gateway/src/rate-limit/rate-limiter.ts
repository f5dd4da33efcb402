import { createHash } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { GatewayConfig, RateLimit } from '../config';
import { GATEWAY_CONFIG, REDIS } from '../tokens';

/**
 * Fixed window, atomically in Redis: the first hit creates the counter with the window as its TTL,
 * every hit increments it. One script, so N concurrent identical requests on any number of gateway
 * replicas see the counts 1..N and exactly `requests` of them pass. A counter found without a TTL
 * (it cannot happen, but it would block the URL forever) gets one.
 */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

export interface LimitDecision {
  allowed: boolean;
  limitId: string;
  limit: RateLimit;
  remaining: number;
  /** Whole seconds until the window resets (≥ 1). */
  resetSeconds: number;
}

type RedisWithHit = Redis & { rcRateLimitHit(key: string, windowMs: number): Promise<[number, number]> };

@Injectable()
export class RateLimiter implements OnApplicationShutdown {
  private readonly redis: RedisWithHit;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    // defineCommand runs the script with EVALSHA (falling back to EVAL once if Redis lost it).
    redis.defineCommand('rcRateLimitHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    this.redis = redis as RedisWithHit;
  }

  /**
   * Counts one request of `identity` (who + which exact URL) against `limit`. Rejects when Redis
   * cannot answer: the caller turns that into 503 (never fail-open).
   */
  async hit(limitId: string, limit: RateLimit, identity: string): Promise<LimitDecision> {
    // Hashed: bounded key length whatever the URL, and no api_key in Redis key names.
    this.assertConnected();
    const digest = createHash('sha256').update(identity).digest('base64url');
    const key = `${this.config.REDIS_PREFIX}rl:${limitId}:${digest}`;
    const [count, ttlMs] = await this.redis.rcRateLimitHit(key, limit.per_seconds * 1000);
    return {
      allowed: count <= limit.requests,
      limitId,
      limit,
      remaining: Math.max(0, limit.requests - count),
      resetSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
    };
  }

  async ping(): Promise<void> {
    this.assertConnected();
    await this.redis.ping();
  }

  /** Fails at once while Redis is away (a command would only be refused after arming its timeout). */
  private assertConnected(): void {
    if (this.redis.status !== 'ready') throw new Error(`Redis is not connected (${this.redis.status})`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
  }
}

/** IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers) for a limited answer. */
export function rateLimitHeaders(d: LimitDecision): Record<string, string> {
  return {
    'RateLimit-Policy': `"${d.limitId}";q=${d.limit.requests};w=${d.limit.per_seconds}`,
    RateLimit: `"${d.limitId}";r=${d.remaining};t=${d.resetSeconds}`,
  };
}
