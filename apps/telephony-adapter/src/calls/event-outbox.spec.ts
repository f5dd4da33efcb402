import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { INestMicroservice } from '@nestjs/common';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { RECORDINGS_BUCKET, TELEPHONY_EVENTS_STREAM, TelephonyHealthPing } from '@ringcloud/contracts-telephony';
import { RpcClient, createNatsMicroservice } from '@ringcloud/nest-nats';
import { TestNats, TestSchema, freePort, startNatsServer } from '@ringcloud/testing';
import { AppModule } from '../app.module';
import { PrismaClient, createPrismaClient } from '../infra/database';
import { lateRecordingSeq } from '../recordings/recordings.service';
import { pcmWav } from '../recordings/wav';
import { FakeAmiServer, userChannelFrame } from '../testing/fake-ami-server';
import { createTestSchema, eventually, testConfig } from '../testing/test-env';

const USER = '1679728441';

/**
 * The adapter's outbox with everything real but the PBX: PostgreSQL, a nats-server stopped and
 * started again on the same port and store, the whole AppModule. A call ends while NATS is away and
 * the adapter is redeployed meanwhile: its events wait in PostgreSQL and reach the stream when
 * NATS is back — published by the adapter's next process.
 */
describe('telephony-adapter: events NATS could not take survive a restart (outbox)', () => {
  let schema: TestSchema;
  let prisma: PrismaClient;
  let nats: TestNats;
  let natsPort: number;
  let natsDir: string;
  let recordingsDir: string;
  let server: FakeAmiServer;
  let app: INestMicroservice | undefined;

  const startNats = async () => (nats = await startNatsServer(natsPort, natsDir));
  const natsUrl = () => `nats://127.0.0.1:${natsPort}`;
  const startAdapter = async () => {
    app = await createNatsMicroservice(
      AppModule.forRoot(testConfig({ natsUrl: natsUrl(), databaseUrl: schema.databaseUrl, amiPort: server.port, recordingsDir })),
      { servers: natsUrl(), queue: 'telephony-adapter', logger: false },
    );
    await app.listen();
    const rpc = new RpcClient({ servers: natsUrl(), requestTimeoutMs: 3000, name: 'test' });
    await rpc.connect();
    try {
      await eventually(async () => (await rpc.send(TelephonyHealthPing.contract, {})).ami === true, 10_000);
    } finally {
      await rpc.onApplicationShutdown();
    }
  };

  beforeAll(async () => {
    schema = await createTestSchema();
    prisma = createPrismaClient(schema.databaseUrl, 2);
    natsPort = await freePort();
    natsDir = mkdtempSync(path.join(os.tmpdir(), 'rc-nats-outbox-'));
    recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'rc-recordings-'));
    await startNats();
    server = await FakeAmiServer.start();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await server?.close();
    await nats?.stop();
    await prisma?.$disconnect();
    await schema?.drop();
    rmSync(natsDir, { recursive: true, force: true });
    rmSync(recordingsDir, { recursive: true, force: true });
  });

  async function streamed(nc: NatsConnection): Promise<Array<{ subject: string; data: any }>> {
    const consumer = await jetstream(nc).consumers.get(TELEPHONY_EVENTS_STREAM.name, { deliver_policy: DeliverPolicy.All });
    const out: Array<{ subject: string; data: any }> = [];
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        out.push({ subject: m.subject, data: m.json() });
      }
      if (!got) return out;
    }
  }

  it('keeps a call that ended while NATS was away in PostgreSQL at shutdown, and the next process publishes it and stores its recording', async () => {
    await startAdapter();
    // NATS goes away; a recorded call happens and ends meanwhile.
    await nats.stop();
    const uid = '1796000000.1';
    const frame = (event: string, extra: Record<string, string> = {}) => userChannelFrame(USER, event, uid, extra);
    server.send(frame('Newchannel', { ChannelStateDesc: 'Ring', ChannelState: '4' }));
    server.send(frame('VarSet', { Variable: 'RC_CALL_ID', Value: 'c6d1e2f3-0000-4000-8000-000000000001' }));
    server.send(frame('Newstate'));
    server.send(frame('VarSet', { Variable: 'MIXMONITOR_FILENAME', Value: `/var/spool/asterisk/monitor/${uid}.wav` }));
    server.send(frame('MixMonitorStart'));
    const wav = pcmWav(8000 * 2);
    writeFileSync(path.join(recordingsDir, `${uid}.wav`), wav);
    server.send(frame('Hangup', { Cause: '16', 'Cause-txt': 'Normal Clearing' }));

    // The adapter has seen the hang-up (the recording's job is kept): a redeploy while NATS is still
    // away, and the call's events go to the outbox.
    await eventually(async () => (await prisma.recordingJob.count()) === 1, 15_000);
    await app!.close();
    app = undefined;
    const kept = await prisma.outboxEvent.findMany({ orderBy: { createdAt: 'asc' } });
    expect(kept.map((r) => [r.subject, r.publishedAt])).toEqual([
      ['telephony.call.started', null],
      ['telephony.call.answered', null],
      ['telephony.call.ended', null],
    ]);
    expect((kept[2].payload as any).call_id).toBe((kept[0].payload as any).call_id);
    // The recording could not be stored (its store is NATS too): its job stays — failed, or still being
    // tried when the process stopped — and so does its file.
    expect(existsSync(path.join(recordingsDir, `${uid}.wav`))).toBe(true);
    expect(await prisma.recordingJob.findMany()).toEqual([expect.objectContaining({ fileName: `${uid}.wav` })]);
    await prisma.recordingJob.updateMany({ data: { nextAttemptAt: new Date() } }); // its retry (or its lease's end) is due

    // NATS is back, and so is the adapter: the kept events reach the stream, once, in order.
    await startNats();
    await startAdapter();
    const nc = await connect({ servers: natsUrl() });
    try {
      const got = await eventually(async () => {
        const all = (await streamed(nc)).filter((m) => m.subject.startsWith('telephony.call.') && m.data.call_id === (kept[0].payload as any).call_id);
        return all.length >= 3 && all;
      }, 15_000);
      expect(got.map((m) => [m.subject, m.data.seq, m.data.event_id])).toEqual(kept.map((r) => [r.subject, (r.payload as any).seq, (r.payload as any).event_id]));
      await eventually(async () => (await prisma.outboxEvent.count({ where: { publishedAt: null } })) === 0, 10_000);
      // The new process stores the recording from its job and tells it.
      const recording = await eventually(async () => (await streamed(nc)).find((m) => m.subject === 'telephony.recording.finished' && m.data.file_name === `${uid}.wav`), 15_000);
      expect(recording.data).toMatchObject({ call_id: (kept[0].payload as any).call_id, object_name: `1001/${uid}.wav`, size: wav.length });
      // Its call is forgotten by now: a seq of its own, not the one its call's `ended` took (calls-service would skip it).
      expect(recording.data.seq).toBe(lateRecordingSeq(`${uid}.wav`));
      expect((await (await new Objm(nc).open(RECORDINGS_BUCKET)).info(`1001/${uid}.wav`))?.size).toBe(wav.length);
      await eventually(async () => (await prisma.recordingJob.count()) === 0 && !existsSync(path.join(recordingsDir, `${uid}.wav`)), 10_000);
    } finally {
      await nc.close();
    }
  }, 90_000);
});
