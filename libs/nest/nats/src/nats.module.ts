import { DynamicModule, Global, Module } from '@nestjs/common';
import { NATS_OPTIONS, NatsOptions, RpcClient } from './rpc-client';

/** Provides RpcClient for typed requests to other services. */
@Global()
@Module({})
export class NatsClientModule {
  static forRoot(options: NatsOptions): DynamicModule {
    return {
      module: NatsClientModule,
      providers: [{ provide: NATS_OPTIONS, useValue: options }, RpcClient],
      exports: [RpcClient],
    };
  }
}
