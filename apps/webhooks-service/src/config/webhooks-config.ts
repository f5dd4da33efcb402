import { z } from 'zod';
import { BaseEnv, envFlag, loadConfig } from '@ringcloud/nest-config';
import { AesKey } from '@ringcloud/secret-cipher';

export const DEFAULT_WEBHOOKS_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/ringcloud?schema=webhooks';

/** Fixed development key: convenient locally, refused in production (see loadWebhooksConfig). */
const DEV_WEBHOOK_SECRET_KEY = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';

/**
 * Waits between attempts after a failure, in ms: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h,
 * 8 h, 8 h — about 24 h in all, then the subscription is disabled. Each wait gets ±20% jitter.
 */
export const DEFAULT_RETRY_SCHEDULE_MS = [5e3, 30e3, 120e3, 600e3, 1800e3, 3600e3, 7200e3, 14_400e3, 28_800e3, 28_800e3];

const RetrySchedule = z
  .string()
  .transform((text, ctx) => {
    const values = text.split(',').map((part) => Number(part.trim()));
    if (!values.length || values.some((v) => !Number.isInteger(v) || v < 0 || v > 7 * 86_400_000)) {
      ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of waits in ms (e.g. 5000,30000,120000)' });
      return z.NEVER;
    }
    return values;
  });

export const WebhooksEnv = BaseEnv.extend({
  WEBHOOKS_DATABASE_URL: z.string().url().default(DEFAULT_WEBHOOKS_DATABASE_URL),
  /** AES-256-GCM key for the signing secrets at rest (32 bytes as 64 hex characters or base64). */
  WEBHOOK_SECRET_KEY: AesKey.optional(),
  /**
   * Lets deliveries reach loopback addresses (127.0.0.0/8, ::1), over http too: for a developer's
   * own receiver (`npm start` sets it) and tests. Private, link-local and metadata addresses stay refused.
   */
  WEBHOOKS_ALLOW_LOOPBACK_HTTP: envFlag(false),
  WEBHOOKS_RETRY_SCHEDULE_MS: RetrySchedule.optional(),
  /** One attempt's limit: connect, send, and the receiver's answer. */
  WEBHOOKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** How long the feed keeps events. */
  WEBHOOKS_EVENT_RETENTION_HOURS: z.coerce.number().int().min(1).max(24 * 90).default(24 * 7),
  /** Durable JetStream consumer of CRM_EVENTS shared by every replica. */
  WEBHOOKS_CONSUMER_NAME: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('webhooks-service'),
  /**
   * The durable's ack_wait: when the ingesting replica dies, what it pulled and had not stored comes
   * back after this long, and the replica taking over waits for it (order before speed).
   */
  WEBHOOKS_INGEST_ACK_WAIT_MS: z.coerce.number().int().min(1000).max(300_000).default(10_000),
  /** Subscriptions one replica delivers to at the same time (each has at most one attempt in flight). */
  WEBHOOKS_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(64),
  /** How often a replica looks for due deliveries it was not told about (other replicas' events, retries). */
  WEBHOOKS_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
}).superRefine((env, ctx) => {
  if (env.NODE_ENV === 'production' && env.WEBHOOK_SECRET_KEY === undefined) {
    ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRET_KEY'], message: 'is required when NODE_ENV=production' });
  }
});

export interface WebhooksConfig {
  nodeEnv: string;
  natsUrl: string;
  natsRequestTimeoutMs: number;
  logLevel: z.output<typeof BaseEnv>['LOG_LEVEL'];
  databaseUrl: string;
  secretKey: Buffer;
  allowLoopbackHttp: boolean;
  retryScheduleMs: number[];
  timeoutMs: number;
  retentionMs: number;
  consumerName: string;
  ingestAckWaitMs: number;
  concurrency: number;
  pollMs: number;
}

export function loadWebhooksConfig(env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = () => undefined): WebhooksConfig {
  const parsed = loadConfig(WebhooksEnv, env);
  if (parsed.WEBHOOK_SECRET_KEY === undefined) {
    warn(`WEBHOOK_SECRET_KEY not set: using a fixed development key (NODE_ENV=${parsed.NODE_ENV}); never do this in production`);
  }
  if (parsed.WEBHOOKS_ALLOW_LOOPBACK_HTTP) warn('WEBHOOKS_ALLOW_LOOPBACK_HTTP is on: webhooks may be delivered to this machine over http');
  return {
    nodeEnv: parsed.NODE_ENV,
    natsUrl: parsed.NATS_URL,
    natsRequestTimeoutMs: parsed.NATS_REQUEST_TIMEOUT_MS,
    logLevel: parsed.LOG_LEVEL,
    databaseUrl: parsed.WEBHOOKS_DATABASE_URL,
    secretKey: parsed.WEBHOOK_SECRET_KEY ?? Buffer.from(DEV_WEBHOOK_SECRET_KEY, 'hex'),
    allowLoopbackHttp: parsed.WEBHOOKS_ALLOW_LOOPBACK_HTTP,
    retryScheduleMs: parsed.WEBHOOKS_RETRY_SCHEDULE_MS ?? DEFAULT_RETRY_SCHEDULE_MS,
    timeoutMs: parsed.WEBHOOKS_TIMEOUT_MS,
    retentionMs: parsed.WEBHOOKS_EVENT_RETENTION_HOURS * 3600_000,
    consumerName: parsed.WEBHOOKS_CONSUMER_NAME,
    ingestAckWaitMs: parsed.WEBHOOKS_INGEST_ACK_WAIT_MS,
    concurrency: parsed.WEBHOOKS_CONCURRENCY,
    pollMs: parsed.WEBHOOKS_POLL_MS,
  };
}

export const WEBHOOKS_CONFIG = Symbol('WEBHOOKS_CONFIG');
