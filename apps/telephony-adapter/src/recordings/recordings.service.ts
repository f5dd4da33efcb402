import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm, ObjectStore, StorageType } from '@nats-io/obj';
import { RECORDINGS_BUCKET } from '@ringcloud/contracts-telephony';
import { FORGOTTEN_SEQ, LeftRecording, recordingPartName } from '../calls/call-normaliser';
import { RecordingJob } from '../calls/domain-events';
import { TelephonyEventPublisher } from '../calls/event-publisher';
import { WavInfo, readWavInfo, sameWavFormat, wavHeader } from './wav';
import { RecordingJobStore } from './recording-jobs.repository';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** The most parts a transferred call's recording is looked for in (RECORDING_PART's n ≤ 99). */
const MAX_PARTS = 99;

export interface RecordingsOptions {
  dir: string;
  /** How long to wait for the file to exist and stop growing. */
  waitMs: number;
  /** Size must stay the same this long to count as complete. */
  stableMs?: number;
  /** The call's seq at publish time (CallNormaliser.takeSeq). */
  takeSeq?: (callKey: string) => number | undefined;
  /**
   * Keep the file in `dir` once stored. Off (the default), it is removed when the object store holds
   * the same bytes: the store is the copy the API serves, and the PBX's spool would fill its disk.
   */
  keepLocal?: boolean;
  /**
   * Keeps every job until it is done, so one that failed (the object store away) is tried again,
   * by this process or the next. Without it a failure is only logged: the files stay in `dir`.
   */
  jobs?: RecordingJobStore;
  retry?: Partial<RetryPolicy>;
  logger: { log(m: string): void; warn(m: string): void; error(m: string): void };
}

export interface RetryPolicy {
  /** The wait after the first failure; it doubles after each, up to `maxMs`. */
  firstMs: number;
  maxMs: number;
  /** A job failing this long after it was made is given up (an error; its files stay). */
  forMs: number;
  /** How long a job is leased to the process working on it (longer than one attempt can take). */
  leaseMs: number;
}

export const RECORDING_RETRY: RetryPolicy = { firstMs: 30_000, maxMs: 600_000, forMs: 86_400_000, leaseMs: 120_000 };

/**
 * A recording's seq once its call is forgotten: a forgotten call's own (FORGOTTEN_SEQ + 1); else
 * the envelope's is the seq the call's next event took — a late one instead.
 */
function seqOfForgotten(job: RecordingJob): number {
  return job.envelope.seq >= FORGOTTEN_SEQ ? job.envelope.seq : lateRecordingSeq(job.fileName);
}

/**
 * The seq of a recording published after its call was forgotten (a retry minutes or a restart
 * later): above the calls' own seqs (and FORGOTTEN_SEQ's), one per file, so it cannot take the seq
 * another event of the call has — calls-service would skip it as a reused seq.
 */
export function lateRecordingSeq(fileName: string): number {
  let hash = 0x811c9dc5;
  for (const ch of fileName) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return 2 * FORGOTTEN_SEQ + (hash % FORGOTTEN_SEQ);
}

/** The JetStream object store bucket RECORDINGS, created at start when missing. */
export class RecordingStore {
  private store?: Promise<ObjectStore>;

  constructor(private readonly nc: NatsConnection) {}

  open(): Promise<ObjectStore> {
    this.store ??= new Objm(this.nc).create(RECORDINGS_BUCKET, { storage: StorageType.File }).catch((err) => {
      this.store = undefined;
      throw err;
    });
    return this.store;
  }
}

/**
 * After a recorded channel hangs up: waits for the MixMonitor file to be complete (its size
 * stops changing), stores it in the object store as `<account>/<file_name>`, reads its length
 * from the WAV header and publishes `telephony.recording.finished`. A missing file is a warning
 * (the call may not have been recorded after all); nothing here may take the process down.
 */
export class RecordingsService {
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Files of the jobs this process works on now: a retry sweep does not start them twice. */
  private readonly working = new Set<string>();
  /** Error codes a removal already warned about: a read-only spool says so once, not per call. */
  private readonly removalWarned = new Set<string>();
  private readonly retry: RetryPolicy;
  private retryTimer?: NodeJS.Timeout;
  /** Set by releaseUnfinished (shutdown): the jobs still running write nothing more. */
  private stopped = false;

  constructor(
    private readonly store: RecordingStore,
    private readonly publisher: TelephonyEventPublisher,
    private readonly options: RecordingsOptions,
  ) {
    this.retry = { ...RECORDING_RETRY, ...options.retry };
  }

