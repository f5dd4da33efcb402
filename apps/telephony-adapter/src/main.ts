import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AppLogger, Metrics, checkOutcome, enableDefaultMetrics, metricsPortFrom, safeText, startOpsServer } from '@ringcloud/nest-observability';
import { createNatsMicroservice, natsServerOf, sampleConsumerLag } from '@ringcloud/nest-nats';
import type { NatsConnection } from '@nats-io/nats-core';
import { USERS_EVENTS_STREAM } from '@ringcloud/contracts-users';
import { AppModule, NATS_CONNECTION } from './app.module';
import { PROVISIONING_CONSUMER } from './provisioning/provisioning.consumer';
import { loadTelephonyConfig } from './config/telephony-config';
import { AmiSession } from './ami/ami-session';
import { PRISMA, PrismaClient } from './infra/database';

/**
 * telephony-adapter: the only component talking to Asterisk. NATS commands (queue group
 * "telephony-adapter"), AMI session to the PBX node, telephony events to JetStream, PBX
 * provisioning from users-service events. SIGTERM/SIGINT shut it down gracefully.
 */
async function bootstrap(): Promise<void> {
  enableDefaultMetrics('telephony-adapter');
  const logger = new Logger('telephony-adapter');
  const config = loadTelephonyConfig(process.env, (line) => logger.warn(line));
  const metricsPort = metricsPortFrom();
  const app = await createNatsMicroservice(AppModule.forRoot(config), {
    servers: config.natsUrl,
    queue: 'telephony-adapter',
    logger: new AppLogger({ app: 'telephony-adapter', level: config.logLevel }),
  });
  const session = app.get(AmiSession);
  const [amiUp, amiReconnects] = [Metrics.amiConnected(), Metrics.amiReconnects()];
  let wasUp = false;
  amiUp.set({ node: config.node }, session.isReady ? 1 : 0);
  session.onReady(() => {
    if (wasUp) amiReconnects.inc({ node: config.node });
    wasUp = true;
    amiUp.set({ node: config.node }, 1);
  });
  session.onDown(() => amiUp.set({ node: config.node }, 0));
  await app.listen();
  logger.log(`listening on NATS ${config.natsUrl}; PBX node ${config.node} at ${config.ami.host}:${config.ami.port}`);
  if (metricsPort > 0) {
    const prisma = app.get<PrismaClient>(PRISMA);
    sampleConsumerLag(app.get<NatsConnection>(NATS_CONNECTION), USERS_EVENTS_STREAM.name, PROVISIONING_CONSUMER);
    const ops = await startOpsServer({
      port: metricsPort,
      readiness: async () => ({
        nats: natsServerOf(app).ready ? 'ok' : 'not connected',
        database: await checkOutcome(() => prisma.$queryRaw`SELECT 1`, 1500),
        ami: session.isReady ? 'ok' : 'PBX (AMI) is down',
      }),
    });
    logger.log(`metrics and health on :${ops.port}`);
  }
}

bootstrap().catch((err: Error) => {
  console.error(safeText(`telephony-adapter failed to start: ${err.message.startsWith('invalid configuration') ? err.message : (err.stack ?? err.message)}`));
  process.exit(1);
});
