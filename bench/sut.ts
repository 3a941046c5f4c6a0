import 'reflect-metadata';
import pino from 'pino';
import { renderSchemaFile } from '../src/graphql/schema-file';
import type { Database } from '../src/ledger/database';
import type { InvoiceHeader } from '../src/domain/invoice';
import { money } from '../src/domain/money';
import { Ledger } from '../src/ledger/ledger';
import { openDatabase } from '../src/ledger/open';
import { ProviderRegistry } from '../src/providers/registry';
import { SalesforceProvider } from '../src/providers/salesforce/salesforce.provider';
import { SallaProvider } from '../src/providers/salla/salla.provider';
import { SalesforceEmulator } from '../src/sandbox/salesforce/salesforce.emulator';
import { SALESFORCE_SANDBOX_TOKEN } from '../src/sandbox/salesforce/salesforce.seed';
import { SallaEmulator } from '../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../src/sandbox/salla/salla.seed';
import { createApp, DEFAULT_TENANT, type App } from '../src/server/app';
import { ORDERS_SDL } from '../examples/orders-subgraph/schema';
import { startOrdersSubgraph } from '../examples/orders-subgraph/server';
import { composeSupergraph, startGateway, startGatewayOfKind } from '../examples/supergraph/gateway';
import { FIRST_BENCH_ORDER, SALLA_BENCH_ORDERS, salesforceBenchOrders, sallaBenchStore } from './fixtures';
import { seedLedger } from './seed-ledger';
import { startSdlFirstBaseline } from './sdl-first';

/**
 * The system under test, in its own process so that the load generator does not share its event loop: the
 * Salla emulator, the ledger stores, the invoicing subgraph (batched and naive), the orders subgraph, four
 * gateways and the SDL-first baseline. The parent (run.ts) drives it over IPC.
 */
export interface SutUrls {
  /** @apollo/gateway over the batched (product) subgraph. */
  gatewayBatched: string;
  /** @apollo/gateway over the naive subgraph. */
  gatewayNaive: string;
  /** Hive Gateway with the Rust planner over the batched subgraph, request deduplication off (like for like). */
  gatewayHive: string;
  /** The same with deduplication on, Hive's default (as deployed). */
  gatewayHiveDeduplicated: string;
  subgraph: string;
  sdlFirst: string;
  subgraphPostgres: string | null;
  /** Scenario (d): the subgraph on a PostgreSQL ledger seeded with BENCH_LIST_INVOICES invoices; null without it. */
  subgraphList: string | null;
  emulatorCreate: string;
  invoiceIds: string[];
  page: number;
  firstFreeOrder: number;
}

export type SutRequest =
  | { type: 'counters'; store: 'pglite' | 'postgres' | 'list' }
  | { type: 'forget' }
  | { type: 'ledgerLoad'; store: 'pglite' | 'postgres'; seconds: number; writers: number }
  | { type: 'stop' };

const PAGE = 50;
const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });

let salesforce: SalesforceEmulator;

async function appOn(db: Database, salla: SallaEmulator, naiveLoaders = false, freshnessMs?: number): Promise<{ app: App; url: string }> {
  const providers = new ProviderRegistry([
    new SallaProvider({ baseUrl: salla.baseUrl, accessToken: SALLA_SANDBOX_TOKEN, readConcurrency: 16 }),
    new SalesforceProvider({ instanceUrl: salesforce.baseUrl, accessToken: SALESFORCE_SANDBOX_TOKEN, apiVersion: '62.0', readConcurrency: 16 }),
  ]);
  const app = await createApp({ db, providers, logger, production: true, naiveLoaders, freshnessMs });
  return { app, url: await app.listen(0, '127.0.0.1') };
}

