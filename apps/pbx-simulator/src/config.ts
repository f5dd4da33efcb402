import { envFlag, loadConfig } from '@ringcloud/nest-config';
import { z } from 'zod';
import { DEFAULT_CONFIG, SimulatorConfig } from './simulator';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const ms = (fallback: number) => z.coerce.number().min(0).default(fallback);

const SimulatorEnv = z.object({
  SIM_AMI_HOST: z.string().default(DEFAULT_CONFIG.amiHost),
  SIM_AMI_PORT: port(DEFAULT_CONFIG.amiPort),
  SIM_CONTROL_HOST: z.string().default(DEFAULT_CONFIG.controlHost),
  SIM_CONTROL_PORT: port(DEFAULT_CONFIG.controlPort),
  AMI_USERNAME: z.string().min(1).default(DEFAULT_CONFIG.username),
  AMI_SECRET: z.string().min(1).default(DEFAULT_CONFIG.secret),
  /** Set it empty to run without the realtime tables. */
  TELEPHONY_DATABASE_URL: z.string().default(DEFAULT_CONFIG.databaseUrl!),
  RECORDINGS_DIR: z.string().min(1).default(DEFAULT_CONFIG.recordingsDir),
  SIM_ANSWER_DELAY_MS: ms(DEFAULT_CONFIG.answerDelayMs),
  SIM_TALK_MS: ms(DEFAULT_CONFIG.talkMs),
  SIM_TIME_SCALE: z.coerce.number().positive().max(100).default(DEFAULT_CONFIG.timeScale),
  SIM_AUTO_REGISTER: envFlag(DEFAULT_CONFIG.autoRegister),
  SIM_PROVISIONING_POLL_MS: ms(DEFAULT_CONFIG.provisioningPollMs),
  SIM_QUALIFY_DELAY_MS: ms(DEFAULT_CONFIG.qualifyDelayMs),
  /** Asterisk configuration folder (extensions.conf, pjsip.conf, manager.conf): docker/asterisk. */
  SIM_ASTERISK_CONF_DIR: z.string().min(1).default(DEFAULT_CONFIG.confDir),
  /** Another extensions.conf than the folder's. */
  SIM_DIALPLAN: z.string().optional(),
  /** The AMI user's read classes instead of manager.conf's (`all`, or `system,call,...`). */
  SIM_AMI_READ: z.string().optional(),
  SIM_CEL: envFlag(DEFAULT_CONFIG.cel),
  /** res_mwi_devstate loaded (MWI:<box> device states), as with `autoload = yes`. */
  SIM_MWI_DEVSTATE: envFlag(false),
  SIM_VOICEMAIL_DIR: z.string().optional(),
  /** Where the phones send SIP requests, `host:port` (a REFER's Refer-To). */
  SIM_SIP_ADDRESS: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'host:port')
    .default('127.0.0.1:5060'),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default(DEFAULT_CONFIG.logLevel),
});

/** The simulator's settings from the environment (fails fast listing every problem). */
export function loadSimulatorConfig(env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const e = loadConfig(SimulatorEnv, env);
  return {
    amiHost: e.SIM_AMI_HOST,
    amiPort: e.SIM_AMI_PORT,
    controlHost: e.SIM_CONTROL_HOST,
    controlPort: e.SIM_CONTROL_PORT,
    username: e.AMI_USERNAME,
    secret: e.AMI_SECRET,
    databaseUrl: e.TELEPHONY_DATABASE_URL || undefined,
    recordingsDir: e.RECORDINGS_DIR,
    answerDelayMs: e.SIM_ANSWER_DELAY_MS,
    talkMs: e.SIM_TALK_MS,
    timeScale: e.SIM_TIME_SCALE,
    autoRegister: e.SIM_AUTO_REGISTER,
    provisioningPollMs: e.SIM_PROVISIONING_POLL_MS,
    qualifyDelayMs: e.SIM_QUALIFY_DELAY_MS,
    confDir: e.SIM_ASTERISK_CONF_DIR,
    dialplanFile: e.SIM_DIALPLAN || undefined,
    amiRead: e.SIM_AMI_READ || undefined,
    cel: e.SIM_CEL,
    mwiDevstate: e.SIM_MWI_DEVSTATE,
    voicemailDir: e.SIM_VOICEMAIL_DIR || undefined,
    sipAddress: e.SIM_SIP_ADDRESS,
    logLevel: e.LOG_LEVEL,
  };
}
