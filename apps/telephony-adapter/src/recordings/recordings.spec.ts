import { appendFileSync, existsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Objm } from '@nats-io/obj';
import { RECORDINGS_BUCKET, RecordingFinished, TELEPHONY_EVENTS_STREAM } from '@ringcloud/contracts-telephony';
import { ensureStream, jetstream } from '@ringcloud/nest-nats';
import { jetstreamManager } from '@nats-io/jetstream';
import { RecordingJob } from '../calls/domain-events';
import { TelephonyEventPublisher } from '../calls/event-publisher';
import { TestEnv, eventually } from '../testing/test-env';
import { RecordingStore, RecordingsService } from './recordings.service';
import { pcmWav, readWavInfo } from './wav';
import { Logs } from '../testing/logs';

const job = (fileName: string, account: number | null = 1002): RecordingJob => ({
  callKey: '1795704110.0',
  envelope: {
    event_id: `pbx1:1795704110.0:recording.finished:${fileName}`,
    call_id: 't-pjsip',
    seq: 3,
    node: 'pbx1',
    occurred_at: '2026-11-26T14:41:54.000Z',
    account_id: account,
  },
  user: '1679728441',
  fileName,
  channel: 'PJSIP/1679728441-00000000',
  recordedAt: '2026-11-26 14:41:51',
});

