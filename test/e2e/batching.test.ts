import pino from 'pino';
import type { ProviderCode } from '../../src/domain/invoice';
import { renderSchemaFile } from '../../src/graphql/schema-file';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { sandboxOrders } from '../../examples/orders-subgraph/catalog';
import { ORDERS_SDL } from '../../examples/orders-subgraph/schema';
import { startOrdersSubgraph, type OrdersSubgraph } from '../../examples/orders-subgraph/server';
import { composeSupergraph, GATEWAY_NAMES, startGatewayOfKind, type RunningGateway } from '../../examples/supergraph/gateway';
import { GATEWAYS } from '../support/dev-supergraph';
import { dropTestSchema, storeName } from '../support/store';

/** What each provider's sandbox is asked to invoice before the reads. */
const INPUTS: Array<[ProviderCode, Record<string, unknown>]> = [
  ...['0a3Dn000000cEXFIA2', '0a3Dn000000cEXGIA2', '0a3Dn000000cEXHIA2', '0a3Dn000000cEXIIA2', '0a3Dn000000cEXJIA2', '0a3Dn000000cEXKIA2', '0a3Dn000000cEXMIA2', '0a3Dn000000cEXNIA2'].map(
    (id): [ProviderCode, Record<string, unknown>] => ['SALESFORCE', { salesforce: { fulfillmentOrderId: id } }],
  ),
  ...['1371877152', '389701957', '213320125'].map((id): [ProviderCode, Record<string, unknown>] => ['SALLA', { salla: { orderId: id, dataType: 'URL', url: `https://files.example.com/${id}.pdf` } }]),
  ['ZUORA', { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70201', quantity: '6', fulfillmentDate: '2024-05-01' }] } }],
  ...['ORD-7K2M4P', 'ORD-8N3Q5R'].map((id): [ProviderCode, Record<string, unknown>] => ['EXSITED', { exsited: { orderId: id } }]),
  ...['69ab24db449866373d5e3e35', '6932f96b8cd64c28a4fb5873'].map((id): [ProviderCode, Record<string, unknown>] => ['COMMERCE', { commerce: { orderId: id } }]),
];

/** Batching proven by counting what reaches the providers' emulators and the ledger, through each real gateway (their planners differ). */
describe.each(GATEWAYS.map((kind) => [GATEWAY_NAMES[kind], kind] as const))(`a page of orders through %s costs what it should (${storeName()})`, (_name, kind) => {
  let orders: OrdersSubgraph;
  let invoicing: RunningServer;
  let gateway: RunningGateway;
  const schema = `batch_${kind.replace('-', '_')}_${Date.now().toString(36)}`;
  const query = async (q: string) => {
    const res = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q }) });
    const body = (await res.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data;
  };
  const calls = (): Record<string, number> =>
    Object.fromEntries(Object.entries(invoicing.emulators).map(([code, e]) => [code, e!.server.calls.length]));
  const cost = async (q: string) => {
    const before = calls();
    const queries = invoicing.db.stats.queries;
    const data = await query(q);
    const after = calls();
    return { data, ledger: invoicing.db.stats.queries - queries, provider: Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!])) };
  };
  /** Forgets what the ledger keeps of invoice details, as for invoices recorded before it kept them: reads go to the providers. */
  const forget = () => invoicing.db.query('UPDATE invoices SET content = NULL, kpis = NULL, synced_at = NULL');
  const page = (provider: string, first: number, lazy: boolean) =>
    `{ orders(provider: "${provider}", first: ${first}) { id invoices { number total { amount }${lazy ? ' lines { quantity } taxes { amount { amount } } kpis { outstanding { amount } }' : ''} } } }`;

  beforeAll(async () => {
    orders = await startOrdersSubgraph(sandboxOrders());
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    invoicing = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...store }), pino({ level: 'silent' }));
    gateway = await startGatewayOfKind(kind, composeSupergraph([{ name: 'orders', url: orders.url, sdl: ORDERS_SDL }, { name: 'invoicing', url: invoicing.url, sdl: await renderSchemaFile() }]));
    for (const [, input] of INPUTS) {
      const data = await query(`mutation { createInvoice(input: ${JSON.stringify(input).replace(/"([a-zA-Z]+)":/g, '$1:').replace(/"(URL)"/g, '$1')}) { userErrors { code message } } }`);
      expect(data.createInvoice.userErrors).toEqual([]);
    }
  });
  afterAll(async () => {
    await gateway.stop();
    await invoicing.stop();
    await orders.stop();
    await dropTestSchema(schema);
  });

  it('a page that selects no lazy field makes no provider call at all, and one ledger query', async () => {
    const { provider, ledger } = await cost('{ orders(first: 100) { id invoices { id number kind total { amount currencyCode } } } }');
    expect(Object.values(provider).every((n) => n === 0)).toBe(true);
    expect(ledger).toBe(1);
  });

  it('Salesforce batches: the provider calls of a page do not grow with the page size, and are none once stored', async () => {
    await forget();
    const small = await cost(page('SALESFORCE', 2, true));
    await forget();
    const large = await cost(page('SALESFORCE', 100, true));
    const invoices = (large.data.orders as Array<{ invoices: unknown[] }>).flatMap((o) => o.invoices).length;
    expect(invoices).toBe(8);
    // Four SOQL queries per batch: invoices, their lines, and the payments and credits applied to them.
    expect(small.provider.SALESFORCE).toBe(4);
    expect(large.provider.SALESFORCE).toBe(4);
    // One ledger query for the page, one write of what the batch read found.
    expect(large.ledger).toBe(2);
    const again = await cost(page('SALESFORCE', 100, true));
    expect(again.provider.SALESFORCE).toBe(0);
    expect(again.ledger).toBe(1);
    expect(again.data).toEqual(large.data);
  });

  it.each(['SALLA', 'EXSITED', 'COMMERCE', 'ZUORA'])('%s: at most one read per invoice (and per order at Salla), shared by lines, taxes and KPIs; none once stored, even while it is down', async (code) => {
    await forget();
    const { data, provider } = await cost(page(code, 100, true));
    const invoices = (data.orders as Array<{ invoices: unknown[] }>).flatMap((o) => o.invoices).length;
    const perDocument = code === 'ZUORA' ? 2 : 1; // Zuora: the invoice and its items are two endpoints
    // Salla: the status lives on the order, read once per distinct order.
    const perOrder = code === 'SALLA' ? new Set((data.orders as Array<{ id: string; invoices: unknown[] }>).filter((o) => o.invoices.length > 0).map((o) => o.id)).size : 0;
    expect(invoices).toBe(INPUTS.filter(([p]) => p === code).length);
    // OAuth providers may add one token request.
    expect(provider[code]).toBeGreaterThanOrEqual(invoices * perDocument + perOrder);
    expect(provider[code]).toBeLessThanOrEqual(invoices * perDocument + perOrder + 1);
    expect(Object.entries(provider).filter(([k, n]) => k !== code && n > 0)).toEqual([]);
    const emulator = invoicing.emulators[code as ProviderCode]!;
    emulator.server.injectFault({ status: 503, times: Infinity });
    try {
      const again = await cost(page(code, 100, true));
      expect(again.provider[code]).toBe(0);
      expect(again.data).toEqual(data);
    } finally {
      emulator.server.clearFaults();
    }
  });
});
