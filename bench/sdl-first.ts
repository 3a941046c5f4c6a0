import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import DataLoader from 'dataloader';
import { parse } from 'graphql';
import type { Invoice } from '../src/domain/invoice';
import { formatMoneyAmount } from '../src/domain/money';
import type { Ledger } from '../src/ledger/ledger';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Invoice @key(fields: "id") { id: ID! providerInvoiceId: String! number: String kind: String! status: String! total: Money! createdAt: String! }
  type Money { amount: String! currencyCode: String! }
  type Query { ping: String }
`);

interface Ctx {
  invoices: DataLoader<string, Invoice | null>;
}

/**
 * The benchmark's yardstick for `_entities`: a minimal hand-written SDL-first subgraph on the same Apollo
 * Server, answering Invoice representations from the same ledger query as the product.
 */
export async function startSdlFirstBaseline(ledger: Ledger, tenantId: string): Promise<{ url: string; stop(): Promise<void> }> {
  const schema = buildSubgraphSchema([
    {
      typeDefs,
      resolvers: {
        Invoice: {
          __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.invoices.load(ref.id),
          total: (i: Invoice) => ({ amount: formatMoneyAmount(i.total), currencyCode: i.total.currencyCode }),
          createdAt: (i: Invoice) => i.createdAt.toISOString(),
        },
      } as never,
    },
  ]);
  const server = new ApolloServer<Ctx>({ schema });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async () => ({
      invoices: new DataLoader(async (ids: readonly string[]) => {
        const found = new Map((await ledger.invoicesByIds(tenantId, ids)).map((i) => [i.id, i]));
        return ids.map((id) => found.get(id) ?? null);
      }),
    }),
  });
  return { url, stop: () => server.stop() };
}