async function main(): Promise<void> {
  // Every create of (c), the emulator's own included, invoices a new order: run.ts bounds its loads to fit
  // SALLA_BENCH_ORDERS. More orders would mean a larger heap, whose collections would weigh on the other scenarios.
  const salla = new SallaEmulator({ stores: [sallaBenchStore(SALLA_BENCH_ORDERS)], rateLimitPerMinute: 1e9 });
  await salla.start(0);
  const salesforceOrders = salesforceBenchOrders(PAGE);
  salesforce = new SalesforceEmulator({ orderSummaries: salesforceOrders, apiRequestLimit: 1e9 });
  await salesforce.start(0);
  // BENCH_LEDGER_URL: the store that is embedded PGlite otherwise (behind the gateways of (a), (b) and the embedded
  // creates of (c)) is PostgreSQL at that URL instead, in a schema of its own dropped at stop: it tells the store's
  // share of a scenario from the rest. Meant for BENCH_ONLY=a (the figures of (c) would no longer be PGlite's).
  const ledgerUrl = process.env.BENCH_LEDGER_URL;
  const ledgerSchema = `bench_ledger_${Date.now().toString(36)}`;
  const pglite = ledgerUrl ? await openDatabase({ databaseUrl: ledgerUrl, dataDir: '', schema: ledgerSchema }) : await openDatabase({ dataDir: 'memory://' });
  const pgUrl = process.env.BENCH_PG_URL;
  const pg = pgUrl ? await openDatabase({ databaseUrl: pgUrl, dataDir: '', schema: process.env.BENCH_PG_SCHEMA }) : null;

  const batched = await appOn(pglite, salla);
  const naive = await appOn(pglite, salla, true);
  const onPostgres = pg ? await appOn(pg, salla) : null;
  const listSchema = process.env.BENCH_LIST_SCHEMA;
  const listDb = pgUrl && listSchema ? await openDatabase({ databaseUrl: pgUrl, dataDir: '', schema: listSchema }) : null;
  if (listDb) {
    const started = Date.now();
    if (await seedLedger(listDb, Number(process.env.BENCH_LIST_INVOICES ?? 1_000_000), DEFAULT_TENANT)) {
      process.stderr.write(`bench: seeded ${listSchema} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    }
  }
  // The seeded rows were read "now" and stay fresh for the run: (d) measures listing, not background refreshes of
  // made-up invoices that no emulator holds (those would fail and be held, after costing provider calls).
  const onList = listDb ? await appOn(listDb, salla, false, 86_400_000) : null;
  const orderIds = Array.from({ length: PAGE }, (_, i) => String(FIRST_BENCH_ORDER + i));
  for (const orderId of orderIds) {
    const out = await batched.app.invoices.create({
      tenantId: DEFAULT_TENANT,
      provider: 'SALLA',
      branch: 'salla',
      input: { orderId, type: 'tax_invoice', dataType: 'url', url: `https://files.example.com/${orderId}.pdf` },
      recordedInput: { orderId },
    });
    if (out.userErrors.length) throw new Error(JSON.stringify(out.userErrors));
  }
  for (const summary of salesforceOrders) {
    const out = await batched.app.invoices.create({
      tenantId: DEFAULT_TENANT,
      provider: 'SALESFORCE',
      branch: 'salesforce',
      input: { fulfillmentOrderId: summary.fulfillmentOrders[0]!.id },
      recordedInput: { fulfillmentOrderId: summary.fulfillmentOrders[0]!.id },
    });
    if (out.userErrors.length) throw new Error(JSON.stringify(out.userErrors));
  }
  const catalog = [
    ...orderIds.map((id) => ({ id, provider: 'SALLA', currencyCode: 'SAR' })),
    ...salesforceOrders.map((o) => ({ id: o.id, provider: 'SALESFORCE', currencyCode: 'USD' })),
  ];
  const orders = await startOrdersSubgraph(
    catalog.map((o, i) => ({ ...o, number: `#${o.id}`, total: '0.00', createdAt: new Date(Date.UTC(2026, 0, 1) + i).toISOString() })),
  );
  const sdl = await renderSchemaFile();
  const supergraphOf = (s: { url: string }) => composeSupergraph([{ name: 'orders', url: orders.url, sdl: ORDERS_SDL }, { name: 'invoicing', url: s.url, sdl }]);
  const [gatewayBatched, gatewayNaive, gatewayHive, gatewayHiveDeduplicated] = await Promise.all([
    startGateway(supergraphOf(batched)),
    startGateway(supergraphOf(naive)),
    startGatewayOfKind('hive-rust', supergraphOf(batched), { deduplicate: false }),
    startGatewayOfKind('hive-rust', supergraphOf(batched), { deduplicate: true }),
  ]);
  const sdlFirst = await startSdlFirstBaseline(new Ledger(pglite), DEFAULT_TENANT);
  const invoiceIds = (await new Ledger(pglite).invoicesByOrderIds(DEFAULT_TENANT, orderIds)).map((i) => i.id);

  const urls: SutUrls = {
    gatewayBatched: gatewayBatched.url,
    gatewayNaive: gatewayNaive.url,
    gatewayHive: gatewayHive.url,
    gatewayHiveDeduplicated: gatewayHiveDeduplicated.url,
    subgraph: batched.url,
    sdlFirst: sdlFirst.url,
    subgraphPostgres: onPostgres?.url ?? null,
    subgraphList: onList?.url ?? null,
    emulatorCreate: `${salla.baseUrl}/orders/invoices`,
    invoiceIds,
    page: PAGE,
    firstFreeOrder: FIRST_BENCH_ORDER + PAGE,
  };
  process.send!({ type: 'ready', urls });

  process.on('message', async (msg: SutRequest) => {
    if (msg.type === 'forget') {
      await pglite.query('UPDATE invoices SET content = NULL, kpis = NULL, synced_at = NULL');
      process.send!({ type: 'forget' });
    } else if (msg.type === 'counters') {
      const db = msg.store === 'list' && listDb ? listDb : msg.store === 'postgres' && pg ? pg : pglite;
      // The call log only counts; dropping old entries keeps a long run's memory flat.
      const providerCalls = salla.server.calls.length + salesforce.server.calls.length;
      process.send!({ type: 'counters', providerCalls, ledgerQueries: db.stats.queries });
    } else if (msg.type === 'ledgerLoad') {
      const db = msg.store === 'postgres' && pg ? pg : pglite;
      process.send!({ type: 'ledgerLoad', ...(await ledgerLoad(new Ledger(db), msg.seconds, msg.writers)) });
    } else if (msg.type === 'stop') {
      await Promise.allSettled([gatewayBatched.stop(), gatewayNaive.stop(), gatewayHive.stop(), gatewayHiveDeduplicated.stop(), sdlFirst.stop(), orders.stop(), batched.app.stop(), naive.app.stop(), onPostgres?.app.stop(), onList?.app.stop()]);
      if (ledgerUrl) await pglite.query(`DROP SCHEMA IF EXISTS ${ledgerSchema} CASCADE`).catch(() => undefined);
      await Promise.allSettled([pglite.close(), pg?.close(), listDb?.close(), salla.stop(), salesforce.stop()]);
      process.exit(0);
    }
  });
}

