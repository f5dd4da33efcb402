export * from './conf';
export * from './dialplan';
