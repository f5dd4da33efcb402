/** Injection tokens of the gateway module. */
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
export const REDIS = Symbol('REDIS');
/** Limits in force by limit id (defaults + profile + RATE_LIMITS). */
export const RATE_LIMITS = Symbol('RATE_LIMITS');
