/**
 * `npm start`: migrates every service's schema, makes sure the demo account 1001 has one RW and
 * one RO key, runs every app in the foreground with prefixed logs, and prints a ready-to-paste
 * curl once the gateway is ready. Ctrl-C stops everything.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { RunningProcess, WORKSPACE_ROOT, spawnApp, waitForHttp, withSchema } from '@ringcloud/testing';
import { resolveServiceDatabase, serviceUrlEnvName } from '../db/database-url';
import { findServices } from '../db/migrations';

const run = promisify(execFile);
const DEMO_ACCOUNT = 1001;

interface DemoKey {
  api_key: string;
  password: string;
  access: 'RO' | 'RW';
}

/** One RW and one RO key for the demo account; only digests are stored, so their passwords are regenerated. */
async function ensureDemoKeys(): Promise<DemoKey[]> {
  const { stdout } = await run(
    process.execPath,
    ['-r', './tools/register.cjs', 'apps/users-service/src/cli/main.ts', 'keys', 'ensure-demo', '--account', String(DEMO_ACCOUNT), '--json'],
    { cwd: WORKSPACE_ROOT, env: process.env },
  );
  return JSON.parse(stdout.trim()).keys;
}

/**
 * Each app (and the keys CLI) reads its own `<SERVICE>_DATABASE_URL`; the migrations derive the unset
 * ones from DATABASE_URL. So do the apps here: with only DATABASE_URL set, they would otherwise use
 * their default database `ringcloud`, not the one just migrated.
 */
function useDatabaseUrlForEveryService(databaseUrl: string): void {
  for (const service of findServices(WORKSPACE_ROOT, 'migrations')) {
    const name = serviceUrlEnvName(service);
    if (process.env[name]) continue;
    const target = resolveServiceDatabase(service, databaseUrl);
    process.env[name] = withSchema(target.url, target.schema);
  }
}

