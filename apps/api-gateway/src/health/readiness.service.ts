import { Injectable } from '@nestjs/common';
import { RpcClient } from '@ringcloud/nest-nats';
import { UsersHealthPing } from '@ringcloud/contracts-users';
import { KeyChangeListener } from '../auth/key-change.listener';
import { RateLimiter } from '../rate-limit/rate-limiter';

const CHECK_TIMEOUT_MS = 1000;

export type Readiness = Record<'nats' | 'redis' | 'users-service', 'ok' | string>;

/** What the gateway needs to serve v1: NATS, Redis (rate limits) and users-service. */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly listener: KeyChangeListener,
    private readonly limiter: RateLimiter,
    private readonly rpc: RpcClient,
  ) {}

  async check(): Promise<Readiness> {
    const [nats, redis, users] = await Promise.all([
      outcome(this.listener.ping(CHECK_TIMEOUT_MS)),
      outcome(withTimeout(this.limiter.ping(), CHECK_TIMEOUT_MS)),
      outcome(this.rpc.send(UsersHealthPing.contract, {}, CHECK_TIMEOUT_MS)),
    ]);
    return { nats, redis, 'users-service': users };
  }
}

async function outcome(check: Promise<unknown>): Promise<string> {
  try {
    await check;
    return 'ok';
  } catch (err) {
    return (err as Error)?.message || 'failed';
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)));
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
