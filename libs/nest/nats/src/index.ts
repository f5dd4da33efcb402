export * from './rpc-client';
export * from './rpc-server';
export * from './microservice';
export * from './jetstream';
export * from './nats.module';
export * from './draining-server';
export * from './service-main';
export * from './deadline';
