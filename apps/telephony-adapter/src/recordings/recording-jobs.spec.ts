import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Objm } from '@nats-io/obj';
import { RECORDINGS_BUCKET, RecordingFinished, TELEPHONY_EVENTS_STREAM } from '@ringcloud/contracts-telephony';
import { ensureStream, jetstream } from '@ringcloud/nest-nats';
import { RecordingJob } from '../calls/domain-events';
import { TelephonyEventPublisher } from '../calls/event-publisher';
import { Logs } from '../testing/logs';
import { TestEnv, eventually } from '../testing/test-env';
import { RecordingJobsRepository } from './recording-jobs.repository';
import { RecordingStore, RecordingsService, lateRecordingSeq } from './recordings.service';
import { pcmWav } from './wav';

const job = (linkedid: string, seq = 4): RecordingJob => ({
  callKey: linkedid,
  envelope: { event_id: `pbx1:${linkedid}:recording.finished:${linkedid}.wav`, call_id: `pbx1:${linkedid}`, seq, node: 'pbx1', occurred_at: '2026-12-05T02:00:00.000Z', account_id: 1003 },
  user: '1679728441',
  fileName: `${linkedid}.wav`,
  channel: 'PJSIP/1679728441-00000001',
  recordedAt: '2026-12-05 02:00:00',
});

