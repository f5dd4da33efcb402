import { randomUUID } from 'node:crypto';
import { INestMicroservice } from '@nestjs/common';
import { CallsCompleteList } from '@ringcloud/contracts-calls';
import { CallCdr, CallEnded, CallStarted, RecordingFinished } from '@ringcloud/contracts-telephony';
import { CallSpec, Published, answeredCall, callEvents, publishAll, publishRaw } from '../testing/call-events';
import { TestEnv, eventually, sleep } from '../testing/fixture';
import { TcpProxy } from '../testing/tcp-proxy';

const ACCOUNT = 1001;
const USER = '1679728441';

/** The real service, its durable consumer on a private JetStream, events published the way the adapter does. */
describe('telephony events consumer (JetStream + PostgreSQL)', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await TestEnv.start();
    await env.ensureStream();
  });
  afterAll(() => env?.stop());

  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
  /** An answered call: 30 s ringing, 90 s talk, unless told otherwise. */
  const call = (over: Partial<CallSpec> = {}): CallSpec => answeredCall({ account: ACCOUNT, user: USER, ...over }, { agoS: 600, answerAfterS: 30, endAfterS: 120 });
  const complete = (num?: string) => env.rpc.send(CallsCompleteList.contract, { account_id: ACCOUNT, days: 7, ...(num ? { num } : {}) });
  const rowsOf = (callIds: string[]) => env.prisma.call.findMany({ where: { callId: { in: callIds } }, orderBy: { callId: 'asc' } });

  describe('with one replica', () => {
    let app: INestMicroservice | undefined;
    afterEach(async () => {
      if (app) await env.stopApp(app);
      app = undefined;
    });

    it('loses nothing while the service is down, and applies each call exactly once', async () => {
      app = await env.startApp();
      await env.stopApp(app);
      app = undefined;

      const specs = Array.from({ length: 20 }, (_, i) => call({ dst: `7910000${String(i).padStart(4, '0')}`, start: minutesAgo(30 - i) }));
      const events = specs.flatMap((s) => callEvents(s, env.clock));
      await publishAll(env.js, events);

      app = await env.startApp();
      const ids = specs.map((s) => s.callId);
      await eventually(async () => (await env.prisma.call.count({ where: { callId: { in: ids }, cdrSeq: { not: null } } })) === 20, 15_000);
      await eventually(() => env.consumerSettled());
      expect(await env.prisma.call.count({ where: { callId: { in: ids } } })).toBe(20);
      expect(await env.prisma.processedEvent.count({ where: { callId: { in: ids } } })).toBe(events.length);
      const listed = (await complete()).filter((c) => specs.some((s) => s.dst === c.dst));
      expect(listed).toHaveLength(20);
      expect(new Set(listed.map((c) => c.dst)).size).toBe(20);

      // Published again (a publisher retrying after its duplicate window): nothing changes.
      const before = await rowsOf(ids);
      await publishAll(env.js, events, '-again');
      await eventually(() => env.consumerSettled());
      expect(await rowsOf(ids)).toEqual(before);
      expect(await env.prisma.processedEvent.count({ where: { callId: { in: ids } } })).toBe(events.length);
    });

    it('skips events a previous run applied but could not acknowledge (redelivery)', async () => {
      const spec = call();
      const events = callEvents(spec, env.clock);
      // First delivery: applied and committed, then the process died before the acks reached NATS.
      app = await env.startApp();
      await publishAll(env.js, events);
      await eventually(async () => (await rowsOf([spec.callId]))[0]?.cdrSeq != null);
      const applied = await rowsOf([spec.callId]);
      await env.stopApp(app);
      app = undefined;
      // Redelivery of the very same messages (same event ids, seqs).
      await publishAll(env.js, events, '-redelivered');
      app = await env.startApp();
      await eventually(() => env.consumerSettled());
      expect(await rowsOf([spec.callId])).toEqual(applied);
      expect(env.logger.matching('warn', /already applied under another event_id/)).toEqual([]);
    });

    it('gets the same record whatever the arrival order', async () => {
      app = await env.startApp();
      const base = call({ recording: { fileName: 'order-base.wav' } });
      const events = callEvents(base, env.clock);
      const orders: Published[][] = [
        [...events].reverse(), // recording, cdr, ended, bridged, answered, started
        [events[4], events[5], events[0], events[3], events[1], events[2]], // cdr and recording first
        [events[5], events[0], events[1], events[2], events[3], events[4]], // recording first
      ];
      const ids: string[] = [];
      for (const [i, order] of orders.entries()) {
        const callId = `${base.callId}-order${i}`;
        ids.push(callId);
        const renamed = order.map((e) => ({
          subject: e.subject,
          payload: {
            ...e.payload,
            event_id: randomUUID(),
            call_id: callId,
            ...(e.subject === RecordingFinished.subject ? { file_name: `order-${i}.wav` } : {}),
          },
        }));
        for (const e of renamed) await publishAll(env.js, [e]); // one at a time: the order is the arrival order
      }
      const reference = callEvents({ ...base, callId: 'reference' }, env.clock);
      await publishAll(env.js, reference);
      await eventually(() => env.consumerSettled());

      const expected = {
        status: 'complete',
        src: '401',
        dst: '79101234567',
        direction: 'outgoing',
        call_start_time: env.clock.format(base.start),
        call_end_time: env.clock.format(base.end),
        duration: 120,
        disposition: 'ANSWERED',
      };
      const listed = await complete('79101234567');
      for (const [i] of orders.entries()) {
        const row = (await rowsOf([ids[i]]))[0];
        expect(row).toMatchObject({ state: 'complete', cdrSeq: 5, accountId: ACCOUNT, userName: USER, src: '401', duration: 120 });
        expect(listed).toContainEqual({ ...expected, rec_file: `/v1/users/${USER}/records/order-${i}.wav`, call_id: ids[i], external_id: null, transferred_to: null });
      }
    });

    it('completes a call ended without a CDR from what is known, until its CDR arrives', async () => {
      app = await env.startApp();
      const spec = call({ dst: '79995550001', start: minutesAgo(5), end: minutesAgo(4) });
      const [started, answered, bridged, , cdr] = callEvents(spec, env.clock);
      const reconciledEnd = {
        subject: CallEnded.subject,
        payload: { ...started.payload, event_id: randomUUID(), seq: 10, occurred_at: spec.end.toISOString(), cause: 0, cause_txt: 'Unknown', reconciled: true },
      };
      delete (reconciledEnd.payload as Record<string, unknown>).direction;
      await publishAll(env.js, [started, answered, bridged, reconciledEnd]);
      const provisional = await eventually(async () => (await complete('79995550001'))[0]);
      expect(provisional).toEqual({
        status: 'complete',
        src: '401',
        dst: '79995550001',
        direction: 'outgoing',
        call_start_time: env.clock.format(spec.start),
        call_end_time: env.clock.format(spec.end),
        duration: 60,
        disposition: 'ANSWERED',
        rec_file: null,
        call_id: spec.callId,
        external_id: null,
        transferred_to: null,
      });

      // An unanswered call ended by a resync: NO ANSWER.
      const unanswered = call({ dst: '79995550002', answer: null, disposition: 'NO ANSWER' });
      const [s2] = callEvents(unanswered, env.clock);
      await publishAll(env.js, [s2, { subject: CallEnded.subject, payload: { ...reconciledEnd.payload, event_id: randomUUID(), call_id: unanswered.callId } }]);
      expect((await eventually(async () => (await complete('79995550002'))[0])).disposition).toBe('NO ANSWER');

      // The CDR, late, is the truth.
      const late = { ...cdr, payload: { ...cdr.payload, dst: '79995550001', disposition: 'BUSY', duration: 58 } };
      await publishAll(env.js, [late]);
      await eventually(async () => (await complete('79995550001'))[0]?.disposition === 'BUSY');
      expect((await complete('79995550001'))[0]).toMatchObject({ duration: 58, disposition: 'BUSY' });
    });

    it('holds back a call that ended by a real Hangup until its CDR names the parties', async () => {
      app = await env.startApp({ cdrGraceMs: 60_000 });
      const start = new Date(Date.now() - 60_000);
      const spec = call({ dst: '79995550009', start, answer: new Date(start.getTime() + 10_000), end: new Date(Date.now() - 1000) });
      const [started, answered, bridged, ended, cdr] = callEvents(spec, env.clock);
      // The events alone would name the wrong party (an inbound call's dial target is known only from its CDR).
      await publishAll(env.js, [started, answered, bridged, ended]);
      await eventually(async () => (await rowsOf([spec.callId]))[0]?.state === 'complete');
      expect(await complete('79995550009')).toEqual([]);
      await publishAll(env.js, [cdr]);
      const listed = await eventually(async () => (await complete('79995550009'))[0]);
      expect(listed).toMatchObject({ dst: '79995550009', disposition: 'ANSWERED' });
    });

    it('terminates poison messages once, logs them, and keeps applying the others', async () => {
      app = await env.startApp();
      const before = env.logger.matching('warn', /poison message terminated/).length;
      const good = call({ dst: '79990000001' });
      const [started, ...rest] = callEvents(good, env.clock);
      await publishAll(env.js, [started]);
      await publishRaw(env.js, CallStarted.subject, '{not json');
      await publishRaw(env.js, CallCdr.subject, JSON.stringify({ call_id: 'x', seq: 1 }));
      await publishRaw(env.js, CallCdr.subject, JSON.stringify({ ...rest[3].payload, event_id: randomUUID(), start_time: '2026-13-45 99:00:00' }));
      await publishRaw(env.js, RecordingFinished.subject, JSON.stringify({ ...callEvents(call({ recording: { fileName: 'x.wav' } }), env.clock)[5].payload, file_name: '../../etc/passwd' }));
      await publishAll(env.js, rest);

      await eventually(async () => (await complete('79990000001')).length === 1);
      await eventually(() => env.consumerSettled());
      await sleep(1500); // longer than the first redelivery delay: a nak'ed message would be back by now
      const poison = env.logger.matching('warn', /poison message terminated/).slice(before);
      expect(poison).toHaveLength(4);
      expect(poison.join('\n')).toMatch(/not JSON/);
      expect(poison.join('\n')).toMatch(/file_name/);
      expect(await env.consumerSettled()).toBe(true);
      expect((await env.consumerInfo()).num_redelivered).toBe(0);
    });

    it('retries an event the database refuses, then drops it with an error, without holding back the others', async () => {
      // A real failure inside PostgreSQL for one call only.
      await env.prisma.$executeRawUnsafe(`CREATE FUNCTION refuse_call() RETURNS trigger AS $$
        BEGIN IF NEW.call_id LIKE 'refused-%' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
      await env.prisma.$executeRawUnsafe(`CREATE TRIGGER refuse_call BEFORE INSERT OR UPDATE ON calls FOR EACH ROW EXECUTE FUNCTION refuse_call()`);
      try {
        app = await env.startApp();
        const refused = call({ callId: `refused-${randomUUID()}`, dst: '79990009999' });
        const fine = call({ dst: '79990008888' });
        await publishAll(env.js, [...callEvents(refused, env.clock), ...callEvents(fine, env.clock)]);
        await eventually(async () => (await complete('79990008888')).length === 1);
        // maxAttempts is 3 in tests: redelivered after 1 s and 2 s, then terminated.
        await eventually(async () => env.logger.matching('error', new RegExp(`of call ${refused.callId}.*dropped after 3 attempts`)).length === 5, 15_000);
        await eventually(() => env.consumerSettled());
        expect(env.logger.matching('warn', new RegExp(`of call ${refused.callId}.*failed \\(attempt [12]\\)`))).toHaveLength(10);
        expect(await env.prisma.call.count({ where: { callId: refused.callId } })).toBe(0);
      } finally {
        await env.prisma.$executeRawUnsafe('DROP TRIGGER refuse_call ON calls');
        await env.prisma.$executeRawUnsafe('DROP FUNCTION refuse_call()');
      }
    });

    it('finishes and acknowledges what it pulled when it shuts down', async () => {
      app = await env.startApp();
      const specs = Array.from({ length: 300 }, () => call({ dst: '79991112233' }));
      await publishAll(env.js, specs.flatMap((s) => callEvents(s, env.clock)));
      await eventually(async () => (await env.prisma.call.count({ where: { callId: { in: specs.map((s) => s.callId) } } })) > 0, 10_000);
      await env.stopApp(app);
      app = undefined;
      // Nothing pulled was left unacknowledged (it would wait for ack_wait and a redelivery).
      const info = await env.consumerInfo();
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_redelivered).toBe(0);
      app = await env.startApp();
      await eventually(async () => (await env.prisma.call.count({ where: { callId: { in: specs.map((s) => s.callId) }, state: 'complete' } })) === 300, 20_000);
    });
  });

  it('shares the durable between replicas: every call applied once', async () => {
    const replicas = [await env.startApp(), await env.startApp()];
    const specs = Array.from({ length: 200 }, (_, i) => call({ dst: `7920000${String(i).padStart(4, '0')}`, recording: { fileName: `replicas-${i}.wav` } }));
    const events = specs.flatMap((s) => callEvents(s, env.clock));
    await publishAll(env.js, events);
    const ids = specs.map((s) => s.callId);
    await eventually(async () => (await env.prisma.call.count({ where: { callId: { in: ids }, cdrSeq: { not: null } } })) === 200, 20_000);
    await eventually(() => env.consumerSettled());
    expect(await env.prisma.processedEvent.count({ where: { callId: { in: ids } } })).toBe(events.length);
    expect(await env.prisma.recording.count({ where: { callId: { in: ids } } })).toBe(200);
    for (const app of replicas) await env.stopApp(app);
  });

  it('holds events while the database is down and applies them when it is back', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    const url = new URL(env.schema.databaseUrl);
    url.host = `127.0.0.1:${proxy.port}`;
    const app = await env.startApp({ databaseUrl: url.toString() });
    try {
      await proxy.down();
      const specs = Array.from({ length: 10 }, () => call({ dst: '79993334455' }));
      await publishAll(env.js, specs.flatMap((s) => callEvents(s, env.clock)));
      await sleep(4000);
      const ids = specs.map((s) => s.callId);
      expect(await env.prisma.call.count({ where: { callId: { in: ids } } })).toBe(0);
      await proxy.up();
      await eventually(async () => (await env.prisma.call.count({ where: { callId: { in: ids }, cdrSeq: { not: null } } })) === 10, 20_000);
      // The outage cost no attempt: nothing of these calls was dropped or even counted as failed.
      const aboutThese = (l: { message: string }) => ids.some((id) => l.message.includes(id));
      expect(env.logger.lines.filter(aboutThese)).toEqual([]);
      expect(env.logger.matching('warn', /database unavailable/).length).toBeGreaterThan(0);
    } finally {
      await env.stopApp(app);
      await proxy.down();
    }
  });
});

