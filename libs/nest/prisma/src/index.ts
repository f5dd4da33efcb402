export * from './database-url';
export * from './prisma-errors';
export * from './database-unavailable.interceptor';
export * from './connection-resources';
export * from './advisory-lock';
