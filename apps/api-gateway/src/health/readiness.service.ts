import { Inject, Injectable } from '@nestjs/common';
import { RpcClient } from '@ringcloud/nest-nats';
import { UsersHealthPing } from '@ringcloud/contracts-users';
import { CallsHealthPing } from '@ringcloud/contracts-calls';
import { TelephonyHealthPing } from '@ringcloud/contracts-telephony';
import { WebhooksHealthPing } from '@ringcloud/contracts-webhooks';
import { GatewayConfig } from '../config';
import { GATEWAY_CONFIG } from '../tokens';
import { KeyChangeListener } from '../auth/key-change.listener';
import { RateLimiter } from '../rate-limit/rate-limiter';

const CHECK_TIMEOUT_MS = 1000;

export type Readiness = Record<string, 'ok' | string>;

/** Each backend service's ping; the adapter also says whether its AMI session to the PBX is up. */
const SERVICE_CHECKS = {
  users: { name: 'users-service', ping: (rpc: RpcClient) => rpc.send(UsersHealthPing.contract, {}, CHECK_TIMEOUT_MS) },
  calls: { name: 'calls-service', ping: (rpc: RpcClient) => rpc.send(CallsHealthPing.contract, {}, CHECK_TIMEOUT_MS) },
  telephony: {
    name: 'telephony-adapter',
    ping: async (rpc: RpcClient) => {
      const answer = await rpc.send(TelephonyHealthPing.contract, {}, CHECK_TIMEOUT_MS);
      if (!answer.ami) throw new Error('PBX (AMI) is down');
    },
  },
  webhooks: { name: 'webhooks-service', ping: (rpc: RpcClient) => rpc.send(WebhooksHealthPing.contract, {}, CHECK_TIMEOUT_MS) },
} as const;

/** What the gateway needs to serve v1: NATS, Redis (rate limits) and the configured services. */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly listener: KeyChangeListener,
    private readonly limiter: RateLimiter,
    private readonly rpc: RpcClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async check(): Promise<Readiness> {
    const services = this.config.READINESS_SERVICES.map((s) => SERVICE_CHECKS[s]);
    const [nats, redis, ...answers] = await Promise.all([
      outcome(this.listener.ping(CHECK_TIMEOUT_MS)),
      outcome(withTimeout(this.limiter.ping(), CHECK_TIMEOUT_MS)),
      ...services.map((s) => outcome(s.ping(this.rpc))),
    ]);
    return { nats, redis, ...Object.fromEntries(services.map((s, i) => [s.name, answers[i]])) };
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
