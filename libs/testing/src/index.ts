export * from './processes';
export * from './infra';
export * from './stack';
export * from './v1-client';
export * from './test-schema';
export * from './webhook-receiver';
export * from './crm-event-feed';
export * from './service-env';
