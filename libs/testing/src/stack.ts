import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestDatabase, startNatsServer, withSchema, TestNats } from './infra';
import { RunningProcess, WORKSPACE_ROOT, freePort, spawnApp, waitForHttp } from './processes';

const run = promisify(execFile);

export interface StackOptions {
  gateways?: number;
  usersServices?: number;
  /** Extra environment for every app (e.g. RATE_LIMIT_PROFILE). */
  env?: NodeJS.ProcessEnv;
  /** Use this NATS instead of a private nats-server. */
  natsUrl?: string;
  echo?: boolean;
  /** Also run the calls half: pbx-simulator, telephony-adapter and calls-service. */
  telephony?: boolean;
  /** Also run webhooks-service (loopback http receivers allowed unless `env` says otherwise). */
  webhooks?: boolean;
}

export type StackApp = 'calls-service' | 'telephony-adapter' | 'pbx-simulator' | 'webhooks-service';

export interface Stack {
  gateways: string[];
  adminToken: string;
  nats: TestNats;
  databaseUrl: string;
  env: NodeJS.ProcessEnv;
  processes: RunningProcess[];
  /** The simulator's control API (inbound/internal calls, registration, AMI drop), when telephony is on. */
  simulatorControl?: string;
  /** Where the simulator writes recordings (the adapter reads them there). */
  recordingsDir?: string;
  /** Starts one more process of an app of the calls half with the stack's environment. */
  addApp(app: StackApp, env?: NodeJS.ProcessEnv): RunningProcess;
  /** Starts one more gateway on the same NATS/Redis/database; returns its base URL. */
  addGateway(env?: NodeJS.ProcessEnv, waitFor?: '/readyz' | '/healthz'): Promise<{ url: string; process: RunningProcess }>;
  addUsersService(env?: NodeJS.ProcessEnv): Promise<RunningProcess>;
  stop(): Promise<void>;
}

/**
 * The real system, as processes: a private nats-server (JetStream), a fresh PostgreSQL database
 * migrated with the project's own migration step, a Redis key prefix of its own, users-service
 * and api-gateway replicas. Everything is torn down by stop().
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const nats = options.natsUrl
    ? { url: options.natsUrl, stop: async () => undefined }
    : await startNatsServer();
  const db = await createTestDatabase('ringcloud_e2e');
  const adminToken = randomBytes(24).toString('hex');
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'test',
    NATS_URL: nats.url,
    DATABASE_URL: db.url,
    USERS_DATABASE_URL: withSchema(db.url, 'users'),
    CALLS_DATABASE_URL: withSchema(db.url, 'calls'),
    TELEPHONY_DATABASE_URL: withSchema(db.url, 'telephony'),
    WEBHOOKS_DATABASE_URL: withSchema(db.url, 'webhooks'),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `e2e:${randomBytes(4).toString('hex')}:`,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    // Several processes share this machine: no fixed operations port (tests that want one set it).
    METRICS_PORT: '0',
    // A stack without the calls half is ready once users-service answers.
    READINESS_SERVICES: ['users', ...(options.telephony ? ['calls', 'telephony'] : []), ...(options.webhooks ? ['webhooks'] : [])].join(','),
    // Test receivers listen on this machine.
    ...(options.webhooks ? { WEBHOOKS_ALLOW_LOOPBACK_HTTP: 'true' } : {}),
    ...options.env,
  };
  let simulatorControl: string | undefined;
  let recordingsDir: string | undefined;
  let voicemailDir: string | undefined;
  if (options.telephony) {
    const [amiPort, controlPort] = [await freePort(), await freePort()];
    recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'rc-recordings-'));
    // The simulator's default spool (next to the recordings folder) would be shared by every stack.
    voicemailDir = mkdtempSync(path.join(os.tmpdir(), 'rc-voicemail-'));
    simulatorControl = `http://127.0.0.1:${controlPort}`;
    Object.assign(env, {
      SIM_AMI_PORT: String(amiPort),
      SIM_CONTROL_PORT: String(controlPort),
      PBX_AMI_HOST: '127.0.0.1',
      PBX_AMI_PORT: String(amiPort),
      RECORDINGS_DIR: recordingsDir,
      SIM_VOICEMAIL_DIR: voicemailDir,
      SIM_ANSWER_DELAY_MS: '300',
      SIM_TALK_MS: '2500',
      // PBX time at twice the wall clock: the shipped dial plan's 60 s Dial timeout (a `555…` number
      // rings out) takes 30 s, as the earlier 30 s timeout did.
      SIM_TIME_SCALE: '0.5',
      ORIGINATE_TIMEOUT_MS: '3000',
      ...options.env,
    });
  }
  await run(process.execPath, ['-r', './tools/register.cjs', 'tools/db/migrate.ts'], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, ...env },
  }).catch(async (err) => {
    await nats.stop().catch(() => undefined);
    await db.drop().catch(() => undefined);
    throw err;
  });

  const processes: RunningProcess[] = [];
  const addUsersService = async (extra: NodeJS.ProcessEnv = {}) => {
    const p = spawnApp('users-service', 'apps/users-service/src/main.ts', { ...env, ...extra }, options.echo);
    processes.push(p);
    return p;
  };
  const addGateway = async (extra: NodeJS.ProcessEnv = {}, waitPath: '/readyz' | '/healthz' = '/readyz') => {
    const port = await freePort();
    const p = spawnApp('api-gateway', 'apps/api-gateway/src/main.ts', { ...env, PORT: String(port), HOST: '127.0.0.1', ...extra }, options.echo);
    processes.push(p);
    const url = `http://127.0.0.1:${port}`;
    await Promise.race([
      waitForHttp(`${url}${waitPath}`, 60_000),
      p.exited.then((code) => {
        throw new Error(`api-gateway exited with ${code} before it was ready (log: ${p.logFile})`);
      }),
    ]);
    return { url, process: p };
  };

  const addApp = (app: StackApp, extra: NodeJS.ProcessEnv = {}) => {
    const p = spawnApp(app, `apps/${app}/src/main.ts`, { ...env, ...extra }, options.echo);
    processes.push(p);
    return p;
  };

  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop('SIGTERM', 5000)));
    await nats.stop();
    await db.drop();
    if (recordingsDir) rmSync(recordingsDir, { recursive: true, force: true });
    if (voicemailDir) rmSync(voicemailDir, { recursive: true, force: true });
  };

  const gateways: string[] = [];
  try {
    for (let i = 0; i < (options.usersServices ?? 1); i++) await addUsersService();
    if (options.telephony) {
      addApp('pbx-simulator');
      await waitForHttp(`${simulatorControl}/channels`, 30_000);
      addApp('telephony-adapter');
      addApp('calls-service');
    }
    if (options.webhooks) addApp('webhooks-service');
    for (let i = 0; i < (options.gateways ?? 1); i++) gateways.push((await addGateway()).url);
  } catch (err) {
    // A stack that did not come up leaves nothing behind (processes, NATS, database).
    await stop().catch(() => undefined);
    throw err;
  }

  return {
    gateways,
    adminToken,
    nats,
    databaseUrl: db.url,
    env,
    processes,
    simulatorControl,
    recordingsDir,
    addApp,
    addGateway,
    addUsersService,
    stop,
  };
}
