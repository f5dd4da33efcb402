import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { NatsClientModule } from '@ringcloud/nest-nats';
import { GatewayConfig } from './config';
import { GATEWAY_CONFIG, RATE_LIMITS } from './tokens';
import { GatewayErrorFilter } from './http/error.filter';
import { resolveLimits } from './routing/limits';
import { DEFAULT_LIMITS } from './v1/routes';
import { ApiKeyAuthenticator } from './auth/api-key.authenticator';
import { KeyChangeListener } from './auth/key-change.listener';
import { RedisProvider } from './rate-limit/redis.provider';
import { RateLimiter } from './rate-limit/rate-limiter';
import { IdempotencyStore } from './idempotency/idempotency-store';
import { V1Pipeline } from './v1/v1.pipeline';
import { KeyUsage } from './keys/key-usage';
import { AccountKeys } from './keys/account-keys';
import { RecordingStore } from './recordings/recording-store';
import { V1Controller } from './v1/v1.controller';
import { AdminPipeline } from './admin/admin.pipeline';
import { AdminController } from './admin/admin.controller';
import { ReadinessService } from './health/readiness.service';
import { HealthController } from './health/health.controller';
import { DocsController } from './docs/docs.controller';
import { AccountController } from './account/account.controller';

/** Wires the gateway: HTTP only, no table, every business rule behind NATS. */
@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        NatsClientModule.forRoot({
          servers: config.NATS_URL,
          requestTimeoutMs: config.NATS_REQUEST_TIMEOUT_MS,
          name: 'api-gateway',
        }),
      ],
      controllers: [V1Controller, AdminController, HealthController, DocsController, AccountController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: RATE_LIMITS, useValue: resolveLimits(DEFAULT_LIMITS, config.RATE_LIMIT_PROFILE, config.RATE_LIMITS) },
        { provide: APP_FILTER, useClass: GatewayErrorFilter },
        RedisProvider,
        RateLimiter,
        IdempotencyStore,
        ApiKeyAuthenticator,
        KeyChangeListener,
        RecordingStore,
        KeyUsage,
        AccountKeys,
        V1Pipeline,
        AdminPipeline,
        ReadinessService,
      ],
    };
  }
}
