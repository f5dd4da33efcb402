import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseConf, value } from '@ringcloud/asterisk-conf';
import { createActions, loginEvents } from './ami/actions';
import { AmiServer } from './ami/server';
import { CLASSES } from './ami/session';
import { ControlServer } from './control/control-server';
import type { QueueDef } from './dialplan/dialplan';
import { SimClock } from './engine/clock';
import { Registrations } from './engine/devices';
import { CallEngine } from './engine/engine';
import { ProvisioningWatcher } from './engine/phones';
import { LogLevel, Logger, createLogger } from './log';
import { EMPTY_PJSIP, PjsipConfig, parsePjsipConf } from './realtime/config-objects';
import { EmptyRealtimeRepository, PgRealtimeRepository, RealtimeRepository } from './realtime/repository';

/** The shipped Asterisk configuration (the simulator behaves as Asterisk configured from it). */
export const DEFAULT_CONF_DIR = path.resolve(__dirname, '../../../docker/asterisk');

export interface SimulatorConfig {
  amiHost: string;
  /** 0 picks a free port (tests). */
  amiPort: number;
  controlHost: string;
  controlPort: number;
  username: string;
  secret: string;
  /** Realtime tables (`…?schema=telephony`); undefined or '' runs with the fixture dial plan only. */
  databaseUrl?: string;
  recordingsDir: string;
  /** Wall milliseconds a phone rings before answering. */
  answerDelayMs: number;
  /** Wall milliseconds the PSTN rings before answering (default: answerDelayMs; the contract's third lab). */
  pstnAnswerDelayMs?: number;
  /** Wall milliseconds a `ring_busy` phone rings before answering 486 Busy (default: answerDelayMs; fixtures 52/53). */
  busyDelayMs?: number;
  /** Wall milliseconds a realtime party B (or an answering phone) talks. */
  talkMs: number;
  /** PBX time runs this much faster (0.1: the dial plan's Wait(3) takes 300 ms). */
  timeScale: number;
  autoRegister: boolean;
  /** How often (wall ms) ps_endpoints is re-read to announce newly provisioned phones; 0 = never. */
  provisioningPollMs: number;
  /** Wall ms from a REGISTER to the first OPTIONS of an AOR with qualify_frequency (Asterisk: random 0..qualify s). */
  qualifyDelayMs: number;
  /** `host:port` the phones send SIP requests to (a REFER's Refer-To; default 127.0.0.1:5060). */
  sipAddress?: string;
  /** A phone's own call may go native_rtp with the phone it reaches (the ninth lab's 61/62; see EngineConfig). */
  ownInviteNativeRtp?: boolean;
  /** First sequence number of PJSIP channel names and Uniqueids (see EngineConfig). */
  firstSeq?: number;
  /** The phones and the PSTN are pjsua: 200 at once, UUID Call-IDs (the eleventh lab; see EngineConfig). */
  pjsuaPhones?: boolean;
  /** Asterisk configuration folder: extensions.conf, pjsip.conf and manager.conf are read from it. */
  confDir: string;
  /** extensions.conf to run (default `<confDir>/extensions.conf`). */
  dialplanFile?: string;
  /** pjsip.conf with the static objects (default `<confDir>/pjsip.conf`; '' = none). */
  pjsipFile?: string;
  /** The AMI user's `read` classes (default: manager.conf's section of the user, or `all`). */
  amiRead?: string;
  /** cel_manager events (CEL) on AMI: the first lab had them; docker/asterisk has no cel.conf. */
  cel: boolean;
  /** res_mwi_devstate loaded (`MWI:<box>` device states): autoload did, docker/asterisk's module list does not. */
  mwiDevstate?: boolean;
  /** app_voicemail's spool (default `<recordingsDir>/../voicemail`). */
  voicemailDir?: string;
  /** Queues for Queue() (queues.conf is not read; fixtures 00–22 use FIXTURE_QUEUES). */
  queues?: Record<string, QueueDef>;
  logLevel: LogLevel;
  logger?: Logger;
}

export const DEFAULT_CONFIG: SimulatorConfig = {
  amiHost: '127.0.0.1',
  amiPort: 5038,
  controlHost: '127.0.0.1',
  controlPort: 5039,
  username: 'crm',
  secret: 'crmsecret',
  databaseUrl: 'postgresql://postgres@127.0.0.1:5432/ringcloud?schema=telephony',
  recordingsDir: 'tmp/recordings',
  answerDelayMs: 1000,
  talkMs: 3000,
  timeScale: 1,
  autoRegister: true,
  provisioningPollMs: 2000,
  qualifyDelayMs: 200,
  confDir: DEFAULT_CONF_DIR,
  cel: false,
  logLevel: 'log',
};

export interface RunningSimulator {
  amiPort: number;
  controlPort: number;
  engine: CallEngine;
  ami: AmiServer;
  recordingsDir: string;
  voicemailDir: string;
  /** Re-reads ps_endpoints now (what the poller does): registrations of new endpoints. */
  pollProvisioning(): Promise<void>;
  stop(): Promise<void>;
}

/** The `read =` classes of the AMI user in manager.conf (its own section, else the first user's). */
async function managerReadClasses(confDir: string, username: string, log: Logger): Promise<string> {
  try {
    const conf = parseConf(await readFile(path.join(confDir, 'manager.conf'), 'utf8'));
    const users = conf.sections.filter((s) => s.name !== 'general');
    const section = users.find((s) => s.name === username) ?? users[0];
    return value(section, 'read') ?? 'all';
  } catch (err) {
    log.warn(`manager.conf not read (${(err as Error).message}): the AMI user reads every class`);
    return 'all';
  }
}

