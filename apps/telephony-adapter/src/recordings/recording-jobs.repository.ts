import { RecordingJob } from '../calls/domain-events';
import { PrismaClient } from '../infra/database';

/** A job read back to run: how often it failed before, and since when it exists. */
export interface KeptRecordingJob {
  job: RecordingJob;
  attempts: number;
  createdAt: Date;
}

/** Where RecordingsService keeps its jobs until they are done (recording_jobs; tests may pass another). */
export interface RecordingJobStore {
  /** Keeps a new job, leased to this process for `leaseMs`. Keeping one already there changes nothing. */
  add(job: RecordingJob, leaseMs: number): Promise<void>;
  /** The job is done (stored and told, or nothing to store): forgotten. */
  done(job: RecordingJob): Promise<void>;
  /** The job failed: tried again at `nextAt`. False when it is not kept (never was, or done elsewhere). */
  failed(job: RecordingJob, attempts: number, nextAt: Date, error: string): Promise<boolean>;
  /** These jobs are due now: their process stops before finishing them (no wait for its lease to end). */
  release(fileNames: readonly string[]): Promise<void>;
  /** Up to `limit` jobs that are due, each leased to the caller for `leaseMs` (no other process takes it meanwhile). */
  claimDue(limit: number, leaseMs: number): Promise<KeptRecordingJob[]>;
}

/** recording_jobs of one PBX node: its recordings folder is that PBX's. */
export class RecordingJobsRepository implements RecordingJobStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly node: string,
  ) {}

  async add(job: RecordingJob, leaseMs: number): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO recording_jobs (node, file_name, job, next_attempt_at)
      VALUES (${this.node}, ${job.fileName}, ${JSON.stringify(job)}::jsonb, now() + ${leaseMs} * interval '1 millisecond')
      ON CONFLICT (node, file_name) DO NOTHING`;
  }

  async done(job: RecordingJob): Promise<void> {
    await this.prisma.recordingJob.deleteMany({ where: { node: this.node, fileName: job.fileName } });
  }

  async failed(job: RecordingJob, attempts: number, nextAt: Date, error: string): Promise<boolean> {
    // An update only: a row another process deleted meanwhile (it stored the recording) stays deleted.
    const updated = await this.prisma.recordingJob.updateMany({
      where: { node: this.node, fileName: job.fileName },
      data: { attempts, nextAttemptAt: nextAt, lastError: error.slice(0, 1000) },
    });
    return updated.count > 0;
  }

  async release(fileNames: readonly string[]): Promise<void> {
    if (!fileNames.length) return;
    await this.prisma.recordingJob.updateMany({ where: { node: this.node, fileName: { in: [...fileNames] } }, data: { nextAttemptAt: new Date() } });
  }

  async claimDue(limit: number, leaseMs: number): Promise<KeptRecordingJob[]> {
    const rows = await this.prisma.$queryRaw<Array<{ job: RecordingJob; attempts: number; created_at: Date }>>`
      UPDATE recording_jobs SET next_attempt_at = now() + ${leaseMs} * interval '1 millisecond'
      WHERE (node, file_name) IN (
        SELECT node, file_name FROM recording_jobs
        WHERE node = ${this.node} AND next_attempt_at <= now()
        ORDER BY next_attempt_at LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING job, attempts, created_at`;
    return rows.map((r) => ({ job: r.job, attempts: r.attempts, createdAt: r.created_at }));
  }
}