/**
 * The ledger's share of a create, alone: `writers` concurrent loops of what one create writes (the attempt's claim,
 * then its success with one invoice), with no GraphQL and no provider, for `seconds`.
 */
async function ledgerLoad(ledger: Ledger, seconds: number, writers: number): Promise<{ perSecond: number; batchSize: number }> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let n = 0;
  const header = (id: string): InvoiceHeader => ({
    provider: 'SALLA', providerInvoiceId: id, orderId: id, number: `INV-${id}`, kind: 'INVOICE', status: 'ISSUED', issueDate: '2026-11-29',
    dueDate: null, currencyCode: 'SAR', subtotal: money('100.00', 'SAR'), taxTotal: money('15.00', 'SAR'), total: money('115.00', 'SAR'), documentUrl: null,
  });
  const started = Date.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (Date.now() < until) {
        const id = `ledger-bench-${process.pid}-${n++}`;
        const { attempt } = await ledger.claim({ tenantId: 'bench-ledger', idempotencyKey: id, provider: 'SALLA', orderId: id, inputFingerprint: id, input: { orderId: id }, leaseMs: 60_000 });
        await ledger.succeed(attempt.id, 'bench-ledger', [header(id)]);
        done++;
      }
    }),
  );
  const w = ledger.writes;
  return { perSecond: done / ((Date.now() - started) / 1000), batchSize: (w.claims.items + w.successes.items) / Math.max(1, w.claims.batches + w.successes.batches) };
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