/** Real PostgreSQL (recording_jobs), real JetStream and object store (a private nats-server). */
describe('RecordingsService with its jobs kept in PostgreSQL', () => {
  let env: TestEnv;
  let logs: Logs;
  let repository: RecordingJobsRepository;
  let publisher: TelephonyEventPublisher;
  let storeDown: boolean;
  /** The object store, away while `storeDown`: as while NATS is. */
  let store: RecordingStore;

  beforeAll(async () => {
    env = await TestEnv.start();
    await ensureStream(env.nc, TELEPHONY_EVENTS_STREAM);
    const real = new RecordingStore(env.nc);
    store = { open: () => (storeDown ? Promise.reject(new Error('object store down')) : real.open()) } as RecordingStore;
  });
  afterAll(async () => env?.stop());
  beforeEach(async () => {
    logs = new Logs();
    storeDown = false;
    repository = new RecordingJobsRepository(env.prisma!, 'pbx1');
    publisher = new TelephonyEventPublisher(jetstream(env.nc), logs);
    await env.prisma!.recordingJob.deleteMany();
  });

  const service = (retry = {}) =>
    new RecordingsService(store, publisher, { dir: env.recordingsDir, waitMs: 1000, stableMs: 100, jobs: repository, retry: { firstMs: 100, ...retry }, logger: logs });
  const finishedOf = async (fileName: string) =>
    (await env.streamMessages(TELEPHONY_EVENTS_STREAM.name)).filter((m) => m.subject === RecordingFinished.subject && m.data.file_name === fileName).map((m) => m.data);
  const rows = () => env.prisma!.recordingJob.findMany();
  const wavFor = (linkedid: string) => {
    const file = path.join(env.recordingsDir, `${linkedid}.wav`);
    writeFileSync(file, pcmWav(8000));
    return file;
  };

  it('keeps a job while it runs and forgets it once stored and told — or when there is nothing to store', async () => {
    const recordings = service();
    const file = wavFor('1796100000.1');
    recordings.submit(job('1796100000.1'));
    await eventually(async () => (await rows()).length === 1 || undefined); // kept while it runs
    await recordings.drain();
    expect(await finishedOf('1796100000.1.wav')).toHaveLength(1);
    expect(existsSync(file)).toBe(false);
    expect(await rows()).toEqual([]);

    recordings.submit(job('1796100000.2')); // no file: the call was not recorded after all
    await recordings.drain();
    expect(await rows()).toEqual([]);
    expect(logs.lines).toContainEqual(expect.stringMatching(/^warn recording 1796100000\.2\.wav not found/));
  });

  it('tries a recording the object store could not take again, and stores it under a seq no other event of its call has', async () => {
    const recordings = service();
    const file = wavFor('1796100000.3');
    storeDown = true;
    recordings.submit(job('1796100000.3', 4));
    await recordings.drain(20_000);
    const [kept] = await rows();
    expect(kept).toMatchObject({ fileName: '1796100000.3.wav', attempts: 1, lastError: 'object store down' });
    expect(lateRecordingSeq('1796100000.3.wav')).toBeGreaterThanOrEqual(2_000_000);
    expect(logs.lines).toContainEqual(expect.stringMatching(/^warn recording 1796100000\.3\.wav \(call pbx1:1796100000\.3\) failed \(attempt 1; tried again in 0 s\): object store down/));
    expect(existsSync(file)).toBe(true);

    storeDown = false;
    await eventually(async () => (await recordings.retryDue()) === 1 || undefined, 5000);
    await recordings.drain();
    // Its call is forgotten (no takeSeq here): the envelope's seq 4 is its next event's by now.
    const [finished] = await finishedOf('1796100000.3.wav');
    expect(finished).toMatchObject({ seq: lateRecordingSeq('1796100000.3.wav'), event_id: job('1796100000.3').envelope.event_id, object_name: '1003/1796100000.3.wav' });
    expect((await (await new Objm(env.nc).open(RECORDINGS_BUCKET)).info('1003/1796100000.3.wav'))?.size).toBe(pcmWav(8000).length);
    expect(await rows()).toEqual([]);
    expect(existsSync(file)).toBe(false);
  }, 40_000);

  it('takes up the job a stopped process left once its lease ran out, and leases it to one process only', async () => {
    const file = wavFor('1796100000.4');
    await repository.add(job('1796100000.4'), 60_000); // the process that made it stopped before storing it
    expect(await service().retryDue()).toBe(0); // leased: perhaps it is still at work
    await env.prisma!.recordingJob.updateMany({ data: { nextAttemptAt: new Date(Date.now() - 1) } });
    const [a, b] = await Promise.all([repository.claimDue(10, 60_000), repository.claimDue(10, 60_000)]);
    expect(a.length + b.length).toBe(1);
    await env.prisma!.recordingJob.updateMany({ data: { nextAttemptAt: new Date(Date.now() - 1) } });

    const next = service();
    expect(await next.retryDue()).toBe(1);
    await next.drain();
    expect(await finishedOf('1796100000.4.wav')).toHaveLength(1);
    expect(await rows()).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });

  it('hands the jobs still running back at shutdown, so the next process need not wait for their lease', async () => {
    wavFor('1796100000.6');
    const hanging = { open: () => new Promise(() => undefined) } as unknown as RecordingStore; // NATS never answers
    const stopping = new RecordingsService(hanging, publisher, { dir: env.recordingsDir, waitMs: 1000, stableMs: 100, jobs: repository, logger: logs });
    stopping.submit(job('1796100000.6'));
    await eventually(async () => (await rows()).length === 1 || undefined);
    expect(await service().retryDue()).toBe(0); // leased to the process at work on it
    await stopping.drain(1500);
    expect(await stopping.releaseUnfinished()).toBe(1);
    const next = service();
    expect(await next.retryDue()).toBe(1);
    await next.drain();
    expect(await finishedOf('1796100000.6.wav')).toHaveLength(1);
    expect(await rows()).toEqual([]);
  });

  it('gives a job up once it has failed for `forMs`: said as an error, its file stays', async () => {
    const recordings = service({ forMs: 0 });
    const file = wavFor('1796100000.5');
    storeDown = true;
    recordings.submit(job('1796100000.5'));
    await recordings.drain(20_000);
    expect(await rows()).toEqual([]);
    expect(logs.lines).toContainEqual(expect.stringMatching(/^error recording 1796100000\.5\.wav \(call pbx1:1796100000\.5\) failed for 0 min, given up \(its files stay in .*\): object store down/));
    expect(existsSync(file)).toBe(true);
  }, 40_000);
});
