import { sleep, useStack } from './support';

// NATS goes away and stays away while a rollout stops every process (SIGTERM; Kubernetes sends
// SIGKILL 30 s later). Before, calls-service and webhooks-service never exited: their JetStream
// consumers waited on a pull nothing would end; and the adapter took 12.7 s (on a real Asterisk).
const world = useStack({ telephony: true, webhooks: true });

it('with NATS away, every service exits by itself on SIGTERM, well within the 30 s grace', async () => {
  const running = world.stack.processes.filter((p) => p.child.exitCode === null && p.name !== 'pbx-simulator');
  expect(running.map((p) => p.name).sort()).toEqual(['api-gateway', 'calls-service', 'telephony-adapter', 'users-service', 'webhooks-service']);
  await world.stack.nats.process!.stop('SIGKILL');
  await sleep(3000); // the services notice: their connections start reconnecting
  const stopped = await Promise.all(
    running.map(async (p) => {
      const started = Date.now();
      const code = await p.stop('SIGTERM', 30_000);
      return { name: p.name, code, killed: p.child.signalCode, ms: Date.now() - started };
    }),
  );
  console.log(stopped.map((s) => `${s.name}: exit ${s.code ?? s.killed} after ${s.ms} ms`).join('\n'));
  for (const s of stopped) expect({ name: s.name, code: s.code, inTime: s.ms < 10_000 }).toEqual({ name: s.name, code: 0, inTime: true });
}, 90_000);
