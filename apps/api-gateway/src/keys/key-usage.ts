import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { GatewayConfig } from '../config';
import { GATEWAY_CONFIG, REDIS } from '../tokens';

/** Sets each field to the given time unless Redis already holds a later one (replicas flush in any order). */
const SET_LATER_SCRIPT = `
for i = 1, #ARGV, 2 do
  local old = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if tonumber(ARGV[i + 1]) > old then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
`;

type RedisWithSetLater = Redis & { rcKeysLastUsed(key: string, ...fieldsAndTimes: string[]): Promise<number> };

/** Beyond this many keys seen since the last flush, flush at once (bounds memory). */
const MAX_PENDING = 10_000;

/**
 * "Last used" of API keys, cheaply: an authenticated request only sets a time in memory; every
 * KEY_USAGE_FLUSH_MS each replica writes what it saw to Redis, one hash per account
 * (`<prefix>keys:last_used:<account>`: api_key → epoch ms), keeping the latest time. So the cost
 * is one Redis call per active account per interval, never a database write per request. A failed
 * flush keeps its times for the next one. Redis is the only copy: if it loses its data, keys show
 * "never used" until their next request.
 */
@Injectable()
export class KeyUsage implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(KeyUsage.name);
  private readonly redis: RedisWithSetLater;
  private pending = new Map<string, { accountId: number; at: number }>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private failing = false;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    redis.defineCommand('rcKeysLastUsed', { numberOfKeys: 1, lua: SET_LATER_SCRIPT });
    this.redis = redis as RedisWithSetLater;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.KEY_USAGE_FLUSH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Last chance before Redis is closed (RateLimiter disconnects it on shutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** The key authenticated a request now. */
  touch(apiKey: string, accountId: number, at = Date.now()): void {
    this.pending.set(apiKey, { accountId, at });
    if (this.pending.size >= MAX_PENDING && !this.failing) void this.flush();
  }

  /** api_key → last use (epoch ms) of the account's keys: Redis plus what this replica has not flushed yet. */
  async lastUsed(accountId: number): Promise<Map<string, number>> {
    const stored = await this.redis.hgetall(this.hashKey(accountId));
    const times = new Map(Object.entries(stored).map(([key, at]) => [key, Number(at)]));
    for (const [key, use] of this.pending) {
      if (use.accountId === accountId && use.at > (times.get(key) ?? 0)) times.set(key, use.at);
    }
    return times;
  }

  /** A deleted key's time goes too (a flush racing the deletion may write it back: listings show existing keys only). */
  async forget(apiKey: string, accountId: number): Promise<void> {
    this.pending.delete(apiKey);
    await this.redis.hdel(this.hashKey(accountId), apiKey).catch(() => undefined);
  }

  /** Writes the times seen since the last flush; on failure they are kept (unless newer ones arrived). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return Promise.resolve();
    this.flushing = this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const byAccount = new Map<number, string[]>();
    for (const [key, { accountId, at }] of batch) {
      const args = byAccount.get(accountId) ?? [];
      args.push(key, String(at));
      byAccount.set(accountId, args);
    }
    try {
      if (this.redis.status !== 'ready') throw new Error(`Redis is not connected (${this.redis.status})`);
      await Promise.all([...byAccount].map(([accountId, args]) => this.redis.rcKeysLastUsed(this.hashKey(accountId), ...args)));
      if (this.failing) this.logger.log('key "last used" times are written again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn(`key "last used" times not written, kept for the next try: ${(err as Error).message}`);
      this.failing = true;
      for (const [key, use] of batch) {
        const newer = this.pending.get(key);
        if (!newer || newer.at < use.at) this.pending.set(key, use);
      }
    }
  }

  private hashKey(accountId: number): string {
    return `${this.config.REDIS_PREFIX}keys:last_used:${accountId}`;
  }
}