async function loadPjsip(file: string, log: Logger): Promise<PjsipConfig> {
  if (file === '') return EMPTY_PJSIP;
  try {
    const conf = parsePjsipConf(await readFile(file, 'utf8'));
    for (const e of conf.errors) log.warn(`pjsip.conf:${e.line}: ${e.message}`);
    return conf;
  } catch (err) {
    log.warn(`pjsip.conf not read (${(err as Error).message}): no trunk`);
    return EMPTY_PJSIP;
  }
}

/** `system,call,…` / `all` → the event classes a session may receive. */
function readClasses(read: string): Set<string> {
  const parts = read.split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
  return new Set(parts.includes('all') ? CLASSES : parts.filter((c) => CLASSES.includes(c)));
}

/** Starts the AMI server, the call engine and the control API; `stop()` closes them all. */
export async function startSimulator(overrides: Partial<SimulatorConfig> = {}): Promise<RunningSimulator> {
  const config = { ...DEFAULT_CONFIG, ...overrides };
  const log = config.logger ?? createLogger(config.logLevel);
  const clock = new SimClock(config.timeScale);
  const recordingsDir = path.resolve(config.recordingsDir);
  await mkdir(recordingsDir, { recursive: true });

  let realtime: RealtimeRepository;
  if (config.databaseUrl) {
    const repo = new PgRealtimeRepository(config.databaseUrl, log);
    await repo.probe();
    realtime = repo;
  } else {
    log.warn('no TELEPHONY_DATABASE_URL: the dial plan runs without realtime rows or endpoints');
    realtime = new EmptyRealtimeRepository();
  }

  const confDir = path.resolve(config.confDir);
  const voicemailDir = path.resolve(config.voicemailDir ?? path.join(recordingsDir, '..', 'voicemail'));
  const read = config.amiRead ?? (await managerReadClasses(confDir, config.username, log));
  // The engine publishes through the AMI server, which needs the engine's actions: late binding.
  const sink: { ami?: AmiServer } = {};
  const registrations = new Registrations(config.autoRegister);
  const engine = new CallEngine({
    clock,
    sink: (event) => sink.ami?.broadcast(event),
    realtime,
    registrations,
    dialplanFile: path.resolve(config.dialplanFile ?? path.join(confDir, 'extensions.conf')),
    pjsip: await loadPjsip(config.pjsipFile === '' ? '' : path.resolve(config.pjsipFile ?? path.join(confDir, 'pjsip.conf')), log),
    queues: config.queues ?? {},
    cel: config.cel,
    mwiDevstate: config.mwiDevstate ?? false,
    recordingsDir,
    voicemailDir,
    answerDelayMs: clock.fromWall(config.answerDelayMs),
    pstnAnswerDelayMs: config.pstnAnswerDelayMs === undefined ? undefined : clock.fromWall(config.pstnAnswerDelayMs),
    busyDelayMs: config.busyDelayMs === undefined ? undefined : clock.fromWall(config.busyDelayMs),
    talkMs: clock.fromWall(config.talkMs),
    qualifyDelayMs: clock.fromWall(config.qualifyDelayMs),
    sipAddress: config.sipAddress,
    ownInviteNativeRtp: config.ownInviteNativeRtp,
    firstSeq: config.firstSeq,
    pjsuaPhones: config.pjsuaPhones,
    log,
  });
  let amiPort = config.amiPort;
  const ami = new AmiServer({
    host: config.amiHost,
    port: config.amiPort,
    username: config.username,
    secret: config.secret,
    authFailureDelayMs: 1000 * config.timeScale,
    actions: createActions(engine),
    readClasses: readClasses(read),
    log,
    onLogin: (session) => loginEvents(engine, session, config.username, amiPort),
  });
  sink.ami = ami;
  const watcher = new ProvisioningWatcher(() => realtime.listEndpointsOrUndefined(), engine.phones, engine.devices, log);
  try {
    // The dial plan's #exec reads ps_endpoints, as Asterisk does when it starts.
    await engine.init();
    await watcher.poll();
  } catch (err) {
    await realtime.close();
    throw err;
  }
  const control = new ControlServer(engine, ami, log);
  let controlPort: number;
  try {
    amiPort = await ami.listen();
    controlPort = await control.listen(config.controlPort, config.controlHost);
  } catch (err) {
    await Promise.allSettled([ami.close(), control.close(), realtime.close()]);
    throw err;
  }
  const poller = config.provisioningPollMs > 0 ? setInterval(() => engine.background(watcher.poll(), 'provisioning poll'), config.provisioningPollMs) : undefined;
  poller?.unref();
  log.log(
    `AMI on ${config.amiHost}:${amiPort} (read ${read}), control API on http://${config.controlHost}:${controlPort}, dial plan ${engine.dialplan.file}, recordings in ${recordingsDir}, time scale ${config.timeScale}`,
  );

  return {
    amiPort,
    controlPort,
    engine,
    ami,
    recordingsDir,
    voicemailDir,
    pollProvisioning: () => watcher.poll(),
    async stop() {
      clearInterval(poller);
      engine.phones.stop();
      await Promise.all([ami.close(), control.close()]);
      engine.shutdown();
      await realtime.close();
    },
  };
}
