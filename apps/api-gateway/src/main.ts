import { Logger } from '@nestjs/common';
import { loadGatewayConfig } from './config';
import { createGateway } from './app';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const app = await createGateway(config);
  await app.listen(config.PORT, config.HOST);
  new Logger('Gateway').log(`api-gateway listening on ${await app.getUrl()}`);
}

main().catch((err: Error) => {
  // Fail fast (bad configuration, port taken): the orchestrator restarts us.
  console.error(err.message);
  process.exit(1);
});
