// HEALTHCHECK of docker/Dockerfile, chosen by the image's APP:
//  - api-gateway: HTTP GET /healthz on its own port;
//  - pbx-simulator: its control API answers;
//  - the NATS-only services: `<service>.health.ping` over NATS answers ok (Nest's JSON framing).
//    A queue group answers from any replica: with several replicas this says "the service is
//    served", not "this container" — a dead process ends its container anyway (PID 1).
const TIMEOUT_MS = 2500;
const app = process.env.APP;

async function httpOk(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
}

async function natsPing(service) {
  const { connect } = require('@nats-io/transport-node');
  const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', timeout: TIMEOUT_MS, name: 'healthcheck' });
  try {
    const subject = `${service}.health.ping`;
    const msg = await nc.request(subject, JSON.stringify({ pattern: subject, data: {}, id: 'healthcheck' }), { timeout: TIMEOUT_MS });
    const reply = msg.json();
    if (reply.err || reply.response?.status !== 'ok') throw new Error(`${subject}: ${JSON.stringify(reply.err ?? reply.response)}`);
  } finally {
    await nc.close();
  }
}

const checks = {
  'api-gateway': () => httpOk(`http://127.0.0.1:${process.env.PORT ?? 3000}/healthz`),
  'pbx-simulator': () => httpOk(`http://127.0.0.1:${process.env.SIM_CONTROL_PORT ?? 5039}/channels`),
  'users-service': () => natsPing('users'),
  'calls-service': () => natsPing('calls'),
  'telephony-adapter': () => natsPing('telephony'),
  'webhooks-service': () => natsPing('webhooks'),
};

const check = checks[app];
if (!check) {
  console.error(`healthcheck: unknown APP ${app}`);
  process.exit(2);
}
check().then(
  () => process.exit(0),
  (err) => {
    console.error(`healthcheck ${app}: ${err.message}`);
    process.exit(1);
  },
);
