export * from './correlation';
export * from './redact';
export * from './logger';
export * from './metrics';
export * from './ops-server';
