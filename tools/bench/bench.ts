/**
 * `npm run bench`: one stack (real processes), three measurements, each side by side with a
 * baseline measured in the same run. BENCH_ONLY=gateway|originate|ingest|webhooks (comma-separated; default
 * all) picks the parts.
 * - gateway:   GET /v1/users/<name> through the gateway vs a bare Fastify route (gateway-bench.ts)
 * - originate: POST /v1/calls to the AMI Originate write vs a direct NATS TelephonyOriginate (originate-bench.ts)
 * - ingest:    AMI events → JetStream → call records, live from the simulator and replayed into a second adapter (ingest-bench.ts)
 * - webhooks:  CRM event published → signed webhook received, at 200 events/s, vs bare JetStream publish → consume (webhooks-bench.ts)
 * For the calls parts the telephony adapter reaches the simulator through an AMI tap (ami-tap.ts)
 * that timestamps and counts the AMI frames.
 */
import { Stack, freePort, startStack } from '@ringcloud/testing';
import { AmiTap } from './ami-tap';
import { gatewayBench } from './gateway-bench';
import { ingestBench } from './ingest-bench';
import { originateBench } from './originate-bench';
import { webhooksBench } from './webhooks-bench';

const PARTS = ['gateway', 'originate', 'ingest', 'webhooks'] as const;
type Part = (typeof PARTS)[number];

function selectedParts(): Part[] {
  const raw = (process.env.BENCH_ONLY ?? '').trim();
  if (!raw || raw === 'all') return [...PARTS];
  const parts = raw.split(',').map((p) => p.trim());
  const unknown = parts.filter((p) => !PARTS.includes(p as Part));
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown part(s) ${unknown.join(', ')}; use ${PARTS.join('|')} (comma-separated) or all`);
  return PARTS.filter((p) => parts.includes(p));
}

async function main() {
  const parts = selectedParts();
  const telephony = parts.includes('originate') || parts.includes('ingest');
  const started = performance.now();
  console.log(`bench: ${parts.join(', ')}; starting the stack (bench rate-limit profile${telephony ? ', with the calls half' : ''})`);

  let tap: AmiTap | undefined;
  const env: NodeJS.ProcessEnv = { RATE_LIMIT_PROFILE: 'bench', LOG_LEVEL: 'error' };
  if (telephony) {
    const simulatorPort = await freePort();
    tap = new AmiTap(simulatorPort);
    const tapPort = await tap.listen();
    Object.assign(env, {
      SIM_AMI_PORT: String(simulatorPort),
      PBX_AMI_PORT: String(tapPort), // the adapter talks to the PBX through the tap
      // Short calls: a burst of them ends quickly; the phone rings 50 ms, the conversation lasts 200 ms.
      SIM_ANSWER_DELAY_MS: '50',
      SIM_TALK_MS: '200',
    });
  }

  let stack: Stack | undefined;
  const starting = startStack({ telephony, webhooks: parts.includes('webhooks'), env });
  // Interrupted (Ctrl-C, a CI timeout): every process this run started is stopped before leaving.
  const interrupted = (signal: NodeJS.Signals) => {
    console.error(`\nbench: ${signal}; stopping the stack`);
    void Promise.allSettled([starting.then((s) => s.stop()), tap?.close()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    stack = await starting;
    console.log(`bench: stack up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (const part of parts) {
      if (part === 'gateway') await gatewayBench(stack);
      if (part === 'originate') await originateBench(stack, tap!);
      if (part === 'ingest') await ingestBench(stack, tap!);
      if (part === 'webhooks') await webhooksBench(stack);
    }
  } finally {
    await stack?.stop();
    await tap?.close();
    console.log(`\nbench: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
