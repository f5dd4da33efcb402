import { INestApplicationContext, INestMicroservice, Logger } from '@nestjs/common';
import {
  AppLogger,
  LogLevel,
  ReadinessChecks,
  enableDefaultMetrics,
  metricsPortFrom,
  safeText,
  startOpsServer,
} from '@ringcloud/nest-observability';
import { createNatsMicroservice, natsServerOf } from './microservice';

export type NatsServiceApp = INestMicroservice & INestApplicationContext;

export interface NatsServiceOptions<C extends { natsUrl: string; logLevel: LogLevel }> {
  /** App name: queue group, logger context, metric label. */
  name: string;
  /** Loads the configuration (fail-fast); `warn` logs a line under the app's name. */
  loadConfig(warn: (line: string) => void): C;
  /** The root module for this configuration. */
  module(config: C): unknown;
  /** Wiring to do once the app exists, before it listens. */
  beforeListen?(app: NatsServiceApp, config: C): void;
  /** The line logged once listening. */
  listening(config: C): string;
  /**
   * Only with metrics on (METRICS_PORT): starts any samplers and returns the readiness checks
   * reported after `nats`.
   */
  readiness?(app: NatsServiceApp, config: C): () => Promise<ReadinessChecks>;
}

/**
 * main() of a NATS-only service: default metrics, config, the microservice in queue group `name`,
 * then the ops server (metrics and readiness) when METRICS_PORT is set. A failed start is printed
 * (configuration problems without a stack, which adds nothing there) and exits 1.
 */
export function runNatsService<C extends { natsUrl: string; logLevel: LogLevel }>(options: NatsServiceOptions<C>): void {
  bootstrapNatsService(options).catch((err: Error) => {
    console.error(
      safeText(`${options.name} failed to start: ${err.message.startsWith('invalid configuration') ? err.message : (err.stack ?? err.message)}`),
    );
    process.exit(1);
  });
}

async function bootstrapNatsService<C extends { natsUrl: string; logLevel: LogLevel }>(options: NatsServiceOptions<C>): Promise<void> {
  const { name } = options;
  enableDefaultMetrics(name);
  const logger = new Logger(name);
  const config = options.loadConfig((line) => logger.warn(line));
  const metricsPort = metricsPortFrom();
  const app = await createNatsMicroservice(options.module(config), {
    servers: config.natsUrl,
    queue: name,
    logger: new AppLogger({ app: name, level: config.logLevel }),
  });
  options.beforeListen?.(app, config);
  await app.listen();
  logger.log(options.listening(config));
  if (metricsPort > 0) {
    const more = options.readiness?.(app, config) ?? (async () => ({}));
    const ops = await startOpsServer({
      port: metricsPort,
      readiness: async () => ({ nats: natsServerOf(app).ready ? 'ok' : 'not connected', ...(await more()) }),
    });
    logger.log(`metrics and health on :${ops.port}`);
  }
}
