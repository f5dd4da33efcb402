import path from 'node:path';
import { z } from 'zod';
import { BaseEnv, envFlag, loadConfig } from '@ringcloud/nest-config';

export const DEFAULT_TELEPHONY_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/ringcloud?schema=telephony';

const ms = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);

/** A template whose rendered value goes into an AMI header: one placeholder, no CR/LF/commas. */
const template = (placeholder: string, fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => v.includes(`{${placeholder}}`), `must contain {${placeholder}}`)
    .refine((v) => /^[A-Za-z0-9_\-/@.{}]+$/.test(v), 'may contain letters, digits and _ - / @ . only');

export const TelephonyEnv = BaseEnv.extend({
  TELEPHONY_DATABASE_URL: z.string().url().default(DEFAULT_TELEPHONY_DATABASE_URL),
  /** PBX node name: part of call ids (`<node>:<linkedid>`) and event ids. */
  PBX_NODE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, _ and -, at most 32')
    .default('pbx1'),
  PBX_AMI_HOST: z.string().min(1).default('127.0.0.1'),
  PBX_AMI_PORT: z.coerce.number().int().min(1).max(65535).default(5038),
  AMI_USERNAME: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only').default('crm'),
  AMI_SECRET: z
    .string()
    .min(1)
    .refine((v) => !/[\r\n]/.test(v), 'must be one line')
    .optional(),
  AMI_ACTION_TIMEOUT_MS: ms(5000, 100),
  AMI_RECONNECT_MIN_MS: ms(500, 10),
  AMI_RECONNECT_MAX_MS: ms(30_000, 10),
  /** A silent PBX is pinged after this long; unanswered, the connection is dropped and retried (0: off). */
  AMI_KEEPALIVE_MS: ms(10_000, 0),
  ORIGINATE_DEVICE_TEMPLATE: template('user', 'PJSIP/{user}'),
  ORIGINATE_CONTEXT_TEMPLATE: template('account', 'acct-{account}'),
  /** How long the employee's phone rings (Originate `Timeout`). */
  ORIGINATE_TIMEOUT_MS: ms(30_000, 1000),
  /** Where Asterisk's MixMonitor files appear (a volume shared with Asterisk). */
  RECORDINGS_DIR: z.string().min(1).default('tmp/recordings'),
  /** Keep recordings in RECORDINGS_DIR once stored in the object store (off: removed, the PBX's disk does not fill). */
  RECORDINGS_KEEP_LOCAL: envFlag(false),
  /** How long to wait for a recording file to appear and stop growing after hang-up. */
  RECORDING_WAIT_MS: ms(10_000, 100),
  /** Send `dialplan reload` when an account's first user is provisioned (its acct-N context is new). */
  PBX_DIALPLAN_RELOAD: envFlag(true),
  /** PJSIP transport name written into ps_endpoints. */
  PJSIP_TRANSPORT: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/).default('transport-udp'),
  /**
   * ps_aors.qualify_frequency (seconds) of every provisioned user. Asterisk raises ContactStatus
   * events — how the adapter learns a phone registered — only for AORs that are qualified.
   */
  PJSIP_QUALIFY_FREQUENCY: z.coerce.number().int().min(1).max(86_400).default(60),
  /** The context the PSTN trunk delivers calls to (docker/asterisk: from-pstn); DID routes are written there. */
  INBOUND_CONTEXT: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/).default('from-pstn'),
}).superRefine((env, ctx) => {
  if (env.NODE_ENV === 'production' && env.AMI_SECRET === undefined) {
    ctx.addIssue({ code: 'custom', path: ['AMI_SECRET'], message: 'is required when NODE_ENV=production' });
  }
  if (env.AMI_RECONNECT_MAX_MS < env.AMI_RECONNECT_MIN_MS) {
    ctx.addIssue({ code: 'custom', path: ['AMI_RECONNECT_MAX_MS'], message: 'must be at least AMI_RECONNECT_MIN_MS' });
  }
});

export interface TelephonyConfig {
  nodeEnv: string;
  natsUrl: string;
  logLevel: z.output<typeof BaseEnv>['LOG_LEVEL'];
  databaseUrl: string;
  node: string;
  ami: {
    host: string;
    port: number;
    username: string;
    secret: string;
    actionTimeoutMs: number;
    reconnectMinMs: number;
    reconnectMaxMs: number;
    keepaliveMs: number;
  };
  originate: { deviceTemplate: string; contextTemplate: string; timeoutMs: number };
  recordingsDir: string;
  recordingWaitMs: number;
  recordingsKeepLocal: boolean;
  pjsipTransport: string;
  qualifyFrequency: number;
  inboundContext: string;
  dialplanReload: boolean;
}

/** Development default, matching the PBX simulator's; refused in production. */
const DEV_AMI_SECRET = 'crmsecret';

export function loadTelephonyConfig(env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = () => undefined): TelephonyConfig {
  const parsed = loadConfig(TelephonyEnv, env);
  if (parsed.AMI_SECRET === undefined) warn(`AMI_SECRET not set: using the development default (NODE_ENV=${parsed.NODE_ENV})`);
  return {
    nodeEnv: parsed.NODE_ENV,
    natsUrl: parsed.NATS_URL,
    logLevel: parsed.LOG_LEVEL,
    databaseUrl: parsed.TELEPHONY_DATABASE_URL,
    node: parsed.PBX_NODE,
    ami: {
      host: parsed.PBX_AMI_HOST,
      port: parsed.PBX_AMI_PORT,
      username: parsed.AMI_USERNAME,
      secret: parsed.AMI_SECRET ?? DEV_AMI_SECRET,
      actionTimeoutMs: parsed.AMI_ACTION_TIMEOUT_MS,
      reconnectMinMs: parsed.AMI_RECONNECT_MIN_MS,
      reconnectMaxMs: parsed.AMI_RECONNECT_MAX_MS,
      keepaliveMs: parsed.AMI_KEEPALIVE_MS,
    },
    originate: {
      deviceTemplate: parsed.ORIGINATE_DEVICE_TEMPLATE,
      contextTemplate: parsed.ORIGINATE_CONTEXT_TEMPLATE,
      timeoutMs: parsed.ORIGINATE_TIMEOUT_MS,
    },
    recordingsDir: path.resolve(parsed.RECORDINGS_DIR),
    recordingWaitMs: parsed.RECORDING_WAIT_MS,
    recordingsKeepLocal: parsed.RECORDINGS_KEEP_LOCAL,
    pjsipTransport: parsed.PJSIP_TRANSPORT,
    qualifyFrequency: parsed.PJSIP_QUALIFY_FREQUENCY,
    inboundContext: parsed.INBOUND_CONTEXT,
    dialplanReload: parsed.PBX_DIALPLAN_RELOAD,
  };
}

export const TELEPHONY_CONFIG = Symbol('TELEPHONY_CONFIG');

/** `acct-{account}` ⇄ 1001: rendering for Originate, parsing for contexts and CDR userfields. */
export class ContextTemplate {
  private readonly pattern: RegExp;

  constructor(readonly template: string) {
    const [before, after] = template.split('{account}');
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    this.pattern = new RegExp(`^${escape(before)}([1-9][0-9]{0,9})${escape(after ?? '')}$`);
  }

  render(accountId: number): string {
    return this.template.replace('{account}', String(accountId));
  }

  parse(context: string): number | null {
    const m = this.pattern.exec(context);
    return m ? Number(m[1]) : null;
  }
}

export const renderDevice = (template: string, user: string) => template.replace('{user}', user);
