import { Server } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Below Fastify's 10 s plugin timeout, which also bounds close hooks. */
const SHUTDOWN_GRACE_MS = 8000;

/**
 * SIGTERM for the HTTP side: stop listening, serve every request already accepted (Fastify answers
 * them with `Connection: close`), then let Fastify close what is left.
 *
 * Node's own http close() first drops "idle" connections — which includes a connection accepted
 * a moment ago whose request has not been read yet, so its client gets a reset. Closing only the
 * listening socket, waiting until no request is in progress and no connection arrived for a
 * short while, and only then letting Fastify reap the idle keep-alive connections avoids that.
 * What no server can avoid: a connection the kernel completes in the instant between the last
 * accept and the close is reset; in production the load balancer has stopped sending by then
 * (readiness fails once the drain starts, see the preStop delay in k8s/).
 */
export function installGracefulClose(fastify: FastifyInstance, graceMs = SHUTDOWN_GRACE_MS): void {
  let active = 0;
  let lastConnection = 0;
  fastify.server.on('connection', () => (lastConnection = Date.now()));
  fastify.addHook('onRequest', (_request, reply, done) => {
    active++;
    // 'close' fires for answered and for aborted requests alike.
    reply.raw.once('close', () => active--);
    done();
  });
  fastify.addHook('preClose', async () => {
    if (!fastify.server.listening) return;
    // Let the event loop accept the connections the kernel has queued: closing the listening
    // socket resets those (their clients saw the connection established).
    await new Promise((resolve) => setImmediate(resolve));
    Server.prototype.close.call(fastify.server);
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (active > 0 || Date.now() - lastConnection < 200)) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });
}
