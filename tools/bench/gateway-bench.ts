/**
 * GET /v1/users/<name> through the whole stack (gateway → Redis limiter → NATS → users-service →
 * PostgreSQL) with the bench rate-limit profile (limits widened, limiter still running), side by
 * side with a bare Fastify route making the same NATS request, in the same run.
 */
import autocannon from 'autocannon';
import { AdminClient, Stack, V1Client, freePort, spawnApp, waitForHttp } from '@ringcloud/testing';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function measure(name: string, url: string): Promise<Figures> {
  await autocannon({ url, connections: CONNECTIONS, duration: 2 }); // warm-up
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

export async function gatewayBench(stack: Stack): Promise<void> {
  console.log(`\ngateway: GET /v1/users/<name>, ${DURATION_S}s per run, ${CONNECTIONS} connections`);
  const admin = new AdminClient(stack.gateways[0], stack.adminToken);
  const account = 1001;
  const client = new V1Client(stack.gateways[0], await admin.createKey(account, 'RW'));
  const created = await client.post('/v1/users/create', { password: 'Bench5ecret', num: '401', mail: 'bench@example.com' });
  if (created.status !== 200) throw new Error(`user create failed: ${created.text}`);
  const user: string = created.body.data;

  const barePort = await freePort();
  const bare = spawnApp('bench-bare-route', 'tools/bench/bare-route.ts', { ...stack.env, PORT: String(barePort), BENCH_ACCOUNT: String(account) });
  stack.processes.push(bare);
  await waitForHttp(`http://127.0.0.1:${barePort}/bare/users/${user}`, 30_000);

  const baseline = await measure('bare Fastify route + NATS', `http://127.0.0.1:${barePort}/bare/users/${user}`);
  const gateway = await measure('gateway GET /v1/users/<name>', client.url(`/v1/users/${user}`));
  await bare.stop('SIGTERM', 5000);

  const rows = [baseline, gateway];
  console.log('');
  console.log('| path | req/s | p50 ms | p99 ms | errors | non-2xx |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const f of rows) console.log(`| ${f.name} | ${f.rps.toFixed(0)} | ${f.p50} | ${f.p99} | ${f.errors} | ${f.non2xx} |`);
  const ratio = gateway.rps / baseline.rps;
  console.log('');
  console.log(`gateway / bare throughput: ${(ratio * 100).toFixed(1)}%  (target ≥ 60%)`);
  console.log(`gateway: ${gateway.rps.toFixed(0)} req/s (target ≥ 3000), p99 ${gateway.p99} ms (target ≤ 30)`);
  if (gateway.non2xx || gateway.errors) console.log('WARNING: the gateway run had errors or non-2xx answers; figures are not valid');
}
