export * from './errors';
export * from './message';
export * from './fields';
export * from './pagination';
