import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  AdminClient,
  Credentials,
  RunningProcess,
  Stack,
  V1Client,
  WORKSPACE_ROOT,
  freePort,
  spawnProcess,
  startStack,
  waitFor,
} from '@ringcloud/testing';
import { newAccountId } from './support';

/*
 * The project's nginx config (docker/nginx, the one compose runs) with Debian's nginx on loopback,
 * TLS with a freshly generated self-signed certificate, in front of two gateway replicas.
 * The test client connects from 127.0.0.2 while nginx reaches the gateways from 127.0.0.1, so the
 * address a gateway logs shows whether X-Forwarded-For got through.
 */
const run = promisify(execFile);
const NGINX_DIR = path.join(WORKSPACE_ROOT, 'docker', 'nginx');
const CLIENT_ADDRESS = '127.0.0.2';
const BODY_LIMIT_BYTES = 65_536; // the gateway's default BODY_LIMIT_BYTES (the stack does not set it)

function findNginx(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('nginx is not installed: `apt-get install nginx` (.ci/run installs it) — this test never skips');
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
  tls?: string | null;
}

let world: { stack: Stack; admin: AdminClient; nginx: RunningProcess; dir: string; ca: Buffer; base: string; httpBase: string };
let gatewayLogs: string[] = [];

/** One HTTPS request to nginx, from CLIENT_ADDRESS, trusting only the generated certificate. */
function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer | null } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: init.method ?? 'GET',
        headers: { ...init.headers, ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}) },
        ca: init.ca === null ? undefined : (init.ca ?? world.ca),
        localAddress: CLIENT_ADDRESS,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: any;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          const tls = (res.socket as import('node:tls').TLSSocket).getProtocol?.();
          resolve({ status: res.statusCode!, headers: res.headers, text, body, tls });
        });
      },
    );
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.end(init.body);
  });
}

const readLog = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const linesWith = (text: string, needle: string) => text.split('\n').filter((l) => l.includes(needle));
/** Which gateway replicas (by index) logged a request with this id. */
const servedBy = (id: string) => gatewayLogs.map((f, i) => (readLog(f).includes(`${id}`) ? i : -1)).filter((i) => i >= 0);
const runId = `${process.pid}-${Date.now().toString(36)}`;

