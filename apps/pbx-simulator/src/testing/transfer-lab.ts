import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AmiMessage } from '../ami/protocol';
import { memoryLogger } from '../log';
import { RunningSimulator, SimulatorConfig, startSimulator } from '../simulator';
import { TestAmiClient } from './ami-client';
import { TestSchema, assignDid, createRealtimeSchema, provisionUser } from './realtime-schema';

/** Who the transfer tests' simulator knows: an employee answering a DID and a colleague, of one account. */
export interface TransferLabUsers {
  account: number;
  /** [user, extension] of the employee, whom the DID rings. */
  alice: [string, string];
  /** [user, extension] of the colleague. */
  bob: [string, string];
  did: string;
}

export interface TransferLab {
  readonly db: TestSchema;
  readonly sim: RunningSimulator;
  readonly ami: TestAmiClient;
  /** POSTs to the simulator's control API. */
  post<T = Record<string, string>>(p: string, body: unknown): Promise<{ status: number; body: T }>;
}

export const field = (m: AmiMessage, k: string) => m.get(k) ?? '';

/**
 * A simulator running the shipped dial plan at `timeScale` with both users registered, for the
 * file's tests (started in beforeAll, an AMI session per test), as the blind and attended
 * transfer tests use it. `config` adds to or overrides the defaults (talk time, SIP address…).
 */
export function useTransferLab(users: TransferLabUsers, timeScale: number, config: Partial<SimulatorConfig> = {}): TransferLab {
  let db: TestSchema;
  let dir: string;
  const lab = {} as { sim: RunningSimulator; ami: TestAmiClient };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pbx-xfer-'));
    db = await createRealtimeSchema();
    await provisionUser(db, { user: users.alice[0], account: users.account, num: users.alice[1] });
    await provisionUser(db, { user: users.bob[0], account: users.account, num: users.bob[1] });
    await assignDid(db, { did: users.did, account: users.account, num: users.alice[1] });
    lab.sim = await startSimulator({
      amiPort: 0,
      controlPort: 0,
      databaseUrl: db.url,
      recordingsDir: dir,
      timeScale,
      answerDelayMs: 1000 * timeScale,
      autoRegister: true,
      provisioningPollMs: 100,
      qualifyDelayMs: 50,
      voicemailDir: path.join(dir, 'voicemail'),
      logger: memoryLogger(),
      ...config,
    });
  });

  beforeEach(async () => {
    lab.ami = await TestAmiClient.login(lab.sim.amiPort);
    await lab.ami.action('Ping');
  });

  afterEach(() => lab.ami.close());

  afterAll(async () => {
    await lab.sim?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    get db() {
      return db;
    },
    get sim() {
      return lab.sim;
    },
    get ami() {
      return lab.ami;
    },
    async post<T>(p: string, body: unknown) {
      const res = await fetch(`http://127.0.0.1:${lab.sim.controlPort}${p}`, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as T };
    },
  };
}
