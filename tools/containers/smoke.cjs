#!/usr/bin/env node
// `npm run test:containers`: the container smoke test (never part of `npm test`: it needs a container
// engine and takes minutes). Plain Node, no dependencies: it runs from a clean clone.
//
//  1. builds the six images from docker/Dockerfile (base image: x-images in docker/compose.yaml) and
//     checks each one: user node, no prisma CLI / typescript / @prisma/studio* / pglite / npm inside;
//  2. brings up docker/compose.yaml with --profile sim (own project name, own ports, own secrets in a
//     temporary env file: a docker/.env of yours is not read) and waits until every service is healthy
//     and every one-shot (migrations, tls-selfsigned) has exited 0;
//  3. drives a new user's journey through nginx over HTTPS exactly as docker/README.md says: trust the
//     stack's certificate, get a key with the CLI in the users-service image (and one through the admin
//     API), list and create users, originate on the simulator, see the call in /v1/calls/complete,
//     download its recording (also with Range), get the 429 for the same URL across both gateway
//     replicas, re-run the migrations from the image, restart one gateway and one service container
//     under traffic with no 5xx outside the restart window;
//  4. tears everything down, volumes too.
// Prints each image's size and build time and each phase's time; ends with `N passed, N failed`.
//
// Engines: Docker with Compose v2 (`docker compose`), or Podman with docker-compose v1 (DOCKER_HOST at
// Podman's socket; images are then built with `podman build --layers`, which caches, where a compose
// v1 build through the API would not). Environment:
//   SMOKE_PROJECT   compose project name (ringcloud-smoke)      SMOKE_KEEP=1  leave the stack up
//   SMOKE_BUILDER   docker | podman (default: podman when DOCKER_HOST points at Podman)
//   SMOKE_NO_CACHE=1  build the first image without the layer cache (a cold build of the shared stages)
//   NODE_IMAGE, NATS_IMAGE, … override x-images as compose itself would.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const COMPOSE_FILE = path.join('docker', 'compose.yaml');
const APPS = ['api-gateway', 'users-service', 'calls-service', 'telephony-adapter', 'pbx-simulator', 'webhooks-service'];
const PROJECT = process.env.SMOKE_PROJECT || 'ringcloud-smoke';
const KEEP = process.env.SMOKE_KEEP === '1';
/** Long-running services of `--profile sim` (each must become healthy) and the one-shots (exit 0). */
const SERVICES = ['nats', 'postgres', 'redis', 'users-service', 'calls-service', 'telephony-adapter', 'webhooks-service', 'api-gateway-1', 'api-gateway-2', 'nginx', 'pbx-simulator'];
const ONE_SHOTS = ['migrations', 'tls-selfsigned'];
/** What the runtime stage must not hold (issue: CLI tooling and TypeScript stay in the build). */
const BANNED = ['prisma', 'typescript', '@prisma/studio', '@prisma/studio-core', '@electric-sql/pglite', '@prisma/engines', '@prisma/config'];

// ------------------------------------------------------------------------------------------------
// Output: checks, phases, secrets never printed.

