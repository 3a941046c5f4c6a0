import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSchemaFile } from '../../src/graphql/schema-file';
import { loadConfig } from '../../src/server/config';
import { createLogger } from '../../src/server/logger';
import { startServer } from '../../src/server/main';
import { sandboxOrders } from '../orders-subgraph/catalog';
import { startOrdersSubgraph } from '../orders-subgraph/server';
import { ORDERS_SDL } from '../orders-subgraph/schema';
import { composeSupergraph, startGateway } from './gateway';

/** Where `npm run supergraph` writes the composed supergraph (generated, not committed). */
const SUPERGRAPH_FILE = join(process.cwd(), 'examples', 'supergraph', 'supergraph.graphql');

/**
 * `npm run supergraph`: the orders subgraph, the invoicing subgraph with its sandbox emulators and @apollo/gateway
 * over their composition. GATEWAY_PORT (default 4000), PORT (invoicing, default 4001), ORDERS_PORT (default 4002).
 */
async function main(): Promise<void> {
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const logger = createLogger(config.logLevel);
  const orders = await startOrdersSubgraph(sandboxOrders(), Number(process.env.ORDERS_PORT ?? 4002));
  const invoicing = await startServer({ ...config, host: '127.0.0.1' }, logger);
  const supergraph = composeSupergraph([
    { name: 'orders', url: orders.url, sdl: ORDERS_SDL },
    { name: 'invoicing', url: invoicing.url, sdl: await renderSchemaFile() },
  ]);
  writeFileSync(SUPERGRAPH_FILE, supergraph);
  const gateway = await startGateway(supergraph, Number(process.env.GATEWAY_PORT ?? 4000), config.routerSecret ?? undefined);
  process.stdout.write(
    [
      '',
      `  Gateway (supergraph): ${gateway.url}`,
      `  invoicing subgraph:   ${invoicing.url}`,
      `  orders subgraph:      ${orders.url}`,
      `  supergraph written to ${SUPERGRAPH_FILE}`,
      '',
    ].join('\n') + '\n',
  );
  const stop = () =>
    void Promise.allSettled([gateway.stop(), invoicing.stop(), orders.stop()]).then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
