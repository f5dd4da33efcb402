/**
 * Event ingestion: AMI events from the PBX through the telephony adapter and JetStream
 * (TELEPHONY_EVENTS) into call records in calls-service's database, with zero loss.
 *
 * 1. Live: a burst of inbound calls on the simulator (control API `POST /calls/inbound`, in
 *    parallel; short ring and talk times). Counted: AMI events the simulator wrote (at the tap),
 *    events published to TELEPHONY_EVENTS (the stream's message count), and the time until every
 *    generated call has its complete record (CDR applied) in schema `calls` (PostgreSQL, directly).
 * 2. Replay (simulator-independent baseline): the burst's raw event bytes, captured at the tap,
 *    are written as fast as the socket takes them into a second telephony-adapter (node
 *    `bench-replay`, so its call ids and event ids are new) through a fake AMI server, and the
 *    same three things are timed.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { TELEPHONY_EVENTS_STREAM } from '@ringcloud/contracts-telephony';
import { connectNats, NatsConnection } from '@ringcloud/nest-nats';
import { Stack, waitFor } from '@ringcloud/testing';
import { Client } from 'pg';
import type { AmiTap } from './ami-tap';
import { FakeAmi } from './fake-ami';
import { control, provisionedUser } from './calls-setup';
import { int, pool, sleep, table } from './report';

const CALLS = Number(process.env.BENCH_INGEST_CALLS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_INGEST_CONCURRENCY ?? 32);
const RECORD_TIMEOUT_MS = Number(process.env.BENCH_INGEST_TIMEOUT_MS ?? 90_000);
const TARGET = 5000;
const REPLAY_NODE = 'bench-replay';

interface Figures {
  name: string;
  amiEvents: number;
  /** Time over which the AMI events were written (first to last), ms. */
  amiMs: number;
  published: number;
  /** From the start of the burst to the last stream message, ms. */
  publishMs: number;
  generated: number;
  recorded: number;
  /** From the start of the burst until every call's record is in, ms (or until the timeout). */
  recordMs: number;
}

/** Counts messages in TELEPHONY_EVENTS; `settle` polls until the count stops moving. */
class StreamCounter {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  ) {}

  static async open(url: string): Promise<StreamCounter> {
    const nc = await connectNats(url, 'bench-ingest');
    return new StreamCounter(nc, await jetstreamManager(nc));
  }

  async count(): Promise<number> {
    return (await this.jsm.streams.info(TELEPHONY_EVENTS_STREAM.name)).state.messages;
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/** Watches the database (and the stream) while calls land: resolves when `expected` calls are complete. */
async function watch(
  db: Client,
  stream: StreamCounter,
  callIds: () => string[],
  expected: () => number,
  startedAt: number,
  done: () => boolean,
): Promise<{ recorded: number; recordMs: number; lastStreamAt: number; streamCount: number }> {
  const deadline = startedAt + RECORD_TIMEOUT_MS;
  let recorded = 0;
  let recordMs = NaN;
  let streamCount = await stream.count();
  let lastStreamAt = startedAt;
  while (performance.now() < deadline) {
    const ids = callIds();
    if (ids.length > 0) {
      const r = await db.query(`SELECT count(*)::int AS n FROM calls.calls WHERE call_id = ANY($1::text[]) AND state = 'complete' AND cdr_seq IS NOT NULL`, [ids]);
      recorded = r.rows[0].n;
    }
    const now = performance.now();
    const count = await stream.count();
    if (count !== streamCount) {
      streamCount = count;
      lastStreamAt = now;
    }
    if (done() && recorded >= expected()) {
      recordMs = now - startedAt;
      break;
    }
    await sleep(50);
  }
  if (!Number.isFinite(recordMs)) recordMs = performance.now() - startedAt;
  // Recordings are published after their call's record (the file must be complete): let the stream settle.
  for (let quiet = 0; quiet < 10; ) {
    await sleep(100);
    const count = await stream.count();
    if (count === streamCount) quiet++;
    else {
      quiet = 0;
      streamCount = count;
      lastStreamAt = performance.now();
    }
  }
  return { recorded, recordMs, lastStreamAt, streamCount };
}

/** Waits until the simulator has no live channel and the AMI has been quiet for a while. */
async function quiesce(stack: Stack, tap: AmiTap): Promise<void> {
  await waitFor(
    'an idle PBX',
    async () => {
      const channels = (await (await fetch(`${stack.simulatorControl}/channels`)).json()) as unknown[];
      return channels.length === 0 && performance.now() - tap.lastEventAt > 500;
    },
    30_000,
  );
}

async function live(stack: Stack, tap: AmiTap, db: Client, stream: StreamCounter, user: string): Promise<{ figures: Figures; captured: Buffer; linkedids: string[] }> {
  await quiesce(stack, tap);
  const before = await stream.count();
  tap.resetEvents();
  tap.startCapture();
  const linkedids: string[] = [];
  let failed = 0;
  let sent = false;
  const startedAt = performance.now();
  const burst = pool(CALLS, CONCURRENCY, async (i) => {
    const res = await control(stack, '/calls/inbound', { from: `7910${String(i).padStart(7, '0')}`, to_user: user }).catch(() => undefined);
    if (res?.status === 202 && typeof res.body?.linkedid === 'string') linkedids.push(res.body.linkedid);
    else failed++;
  }).then(() => (sent = true));
  const node = stack.env.PBX_NODE ?? 'pbx1';
  const seen = await watch(
    db,
    stream,
    () => linkedids.map((l) => `${node}:${l}`),
    () => linkedids.length,
    startedAt,
    () => sent,
  );
  await burst;
  await quiesce(stack, tap);
  const captured = tap.stopCapture();
  if (failed) console.log(`WARNING: ${failed} inbound calls were refused by the simulator's control API`);
  return {
    figures: {
      name: 'live: simulator → tap → adapter → JetStream → calls-service → PostgreSQL',
      amiEvents: tap.events,
      amiMs: tap.lastEventAt - tap.firstEventAt,
      published: seen.streamCount - before,
      publishMs: seen.lastStreamAt - startedAt,
      generated: linkedids.length,
      recorded: seen.recorded,
      recordMs: seen.recordMs,
    },
    captured,
    linkedids,
  };
}

async function replay(stack: Stack, db: Client, stream: StreamCounter, captured: Buffer, linkedids: string[]): Promise<Figures> {
  const fake = new FakeAmi(stack.env.AMI_USERNAME ?? 'crm', stack.env.AMI_SECRET ?? 'crmsecret');
  await fake.listen();
  try {
    const adapter = stack.addApp('telephony-adapter', { PBX_NODE: REPLAY_NODE, PBX_AMI_PORT: String(fake.port), PBX_AMI_HOST: '127.0.0.1' });
    // Logged in and resynced (both lists answered): from now on everything it reads is the burst.
    await waitFor(
      'the replay adapter to log in and resync',
      async () => {
        if (adapter.child.exitCode !== null) throw new Error(`replay adapter exited (log: ${adapter.logFile})`);
        return fake.loggedIn > 0 && fake.actions.includes('coreshowchannels') && fake.actions.includes('pjsipshowcontacts');
      },
      60_000,
    );
    await sleep(300);
    const amiEvents = countEvents(captured);
    const before = await stream.count();
    const startedAt = performance.now();
    await fake.replay(captured);
    const writtenMs = performance.now() - startedAt;
    const seen = await watch(
      db,
      stream,
      () => linkedids.map((l) => `${REPLAY_NODE}:${l}`),
      () => linkedids.length,
      startedAt,
      () => true,
    );
    await adapter.stop('SIGTERM', 10_000);
    return {
      name: 'replay: captured AMI bytes → adapter → JetStream → calls-service → PostgreSQL',
      amiEvents,
      amiMs: writtenMs,
      published: seen.streamCount - before,
      publishMs: seen.lastStreamAt - startedAt,
      generated: linkedids.length,
      recorded: seen.recorded,
      recordMs: seen.recordMs,
    };
  } finally {
    await fake.close();
  }
}

function countEvents(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf('Event:'); i >= 0; i = bytes.indexOf('\r\n\r\nEvent:', i + 1)) n++;
  return n;
}

