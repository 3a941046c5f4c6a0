import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { CatalogOrder } from './catalog';
import { ORDERS_SDL } from './schema';

export interface OrdersSubgraph {
  url: string;
  /** Requests served, for tests that count subgraph calls. */
  stats: { requests: number };
  stop(): Promise<void>;
}

/**
 * A minimal SDL-first orders subgraph over an in-memory list: enough to compose and query the invoicing
 * subgraph the way a real supergraph would. Development and tests only.
 */
export async function startOrdersSubgraph(orders: CatalogOrder[], port = 0): Promise<OrdersSubgraph> {
  const byId = new Map(orders.map((o) => [o.id, o]));
  const newestFirst = [...orders].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const stats = { requests: 0 };
  const schema = buildSubgraphSchema([
    {
      typeDefs: parse(ORDERS_SDL),
      resolvers: {
        Query: {
          order: (_: unknown, { id }: { id: string }) => byId.get(id) ?? null,
          orders: (_: unknown, { provider, first, offset }: { provider?: string; first: number; offset: number }) =>
            newestFirst.filter((o) => !provider || o.provider === provider).slice(offset, offset + Math.min(first, 500)),
        },
        Order: { __resolveReference: (ref: { id: string }) => byId.get(ref.id) ?? null },
      },
    },
  ]);
  const server = new ApolloServer({ schema, plugins: [ApolloServerPluginInlineTraceDisabled(), { requestDidStart: async () => void stats.requests++ }] });
  const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
  return { url, stats, stop: () => server.stop() };
}
