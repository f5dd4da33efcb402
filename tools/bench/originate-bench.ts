/**
 * Originate latency: from the start of `POST /v1/calls` (gateway → telephony-adapter; calls-service
 * records the request after) to the moment the AMI `Action: Originate` frame reaches the PBX, timed
 * at the AMI tap in front of the simulator. Side by side, in the same run: a direct NATS request
 * TelephonyOriginate (no gateway) to the same AMI write — the baseline — and the same request
 * made by a bare Fastify route (`bare-route.ts`): what the HTTP hop alone costs, so what is left
 * is the gateway's own (auth, the limit's Redis round trip, Nest). The three paths are mixed
 * request by request, in a shuffled order, within one run, so both meet the same machine: the same
 * background work (the events of the calls just placed being recorded by the adapter and
 * calls-service), the same load from elsewhere. Run one after the other, the path measured second
 * paid for the first one's backlog; strictly alternating, each path always followed the other (a
 * fast reply leaves the PBX's events of its call to the next request, a slow one does not).
 *
 * The employee's phone is registered as `busy`: each originate is queued by the PBX and then
 * fails at once (OriginateResponse Reason 5), so several hundred calls do not pile up live
 * channels and recordings while the latency is measured. Every request dials a number of its own,
 * which is how its AMI frame is found (the frame's `Exten`).
 */
import { randomUUID } from 'node:crypto';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { RpcClient } from '@ringcloud/nest-nats';
import { Stack, freePort, spawnApp, waitFor, waitForHttp } from '@ringcloud/testing';
import { provisionedUser } from './calls-setup';
import { KeepAliveClient } from './keepalive-client';
import type { ActionTiming, AmiTap } from './ami-tap';
import { int, ms, percentile, pool, sleep, table } from './report';

const COUNT = Number(process.env.BENCH_ORIGINATES ?? 400);
/** One run per path at each of these concurrencies (comma-separated). */
const CONCURRENCY = (process.env.BENCH_ORIGINATE_CONCURRENCY ?? '1,4').split(',').map(Number);
/**
 * Pause after each originate, per worker (ms). 0 (default): back to back, the machine busy with the
 * events of the calls just placed. E.g. 40: a quiet machine between originates — the baseline gets
 * faster, the gateway's own milliseconds do not (see the README).
 */
const GAP_MS = Number(process.env.BENCH_ORIGINATE_GAP_MS ?? 0);
const WARMUP = 30;

interface Sample {
  num: string;
  startedAt: number;
  repliedAt: number;
  ok: boolean;
}

interface Run {
  name: string;
  concurrency: number;
  samples: Sample[];
  wallMs: number;
  /** The AMI actions of the run, as the tap saw them. */
  actions: ActionTiming[];
}

let numbers = 0;
/** A dialled number no other request in this run uses (its AMI frame's Exten). */
const nextNumber = () => `7900${String(++numbers).padStart(7, '0')}`;

type Send = (num: string) => Promise<boolean>;

/** `count` requests per path, mixed in a shuffled order; one Run per path (the AMI actions are the whole run's). */
async function run(tap: AmiTap, paths: ReadonlyArray<readonly [string, Send]>, count: number, concurrency: number): Promise<Run[]> {
  const samples: Sample[][] = paths.map(() => []);
  tap.clearActions();
  const started = performance.now();
  const order = shuffled(Array.from({ length: count * paths.length }, (_, i) => i % paths.length));
  await pool(order.length, concurrency, async (i) => {
    const path = order[i];
    const num = nextNumber();
    const startedAt = performance.now();
    const ok = await paths[path][1](num).catch(() => false);
    samples[path].push({ num, startedAt, repliedAt: performance.now(), ok });
    if (GAP_MS > 0) await sleep(GAP_MS);
  });
  const wallMs = performance.now() - started;
  return paths.map(([name], i) => ({ name, concurrency, samples: samples[i], wallMs, actions: tap.actions }));
}

/** Fisher–Yates with a fixed seed (mulberry32): the same order every run. */
function shuffled<T>(items: T[], seed = 20261203): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

type Figures = ReturnType<typeof figures>;

function figures(tap: AmiTap, r: Run) {
  const toAmi: number[] = [];
  for (const s of r.samples) {
    const at = tap.originates.get(s.num);
    if (at !== undefined) toAmi.push(at - s.startedAt);
  }
  const replies = r.samples.map((s) => s.repliedAt - s.startedAt);
  const bad = r.samples.filter((s) => !s.ok).length + (r.samples.length - toAmi.length);
  const answered = (name: string) => r.actions.filter((a) => a.name === name && a.answeredAt !== undefined).map((a) => a.answeredAt! - a.at);
  const pbx = (name: string) => `${ms(percentile(answered(name), 50))} / ${ms(percentile(answered(name), 99))}`;
  const p50 = percentile(toAmi, 50);
  const p99 = percentile(toAmi, 99);
  // Anything but the Originate itself is a round trip to the PBX in the request's path.
  const probes = r.actions.filter((a) => a.name !== 'originate').length;
  const cells = [
    r.name,
    r.concurrency,
    r.samples.length,
    int((r.samples.length / r.wallMs) * 1000),
    ms(percentile(toAmi, 50)),
    ms(p99),
    ms(Math.max(...toAmi)),
    ms(percentile(replies, 50)),
    ms(percentile(replies, 99)),
    probes,
    pbx('originate'),
    bad,
  ];
  return { cells, p50, p99, bad, probes };
}

