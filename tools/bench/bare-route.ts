/**
 * The baseline for `npm run bench`: a bare Fastify route that makes the same NATS request as
 * the gateway's GET /v1/users/<name> (UsersUserGet), with no auth, limiter or envelope.
 */
import 'reflect-metadata';
import Fastify from 'fastify';
import { UsersUserGet } from '@ringcloud/contracts-users';
import { RpcClient } from '@ringcloud/nest-nats';

async function main() {
  const rpc = new RpcClient({ servers: process.env.NATS_URL!, requestTimeoutMs: 3000, name: 'bench-bare-route' });
  await rpc.connect();
  const accountId = Number(process.env.BENCH_ACCOUNT);
  const app = Fastify({ logger: false });
  app.get('/bare/users/:user', async (req) => {
    const { user } = req.params as { user: string };
    return rpc.send(UsersUserGet.contract, { account_id: accountId, user, include_password: true });
  });
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  console.log('ready');
}

void main();