  /**
   * The recording a call left in the folder, found by its first channel's Uniqueid (the Linkedid:
   * the dial plan's `${UNIQUEID}.wav`), for a call that ended while this process was away — with
   * the later parts a transfer made (`<Uniqueid>-2.wav` …, CallNormaliser's continueRecording).
   */
  async leftBehind(linkedid: string): Promise<LeftRecording | undefined> {
    const fileName = `${linkedid}.wav`;
    if (!FILE_NAME.test(fileName) || fileName.includes('..')) return undefined;
    const found = await this.fileStat(fileName);
    if (!found) return undefined;
    // birthtime is 0 (or the ctime) where the file system keeps none.
    const born = found.birthtimeMs > 0 && found.birthtimeMs <= found.mtimeMs ? found.birthtimeMs : found.mtimeMs;
    const continuation: string[] = [];
    let lastWriteMs = found.mtimeMs;
    for (let n = 2; n <= MAX_PARTS; n++) {
      const name = recordingPartName(linkedid, n);
      const part = await this.fileStat(name);
      if (!part) break;
      continuation.push(name);
      lastWriteMs = Math.max(lastWriteMs, part.mtimeMs);
    }
    return { fileName, startedAtMs: born, lastWriteMs, ...(continuation.length ? { continuation } : {}) };
  }

  private async fileStat(fileName: string) {
    const found = await stat(path.join(this.options.dir, fileName)).catch(() => undefined);
    return found?.isFile() && found.size > 0 ? found : undefined;
  }

  /** Starts processing in the background (kept in `jobs` first); `drain()` waits for what is running. */
  submit(job: RecordingJob): void {
    this.run(job, 0, Date.now());
  }

  /** Looks for due jobs now and every `everyMs`: failed ones, and those a stopped process left. */
  startRetrying(everyMs = 30_000): void {
    if (!this.options.jobs || this.retryTimer) return;
    const sweep = () =>
      void this.retryDue().catch((err: Error) => this.options.logger.warn(`recordings to retry not read: ${err.message}`));
    this.retryTimer = setInterval(sweep, everyMs);
    this.retryTimer.unref();
    sweep();
  }

  stopRetrying(): void {
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }

  /**
   * At shutdown, after the last drain: the jobs still running here are handed back (due now), so the
   * next process takes them up at once rather than when their lease ends. Resolves with how many.
   */
  async releaseUnfinished(): Promise<number> {
    this.stopped = true;
    const unfinished = [...this.working];
    if (!this.options.jobs || !unfinished.length) return 0;
    await this.options.jobs.release(unfinished).catch((err: Error) => this.options.logger.warn(`recordings in progress not handed back (${err.message}): taken up when their lease ends`));
    return unfinished.length;
  }

  /** Starts the jobs that are due; resolves with how many. */
  async retryDue(): Promise<number> {
    if (!this.options.jobs) return 0;
    const due = await this.options.jobs.claimDue(20, this.retry.leaseMs);
    for (const kept of due) this.run(kept.job, kept.attempts, kept.createdAt.getTime());
    return due.length;
  }

  private run(job: RecordingJob, attempts: number, since: number): void {
    if (this.working.has(job.fileName)) return;
    this.working.add(job.fileName);
    const run = this.attempt(job, attempts, since).finally(() => {
      this.working.delete(job.fileName);
      this.inFlight.delete(run);
    });
    this.inFlight.add(run);
  }

  private async attempt(job: RecordingJob, attempts: number, since: number): Promise<void> {
    const { jobs, logger } = this.options;
    const what = `recording ${job.fileName} (call ${job.envelope.call_id})`;
    if (attempts === 0 && jobs) {
      await jobs.add(job, this.retry.leaseMs).catch((err: Error) => logger.warn(`${what} not kept for a retry (${err.message}): if storing it fails, it is not tried again`));
    }
    try {
      await this.process(job);
    } catch (err) {
      // Handed back at shutdown: the next process has it (and the database may be closed).
      if (this.stopped) return;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return this.retryLater(job, attempts + 1, since, err as Error);
      // Gone while it was read: another process stored it (a retry racing a slow first attempt).
      logger.warn(`${what}: its file went away while it was stored (${(err as Error).message}); nothing more to do`);
    }
    if (this.stopped) return; // finished after it was handed back: the next process finds nothing to do
    await jobs?.done(job).catch((err: Error) => logger.warn(`${what} done, but its job stays (${err.message}): it may be stored and told again, the same`));
  }