const results = [];
const phases = [];
const secrets = new Set();
const redact = (text) => [...secrets].filter((s) => s && s.length >= 4).reduce((t, s) => t.split(s).join('***'), String(text));
const say = (line) => process.stdout.write(`${redact(line)}\n`);
const started = Date.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function record(name, ok, detail) {
  results.push({ name, ok });
  say(`${ok ? '  ✓' : '  ✗'} ${name}${detail ? ` — ${detail}` : ''}`);
  return ok;
}
/** Runs one named check; a thrown error or a false result fails it. Returns the value (or undefined). */
async function check(name, fn, describe) {
  try {
    const value = await fn();
    if (value === false) record(name, false);
    else record(name, true, describe ? describe(value) : typeof value === 'string' ? value : undefined);
    return value;
  } catch (err) {
    record(name, false, err && err.message ? err.message : String(err));
    return undefined;
  }
}
async function phase(name, fn) {
  say(`== ${name}`);
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    phases.push({ name, ms: Date.now() - t0 });
  }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what, fn, timeoutMs, intervalMs = 1000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      if (err && err.fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds(timeoutMs)}${last ? ` (last: ${last.message})` : ''}`);
    await sleep(intervalMs);
  }
}

// ------------------------------------------------------------------------------------------------
// Commands.

/** Runs a command; resolves { code, stdout, stderr } (never rejects unless it cannot start). */
function run(cmd, args, { input, timeoutMs = 600_000, env, echo = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (echo) process.stdout.write(redact(d));
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (echo) process.stdout.write(redact(d));
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(input);
  });
}
async function must(cmd, args, opts) {
  const res = await run(cmd, args, opts);
  if (res.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.code}: ${lastLines(res.stderr || res.stdout, 8)}`);
  return res.stdout;
}
const lastLines = (text, n) => String(text).trim().split('\n').slice(-n).join(' | ');
const has = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

function detectEngine() {
  const dockerHost = process.env.DOCKER_HOST || '';
  const cli = has('docker') ? 'docker' : has('podman') ? 'podman' : undefined;
  if (!cli) throw new Error('no container engine CLI: install Docker (with Compose v2), or Podman + docker-compose with DOCKER_HOST at its socket');
  const builder = process.env.SMOKE_BUILDER || (has('podman') && (/podman/.test(dockerHost) || cli === 'podman') ? 'podman' : cli);
  let compose;
  if (has('docker', ['compose', 'version'])) compose = ['docker', 'compose'];
  else if (has('docker-compose', ['version'])) compose = ['docker-compose'];
  else throw new Error('no Compose: `docker compose` (v2) or `docker-compose` (v1) is needed');
  const composeVersion = spawnSync(compose[0], [...compose.slice(1), 'version', '--short'], { encoding: 'utf8' }).stdout.trim();
  return { cli, builder, compose, composeVersion };
}

/** x-images of docker/compose.yaml with the environment's overrides: the one place images are pinned. */
function pinnedImages() {
  const text = fs.readFileSync(path.join(ROOT, COMPOSE_FILE), 'utf8');
  const block = /^x-images:\n((?: {2}.*\n)+)/m.exec(text);
  if (!block) throw new Error(`${COMPOSE_FILE}: no x-images block`);
  const images = {};
  for (const m of block[1].matchAll(/^ {2}([\w-]+): &[\w-]+ \$\{(\w+):-([^}]+)\}$/gm)) images[m[1]] = process.env[m[2]] || m[3];
  if (!images.node) throw new Error(`${COMPOSE_FILE}: x-images has no node`);
  return images;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------------------------------------
// HTTPS through nginx, trusting only the stack's certificate.

