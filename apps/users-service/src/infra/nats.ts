/** Injection tokens of the plain NATS connection (JetStream, broadcasts) and its JetStream client. */
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
export const JETSTREAM = Symbol('JETSTREAM');
