import { Logger, Provider } from '@nestjs/common';
import Redis from 'ioredis';
import { GatewayConfig } from '../config';
import { GATEWAY_CONFIG, REDIS } from '../tokens';

const logger = new Logger('Redis');

/**
 * The rate limiter's Redis. Commands fail at once while disconnected (no offline queue) and time
 * out after a second, so a Redis outage answers 503 quickly instead of piling requests up.
 */
export function createRedis(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 2000,
    // ioredis arms this timer even for a socket that is already closed: keep shutdown quick.
    disconnectTimeout: 200,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let down = false;
  redis.on('error', (err) => {
    if (!down) logger.warn(`Redis unavailable: ${err.message}`);
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.log('Redis available again');
    down = false;
  });
  return redis;
}

/** Resolves when the first connection attempt has ended either way (at most `timeoutMs`). */
export function firstConnectionAttempt(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
    redis.once('error', done);
  });
}

export const RedisProvider: Provider = {
  provide: REDIS,
  inject: [GATEWAY_CONFIG],
  useFactory: async (config: GatewayConfig) => {
    const redis = createRedis(config.REDIS_URL);
    await firstConnectionAttempt(redis, 2000);
    return redis;
  },
};
