export { RingCloud, parseRecFile } from './client.js';
export type {
  RingCloudOptions,
  V1User,
  CompletedCall,
  ActiveCall,
  ChannelInfo,
  RecordingEntry,
  CreateUserParams,
  OriginateParams,
  Webhook,
  WebhookWithSecret,
  WebhookCreateParams,
  WebhookUpdateParams,
  WebhookDelivery,
  ApiKeyInfo,
  ApiKeyWithPassword,
  UserRegistration,
} from './client.js';
export { v1Hash, accountIdOfKey } from './auth.js';
export { Transport, DEFAULT_RETRY, SDK_VERSION, parseRetryAfter } from './transport.js';
export type { RequestSpec, TransportOptions } from './transport.js';
export * from './errors.js';
export { WebhookVerifier, verifyWebhook, signWebhook } from './webhook-verifier.js';
export type { HeaderSource, VerifiedWebhook, WebhookVerifyOptions } from './webhook-verifier.js';
export { OPERATIONS, OPERATION_METHODS } from './generated/operations.js';
export type { OperationId, Operations } from './generated/operations.js';
export * from './types.js';
