import { callEvents, newCallId, publishAll } from '../testing/call-events';
import { TestEnv, eventually } from '../testing/fixture';

/**
 * One replica works through a backlog of telephony events completely and correctly, and prints its
 * rate. The speed target (5,000 AMI events/s) is judged by `npm run bench` (BENCH_ONLY=ingest) beside
 * a baseline from the same run: a timed assertion here only measured how busy the shared machine was.
 */
describe('event throughput (one replica, real PostgreSQL)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await TestEnv.start();
    await env.ensureStream();
  });
  afterAll(() => env?.stop());

  it('applies a backlog of 10,000 events, every call completed once', async () => {
    const start = new Date(Date.now() - 3600_000);
    const events = Array.from({ length: 2000 }, (_, i) =>
      callEvents(
        {
          callId: newCallId(),
          account: 1000 + (i % 10),
          user: '1679728441',
          src: '401',
          dst: '79101234567',
          direction: 'outgoing',
          start,
          answer: new Date(start.getTime() + 5000),
          end: new Date(start.getTime() + 60_000),
          disposition: 'ANSWERED',
        },
        env.clock,
      ),
    ).flat();
    for (let i = 0; i < events.length; i += 1000) await publishAll(env.js, events.slice(i, i + 1000));

    const began = Date.now();
    await env.startApp();
    await eventually(() => env.consumerSettled(), 60_000);
    const seconds = (Date.now() - began) / 1000;
    const rate = Math.round(events.length / seconds);
    process.stdout.write(`calls-service applied ${events.length} telephony events in ${seconds.toFixed(2)} s: ${rate} events/s\n`);
    expect(await env.prisma.call.count({ where: { state: 'complete' } })).toBe(2000);
    expect(await env.prisma.call.count()).toBe(2000);
  });
});