const rate = (n: number, msValue: number) => (msValue > 0 ? (n / msValue) * 1000 : NaN);

export async function ingestBench(stack: Stack, tap: AmiTap): Promise<void> {
  console.log(`\ningest: ${CALLS} inbound calls on the simulator, ${CONCURRENCY} control API requests in parallel`);
  const { user } = await provisionedUser(stack, 1003, '403', 'answer');
  const db = new Client({ connectionString: stack.databaseUrl });
  await db.connect();
  const stream = await StreamCounter.open(stack.env.NATS_URL!);
  try {
    const { figures: liveFigures, captured, linkedids } = await live(stack, tap, db, stream, user);
    const replayFigures = await replay(stack, db, stream, captured, linkedids);

    const rows = [liveFigures, replayFigures].map((f) => [
      f.name,
      int(f.amiEvents),
      int(rate(f.amiEvents, f.amiMs)),
      int(f.published),
      int(rate(f.published, f.publishMs)),
      `${f.generated} / ${f.recorded}`,
      (f.recordMs / 1000).toFixed(2),
      int(rate(f.amiEvents, f.recordMs)),
    ]);
    console.log('');
    console.log(
      table(['path', 'AMI events', 'AMI events/s written', 'published', 'published/s', 'calls generated / recorded', 'until all recorded s', 'AMI events/s end to end'], rows),
    );
    console.log('');
    console.log('AMI events/s written: live = events the simulator wrote ÷ (last − first event at the tap); replay = until the adapter\'s socket took every byte.');
    console.log('published/s: messages added to TELEPHONY_EVENTS ÷ time from the start of the burst to the last one (recordings come last).');
    console.log('end to end: AMI events ÷ time from the start of the burst until every call\'s record is complete (CDR applied) in schema calls.');
    console.log('');
    const e2e = rate(liveFigures.amiEvents, liveFigures.recordMs);
    const sim = rate(liveFigures.amiEvents, liveFigures.amiMs);
    const adapter = rate(replayFigures.amiEvents, replayFigures.recordMs);
    const lossFree = (f: Figures) => f.generated === f.recorded && f.generated > 0;
    console.log(`live end to end: ${int(e2e)} AMI events/s (target ≥ ${int(TARGET)})${e2e >= TARGET ? '' : '  — UNDER TARGET'}; loss: ${lossFree(liveFigures) ? 'none' : 'CALLS MISSING'}`);
    if (sim < TARGET) console.log(`the simulator itself wrote ${int(sim)} AMI events/s: it, not the pipeline, bounds the live figure`);
    console.log(`replay end to end (adapter's own ingestion): ${int(adapter)} AMI events/s; loss: ${lossFree(replayFigures) ? 'none' : 'CALLS MISSING'}`);
    console.log(`AMI events per call: ${(liveFigures.amiEvents / Math.max(1, liveFigures.generated)).toFixed(1)}`);
  } finally {
    await stream.close();
    await db.end();
  }
}