export async function originateBench(stack: Stack, tap: AmiTap): Promise<void> {
  const gap = GAP_MS > 0 ? `, ${GAP_MS} ms pause after each` : '';
  console.log(`\noriginate: ${COUNT} originates per path and concurrency (${CONCURRENCY.join(', ')})${gap}; AMI write timed at the tap in front of the PBX`);
  const account = 1002;
  const { client, user } = await provisionedUser(stack, account, '402', 'busy');

  const rpc = new RpcClient({ servers: stack.env.NATS_URL!, requestTimeoutMs: 5000, name: 'bench-originate' });
  await rpc.connect();
  const http = new KeepAliveClient(stack.gateways[0], Math.max(...CONCURRENCY));
  // The HTTP hop alone: a bare Fastify route making the same NATS request (no auth, limit, Nest).
  const barePort = await freePort();
  const bare = spawnApp('bench-bare-route', 'tools/bench/bare-route.ts', { ...stack.env, PORT: String(barePort), BENCH_ACCOUNT: String(account) });
  stack.processes.push(bare);
  await waitForHttp(`http://127.0.0.1:${barePort}/bare/users/${user}`, 30_000);
  const bareHttp = new KeepAliveClient(`http://127.0.0.1:${barePort}`, Math.max(...CONCURRENCY));
  const callsPath = `/v1/calls?api_key=${encodeURIComponent(client.credentials.api_key)}&hash=${client.hash}`;
  try {
    const viaGateway = async (num: string) => (await http.post(callsPath, JSON.stringify({ params: { user, num } }))) === 200;
    const viaBareRoute = async (num: string) => (await bareHttp.post('/bare/calls', JSON.stringify({ params: { user, num } }))) === 200;
    const viaNats = async (num: string) => {
      const res = await rpc.send(TelephonyOriginate.contract, { call_id: randomUUID(), account_id: account, user, num });
      return typeof res.action_id === 'string';
    };
    // The adapter may not have loaded the new user yet: the first originate is retried until it goes through.
    await waitFor('a first originate through the gateway', async () => viaGateway(nextNumber()), 30_000);
    const paths = [
      ['NATS TelephonyOriginate → adapter → AMI (baseline)', viaNats],
      ['POST → bare Fastify route → adapter → AMI (the HTTP hop alone)', viaBareRoute],
      ['POST /v1/calls → gateway → adapter → AMI', viaGateway],
    ] as const;
    await run(tap, paths, WARMUP, 2);

    const runs: Run[] = [];
    for (const concurrency of CONCURRENCY) {
      await sleep(300);
      runs.push(...(await run(tap, paths, COUNT, concurrency)));
    }
    await sleep(500); // late frames (a request may be answered before its AMI write is seen here)

    const all = runs.map((r) => figures(tap, r));
    console.log('');
    console.log(
      table(
        ['path', 'concurrency', 'originates', 'per s', 'to AMI p50 ms', 'to AMI p99 ms', 'to AMI max ms', 'reply p50 ms', 'reply p99 ms', 'other AMI actions', 'PBX Originate p50/p99 ms', 'failed/missing'],
        all.map((f) => f.cells),
      ),
    );
    console.log('');
    const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
    // What the gateway adds, in milliseconds: unlike the ratio, it does not move with the baseline.
    const added = (a: number, b: number) => `${a >= b ? '+' : '−'}${ms(Math.abs(a - b))}`;
    const against = (f: Figures, base: Figures) =>
      `p50 ${ms(f.p50)} ms (${ratio(f.p50, base.p50)}×, ${added(f.p50, base.p50)} ms), p99 ${ms(f.p99)} ms (${ratio(f.p99, base.p99)}×, ${added(f.p99, base.p99)} ms)`;
    for (let i = 0; i < runs.length; i += paths.length) {
      const [base, bareRoute, gw] = all.slice(i, i + paths.length);
      const within = gw.p50 <= 1.25 * base.p50 && gw.p99 <= 1.25 * base.p99;
      const concurrency = runs[i].concurrency;
      console.log(
        `originate through the gateway at concurrency ${concurrency}: ${against(gw, base)} against the direct-NATS baseline ` +
          `to the AMI write — target ≤ 1.25× the baseline${within ? '' : '  — OVER TARGET'}`,
      );
      console.log(`  the HTTP hop alone (bare route): ${against(bareRoute, base)}; the gateway against the bare route: ${against(gw, bareRoute)}`);
    }
    // Both paths of a run share its AMI actions: count them once per run.
    const probes = all.filter((_, i) => i % paths.length === 0).reduce((n, f) => n + f.probes, 0);
    console.log(`AMI actions besides Originate during the runs (a probe per call would show here): ${probes}${probes === 0 ? '' : '  — NOT ZERO'}`);
    console.log('');
    if (all.some((f) => f.bad !== 0)) console.log('WARNING: some originates failed or their AMI frame was not seen; figures are not valid');
  } finally {
    http.close();
    bareHttp.close();
    await bare.stop('SIGTERM', 5000);
    await rpc.onApplicationShutdown();
  }
}