/** What the gateway's /readyz says is missing, or undefined when the gateway does not answer at all. */
async function notReadyReason(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json().catch(() => ({}))) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : `HTTP ${res.status}`;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  if (!process.env.ADMIN_TOKEN) process.env.ADMIN_TOKEN = randomBytes(18).toString('base64url');
  process.env.DATABASE_URL ??= 'postgresql://postgres@127.0.0.1:5432/ringcloud';
  useDatabaseUrlForEveryService(process.env.DATABASE_URL);

  // The same step operators run (`npm run db:migrate`): it honours every *_DATABASE_URL.
  const migrated = await run(process.execPath, ['-r', './tools/register.cjs', 'tools/db/migrate.ts'], { cwd: WORKSPACE_ROOT, env: process.env });
  for (const line of migrated.stdout.trim().split('\n').filter(Boolean)) console.log(`[migrate] ${line}`);
  const keys = await ensureDemoKeys();
  const demo = keys.find((k) => k.access === 'RW')!;
  const readOnly = keys.find((k) => k.access === 'RO')!;

  // Without a configured Asterisk (PBX_AMI_HOST), the PBX simulator stands in for it.
  const simulated = !process.env.PBX_AMI_HOST;
  // The adapter talks to the simulator wherever it listens (SIM_AMI_PORT moves it off 5038).
  if (simulated && process.env.SIM_AMI_PORT) process.env.PBX_AMI_PORT ??= process.env.SIM_AMI_PORT;
  const apps: RunningProcess[] = [
    // One machine, so one operations port (/metrics, /healthz, /readyz) each: 9464 + n.
    ...(simulated ? [spawnApp('pbx-simulator', 'apps/pbx-simulator/src/main.ts', { METRICS_PORT: '9465' }, true)] : []),
    spawnApp('users-service', 'apps/users-service/src/main.ts', { METRICS_PORT: '9466' }, true),
    spawnApp('telephony-adapter', 'apps/telephony-adapter/src/main.ts', { METRICS_PORT: '9467' }, true),
    spawnApp('calls-service', 'apps/calls-service/src/main.ts', { METRICS_PORT: '9468' }, true),
    // A developer's receiver runs on this machine: let webhooks reach loopback addresses over http.
    spawnApp('webhooks-service', 'apps/webhooks-service/src/main.ts', { METRICS_PORT: '9469', WEBHOOKS_ALLOW_LOOPBACK_HTTP: process.env.WEBHOOKS_ALLOW_LOOPBACK_HTTP ?? 'true' }, true),
    spawnApp('api-gateway', 'apps/api-gateway/src/main.ts', { PORT: String(port) }, true),
  ];

  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(apps.map((a) => a.stop('SIGTERM', 10_000)));
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  for (const app of apps) {
    void app.exited.then((code) => {
      if (!stopping) {
        console.error(`${app.name} exited (${code ?? `killed by ${app.child.signalCode ?? 'a signal'}`}); stopping the stack. Log: ${app.logFile}`);
        void stopAll(1);
      }
    });
  }

  const base = `http://127.0.0.1:${port}`;
  let ready = true;
  try {
    await waitForHttp(`${base}/readyz`, 90_000);
  } catch (err) {
    ready = false;
    const reason = await notReadyReason(`${base}/readyz`);
    if (reason === undefined) {
      // The apps run detached: leaving without stopping them would leave them running (and holding their ports).
      console.error(`start: ${err instanceof Error ? err.message : err}; stopping the stack`);
      await stopAll(1);
    }
    // The gateway answers but something it needs is away (a real Asterisk that is down, say): the
    // services keep reconnecting by themselves, so the stack stays up and says what is missing.
    console.warn(`start: not ready after 90 s — ${reason}; the services keep retrying (GET ${base}/readyz tells when ready)`);
  }
  const hash = createHash('md5').update(demo.api_key + demo.password).digest('hex');
  console.log(
    [
      '',
      ready ? 'RingCloud API is up.' : 'RingCloud API is up, not ready yet (see above).',
      `  gateway   ${base}   (API docs: ${base}/docs)`,
      `  page      ${base}/account   (sign in with the RW key and password below)`,
      `  account   ${DEMO_ACCOUNT}`,
      `  api_key   ${demo.api_key}   (RW)`,
      `  password  ${demo.password}`,
      `  hash      ${hash}   = md5(api_key + password)`,
      `  RO key    ${readOnly.api_key}   password ${readOnly.password}`,
      `  admin     Authorization: Bearer ${process.env.ADMIN_TOKEN}   (${base}/admin/v1/accounts)`,
      simulated
        ? `  PBX       simulator (AMI 127.0.0.1:${process.env.SIM_AMI_PORT ?? 5038}, control http://127.0.0.1:${process.env.SIM_CONTROL_PORT ?? 5039})`
        : `  PBX       Asterisk at ${process.env.PBX_AMI_HOST}:${process.env.PBX_AMI_PORT ?? 5038}`,
      '',
      'Try:',
      `  curl '${base}/v1/users?api_key=${demo.api_key}&hash=${hash}'`,
      `  curl -X POST '${base}/v1/users/create?api_key=${demo.api_key}&hash=${hash}' -d '{"params":{"password":"Demo5ecret","num":"401","mail":"demo@example.com"}}'`,
      `  curl -X POST '${base}/v1/calls?api_key=${demo.api_key}&hash=${hash}' -d '{"params":{"user":"<user from create>","num":"79101234567"}}'`,
      `  curl '${base}/v1/calls/complete?api_key=${demo.api_key}&hash=${hash}'`,
      `  curl -X POST '${base}/v1/webhooks/create?api_key=${demo.api_key}&hash=${hash}' -d '{"params":{"url":"http://127.0.0.1:8000/hook","events":["*"]}}'`,
      `  curl '${base}/v1/events?api_key=${demo.api_key}&hash=${hash}'`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  console.error(`start: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
