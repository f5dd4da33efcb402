import { z } from 'zod';
import { BaseEnv, loadConfig } from '@ringcloud/nest-config';

export const DEFAULT_CALLS_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/ringcloud?schema=calls';

/** An IANA time zone name the runtime knows (Intl throws RangeError for unknown ones). */
const TimeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone name such as Europe/Moscow or UTC');

export const CallsEnv = BaseEnv.extend({
  CALLS_DATABASE_URL: z.string().url().default(DEFAULT_CALLS_DATABASE_URL),
  /**
   * The PBX's local time zone: CDR times arrive as the PBX's wall clock ("YYYY-MM-DD HH:MM:SS") and
   * v1 shows times the same way. Default: this process's zone (TZ), like Asterisk's own default.
   */
  PBX_TIMEZONE: TimeZone.optional(),
  /** Durable JetStream consumer shared by every replica. */
  CALLS_CONSUMER_NAME: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('calls-service'),
  /** Messages a replica pulls at once; they are applied in transactions of CALLS_EVENTS_TX_SIZE. */
  CALLS_EVENTS_BATCH: z.coerce.number().int().min(1).max(5000).default(500),
  CALLS_EVENTS_TX_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  /** Unacknowledged messages the server hands out across all replicas (consumer's max_ack_pending). */
  CALLS_MAX_ACK_PENDING: z.coerce.number().int().min(1).default(10_000),
  /** How long a pulled message may stay unacknowledged before the server redelivers it. */
  CALLS_ACK_WAIT_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Attempts for an event whose processing fails (not counting database outages) before it is dropped. */
  CALLS_EVENT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  /**
   * Asterisk sends a call's CDR right after its last Hangup: a call that ended is listed once its CDR
   * is in (the CDR names the parties), or after this long without one (then from what the events told).
   */
  CALLS_CDR_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** How often CRM events that could not be published right after their commit (NATS down) are retried. */
  CALLS_OUTBOX_SWEEP_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
});

export interface CallsConfig {
  nodeEnv: string;
  natsUrl: string;
  natsRequestTimeoutMs: number;
  logLevel: z.output<typeof BaseEnv>['LOG_LEVEL'];
  databaseUrl: string;
  pbxTimeZone: string;
  /** How long a call ended by a real Hangup waits for its CDR before it is listed without one. */
  cdrGraceMs: number;
  /** Sweep interval of the CRM events outbox relay. */
  outboxSweepMs: number;
  consumer: ConsumerSettings;
}

export interface ConsumerSettings {
  durableName: string;
  batch: number;
  txSize: number;
  maxAckPending: number;
  ackWaitMs: number;
  maxAttempts: number;
}

export function loadCallsConfig(env: NodeJS.ProcessEnv = process.env): CallsConfig {
  const parsed = loadConfig(CallsEnv, env);
  return {
    nodeEnv: parsed.NODE_ENV,
    natsUrl: parsed.NATS_URL,
    natsRequestTimeoutMs: parsed.NATS_REQUEST_TIMEOUT_MS,
    logLevel: parsed.LOG_LEVEL,
    databaseUrl: parsed.CALLS_DATABASE_URL,
    pbxTimeZone: parsed.PBX_TIMEZONE ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC',
    cdrGraceMs: parsed.CALLS_CDR_GRACE_MS,
    outboxSweepMs: parsed.CALLS_OUTBOX_SWEEP_MS,
    consumer: {
      durableName: parsed.CALLS_CONSUMER_NAME,
      batch: parsed.CALLS_EVENTS_BATCH,
      txSize: parsed.CALLS_EVENTS_TX_SIZE,
      maxAckPending: parsed.CALLS_MAX_ACK_PENDING,
      ackWaitMs: parsed.CALLS_ACK_WAIT_MS,
      maxAttempts: parsed.CALLS_EVENT_MAX_ATTEMPTS,
    },
  };
}

export const CALLS_CONFIG = Symbol('CALLS_CONFIG');