beforeAll(async () => {
  const nginxBinary = findNginx();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rc-nginx-'));
  // nginx's workers drop root privileges: they must be able to reach the temp dirs inside.
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, 'state'));
  // The compose stack's certificate maker (Node's crypto, no openssl), run the way its one-shot service runs it.
  await run(process.execPath, [path.join(WORKSPACE_ROOT, 'docker', 'selfsigned-cert.cjs'), path.join(dir, 'tls')]);

  // The gateway's access log is at LOG_LEVEL=log; the e2e default (warn) would hide it.
  const stack = await startStack({ gateways: 2, env: { TRUST_PROXY: 'true', LOG_LEVEL: 'log' } });
  const gatewayProcesses = stack.processes.filter((p) => p.name === 'api-gateway');
  gatewayLogs = gatewayProcesses.map((p) => p.logFile);
  const [httpsPort, httpPort] = [await freePort(), await freePort()];
  const upstreams = stack.gateways.map((g) => `server ${new URL(g).host};`).join(' ');
  const conf = path.join(dir, 'nginx.conf');
  await run('sh', [path.join(NGINX_DIR, 'render.sh'), path.join(NGINX_DIR, 'nginx.conf.template'), conf], {
    env: {
      ...process.env,
      RC_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
      RC_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      RC_UPSTREAMS: upstreams,
      RC_TLS_CERT: path.join(dir, 'tls', 'tls.crt'),
      RC_TLS_KEY: path.join(dir, 'tls', 'tls.key'),
      RC_LOG_DIR: dir,
      RC_STATE_DIR: path.join(dir, 'state'),
    },
  });
  const args = ['-e', 'stderr', '-p', `${dir}/`, '-c', conf];
  await run(nginxBinary, ['-t', ...args]).catch((err: Error & { stderr?: string }) => {
    throw new Error(`nginx rejects the rendered config: ${err.stderr ?? err.message}`);
  });
  const nginx = spawnProcess('nginx', nginxBinary, [...args, '-g', 'daemon off;']);
  world = {
    stack,
    admin: new AdminClient(stack.gateways[0], stack.adminToken),
    nginx,
    dir,
    ca: readFileSync(path.join(dir, 'tls', 'tls.crt')),
    base: `https://127.0.0.1:${httpsPort}`,
    httpBase: `http://127.0.0.1:${httpPort}`,
  };
  await Promise.race([
    waitFor('nginx over HTTPS', async () => (await request(`${world.base}/healthz`)).status === 200, 30_000),
    nginx.exited.then((code) => {
      throw new Error(`nginx exited with ${code}: ${readLog(nginx.logFile)}`);
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await world?.nginx.stop('SIGQUIT', 5000);
  await world?.stack.stop();
  if (world?.dir) rmSync(world.dir, { recursive: true, force: true });
}, 60_000);

describe('nginx (docker/nginx) in front of two gateway replicas', () => {
  let credentials: Credentials;
  let client: V1Client; // builds the signed URLs; requests go through request() over HTTPS
  let user: string;
  const secrets = () => [credentials.api_key, credentials.password, client.hash];

  beforeAll(async () => {
    credentials = await world.admin.createKey(newAccountId(), 'RW');
    client = new V1Client(world.base, credentials);
    const created = await request(client.url('/v1/users/create'), {
      method: 'POST',
      body: JSON.stringify({ params: { password: 'Sip5ecret!', num: '601', mail: 'edge@example.com' } }),
    });
    expect(created.status).toBe(200);
    user = created.body.data;
  });

  it('serves the API over HTTPS with the generated certificate, and only over a verified TLS connection', async () => {
    const res = await request(client.url('/v1/users'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', message: null });
    expect(res.body.data.map((u: { user: string }) => u.user)).toEqual([user]);
    expect(res.tls).toMatch(/^TLSv1\.[23]$/);
    // A client that does not trust the certificate never gets an answer.
    await expect(request(`${world.base}/healthz`, { ca: null })).rejects.toThrow(/self[- ]signed/i);
  });

  it('balances over both replicas (each request is served by exactly one)', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `rr-${runId}-${i}`);
    for (const [i, id] of ids.entries()) {
      const res = await request(client.url('/v1/users', { rr: String(i) }), { headers: { 'x-request-id': id } });
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toBe(id);
    }
    const replicas = await waitFor('access lines of every request', async () => {
      const seen = ids.map(servedBy);
      return seen.every((s) => s.length === 1) && seen;
    });
    expect(new Set(replicas.flat())).toEqual(new Set([0, 1]));
  });

  it('keeps the rate limit exact across the replicas: 20 concurrent identical requests → 1×200, 19×429', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `rl-${runId}-${String(i).padStart(2, '0')}`);
    const results = await Promise.all(
      ids.map((id) =>
        request(client.url(`/v1/users/${user}/update_email`), {
          method: 'POST',
          headers: { 'x-request-id': id },
          body: JSON.stringify({ params: { mail: 'same@example.com' } }),
        }),
      ),
    );
    const statuses = results.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    expect(statuses).toEqual({ 200: 1, 429: 19 });
    for (const res of results.filter((r) => r.status === 429)) {
      expect(res.body).toEqual({ status: 'error', message: expect.any(String), data: null });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // Both replicas took part, so the single 200 is the shared (Redis) limit, not luck.
    const replicas = await waitFor('access lines of the burst', async () => {
      const seen = ids.map(servedBy);
      return seen.every((s) => s.length === 1) && seen;
    });
    expect(new Set(replicas.flat())).toEqual(new Set([0, 1]));
  });

  it("puts the client's address, as nginx saw it, in the gateway's log — a forged X-Forwarded-For is replaced", async () => {
    const forged = '203.0.113.77';
    const ids = [`xff-${runId}-a`, `xff-${runId}-b`];
    for (const id of ids) {
      const res = await request(client.url(`/v1/users/${user}`, { xff: id }), { headers: { 'x-request-id': id, 'x-forwarded-for': forged } });
      expect(res.status).toBe(200);
    }
    for (const id of ids) {
      const line = await waitFor(`gateway access line of ${id}`, async () => gatewayLogs.flatMap((f) => linesWith(readLog(f), id))[0]);
      expect(line).toContain(CLIENT_ADDRESS);
      expect(line).not.toContain(forged);
      expect(line).not.toMatch(/\b127\.0\.0\.1\b/); // nginx's own address to the gateway
      const edge = await waitFor(`nginx access line of ${id}`, async () => linesWith(readLog(path.join(world.dir, 'access.log')), id)[0]);
      expect(JSON.parse(edge)).toMatchObject({ client: CLIENT_ADDRESS, path: `/v1/users/${user}`, status: 200, request_id: id });
    }
  });

  it("limits bodies exactly like the gateway's BODY_LIMIT_BYTES, answering 413 in the v1 envelope", async () => {
    const json = JSON.stringify({ params: { mail: 'big@example.com' } });
    const padded = (size: number) => json + ' '.repeat(size - json.length);
    const atLimit = await request(client.url(`/v1/users/${user}/update_email`, { size: 'limit' }), { method: 'POST', body: padded(BODY_LIMIT_BYTES) });
    expect(atLimit.status).toBe(200);
    const over = await request(client.url(`/v1/users/${user}/update_email`, { size: 'over' }), { method: 'POST', body: padded(BODY_LIMIT_BYTES + 1) });
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ status: 'error', message: 'Request body is too large', data: null });
    // The same size straight to a gateway gets the same answer from the gateway itself.
    const direct = await fetch(new V1Client(world.stack.gateways[0], credentials).url(`/v1/users/${user}/update_email`, { size: 'direct' }), {
      method: 'POST',
      body: padded(BODY_LIMIT_BYTES + 1),
    });
    expect({ status: direct.status, body: await direct.json() }).toEqual({ status: 413, body: over.body });
  });

  it('never writes api_key, password or hash to nginx logs or the gateways logs (the query string is not logged)', async () => {
    // One more request that nginx fails itself (a body over the limit), with the credentials in the query.
    await request(client.url('/v1/users/create'), { method: 'POST', body: 'x'.repeat(BODY_LIMIT_BYTES * 2) }).catch(() => undefined);
    const logs: Record<string, string> = {
      'nginx access.log': readLog(path.join(world.dir, 'access.log')),
      'nginx error.log': readLog(path.join(world.dir, 'error.log')),
      'nginx output': readLog(world.nginx.logFile),
      ...Object.fromEntries(gatewayLogs.map((f, i) => [`gateway ${i} log`, readLog(f)])),
    };
    // The logs are really there and carry the requests of this file (so the check below can fail).
    expect(linesWith(logs['nginx access.log'], `/v1/users/${user}/update_email`).length).toBeGreaterThanOrEqual(20);
    for (const i of [0, 1]) expect(linesWith(logs[`gateway ${i} log`], `/v1/users/${user}`).length).toBeGreaterThan(0);
    const leaks = Object.entries(logs).flatMap(([name, text]) => secrets().filter((s) => text.includes(s)).map((s) => `${name}: ${s.slice(0, 6)}…`));
    expect(leaks).toEqual([]);
  });
});
