import pino from 'pino';
import { sandboxOrders } from '../../examples/orders-subgraph/catalog';
import { ORDERS_SDL } from '../../examples/orders-subgraph/schema';
import { startOrdersSubgraph } from '../../examples/orders-subgraph/server';
import { composeSupergraph, startGateway, type RunningGateway } from '../../examples/supergraph/gateway';
import { renderSchemaFile } from '../../src/graphql/schema-file';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { dropTestSchema } from './store';

export interface GatewayAnswer {
  status: number;
  body: { data?: any; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }> };
}

/** The development supergraph as `npm run supergraph` runs it: orders subgraph, invoicing subgraph with its sandboxes, @apollo/gateway. */
export interface DevSupergraph {
  invoicing: RunningServer;
  gateway: RunningGateway;
  /** One GraphQL request through the gateway. */
  query(query: string, variables?: Record<string, unknown>): Promise<GatewayAnswer>;
  stop(): Promise<void>;
}

/** Starts it on the test's store (its own PostgreSQL schema under DATABASE_URL, else PGlite in memory). */
export async function startDevSupergraph(schemaPrefix: string): Promise<DevSupergraph> {
  const schema = `${schemaPrefix}_${Date.now().toString(36)}`;
  const orders = await startOrdersSubgraph(sandboxOrders());
  const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
  const invoicing = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', ...store }), pino({ level: 'silent' }));
  const gateway = await startGateway(
    composeSupergraph([
      { name: 'orders', url: orders.url, sdl: ORDERS_SDL },
      { name: 'invoicing', url: invoicing.url, sdl: await renderSchemaFile() },
    ]),
  );
  return {
    invoicing,
    gateway,
    async query(query, variables) {
      const res = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      return { status: res.status, body: (await res.json()) as GatewayAnswer['body'] };
    },
    async stop() {
      await gateway.stop();
      await invoicing.stop();
      await orders.stop();
      await dropTestSchema(schema);
    },
  };
}