function request(url, { method = 'GET', body, headers = {}, ca, timeoutMs = 15_000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = https.request(
      url,
      {
        method,
        headers: { ...headers, ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        ca,
        family: 4,
        agent: false,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          let json;
          try {
            json = JSON.parse(raw.toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, raw, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout: ${method} ${new URL(url).pathname}`)));
    req.end(payload);
  });
}

// ------------------------------------------------------------------------------------------------

async function main() {
  const engine = detectEngine();
  const images = pinnedImages();
  say(`container smoke test: ${engine.cli} (build: ${engine.builder}), compose ${engine.compose.join(' ')} ${engine.composeVersion}, project ${PROJECT}`);
  say(`pinned images (docker/compose.yaml x-images): ${Object.entries(images).map(([k, v]) => `${k}=${v}`).join(' ')}`);

  // Secrets of this run, in a temporary env file (compose reads it instead of docker/.env).
  const [httpsPort, httpPort] = [await freePort(), await freePort()];
  const env = {
    ADMIN_TOKEN: crypto.randomBytes(24).toString('hex'),
    API_KEY_PEPPER: crypto.randomBytes(24).toString('base64url'),
    SIP_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
    WEBHOOK_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
    AMI_SECRET: crypto.randomBytes(12).toString('hex'),
    POSTGRES_PASSWORD: crypto.randomBytes(12).toString('hex'),
    HTTPS_PORT: String(httpsPort),
    HTTP_PORT: String(httpPort),
    TLS_SAN: 'DNS:localhost,IP:127.0.0.1',
  };
  for (const key of ['ADMIN_TOKEN', 'API_KEY_PEPPER', 'SIP_SECRET_KEY', 'WEBHOOK_SECRET_KEY', 'AMI_SECRET', 'POSTGRES_PASSWORD']) secrets.add(env[key]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-smoke-'));
  const envFile = path.join(tmp, 'smoke.env');
  fs.writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  // Values the caller's shell exports win over the env file (compose's rule): pin ours.
  const composeEnv = { ...env, PBX_AMI_HOST: 'pbx-simulator', COMPOSE_PROJECT_NAME: PROJECT };
  const composeArgs = [...engine.compose.slice(1), '--env-file', envFile, '-p', PROJECT, '-f', COMPOSE_FILE, '--profile', 'sim'];
  const compose = (args, opts = {}) => run(engine.compose[0], [...composeArgs, ...args], { ...opts, env: { ...composeEnv, ...opts.env } });
  const cli = (args, opts) => run(engine.cli, args, opts);

  const sizes = {};
  const buildTimes = {};
  try {
    // Start from nothing: a previous run's leftovers would hide a cold start.
    await compose(['down', '-v', '--remove-orphans', '-t', '5'], { timeoutMs: 180_000 });

    await phase('build the six images', async () => {
      for (const app of APPS) {
        const tag = `ringcloud/${app}:local`;
        const args = ['build', '-f', 'docker/Dockerfile', '--build-arg', `APP=${app}`, '--build-arg', `NODE_IMAGE=${images.node}`, '-t', tag];
        if (engine.builder === 'podman') args.splice(1, 0, '--format', 'docker', '--layers');
        // SMOKE_NO_CACHE=1: a cold build (the first image builds every shared stage afresh).
        if (process.env.SMOKE_NO_CACHE === '1' && app === APPS[0]) args.splice(1, 0, '--no-cache');
        args.push('.');
        const t0 = Date.now();
        const res = await run(engine.builder, args, { timeoutMs: 3_600_000 });
        buildTimes[app] = Date.now() - t0;
        if (!record(`build ${tag}`, res.code === 0, res.code === 0 ? seconds(buildTimes[app]) : lastLines(res.stderr || res.stdout, 15))) {
          throw new Error(`building ${tag} failed`);
        }
      }
    });

    await phase('inspect the images', async () => {
      for (const app of APPS) {
        const tag = `ringcloud/${app}:local`;
        await check(`${tag}: non-root, HEALTHCHECK, entry point present, no prisma/typescript/studio/pglite/npm`, async () => {
          // Podman's Docker API leaves Config.Healthcheck out of image inspect: ask the builder's own CLI.
          const [info] = JSON.parse(await must(engine.builder, ['image', 'inspect', tag]));
          sizes[app] = info.Size;
          const config = info.Config || {};
          if (config.User !== 'node') throw new Error(`user ${JSON.stringify(config.User)}`);
          const healthcheck = config.Healthcheck || info.Healthcheck; // Podman puts it beside Config
          if (!healthcheck || !healthcheck.Test) throw new Error('no HEALTHCHECK');
          const probe = `const fs=require('fs'),nm='/app/node_modules';
            const banned=${JSON.stringify(BANNED)}.filter(p=>fs.existsSync(nm+'/'+p));
            const scoped=fs.readdirSync(nm).filter(d=>d.startsWith('@')).flatMap(s=>fs.readdirSync(nm+'/'+s).map(p=>s+'/'+p));
            const extra=[...fs.readdirSync(nm),...scoped].filter(p=>/(^|\\/)(studio|pglite)/.test(p));
            console.log(JSON.stringify({uid:process.getuid(),banned,extra,main:fs.existsSync('/app/apps/'+process.env.APP+'/src/main.js'),
              npm:['/usr/local/bin/npm','/usr/local/lib/node_modules/npm','/usr/bin/npm'].filter(p=>fs.existsSync(p))}))`;
          const out = JSON.parse(await must(engine.cli, ['run', '--rm', '--entrypoint', 'node', tag, '-e', probe]));
          const problems = [];
          if (out.uid === 0) problems.push('runs as root');
          if (out.banned.length || out.extra.length) problems.push(`holds ${[...out.banned, ...out.extra].join(', ')}`);
          if (!out.main) problems.push(`no apps/${app}/src/main.js`);
          if (out.npm.length) problems.push(`npm at ${out.npm.join(', ')}`);
          if (problems.length) throw new Error(problems.join('; '));
          return `${(info.Size / 1e6).toFixed(0)} MB`;
        });
      }
    });

    const healthy = await phase('compose up --profile sim, until every service is healthy', async () => {
      const up = await compose(['up', '-d', '--no-build'], { timeoutMs: 900_000 });
      if (!record('compose up -d', up.code === 0, up.code === 0 ? undefined : lastLines(up.stderr, 12))) return false;
      return check(`all ${SERVICES.length} services healthy, ${ONE_SHOTS.join(' and ')} exited 0`, async () => {
        const t0 = Date.now();
        let state = {};
        try {
          await until(
            'healthy stack',
            async () => {
              state = await containerStates();
              const bad = [...SERVICES.filter((s) => !(state[s] && state[s].running && state[s].health === 'healthy')), ...ONE_SHOTS.filter((s) => !(state[s] && !state[s].running && state[s].exitCode === 0))];
              if (ONE_SHOTS.some((s) => state[s] && !state[s].running && state[s].exitCode !== 0)) throw Object.assign(new Error('a one-shot failed'), { fatal: true });
              return bad.length === 0;
            },
            420_000,
            2000,
          );
        } catch (err) {
          const summary = [...SERVICES, ...ONE_SHOTS].map((s) => `${s}=${state[s] ? `${state[s].status}/${state[s].health || '-'}/${state[s].exitCode}` : 'absent'}`).join(' ');
          for (const s of [...SERVICES, ...ONE_SHOTS].filter((x) => !state[x] || (state[x].health !== 'healthy' && state[x].exitCode !== 0) || (state[x].running && state[x].health !== 'healthy'))) {
            const logs = await cli(['logs', '--tail', '15', state[s] ? state[s].name : s]);
            say(`    --- ${s} (last lines)\n${(logs.stdout + logs.stderr).trim().split('\n').map((l) => `      ${l.slice(0, 300)}`).join('\n')}`);
          }
          throw new Error(`${err.message}: ${summary}`);
        }
        return `${seconds(Date.now() - t0)} after up returned`;
      });
    });

    /** service → { name, running, health, exitCode, startedAt }, from the compose labels. */
    async function containerStates() {
      const names = (await must(engine.cli, ['ps', '-a', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.Names}}'])).split('\n').filter(Boolean);
      if (!names.length) return {};
      const out = {};
      for (const c of JSON.parse(await must(engine.cli, ['inspect', ...names]))) {
        const service = (c.Config.Labels || {})['com.docker.compose.service'];
        if (!service) continue;
        out[service] = {
          name: c.Name.replace(/^\//, ''),
          status: c.State.Status,
          running: c.State.Running,
          health: c.State.Health ? c.State.Health.Status : undefined,
          exitCode: c.State.ExitCode,
          startedAt: Date.parse(c.State.StartedAt),
        };
      }
      return out;
    }

    if (healthy) await phase('a new user\'s journey through nginx over HTTPS (docker/README.md)', () => journey({ compose, cli, containerStates, httpsPort, httpPort, adminToken: env.ADMIN_TOKEN }));
  } finally {
    if (KEEP) say(`SMOKE_KEEP=1: the stack stays up; remove it with: ${engine.compose.join(' ')} --env-file ${envFile} -p ${PROJECT} -f ${COMPOSE_FILE} --profile sim down -v && rm -r ${tmp}`);
    else {
      await phase('tear down (containers, networks, volumes)', async () => {
        const down = await compose(['down', '-v', '--remove-orphans', '-t', '10'], { timeoutMs: 300_000 });
        record('compose down -v', down.code === 0, down.code === 0 ? undefined : lastLines(down.stderr, 5));
        await check('nothing of the project is left (containers, volumes)', async () => {
          const left = (await must(engine.cli, ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])).trim();
          const volumes = (await must(engine.cli, ['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])).trim();
          if (left || volumes) throw new Error(`left: ${[left, volumes].filter(Boolean).join(' ').replace(/\s+/g, ' ')}`);
        });
      });
    }
    if (!KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  }

  say('');
  say('image                              size      build');
  for (const app of APPS) {
    say(`ringcloud/${app}:local`.padEnd(35) + `${sizes[app] ? `${(sizes[app] / 1e6).toFixed(0)} MB` : '?'}`.padEnd(10) + (buildTimes[app] !== undefined ? seconds(buildTimes[app]) : '-'));
  }
  for (const p of phases) say(`${p.name.padEnd(70)} ${seconds(p.ms)}`);
  say(`total ${seconds(Date.now() - started)}`);
}

// ------------------------------------------------------------------------------------------------
// The journey, as docker/README.md tells it (the README quotes these commands; tools/k8s checks it does).

const README_CERT = ['exec', '-T', 'nginx', 'cat', '/etc/ringcloud/tls/tls.crt'];
const README_KEY = ['exec', '-T', 'users-service', 'node', 'apps/users-service/src/cli/main.js', 'keys', 'create', '--account', '1001', '--access', 'RW', '--json'];
const CALLED_NUMBER = '79101234567';

async function journey({ compose, cli, containerStates, httpsPort, httpPort, adminToken }) {
  const base = `https://localhost:${httpsPort}`;
  const runId = `${process.pid.toString(36)}${Date.now().toString(36)}`;

  const ca = await check('the stack\'s certificate: compose exec -T nginx cat /etc/ringcloud/tls/tls.crt', async () => {
    const res = await compose(README_CERT);
    if (res.code !== 0 || !res.stdout.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`exit ${res.code}: ${lastLines(res.stderr, 3)}`);
    return res.stdout;
  }, (pem) => {
    const cert = new crypto.X509Certificate(pem);
    return `${cert.subject.replace(/\n/g, ' ')}, ${cert.subjectAltName}, until ${cert.validTo}`;
  });
  if (!ca) return;
  await check('HTTPS: /readyz answers 200 with that certificate; a client that does not trust it gets no answer', async () => {
    // As a user would: wait for ready (every container is healthy, but readiness also asks users-service
    // for a ping within 1 s, which a loaded machine can miss for a moment).
    const t0 = Date.now();
    let last;
    await until('/readyz 200', async () => (last = await request(`${base}/readyz`, { ca })).status === 200, 60_000, 1000).catch((err) => {
      throw new Error(`${err.message}: ${last ? last.status : 'no answer'}`);
    });
    const refused = await request(`${base}/readyz`).then(() => false, (err) => /self[- ]signed|certificate/i.test(err.message));
    if (!refused) throw new Error('an untrusting client got an answer');
    return Date.now() - t0 > 1500 ? `ready after ${seconds(Date.now() - t0)}` : undefined;
  });
  await check('plain HTTP redirects to HTTPS; /docs (Swagger UI) is served', async () => {
    const redirect = await new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: httpPort, path: '/readyz', headers: { host: `localhost:${httpPort}` }, agent: false }, (res) => {
        res.resume();
        resolve({ status: res.statusCode, location: res.headers.location });
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    });
    if (redirect.status !== 301 || !/^https:\/\/localhost\b/.test(redirect.location || '')) throw new Error(`http:// answered ${redirect.status} → ${redirect.location}`);
    const docs = await request(`${base}/docs/openapi.json`, { ca });
    if (docs.status !== 200 || !docs.json || !docs.json.openapi) throw new Error(`/docs/openapi.json ${docs.status}`);
    const ui = await request(`${base}/docs`, { ca });
    if (ui.status !== 200) throw new Error(`/docs ${ui.status}`);
  });

  // The first key: the CLI in the users-service image, exactly as docker/README.md shows.
  let keyAttempts = 0;
  const key = await check('first key: compose exec -T users-service node apps/users-service/src/cli/main.js keys create --account 1001 --access RW --json', async () => {
    // A user re-runs a command that failed on a busy machine (the CLI says why on stderr): up to 3 times.
    let res;
    while (++keyAttempts <= 3) {
      res = await compose(README_KEY);
      if (res.code === 0) break;
      say(`    attempt ${keyAttempts}: exit ${res.code}: ${lastLines(res.stderr, 2)}`);
      await sleep(3000);
    }
    if (res.code !== 0) throw new Error(`exit ${res.code}: ${lastLines(res.stderr, 3)}`);
    const lines = res.stdout.trim().split('\n');
    if (lines.length !== 1) throw new Error(`stdout has ${lines.length} lines, expected one JSON line`);
    const parsed = JSON.parse(lines[0]);
    if (!parsed.api_key || !parsed.password || parsed.access !== 'RW') throw new Error('not {api_key, password, access: RW}');
    secrets.add(parsed.api_key);
    secrets.add(parsed.password);
    return parsed;
  }, () => (keyAttempts > 1 ? `on attempt ${keyAttempts}` : undefined));
  if (!key) return;
  const hash = crypto.createHash('md5').update(key.api_key + key.password).digest('hex');
  secrets.add(hash);
  const url = (p, query = {}) => {
    const u = new URL(p, base);
    u.searchParams.set('api_key', key.api_key);
    u.searchParams.set('hash', hash);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u.toString();
  };
  const v1 = (p, query, init = {}) => request(url(p, query), { ca, ...init });
  const success = (res, what) => {
    if (res.status !== 200 || !res.json || res.json.status !== 'success') throw new Error(`${what}: ${res.status} ${res.json ? res.json.message : res.raw.toString('utf8', 0, 120)}`);
    return res.json.data;
  };

  await check('the admin API through nginx (Bearer ADMIN_TOKEN) creates a read-only key that lists users', async () => {
    const res = await request(`${base}/admin/v1/accounts/1001/keys`, { ca, method: 'POST', body: { access: 'RO' }, headers: { authorization: `Bearer ${adminToken}` } });
    if (res.status !== 200 && res.status !== 201) throw new Error(`POST /admin/v1/accounts/1001/keys ${res.status}`);
    const data = res.json && (res.json.data || res.json);
    if (!data || !data.api_key || !data.password) throw new Error('no api_key/password in the answer');
    secrets.add(data.api_key);
    secrets.add(data.password);
    const roHash = crypto.createHash('md5').update(data.api_key + data.password).digest('hex');
    const list = await request(`${base}/v1/users?api_key=${encodeURIComponent(data.api_key)}&hash=${roHash}&ro=1`, { ca });
    success(list, 'GET /v1/users with the RO key');
    const denied = await request(`${base}/v1/users/create?api_key=${encodeURIComponent(data.api_key)}&hash=${roHash}`, { ca, method: 'POST', body: { params: {} } });
    if (denied.status !== 403) throw new Error(`RO key on POST: ${denied.status}`);
  });

  const user = await check('list users (empty), create one, list it', async () => {
    const before = success(await v1('/v1/users'), 'GET /v1/users');
    if (!Array.isArray(before) || before.length !== 0) throw new Error(`a new account lists ${JSON.stringify(before).length} bytes of users`);
    const created = success(await v1('/v1/users/create', {}, { method: 'POST', body: { params: { password: 'Sip5ecret!', num: '201', mail: 'smoke@example.com' } } }), 'POST /v1/users/create');
    const after = success(await v1('/v1/users', { n: '2' }), 'GET /v1/users');
    if (!after.some((u) => u.user === created)) throw new Error('the created user is not listed');
    return String(created);
  });
  if (!user) return;

  // The simulator auto-registers every provisioned endpoint (SIM_AUTO_REGISTER, apps/pbx-simulator/README.md):
  // originate until provisioning (users-service → JetStream → telephony-adapter → ps_endpoints) got there.
  const originated = await check(`originate ${user} → ${CALLED_NUMBER} on the simulator`, async () => {
    let attempt = 0;
    const t0 = Date.now();
    await until(
      'the user\'s device on the PBX',
      async () => {
        const res = await v1('/v1/calls', { attempt: String(++attempt) }, { method: 'POST', body: { params: { user, num: CALLED_NUMBER } } });
        if (res.status === 400 && /registered/i.test(res.json && res.json.message)) return false;
        success(res, 'POST /v1/calls');
        return true;
      },
      60_000,
      1500,
    );
    return `accepted after ${seconds(Date.now() - t0)} (${attempt} attempt${attempt > 1 ? 's' : ''})`;
  });
  if (!originated) return;

  const call = await check('the call is listed in /v1/calls/complete with a recording', async () => {
    let poll = 0;
    return until(
      'the completed call',
      async () => {
        const list = success(await v1('/v1/calls/complete', { days: '1', poll: String(++poll) }), 'GET /v1/calls/complete');
        return list.find((c) => c.dst === CALLED_NUMBER && c.rec_file);
      },
      90_000,
      2000,
    );
  });
  if (call) {
    await check('download its recording (whole WAV, then bytes=0-43 → 206)', async () => {
      const whole = await v1(call.rec_file);
      if (whole.status !== 200 || whole.raw.subarray(0, 4).toString() !== 'RIFF') throw new Error(`GET rec_file ${whole.status}, ${whole.raw.length} bytes`);
      const part = await v1(call.rec_file, { part: '1' }, { headers: { range: 'bytes=0-43' } });
      if (part.status !== 206 || part.raw.length !== 44) throw new Error(`Range: ${part.status}, ${part.raw.length} bytes`);
      return `${whole.raw.length} bytes, ${whole.headers['content-type']}`;
    });
  }

  await check('the same URL twice → 200 then 429, also when the two requests reach different gateway replicas', async () => {
    const pairs = [];
    for (let i = 0; i < 6; i++) {
      const query = { days: '1', rl: `${runId}-${i}` };
      const ids = [`smoke-${runId}-rl${i}a`, `smoke-${runId}-rl${i}b`];
      const first = await v1('/v1/calls/complete', query, { headers: { 'x-request-id': ids[0] } });
      const second = await v1('/v1/calls/complete', query, { headers: { 'x-request-id': ids[1] } });
      if (first.status !== 200 || second.status !== 429) throw new Error(`pair ${i}: ${first.status}, ${second.status}`);
      if (!second.headers['retry-after']) throw new Error('429 without Retry-After');
      pairs.push(ids);
    }
    const states = await containerStates();
    const logs = {};
    for (const replica of ['api-gateway-1', 'api-gateway-2']) {
      const res = await cli(['logs', states[replica].name]);
      logs[replica] = res.stdout + res.stderr;
    }
    const servedBy = (id) => Object.keys(logs).filter((r) => logs[r].includes(id));
    const split = pairs.filter(([a, b]) => servedBy(a).length === 1 && servedBy(b).length === 1 && servedBy(a)[0] !== servedBy(b)[0]);
    if (!split.length) throw new Error(`no pair was split over the replicas (served by: ${pairs.map(([a, b]) => `${servedBy(a)}/${servedBy(b)}`).join(', ')})`);
    return `${pairs.length} pairs, ${split.length} split across api-gateway-1 and api-gateway-2`;
  });

  await check('migrations run from the image on demand (compose run --rm migrations): up to date, exit 0', async () => {
    const res = await compose(['run', '--rm', '-T', 'migrations'], { timeoutMs: 180_000 });
    if (res.code !== 0) throw new Error(`exit ${res.code}: ${lastLines(res.stderr || res.stdout, 4)}`);
  });

  // Traffic through nginx while a gateway and then users-service restart.
  const samples = [];
  let stop = false;
  let n = 0;
  const traffic = (async () => {
    while (!stop) {
      const t = Date.now();
      const res = await v1(`/v1/users/${user}`, { t: `${runId}-${++n}` }, { timeoutMs: 10_000 }).catch((err) => ({ status: 0, error: err.message }));
      samples.push({ t, done: Date.now(), status: res.status });
      await sleep(100);
    }
  })();
  const windows = [];
  async function restart(service, graceMs) {
    const t0 = Date.now();
    const res = await compose(['restart', '-t', '10', service], { timeoutMs: 120_000 });
    if (res.code !== 0) throw new Error(`compose restart ${service}: ${lastLines(res.stderr, 3)}`);
    await until(
      `${service} healthy again`,
      async () => {
        const s = (await containerStates())[service];
        return s && s.running && s.health === 'healthy' && s.startedAt >= t0 - 1000;
      },
      180_000,
      500,
    );
    const window = { service, from: t0, to: Date.now() + graceMs };
    windows.push(window);
    await sleep(graceMs + 3000);
    return window;
  }
  await check('restart api-gateway-1 and users-service under traffic: no 5xx outside the restart windows', async () => {
    await sleep(3000);
    const gw = await restart('api-gateway-1', 1000);
    const us = await restart('users-service', 3000);
    stop = true;
    await traffic;
    const inWindow = (s) => windows.some((w) => s.done >= w.from && s.t <= w.to);
    const outside = samples.filter((s) => !inWindow(s));
    const badOutside = outside.filter((s) => s.status !== 200);
    const during = (w) => samples.filter((s) => s.done >= w.from && s.t <= w.to);
    const fmt = (w) => `${w.service}: window ${seconds(w.to - w.from)}, ${during(w).length} requests, ${during(w).filter((s) => s.status >= 500 || s.status === 0).length} 5xx/failed`;
    if (badOutside.length) throw new Error(`${badOutside.length} of ${outside.length} requests outside the windows failed (${[...new Set(badOutside.map((s) => s.status))].join(', ')}); ${fmt(gw)}; ${fmt(us)}`);
    const after = samples.filter((s) => s.t > us.to);
    if (!after.length) throw new Error('no traffic after the last restart');
    return `${samples.length} requests; ${fmt(gw)}; ${fmt(us)}`;
  });
  stop = true;
  await traffic;
}

/** The commands docker/README.md and k8s/README.md give a user (tools/k8s checks they quote them). */
module.exports = { README_CERT, README_KEY, COMPOSE_FILE };

if (require.main === module) {
  main()
    .catch((err) => record('smoke test', false, err.message))
    .finally(() => {
      const failed = results.filter((r) => !r.ok).length;
      say(`${results.length - failed} passed, ${failed} failed`);
      process.exitCode = failed ? 1 : 0;
    });
}
