import 'reflect-metadata';
import { Metrics, checkOutcome } from '@ringcloud/nest-observability';
import { runNatsService, sampleConsumerLag } from '@ringcloud/nest-nats';
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
runNatsService({
  name: 'telephony-adapter',
  loadConfig: (warn) => loadTelephonyConfig(process.env, warn),
  module: (config) => AppModule.forRoot(config),
  beforeListen: (app, config) => {
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
  },
  listening: (config) => `listening on NATS ${config.natsUrl}; PBX node ${config.node} at ${config.ami.host}:${config.ami.port}`,
  readiness: (app) => {
    const session = app.get(AmiSession);
    const prisma = app.get<PrismaClient>(PRISMA);
    sampleConsumerLag(app.get<NatsConnection>(NATS_CONNECTION), USERS_EVENTS_STREAM.name, PROVISIONING_CONSUMER);
    return async () => ({
      database: await checkOutcome(() => prisma.$queryRaw`SELECT 1`, 1500),
      ami: session.isReady ? 'ok' : 'PBX (AMI) is down',
    });
  },
});
