export * from './outbox.store';
export * from './outbox.relay';
