import { enableDefaultMetrics, metricsPortFrom, startOpsServer } from '@ringcloud/nest-observability';
import { loadSimulatorConfig } from './config';
import { createLogger } from './log';
import { startSimulator } from './simulator';

export { startSimulator } from './simulator';
export type { RunningSimulator, SimulatorConfig } from './simulator';

/** pbx-simulator: an AMI server that behaves like the recorded Asterisk 22, plus its control API. */
async function main(): Promise<void> {
  const config = loadSimulatorConfig();
  const metricsPort = metricsPortFrom();
  const log = createLogger(config.logLevel);
  const sim = await startSimulator({ ...config, logger: log });
  let stopping = false;
  if (metricsPort > 0) {
    enableDefaultMetrics('pbx-simulator');
    // Ready while its AMI server and control API are listening, i.e. until it stops.
    const ops = await startOpsServer({ port: metricsPort, readiness: async () => ({ ami: stopping ? 'stopping' : 'ok' }) });
    log.log(`metrics and health on :${ops.port}`);
  }
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log(`${signal}: closing AMI sessions and the control API`);
    sim.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error(`stop failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  // A bug in one call flow must not take the PBX down for everybody.
  process.on('unhandledRejection', (err) => log.error(`unhandled: ${(err as Error)?.stack ?? err}`));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`pbx-simulator failed to start: ${err.message.startsWith('invalid configuration') ? err.message : (err.stack ?? err.message)}`);
    process.exit(1);
  });
}
