import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process: every metric of the app, served at /metrics. */
export const metricsRegistry = new Registry();

let defaultsFor: string | undefined;

/** Process metrics (CPU, memory, event loop, GC) plus an `app` label on every series. */
export function enableDefaultMetrics(app: string): void {
  if (defaultsFor) return;
  defaultsFor = app;
  metricsRegistry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: metricsRegistry });
}

// Get-or-create: modules may be built several times in one process (tests), metrics only once.
function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return (metricsRegistry.getSingleMetric(name) as Counter<L>) ?? new Counter({ name, help, labelNames, registers: [metricsRegistry] });
}
function gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  return (metricsRegistry.getSingleMetric(name) as Gauge<L>) ?? new Gauge({ name, help, labelNames, registers: [metricsRegistry] });
}
function histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  return (
    (metricsRegistry.getSingleMetric(name) as Histogram<L>) ??
    new Histogram({ name, help, labelNames, buckets, registers: [metricsRegistry] })
  );
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The project's metrics, by name; each is created on first use. */
export const Metrics = {
  httpRequests: () => counter('rc_http_requests_total', 'HTTP requests answered, by route id and status', ['route', 'method', 'status']),
  httpDuration: () =>
    histogram('rc_http_request_duration_seconds', 'HTTP request latency, by route id and status', ['route', 'method', 'status'], LATENCY_BUCKETS),
  rateLimitRejections: () => counter('rc_rate_limit_rejections_total', 'Requests refused with 429, by limit id', ['limit']),
  natsRequestDuration: () =>
    histogram('rc_nats_request_duration_seconds', 'NATS request/reply latency seen by the caller', ['subject', 'outcome'], LATENCY_BUCKETS),
  natsRequestTimeouts: () => counter('rc_nats_request_timeouts_total', 'NATS requests nobody answered in time', ['subject']),
  natsHandled: () => counter('rc_nats_messages_handled_total', 'NATS requests handled by this service', ['subject']),
  amiConnected: () => gauge('rc_ami_connected', '1 while the AMI session to the PBX node is logged in', ['node']),
  amiReconnects: () => counter('rc_ami_reconnects_total', 'AMI sessions re-established after a loss', ['node']),
  consumerPending: () => gauge('rc_jetstream_consumer_pending', 'Messages of a JetStream consumer not yet delivered (lag)', ['stream', 'consumer']),
  originateOutcomes: () => counter('rc_originate_outcomes_total', 'Originate requests by outcome', ['outcome']),
  webhookDeliveries: () =>
    counter('rc_webhook_deliveries_total', 'Webhook delivery attempts by outcome (delivered, retry, gone, refused, gave_up)', ['outcome']),
  webhookAttemptDuration: () =>
    histogram('rc_webhook_attempt_duration_seconds', 'One webhook attempt, request to answer (or error)', ['outcome'], LATENCY_BUCKETS),
  webhookBacklog: () => gauge('rc_webhook_backlog', 'Pending webhook deliveries per subscription', ['subscription']),
};
