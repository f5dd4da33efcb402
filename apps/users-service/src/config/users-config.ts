import { z } from 'zod';
import { BaseEnv, loadConfig } from '@ringcloud/nest-config';
import { AesKey } from '@ringcloud/secret-cipher';

export const DEFAULT_USERS_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/ringcloud?schema=users';

/** Fixed development secrets: convenient locally, refused in production (see loadUsersConfig). */
const DEV_API_KEY_PEPPER = 'ringcloud-dev-pepper-do-not-use-in-production';
const DEV_SIP_SECRET_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

export const UsersEnv = BaseEnv.extend({
  USERS_DATABASE_URL: z.string().url().default(DEFAULT_USERS_DATABASE_URL),
  API_KEY_PEPPER: z.string().min(16, 'must be at least 16 characters').optional(),
  /** 32 bytes for AES-256-GCM, written as 64 hex characters or as base64. */
  SIP_SECRET_KEY: AesKey.optional(),
  /** The SIP realm the PBX authenticates with: part of md5_cred in provisioning events. */
  SIP_REALM: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of letters, digits, dot, dash, underscore')
    .default('ringcloud'),
  /** How often the outbox relay sweeps for events it could not publish right after commit. */
  OUTBOX_SWEEP_MS: z.coerce.number().int().min(100).default(1000),
}).superRefine((env, ctx) => {
  if (env.NODE_ENV !== 'production') return;
  for (const name of ['API_KEY_PEPPER', 'SIP_SECRET_KEY'] as const) {
    if (env[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when NODE_ENV=production' });
  }
});

export interface UsersConfig {
  nodeEnv: string;
  natsUrl: string;
  natsRequestTimeoutMs: number;
  logLevel: z.output<typeof BaseEnv>['LOG_LEVEL'];
  databaseUrl: string;
  apiKeyPepper: string;
  sipSecretKey: Buffer;
  sipRealm: string;
  outboxSweepMs: number;
}

type Secret = 'API_KEY_PEPPER' | 'SIP_SECRET_KEY';

/**
 * Reads and checks the environment once (throws listing every problem). Outside production a
 * missing secret falls back to a fixed dev value, announced once through `warn` (only for the
 * secrets the caller uses: the CLI never touches SIP passwords).
 */
export function loadUsersConfig(
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = () => undefined,
  uses: Secret[] = ['API_KEY_PEPPER', 'SIP_SECRET_KEY'],
): UsersConfig {
  const parsed = loadConfig(UsersEnv, env);
  const defaulted = uses.filter((name) => parsed[name] === undefined);
  if (defaulted.length) {
    warn(`${defaulted.join(' and ')} not set: using fixed development defaults (NODE_ENV=${parsed.NODE_ENV}); never do this in production`);
  }
  return {
    nodeEnv: parsed.NODE_ENV,
    natsUrl: parsed.NATS_URL,
    natsRequestTimeoutMs: parsed.NATS_REQUEST_TIMEOUT_MS,
    logLevel: parsed.LOG_LEVEL,
    databaseUrl: parsed.USERS_DATABASE_URL,
    apiKeyPepper: parsed.API_KEY_PEPPER ?? DEV_API_KEY_PEPPER,
    sipSecretKey: parsed.SIP_SECRET_KEY ?? Buffer.from(DEV_SIP_SECRET_KEY, 'hex'),
    sipRealm: parsed.SIP_REALM,
    outboxSweepMs: parsed.OUTBOX_SWEEP_MS,
  };
}

export const USERS_CONFIG = Symbol('USERS_CONFIG');