describe('RecordingsService (real NATS object store and JetStream)', () => {
  let env: TestEnv;
  let logs: Logs;
  let service: RecordingsService;
  let publisher: TelephonyEventPublisher;

  beforeAll(async () => {
    env = await TestEnv.start({ database: false });
    await ensureStream(env.nc, TELEPHONY_EVENTS_STREAM);
  });
  afterAll(async () => env?.stop());
  beforeEach(() => {
    logs = new Logs();
    publisher = new TelephonyEventPublisher(jetstream(env.nc), logs);
    // The call is still known: its next seq is 3 (a forgotten call's recording: recording-jobs.spec).
    service = new RecordingsService(new RecordingStore(env.nc), publisher, { dir: env.recordingsDir, waitMs: 3000, stableMs: 200, takeSeq: () => 3, logger: logs });
  });

  const finished = async () => (await env.streamMessages(TELEPHONY_EVENTS_STREAM.name)).filter((m) => m.subject === RecordingFinished.subject);

  it('waits for the file to stop growing, stores it as <account>/<file> and publishes recording.finished', async () => {
    const file = path.join(env.recordingsDir, '1795704110.0.wav');
    const wav = pcmWav(8000 * 3); // 3 s at 8 kHz 16-bit mono
    // MixMonitor is still writing when the hang-up arrives: the file grows for a while.
    writeFileSync(file, wav.subarray(0, 1000));
    const writer = (async () => {
      for (let offset = 1000; offset < wav.length; offset += 12_000) {
        await new Promise((r) => setTimeout(r, 60));
        appendFileSync(file, wav.subarray(offset, Math.min(wav.length, offset + 12_000)));
      }
    })();
    expect(await service.process(job('1795704110.0.wav'))).toBe(true);
    await writer;

    const store = await new Objm(env.nc).open(RECORDINGS_BUCKET);
    expect(Buffer.from((await store.getBlob('1002/1795704110.0.wav'))!)).toEqual(wav);
    await publisher.flush();
    const events = await finished();
    expect(events).toHaveLength(1);
    expect(events[0].msgId).toBe('pbx1:1795704110.0:recording.finished:1795704110.0.wav');
    expect(RecordingFinished.event.parse(events[0].data)).toEqual({
      event_id: 'pbx1:1795704110.0:recording.finished:1795704110.0.wav',
      call_id: 't-pjsip',
      seq: 3,
      node: 'pbx1',
      occurred_at: '2026-11-26T14:41:54.000Z',
      account_id: 1002,
      user: '1679728441',
      file_name: '1795704110.0.wav',
      object_name: '1002/1795704110.0.wav',
      content_type: 'audio/wav',
      size: wav.length,
      duration_s: 3,
      recorded_at: '2026-11-26 14:41:51',
    });

    // Stored: the PBX's copy is removed (its spool would fill the disk).
    expect(existsSync(file)).toBe(false);

    // The same job again (a replay, the file still there): the object is not rewritten, the event is deduplicated.
    writeFileSync(file, wav);
    const before = await store.info('1002/1795704110.0.wav');
    expect(await service.process(job('1795704110.0.wav'))).toBe(true);
    await publisher.flush();
    expect((await store.info('1002/1795704110.0.wav'))!.revision).toBe(before!.revision);
    expect(await finished()).toHaveLength(1);
  });

  describe('a recording in parts (a transfer took the recorded channel away; the rest was recorded on the channel that stayed)', () => {
    const tone = (samples: number, value: number) => pcmWav(new Int16Array(samples).fill(value));
    const parts = (name: string, continuation: string[]): RecordingJob => ({ ...job(name), continuation });

    it('stores the parts joined as one WAV under the first part\'s name, with their total length, and removes every part', async () => {
      const first = tone(8000 * 2, 1000); // 2 s
      const second = tone(8000 * 3, -2000); // 3 s
      writeFileSync(path.join(env.recordingsDir, '1796400000.1.wav'), first);
      writeFileSync(path.join(env.recordingsDir, '1796400000.1-2.wav'), second);
      expect(await service.process(parts('1796400000.1.wav', ['1796400000.1-2.wav']))).toBe(true);

      const stored = Buffer.from((await (await new Objm(env.nc).open(RECORDINGS_BUCKET)).getBlob('1002/1796400000.1.wav'))!);
      const info = readWavInfo(stored, stored.length)!;
      expect(info).toMatchObject({ audioFormat: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16, durationS: 5 });
      // The first part's audio, then the second's, byte for byte.
      expect(stored.subarray(44)).toEqual(Buffer.concat([first.subarray(44), second.subarray(44)]));
      await publisher.flush();
      const event = (await finished()).map((m) => RecordingFinished.event.parse(m.data)).find((e) => e.file_name === '1796400000.1.wav');
      expect(event).toMatchObject({ object_name: '1002/1796400000.1.wav', size: stored.length, duration_s: 5 });
      expect(existsSync(path.join(env.recordingsDir, '1796400000.1.wav'))).toBe(false);
      expect(existsSync(path.join(env.recordingsDir, '1796400000.1-2.wav'))).toBe(false);
      expect(logs.lines).toContainEqual(expect.stringMatching(/^log recording 1002\/1796400000\.1\.wav stored \(\d+ bytes, 5 s\) from 2 parts/));
    });

    it('leaves out a part that never came (its MixMonitor was refused), and stores the rest', async () => {
      writeFileSync(path.join(env.recordingsDir, '1796400000.2.wav'), tone(8000, 5));
      expect(await service.process(parts('1796400000.2.wav', ['1796400000.2-2.wav']))).toBe(true);
      const stored = Buffer.from((await (await new Objm(env.nc).open(RECORDINGS_BUCKET)).getBlob('1002/1796400000.2.wav'))!);
      expect(readWavInfo(stored, stored.length)?.durationS).toBe(1);
      expect(logs.lines).toContainEqual(expect.stringMatching(/^warn recording 1796400000\.2\.wav: part 1796400000\.2-2\.wav not found/));
    }, 20_000);

    it('stores the first part alone when a later one is not audio of the same format, and keeps that part in the folder', async () => {
      writeFileSync(path.join(env.recordingsDir, '1796400000.3.wav'), tone(8000, 5));
      const odd = path.join(env.recordingsDir, '1796400000.3-2.wav');
      writeFileSync(odd, pcmWav(16000, 16000)); // 16 kHz: its bytes would play at the wrong speed
      expect(await service.process(parts('1796400000.3.wav', ['1796400000.3-2.wav']))).toBe(true);
      const stored = Buffer.from((await (await new Objm(env.nc).open(RECORDINGS_BUCKET)).getBlob('1002/1796400000.3.wav'))!);
      expect(stored).toEqual(tone(8000, 5));
      expect(existsSync(odd)).toBe(true);
      expect(logs.lines).toContainEqual(expect.stringMatching(/part 1796400000\.3-2\.wav is not audio of the same format; stored the first part only/));
    });

    it('refuses a part whose name could leave the recordings folder, and stores nothing', async () => {
      writeFileSync(path.join(env.recordingsDir, '1796400000.4.wav'), tone(800, 5));
      expect(await service.process(parts('1796400000.4.wav', ['../1796400000.4-2.wav']))).toBe(false);
      expect(existsSync(path.join(env.recordingsDir, '1796400000.4.wav'))).toBe(true);
      expect(logs.lines.filter((l) => l.includes('refused'))).toHaveLength(1);
    });
  });

  it('keeps the file with keepLocal (RECORDINGS_KEEP_LOCAL=true), and never removes one it could not store', async () => {
    const kept = path.join(env.recordingsDir, '1795704111.0.wav');
    writeFileSync(kept, pcmWav(800));
    service = new RecordingsService(new RecordingStore(env.nc), publisher, { dir: env.recordingsDir, waitMs: 3000, stableMs: 100, logger: logs, keepLocal: true });
    expect(await service.process(job('1795704111.0.wav'))).toBe(true);
    expect(existsSync(kept)).toBe(true);

    // The object store unreachable: the job fails, the file stays for a later look.
    const failing = path.join(env.recordingsDir, '1795704112.0.wav');
    writeFileSync(failing, pcmWav(800));
    const broken = { open: async () => Promise.reject(new Error('object store down')) } as unknown as RecordingStore;
    service = new RecordingsService(broken, publisher, { dir: env.recordingsDir, waitMs: 3000, stableMs: 100, logger: logs });
    await expect(service.process(job('1795704112.0.wav'))).rejects.toThrow('object store down');
    expect(existsSync(failing)).toBe(true);
  }, 20_000);

  it("keeps the file when its event could not be published before the publisher stopped: stored, but nothing would list it", async () => {
    // No stream for the event: every publish fails and is retried until the publisher stops (a shutdown while NATS is away).
    const jsm = await jetstreamManager(env.nc);
    await jsm.streams.delete(TELEPHONY_EVENTS_STREAM.name);
    try {
      const stuck = new TelephonyEventPublisher(jetstream(env.nc), logs, { retryMinMs: 20, retryMaxMs: 50 });
      service = new RecordingsService(new RecordingStore(env.nc), stuck, { dir: env.recordingsDir, waitMs: 3000, stableMs: 100, logger: logs });
      const file = path.join(env.recordingsDir, '1795704113.0.wav');
      writeFileSync(file, pcmWav(800));
      const done = service.process(job('1795704113.0.wav'));
      await eventually(() => logs.lines.some((l) => l.startsWith('warn publishing telephony events failed')));
      await new Promise((r) => setTimeout(r, 200));
      expect(existsSync(file)).toBe(true);
      await stuck.stop();
      expect(await done).toBe(true);
      expect(existsSync(file)).toBe(true);
      expect(logs.lines).toContainEqual(expect.stringMatching(/^warn recording 1002\/1795704113\.0\.wav stored, but its event was not published/));
    } finally {
      await ensureStream(env.nc, TELEPHONY_EVENTS_STREAM);
    }
  }, 20_000);

  it('finds the recording a call left behind by its Linkedid (the dial plan names it ${UNIQUEID}.wav), and nothing else', async () => {
    const file = path.join(env.recordingsDir, '1796389828.6.wav');
    writeFileSync(file, pcmWav(800));
    const written = statSync(file).mtimeMs;
    expect(await service.leftBehind('1796389828.6')).toEqual({ fileName: '1796389828.6.wav', startedAtMs: expect.any(Number), lastWriteMs: written });
    expect((await service.leftBehind('1796389828.6'))!.startedAtMs).toBeLessThanOrEqual(written);
    writeFileSync(path.join(env.recordingsDir, '1796389828.7.wav'), '');
    expect(await service.leftBehind('1796389828.7')).toBeUndefined(); // empty: MixMonitor never wrote
    expect(await service.leftBehind('1796389828.8')).toBeUndefined();
    expect(await service.leftBehind('../1796389828.6')).toBeUndefined();
  });

  it("finds with it the later parts a transfer left (<Linkedid>-2.wav …, in order), and dates the call's end by the last", async () => {
    writeFileSync(path.join(env.recordingsDir, '1796389829.1.wav'), pcmWav(800));
    writeFileSync(path.join(env.recordingsDir, '1796389829.1-2.wav'), pcmWav(800));
    writeFileSync(path.join(env.recordingsDir, '1796389829.1-3.wav'), pcmWav(800));
    writeFileSync(path.join(env.recordingsDir, '1796389829.1-5.wav'), pcmWav(800)); // after a gap: not a part of this one
    const later = Date.now() / 1000 + 5;
    utimesSync(path.join(env.recordingsDir, '1796389829.1-3.wav'), later, later);
    expect(await service.leftBehind('1796389829.1')).toEqual({
      fileName: '1796389829.1.wav',
      continuation: ['1796389829.1-2.wav', '1796389829.1-3.wav'],
      startedAtMs: expect.any(Number),
      lastWriteMs: statSync(path.join(env.recordingsDir, '1796389829.1-3.wav')).mtimeMs,
    });
  });

  it('does not store a recording without audio (a bare WAV header: the call never talked), and removes its file', async () => {
    const before = (await finished()).length;
    const file = path.join(env.recordingsDir, '1796400001.0.wav');
    writeFileSync(file, pcmWav(0)); // 44 bytes, as MixMonitor leaves for an unanswered call
    expect(await service.process(job('1796400001.0.wav'))).toBe(false);
    expect(await (await new Objm(env.nc).open(RECORDINGS_BUCKET)).info('1002/1796400001.0.wav')).toBeNull();
    await publisher.flush();
    expect(await finished()).toHaveLength(before);
    expect(existsSync(file)).toBe(false);
    expect(logs.lines).toContainEqual(expect.stringMatching(/^log recording 1796400001\.0\.wav \(call t-pjsip\) has no audio; not stored/));
  });

  it('warns about a missing file and publishes nothing, without throwing', async () => {
    const before = (await finished()).length;
    const started = Date.now();
    service = new RecordingsService(new RecordingStore(env.nc), publisher, { dir: env.recordingsDir, waitMs: 300, logger: logs });
    expect(await service.process(job('1795709999.9.wav'))).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(logs.lines.some((l) => l.startsWith('warn') && l.includes('1795709999.9.wav not found'))).toBe(true);
    await publisher.flush();
    expect(await finished()).toHaveLength(before);
  });

  it('refuses file names that could leave the recordings folder', async () => {
    expect(await service.process(job('../etc/passwd'))).toBe(false);
    expect(await service.process(job('..'))).toBe(false);
    expect(logs.lines.filter((l) => l.includes('refused'))).toHaveLength(2);
  });

  it('runs submitted jobs in the background and logs failures instead of throwing', async () => {
    writeFileSync(path.join(env.recordingsDir, 'noaccount.wav'), pcmWav(800));
    service.submit(job('noaccount.wav', null));
    await service.drain();
    await publisher.flush();
    await eventually(async () => (await finished()).some((e) => e.data.object_name === 'unassigned/noaccount.wav'));
    expect(logs.lines.some((l) => l.includes('has no account'))).toBe(true);
  });
});
