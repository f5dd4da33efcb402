import { z } from 'zod';

/**
 * Fail-fast typed configuration: parses the environment once at start-up and stops the process
 * with every problem listed, instead of failing later on first use.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
  throw new Error(`invalid configuration:\n${problems}`);
}

/** Settings every app shares. */
export const BaseEnv = z.object({
  NODE_ENV: z.string().default('development'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  /** How long a NATS request may wait for its reply before the caller answers 503. */
  NATS_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  /** Replicas of the JetStream streams a service creates: 1 on a single server, 3 on a production cluster. */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
});

/** `true`/`false`/`1`/`0` from an environment variable. */
export const envFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Nest logger levels from LOG_LEVEL (each level includes the more severe ones). */
export function logLevels(level: z.output<typeof BaseEnv>['LOG_LEVEL']) {
  const order = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
  return order.slice(0, order.indexOf(level) + 1) as Array<(typeof order)[number]>;
}
