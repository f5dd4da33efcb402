import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createActions, loginEvents } from './ami/actions';
import { AmiServer } from './ami/server';
import { ControlServer } from './control/control-server';
import { SimClock } from './engine/clock';
import { ProvisioningWatcher, Registrations } from './engine/devices';
import { CallEngine } from './engine/engine';
import { LogLevel, Logger, createLogger } from './log';
import { EmptyRealtimeRepository, PgRealtimeRepository, RealtimeRepository } from './realtime/repository';

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
  /** Wall milliseconds a realtime party B (or an answering phone) talks. */
  talkMs: number;
  /** PBX time runs this much faster (0.1: the dial plan's Wait(3) takes 300 ms). */
  timeScale: number;
  autoRegister: boolean;
  /** How often (wall ms) ps_endpoints is re-read to announce newly provisioned phones; 0 = never. */
  provisioningPollMs: number;
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
  logLevel: 'log',
};

export interface RunningSimulator {
  amiPort: number;
  controlPort: number;
  engine: CallEngine;
  ami: AmiServer;
  recordingsDir: string;
  stop(): Promise<void>;
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
    log.warn('no TELEPHONY_DATABASE_URL: serving only the built-in dial plan');
    realtime = new EmptyRealtimeRepository();
  }

  // The engine publishes through the AMI server, which needs the engine's actions: late binding.
  const sink: { ami?: AmiServer } = {};
  const registrations = new Registrations(config.autoRegister);
  const engine = new CallEngine({
    clock,
    sink: (event) => sink.ami?.broadcast(event),
    realtime,
    registrations,
    recordingsDir,
    answerDelayMs: clock.fromWall(config.answerDelayMs),
    talkMs: clock.fromWall(config.talkMs),
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
    log,
    onLogin: (session) => loginEvents(engine, session, config.username, amiPort),
  });
  sink.ami = ami;
  const watcher = new ProvisioningWatcher(() => realtime.endpointIds(), registrations, engine.devices);
  await watcher.poll();
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
  log.log(`AMI on ${config.amiHost}:${amiPort}, control API on http://${config.controlHost}:${controlPort}, recordings in ${recordingsDir}, time scale ${config.timeScale}`);

  return {
    amiPort,
    controlPort,
    engine,
    ami,
    recordingsDir,
    async stop() {
      clearInterval(poller);
      await Promise.all([ami.close(), control.close()]);
      await realtime.close();
    },
  };
}
