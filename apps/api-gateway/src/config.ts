import { z } from 'zod';
import { BaseEnv, envFlag, loadConfig } from '@ringcloud/nest-config';

/** Limit of one rate-limited function: at most `requests` per `per_seconds`. */
export const RateLimit = z.object({
  requests: z.number().int().positive().max(1_000_000_000),
  per_seconds: z.number().int().positive().max(86_400),
});
export type RateLimit = z.infer<typeof RateLimit>;

/** One request per `per_seconds` for each key and exact URL: the form of every v1 limit. */
export const perSeconds = (per_seconds: number): RateLimit => ({ requests: 1, per_seconds });

/** RATE_LIMITS: JSON object of overrides by limit id; unknown ids are refused later (see limits.ts). */
const RateLimitOverrides = z
  .string()
  .default('{}')
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'RATE_LIMITS must be a JSON object' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string(), RateLimit));

export const GatewayEnv = BaseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key this gateway writes, so deployments (and test runs) can share a Redis. */
  REDIS_PREFIX: z.string().default('rc:'),
  /** Unset → the admin API answers 403 "Admin API is disabled". */
  ADMIN_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v ? v : undefined))
    .refine((v) => v === undefined || v.length >= 16, 'ADMIN_TOKEN must be at least 16 characters'),
  /** How long a key verification (positive or negative) is reused without asking users-service. */
  KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(500),
  /** How often each replica writes the keys' "last used" times it saw to Redis (one write per account, not per request). */
  KEY_USAGE_FLUSH_MS: z.coerce.number().int().min(50).max(600_000).default(5000),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().max(10 * 1024 * 1024).default(65_536),
  /** A client must have sent its whole request (headers and body) within this time, else 408 and the connection is closed. */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  RATE_LIMITS: RateLimitOverrides,
  /** `bench` widens every limit to 1,000,000 per 1 s (the limiter still runs, so its cost is measured). */
  RATE_LIMIT_PROFILE: z.enum(['default', 'bench']).default('default'),
  /**
   * Services /readyz waits for (comma-separated: users, calls, telephony, webhooks). All by default; a
   * gateway deployed for a users-only installation lists just `users`.
   */
  READINESS_SERVICES: z
    .string()
    .default('users,calls,telephony,webhooks')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['users', 'calls', 'telephony', 'webhooks'])).min(1)),
  /** Behind nginx/ingress: take the client address from X-Forwarded-For. */
  TRUST_PROXY: envFlag(false),
});
export type GatewayConfig = z.output<typeof GatewayEnv>;

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => loadConfig(GatewayEnv, env);
