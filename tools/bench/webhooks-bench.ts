/**
 * Webhook latency: from a CRM event's publication to CRM_EVENTS (the producers' side of the
 * contract) to the moment a real HTTP receiver in this process has the signed POST — through
 * webhooks-service's ingest (stored, fanned out), dispatcher (leased, signed, sent). Events are
 * published at a steady BENCH_WEBHOOK_RATE per second, spread over BENCH_WEBHOOK_ACCOUNTS
 * accounts with one `["*"]` webhook each. Side by side, in the same run and at the same rate: a
 * bare JetStream publish → durable pull consumer in this process (the floor any JetStream-fed
 * delivery stands on).
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { AckPolicy, JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Client } from 'pg';
import { CRM_EVENTS_STREAM, CrmEvent, crmEventId, crmEventSubject } from '@ringcloud/contracts-events';
import { AdminClient, Stack, V1Client, WebhookReceiver, waitFor } from '@ringcloud/testing';
import { int, ms, percentile, sleep, table } from './report';

const RATE = Number(process.env.BENCH_WEBHOOK_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_WEBHOOK_SECONDS ?? 15);
const ACCOUNTS = Number(process.env.BENCH_WEBHOOK_ACCOUNTS ?? 10);
/** The first second of each run warms up (JIT, connection pools) and is not counted. */
const WARMUP_S = 1;

interface Run {
  name: string;
  sent: Map<string, number>;
  received: Map<string, number>;
  wallMs: number;
}

/** Calls `send(i)` RATE times a second for SECONDS, on a schedule that does not drift. */
async function paced(send: (i: number) => void): Promise<number> {
  const count = RATE * SECONDS;
  const interval = 1000 / RATE;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = started + i * interval - performance.now();
    if (wait > 1) await sleep(wait);
    send(i);
  }
  return count;
}

async function settle(run: Run, expected: number, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (run.received.size < expected && performance.now() < deadline) await sleep(50);
}

async function baseline(nc: NatsConnection): Promise<Run> {
  const jsm = await jetstreamManager(nc);
  const stream = 'BENCH_BASELINE';
  await jsm.streams.delete(stream).catch(() => undefined);
  await jsm.streams.add({ name: stream, subjects: ['bench.baseline.*'], duplicate_window: 120_000_000_000 });
  await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: AckPolicy.Explicit });
  const run: Run = { name: 'JetStream publish → durable pull consumer (baseline)', sent: new Map(), received: new Map(), wallMs: 0 };
  const messages = await jetstream(nc).consumers.get(stream, 'bench').then((c) => c.consume({ max_messages: 500 }));
  const consuming = (async () => {
    for await (const msg of messages as AsyncIterable<JsMsg>) {
      run.received.set(msg.string(), performance.now());
      msg.ack();
    }
  })();
  const js = jetstream(nc);
  const started = performance.now();
  const count = await paced((i) => {
    const id = `b${i}`;
    run.sent.set(id, performance.now());
    void js.publish(`bench.baseline.${i % ACCOUNTS}`, id, { msgID: id });
  });
  await settle(run, count);
  run.wallMs = performance.now() - started;
  await messages.close();
  await consuming.catch(() => undefined);
  await jsm.streams.delete(stream).catch(() => undefined);
  return run;
}

async function webhooks(stack: Stack, nc: NatsConnection, receiver: WebhookReceiver): Promise<Run> {
  const admin = new AdminClient(stack.gateways[0], stack.adminToken);
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => 9_100 + i);
  for (const account of accounts) {
    const client = new V1Client(stack.gateways[0], await admin.createKey(account, 'RW'));
    const res = await client.post('/v1/webhooks/create', { url: receiver.url(`/bench/${account}`), events: ['*'] });
    if (res.status !== 200) throw new Error(`webhook create failed: ${res.status} ${res.text}`);
  }
  const run: Run = { name: 'CRM event published → webhook received (webhooks-service)', sent: new Map(), received: new Map(), wallMs: 0 };
  const stop = receiver.onReceive((r) => {
    const id = String(r.headers['webhook-id']);
    if (!run.received.has(id)) run.received.set(id, r.at);
  });
  const js = jetstream(nc);
  const started = performance.now();
  const count = await paced((i) => {
    const account = accounts[i % accounts.length];
    const event: CrmEvent = {
      id: crmEventId(`bench:${process.pid}:${i}`),
      type: 'call.ringing',
      timestamp: new Date().toISOString(),
      account_id: account,
      data: { call_id: `bench-${i}`, sequence: 1, direction: 'outgoing', src: '1679728441', dst: '79101234567', party: 'customer' },
    };
    run.sent.set(event.id, performance.now());
    void js.publish(crmEventSubject(account), JSON.stringify(event), { msgID: event.id });
  });
  await settle(run, count);
  run.wallMs = performance.now() - started;
  stop();
  return run;
}

