import { readFileSync } from 'node:fs';
import http from 'node:http';
import { V1Client } from '@ringcloud/testing';
import { newAccountId, sleep, useStack } from './support';

// Two gateways and two users-service replicas; one of each gets SIGTERM while requests flow.
// LOG_LEVEL=log: the access log is the gateway's own record of which requests it accepted.
const world = useStack({ gateways: 2, usersServices: 2, env: { RATE_LIMIT_PROFILE: 'bench', LOG_LEVEL: 'log' } });

type Outcome = { status: number } | { error: string };

/** One GET on a fresh connection (no keep-alive), so a refusal or reset is about this request only. */
function get(url: string, requestId: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 15_000, headers: { 'X-Request-Id': requestId } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: `after response: ${err.code ?? err.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

describe('graceful shutdown on SIGTERM', () => {
  let client: V1Client;

  beforeAll(async () => {
    client = await world.client(newAccountId(), 'RO');
  });

  it('loses no accepted request when a gateway and a users-service replica stop under load', async () => {
    const gateways = world.stack.gateways;
    const query = `api_key=${client.credentials.api_key}&hash=${client.hash}`;
    const statuses: Record<number, number> = {};
    const failures: string[] = [];
    const refused: string[] = [];
    const reset: string[] = [];
    let seq = 0;
    let running = true;

    const worker = async (first: number) => {
      for (let i = first; running; i++) {
        let target = i % 2;
        const id = `shutdown-${++seq}`;
        let outcome = await get(`${gateways[target]}/v1/users?${query}`, id);
        // Refused, or reset before any answer: retried on the other gateway; the gateway's own
        // log tells below whether a reset request had been accepted.
        if ('error' in outcome && (outcome.error === 'ECONNREFUSED' || outcome.error === 'ECONNRESET')) {
          (outcome.error === 'ECONNREFUSED' ? refused : reset).push(id);
          target = 1 - target;
          outcome = await get(`${gateways[target]}/v1/users?${query}`, `${id}-retry`);
        }
        if ('error' in outcome) failures.push(`gateway ${target}: ${outcome.error}`);
        else statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    const answered = () => statuses[200] ?? 0;
    /** Counted in requests, not seconds: on a busy machine a second holds few of them. */
    const untilAnswered = async (n: number) => {
      const deadline = Date.now() + 30_000;
      while (answered() < n && Date.now() < deadline) await sleep(50);
    };

    await untilAnswered(40);
    const gateway = world.stack.processes.find((p) => p.name === 'api-gateway')!;
    const users = world.stack.processes.find((p) => p.name === 'users-service')!;
    const stopping = Promise.all([gateway.stop('SIGTERM', 20_000), users.stop('SIGTERM', 20_000)]);
    // The load goes on across the stop and after it (the survivors carry it).
    const codes = await stopping;
    await untilAnswered(answered() + 20);
    running = false;
    await Promise.all(workers);

    expect(codes).toEqual([0, 0]);
    expect(failures).toEqual([]);
    expect(Object.keys(statuses)).toEqual(['200']);
    // The load really ran across the stop.
    expect(statuses[200]).toBeGreaterThan(50);

    // Every request the stopped gateway accepted was answered 200; a reset request was never
    // accepted (the kernel queued it in the instant the listening socket closed: at most one
    // per client).
    const log = readFileSync(gateway.logFile, 'utf8');
    const accepted = [...log.matchAll(/GET \/v1\/users (\d{3}) .* id=(shutdown-\d+)/g)];
    expect(accepted.length).toBeGreaterThan(10);
    expect(accepted.filter(([, status]) => status !== '200')).toEqual([]);
    const acceptedIds = new Set(accepted.map(([, , id]) => id));
    expect(reset.filter((id) => acceptedIds.has(id))).toEqual([]);
    expect(reset.length).toBeLessThanOrEqual(4);
    console.log(`shutdown under load: ${statuses[200]} × 200; ${refused.length} refused, ${reset.length} reset before acceptance, retried`);
  });
});
