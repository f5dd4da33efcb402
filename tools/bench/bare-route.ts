/**
 * The baselines that stand in for the gateway in `npm run bench`: bare Fastify routes making the
 * same NATS request as the gateway, with no auth, limiter, envelope or Nest — what any HTTP hop in
 * front of the services costs on this machine.
 * - GET /bare/users/:user → UsersUserGet (the gateway bench);
 * - POST /bare/calls `{"params":{"user","num"}}` → TelephonyOriginate (the originate bench).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { UsersUserGet } from '@ringcloud/contracts-users';
import { RpcClient } from '@ringcloud/nest-nats';

async function main() {
  const rpc = new RpcClient({ servers: process.env.NATS_URL!, requestTimeoutMs: 3000, name: 'bench-bare-route' });
  await rpc.connect();
  const accountId = Number(process.env.BENCH_ACCOUNT);
  const app = Fastify({ logger: false });
  // The bench's client sends no Content-Type, as many v1 clients do.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.get('/bare/users/:user', async (req) => {
    const { user } = req.params as { user: string };
    return rpc.send(UsersUserGet.contract, { account_id: accountId, user, include_password: true });
  });
  app.post('/bare/calls', async (req) => {
    const { user, num } = (req.body as { params: { user: string; num: string } }).params;
    return rpc.send(TelephonyOriginate.contract, { call_id: randomUUID(), account_id: accountId, user, num });
  });
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  console.log('ready');
}

void main();
