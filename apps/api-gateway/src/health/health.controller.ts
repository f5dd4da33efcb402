import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { metricsRegistry } from '@ringcloud/nest-observability';
import { failure, success } from '../http/envelope';
import { ReadinessService } from './readiness.service';

@Controller()
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  /** Liveness: the process answers; no dependency is asked (a NATS outage must not restart pods). */
  @Get('healthz')
  healthz() {
    return success({ status: 'ok' });
  }

  /** Prometheus metrics of this replica (text exposition format). */
  @Get('metrics')
  async metrics(@Res() reply: FastifyReply): Promise<void> {
    reply.status(200).header('Content-Type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  }

  /** Readiness: NATS, Redis and users-service each answer within 1 s. */
  @Get('readyz')
  async readyz(@Res() reply: FastifyReply): Promise<void> {
    const checks = await this.readiness.check();
    const failed = Object.entries(checks).filter(([, state]) => state !== 'ok');
    if (failed.length === 0) {
      reply.status(200).send(success(checks));
      return;
    }
    reply
      .status(503)
      .header('Retry-After', '1')
      .send(failure(`Not ready: ${failed.map(([name, state]) => `${name} (${state})`).join(', ')}`));
  }
}
