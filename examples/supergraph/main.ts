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
import { composeSupergraph, GATEWAY_KINDS, GATEWAY_NAMES, startGatewayOfKind, type GatewayKind } from './gateway';

/** Where `npm run supergraph` writes the composed supergraph (generated, not committed). */
const SUPERGRAPH_FILE = join(process.cwd(), 'examples', 'supergraph', 'supergraph.graphql');

/**
 * `npm run supergraph`: the orders subgraph, the invoicing subgraph with its sandbox emulators and a gateway over
 * their composition: Hive Gateway with its Rust query planner, or GATEWAY=hive-js / GATEWAY=apollo.
 * GATEWAY_PORT (default 4000), PORT (invoicing, default 4001), ORDERS_PORT (default 4002).
 */
async function main(): Promise<void> {
  const kind = (process.env.GATEWAY || 'hive-rust') as GatewayKind;
  // Checked before anything starts, so a typo does not leave a half-started supergraph behind.
  if (!GATEWAY_KINDS.includes(kind)) {
    process.stderr.write(`GATEWAY must be one of ${GATEWAY_KINDS.join(', ')} (got ${JSON.stringify(process.env.GATEWAY)})\n`);
    process.exit(1);
  }
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const logger = createLogger(config.logLevel);
  const orders = await startOrdersSubgraph(sandboxOrders(), Number(process.env.ORDERS_PORT ?? 4002));
  const invoicing = await startServer({ ...config, host: '127.0.0.1' }, logger);
  const supergraph = composeSupergraph([
    { name: 'orders', url: orders.url, sdl: ORDERS_SDL },
    { name: 'invoicing', url: invoicing.url, sdl: await renderSchemaFile() },
  ]);
  writeFileSync(SUPERGRAPH_FILE, supergraph);
  const gateway = await startGatewayOfKind(kind, supergraph, {
    port: Number(process.env.GATEWAY_PORT ?? 4000),
    routerSecret: config.routerSecret ?? undefined,
    // The caller's token reaches the invoicing subgraph, which verifies it when JWT_* is set.
    forwardHeaders: ['authorization'],
    logLevel: 'warn',
  });
  process.stdout.write(
    [
      '',
      `  Gateway (supergraph): ${gateway.url}   ${GATEWAY_NAMES[kind]}${kind === 'apollo' ? '' : '; GATEWAY=apollo for @apollo/gateway'}`,
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