  private async retryLater(job: RecordingJob, attempts: number, since: number, err: Error): Promise<void> {
    const { jobs, logger, dir } = this.options;
    const what = `recording ${job.fileName} (call ${job.envelope.call_id})`;
    if (!jobs) {
      logger.error(`${what} failed: ${err.message}`);
      return;
    }
    if (Date.now() - since >= this.retry.forMs) {
      logger.error(`${what} failed for ${Math.round((Date.now() - since) / 60_000)} min, given up (its files stay in ${dir}): ${err.message}`);
      await jobs.done(job).catch(() => undefined);
      return;
    }
    const waitMs = Math.min(this.retry.maxMs, this.retry.firstMs * 2 ** (attempts - 1));
    const kept = await jobs.failed(job, attempts, new Date(Date.now() + waitMs), err.message).catch((keepErr: Error) => keepErr);
    if (kept === true) logger.warn(`${what} failed (attempt ${attempts}; tried again in ${Math.round(waitMs / 1000)} s): ${err.message}`);
    else logger.error(`${what} failed, and is not kept for a retry (${kept === false ? 'no job of it is kept' : kept.message}; its files stay in ${dir}): ${err.message}`);
  }

  async drain(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Stores one recording and publishes its event; resolves false when there was nothing to store. */
  async process(job: RecordingJob): Promise<boolean> {
    const { logger } = this.options;
    const names = [job.fileName, ...(job.continuation ?? [])];
    const refused = names.find((name) => !FILE_NAME.test(name) || name.includes('..'));
    if (refused !== undefined) {
      logger.warn(`recording file name ${JSON.stringify(refused)} refused (call ${job.envelope.call_id})`);
      return false;
    }
    const recording = await this.read(job, names);
    if (!recording) {
      logger.warn(`recording ${job.fileName} not found in ${this.options.dir} (call ${job.envelope.call_id}); nothing stored`);
      return false;
    }
    if (!recording.wav) logger.warn(`recording ${job.fileName} has no readable WAV header; stored with duration 0`);
    if (recording.wav?.dataBytes === 0) {
      // A bare header: MixMonitor ran, but the call never talked (busy, unanswered). Nothing would
      // list it (calls-service shows recordings with audio only): not stored, not kept.
      logger.log(`recording ${job.fileName} (call ${job.envelope.call_id}) has no audio; not stored`);
      if (!this.options.keepLocal) for (const file of recording.files) await this.removeLocal(file);
      return false;
    }

    const account = job.envelope.account_id;
    if (account === null) logger.warn(`recording ${job.fileName}: call ${job.envelope.call_id} has no account; stored under unassigned/`);
    const objectName = `${account ?? 'unassigned'}/${job.fileName}`;
    await this.put(objectName, recording.bytes);

    const published = await this.publisher.publishConfirmed({
      kind: 'recording.finished',
      payload: {
        ...job.envelope,
        seq: this.options.takeSeq?.(job.callKey) ?? seqOfForgotten(job),
        user: job.user,
        file_name: job.fileName,
        object_name: objectName,
        content_type: 'audio/wav',
        size: recording.size,
        duration_s: recording.wav?.durationS ?? 0,
        recorded_at: job.recordedAt,
      },
    });
    const files = recording.files.map((f) => path.basename(f)).join(', ');
    if (!published) {
      // Nothing would list it: the files stay where the PBX wrote them, for a retry or an operator.
      logger.warn(`recording ${objectName} stored, but its event was not published (the publisher stopped): ${files} stay in ${this.options.dir}`);
      return true;
    }
    const joined = recording.files.length > 1 ? ` from ${recording.files.length} parts (${files})` : '';
    logger.log(`recording ${objectName} stored (${recording.size} bytes, ${recording.wav?.durationS ?? 0} s)${joined}`);
    if (!this.options.keepLocal) for (const file of recording.files) await this.removeLocal(file);
    return true;
  }

  /**
   * The recording's bytes once its files are complete: one file as it is, or the parts of a
   * transferred call's recording joined into one WAV (their audio one after the other). Parts that
   * are missing are left out; parts that cannot be joined (not WAV, another format) leave the first
   * alone stored, and stay in the folder.
   */
  private async read(job: RecordingJob, names: string[]): Promise<StoredRecording | null> {
    const parts: Array<{ file: string; size: number; wav: WavInfo | null }> = [];
    for (const name of names) {
      const file = path.join(this.options.dir, name);
      const size = await this.waitUntilComplete(file);
      if (size === null) {
        if (names.length > 1) this.options.logger.warn(`recording ${job.fileName}: part ${name} not found in ${this.options.dir}; stored without it`);
        continue;
      }
      parts.push({ file, size, wav: readWavInfo(await readHead(file, 64 * 1024), size) });
    }
    if (parts.length === 0) return null;
    const [first, ...later] = parts;
    const fileBytes = (file: string) => () => fileChunks(file);
    const format = first.wav;
    if (later.length === 0 || !format) return { files: [first.file], size: first.size, wav: first.wav, bytes: fileBytes(first.file) };
    const odd = later.find((p) => !p.wav || !sameWavFormat(format, p.wav));
    if (odd) {
      this.options.logger.warn(`recording ${job.fileName}: part ${path.basename(odd.file)} is not audio of the same format; stored the first part only, the others stay in ${this.options.dir}`);
      return { files: [first.file], size: first.size, wav: first.wav, bytes: fileBytes(first.file) };
    }
    const audio = parts.map((p) => ({ file: p.file, start: p.wav!.dataOffset, bytes: p.wav!.dataBytes }));
    const dataBytes = audio.reduce((n, a) => n + a.bytes, 0);
    const header = wavHeader(format, dataBytes);
    return {
      files: parts.map((p) => p.file),
      size: header.length + dataBytes,
      wav: { ...format, dataOffset: header.length, dataBytes, durationS: Math.round((dataBytes / format.byteRate) * 1000) / 1000 },
      bytes: async function* () {
        yield header;
        for (const a of audio) if (a.bytes > 0) yield* fileChunks(a.file, a.start, a.start + a.bytes - 1);
      },
    };
  }

  private async removeLocal(file: string): Promise<void> {
    try {
      await unlink(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
      if (code === 'ENOENT' || this.removalWarned.has(code)) return;
      this.removalWarned.add(code);
      this.options.logger.warn(
        `cannot remove stored recordings from ${this.options.dir} (${code}): they stay there — mount it writable, or set RECORDINGS_KEEP_LOCAL=true and clean it up otherwise`,
      );
    }
  }

  /**
   * Uploads unless the same bytes are already there (a replayed job); retries NATS hiccups. Resolves
   * only when the store holds the file's bytes (its digest), so the file may then be removed.
   */
  private async put(objectName: string, bytes: () => AsyncIterable<Buffer>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const digest = `SHA-256=${await sha256(bytes())}`;
        const store = await this.store.open();
        const existing = await store.info(objectName);
        if (existing && !existing.deleted && existing.digest === digest) return;
        const stream = Readable.toWeb(Readable.from(bytes())) as unknown as ReadableStream<Uint8Array>;
        const stored = await store.put({ name: objectName, description: 'call recording' }, stream);
        // The file changed while it was read (it should not: it had stopped growing): try again.
        if (stored.digest !== digest) throw new Error(`stored digest ${stored.digest} is not the file's ${digest}`);
        return;
      } catch (err) {
        if (attempt >= 5 || this.stopped) throw err;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  /** The file's size once it exists and has stopped growing, or null when it never appears. */
  private async waitUntilComplete(file: string): Promise<number | null> {
    const deadline = Date.now() + this.options.waitMs;
    const stableMs = this.options.stableMs ?? 300;
    let last = -1;
    let since = Date.now();
    for (;;) {
      const size = await stat(file).then(
        (s) => (s.isFile() ? s.size : -1),
        () => -1,
      );
      if (size !== last) {
        last = size;
        since = Date.now();
      } else if (size > 0 && Date.now() - since >= stableMs) return size;
      if (Date.now() >= deadline) {
        if (size > 0) this.options.logger.warn(`recording ${path.basename(file)} still growing after ${this.options.waitMs} ms; storing it as is`);
        return size > 0 ? size : null;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The object store's digest format: base64url SHA-256 (with padding, as nats.js writes it). */
async function sha256(bytes: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of bytes) hash.update(chunk);
  return hash.digest('base64url') + '=';
}

/** A file's bytes (from `start` to `end`, inclusive, when given). */
async function* fileChunks(file: string, start?: number, end?: number): AsyncIterable<Buffer> {
  for await (const chunk of createReadStream(file, { start, end })) yield chunk as Buffer;
}

interface StoredRecording {
  /** The files it was made of (removed once it is stored and told). */
  files: string[];
  size: number;
  wav: WavInfo | null;
  /** Its bytes, as often as they are needed (digest, upload). */
  bytes: () => AsyncIterable<Buffer>;
}