function figures(run: Run) {
  const skip = RATE * WARMUP_S;
  const latencies: number[] = [];
  let i = 0;
  for (const [id, sentAt] of run.sent) {
    const got = run.received.get(id);
    if (i++ >= skip && got !== undefined) latencies.push(got - sentAt);
  }
  const lost = [...run.sent.keys()].filter((id) => !run.received.has(id)).length;
  return { latencies, lost };
}

/**
 * The webhook path split at the database's own timestamps: published (the event's timestamp) →
 * stored by the ingest (events.created_at) → the attempt recorded after the receiver answered
 * (deliveries.last_attempt_at). Millisecond resolution, one clock (this machine).
 */
async function whereTheTimeGoes(stack: Stack): Promise<void> {
  const url = new URL(stack.env.WEBHOOKS_DATABASE_URL!);
  url.searchParams.delete('schema');
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ ingest: number; deliver: number }>(`
      SELECT extract(epoch FROM e.created_at - (e.body::json->>'timestamp')::timestamptz) * 1000 AS ingest,
             extract(epoch FROM d.last_attempt_at - e.created_at) * 1000 AS deliver
        FROM webhooks.events e JOIN webhooks.deliveries d ON d.event_seq = e.seq
       WHERE e.id NOT IN (SELECT id FROM webhooks.events ORDER BY seq LIMIT ${RATE * WARMUP_S})`);
    const ingest = rows.map((r) => Number(r.ingest));
    const deliver = rows.map((r) => Number(r.deliver));
    console.log(
      '\n' +
        table(
          ['webhook path, by stage (database timestamps, ms)', 'p50', 'p95', 'p99'],
          [
            ['published → stored and fanned out (ingest)', ms(percentile(ingest, 50)), ms(percentile(ingest, 95)), ms(percentile(ingest, 99))],
            ['stored → attempt recorded (claim, sign, POST, answer)', ms(percentile(deliver, 50)), ms(percentile(deliver, 95)), ms(percentile(deliver, 99))],
          ],
        ),
    );
  } finally {
    await client.end();
  }
}

export async function webhooksBench(stack: Stack): Promise<void> {
  console.log(`\n## Webhooks: event → webhook received at ${RATE} events/s for ${SECONDS} s (${ACCOUNTS} accounts, one webhook each)\n`);
  const receiver = await new WebhookReceiver().start();
  const nc = await connect({ servers: stack.nats.url, name: 'bench-webhooks' });
  try {
    // The stream exists once webhooks-service has set up its consumer.
    const jsm = await jetstreamManager(nc);
    await waitFor('CRM_EVENTS', async () => !!(await jsm.streams.info(CRM_EVENTS_STREAM.name).catch(() => undefined)), 30_000);
    const runs = [await baseline(nc), await webhooks(stack, nc, receiver)];
    const rows = runs.map((run) => {
      const { latencies, lost } = figures(run);
      return [
        run.name,
        int(run.sent.size),
        int(run.received.size),
        int(lost),
        ms(percentile(latencies, 50)),
        ms(percentile(latencies, 95)),
        ms(percentile(latencies, 99)),
        ms(Math.max(...latencies)),
      ];
    });
    console.log(table(['path', 'sent', 'received', 'lost', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], rows));
    await whereTheTimeGoes(stack);
    const p99 = percentile(figures(runs[1]).latencies, 99);
    console.log(`\nwebhook p99 ${ms(p99)} ms (target ≤ 100 ms on a quiet machine): ${p99 <= 100 ? 'met' : 'NOT met'}`);
  } finally {
    await nc.close();
    await receiver.stop();
  }
}
