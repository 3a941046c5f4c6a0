import pino from 'pino';
import { sandboxOrders } from '../../examples/orders-subgraph/catalog';
import { ORDERS_SDL } from '../../examples/orders-subgraph/schema';
import { startOrdersSubgraph } from '../../examples/orders-subgraph/server';
import { composeSupergraph, GATEWAY_KINDS, startGatewayOfKind, type GatewayKind, type RunningGateway } from '../../examples/supergraph/gateway';
import { renderSchemaFile } from '../../src/graphql/schema-file';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { dropTestSchema } from './store';

/**
 * The gateways the end-to-end tests run through: all of them (what `npm test` and CI run), or those GATEWAYS names
 * for a local run (`GATEWAYS=apollo,hive-rust`). An unknown name fails the run rather than testing less.
 */
export const GATEWAYS: GatewayKind[] = (() => {
  if (!process.env.GATEWAYS) return [...GATEWAY_KINDS];
  const named = process.env.GATEWAYS.split(',').map((s) => s.trim()) as GatewayKind[];
  const unknown = named.filter((k) => !GATEWAY_KINDS.includes(k));
  if (unknown.length || !named.length) throw new Error(`GATEWAYS: ${unknown.join(', ') || '(empty)'} is not one of ${GATEWAY_KINDS.join(', ')}`);
  return named;
})();

export interface GatewayAnswer {
  status: number;
  body: { data?: any; errors?: Array<{ message: string; path?: Array<string | number>; locations?: unknown; extensions?: Record<string, unknown> }> };
}

/** The development supergraph as `npm run supergraph` runs it: orders subgraph, invoicing subgraph with its sandboxes, a gateway. */
export interface DevSupergraph {
  invoicing: RunningServer;
  gateway: RunningGateway;
  /** One GraphQL request through the gateway (no `accept` header unless given, as curl and fetch send none but their default). */
  query(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GatewayAnswer>;
  /** HTTP calls that reached the providers' emulators so far, all providers together. */
  providerCalls(): number;
  stop(): Promise<void>;
}

/**
 * Starts it on the test's store (its own PostgreSQL schema under DATABASE_URL, else PGlite in memory), about 1 to 3 s;
 * `env` adds to the invoicing subgraph's environment, `forwardHeaders` are passed from clients through the gateway.
 */
export async function startDevSupergraph(kind: GatewayKind, schemaPrefix: string, options: { env?: Record<string, string>; forwardHeaders?: readonly string[] } = {}): Promise<DevSupergraph> {
  const schema = `${schemaPrefix}_${kind.replace('-', '_')}_${Date.now().toString(36)}`;
  const orders = await startOrdersSubgraph(sandboxOrders());
  const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
  const invoicing = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', ...store, ...options.env }), pino({ level: 'silent' }));
  const gateway = await startGatewayOfKind(
    kind,
    composeSupergraph([
      { name: 'orders', url: orders.url, sdl: ORDERS_SDL },
      { name: 'invoicing', url: invoicing.url, sdl: await renderSchemaFile() },
    ]),
    { forwardHeaders: options.forwardHeaders },
  );
  return {
    invoicing,
    gateway,
    async query(query, variables, headers) {
      const res = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
      return { status: res.status, body: (await res.json()) as GatewayAnswer['body'] };
    },
    providerCalls: () => Object.values(invoicing.emulators).reduce((n, e) => n + e!.server.calls.length, 0),
    async stop() {
      await gateway.stop();
      await invoicing.stop();
      await orders.stop();
      await dropTestSchema(schema);
    },
  };
}
