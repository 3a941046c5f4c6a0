import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import type { ProviderEmulator } from '../../src/sandbox/shared/provider-emulator';
import type { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { dropTestSchema, storeName } from '../support/store';

/**
 * Polling (SYNC_INTERVAL_MS) through a real server and its emulators: with a day's freshness, and Salla's webhooks
 * pointed nowhere, only the sync pass can change what the ledger serves.
 */

const INTERVAL_MS = 1_000;
const CREATE = `mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { id providerInvoiceId status total { amount } } userErrors { code message } } }`;
const STATUS = 'query ($id: ID!) { invoice(id: $id) { id status syncedAt } }';
const ORDER = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id invoices { providerInvoiceId origin status lines { sku } } } } }';
const LIST = 'query { invoices(first: 50, filter: { origin: [EXTERNAL] }) { totalCount edges { node { providerInvoiceId provider origin } } } }';

const PAYABLE: Array<{ provider: string; input: Record<string, unknown>; emulator: (s: RunningServer) => ProviderEmulator }> = [
  { provider: 'SALESFORCE', input: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXFIA2' } }, emulator: (s) => s.emulators.SALESFORCE! },
  {
    provider: 'ZUORA',
    input: { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70201', quantity: '2', fulfillmentDate: '2024-05-01' }] } },
    emulator: (s) => s.emulators.ZUORA!,
  },
  { provider: 'EXSITED', input: { exsited: { orderId: 'ORD-7K2M4P' } }, emulator: (s) => s.emulators.EXSITED! },
  { provider: 'COMMERCE', input: { commerce: { orderId: '69ab24db449866373d5e3e35' } }, emulator: (s) => s.emulators.COMMERCE! },
];

describe(`sync passes every SYNC_INTERVAL_MS (${storeName()})`, () => {
  let server: RunningServer;
  const schema = `sync_${Date.now().toString(36)}`;
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    expect(res.status).toBe(200);
    return (await res.json()) as { data?: any; errors?: unknown[] };
  };
  const eventually = async <T>(read: () => Promise<T>, ok: (v: T) => boolean, withinMs: number): Promise<{ value: T; ms: number }> => {
    const started = Date.now();
    for (;;) {
      const value = await read();
      if (ok(value)) return { value, ms: Date.now() - started };
      if (Date.now() - started > withinMs) throw new Error(`not reached within ${withinMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', INVOICE_FRESHNESS_MS: '86400000', SYNC_INTERVAL_MS: String(INTERVAL_MS), ...store }),
      process.env.SYNC_LOG ? pino({ level: 'debug' }, pino.destination(process.env.SYNC_LOG)) : pino({ level: 'silent' }),
    );
    // Polling alone: Salla's emulator sends no webhooks in this suite.
    server.emulators.SALLA!.configureWebhook!(null);
  });
  afterAll(async () => {
    await server?.stop();
    await dropTestSchema(schema);
  });

  let paidSalesforce = '';
  it.each(PAYABLE)('$provider: a payment in full recorded at the provider reads PAID after one pass', async (c) => {
    const created = await gql(CREATE, { i: c.input });
    const invoice = created.data.createInvoice.invoice;
    if (c.provider === 'SALESFORCE') paidSalesforce = invoice.providerInvoiceId;
    expect(invoice.status).toBe('ISSUED');
    c.emulator(server).recordPayment(invoice.providerInvoiceId, invoice.total.amount);
    // Stale for a day, so no read refreshes it: only the pass can. Within two intervals and the pass itself.
    const { ms } = await eventually(async () => (await gql(STATUS, { id: invoice.id })).data.invoice.status, (s) => s === 'PAID', 4 * INTERVAL_MS + 4_000);
    expect(ms).toBeLessThan(4 * INTERVAL_MS + 4_000);
  });

  it('SALLA: an invoice the store issued itself on a known order appears in Order.invoices and invoices(origin: EXTERNAL) after one pass', async () => {
    const salla = server.emulators.SALLA as unknown as SallaEmulator;
    const ours = await gql(CREATE, { i: { salla: { orderId: '1818813486', dataType: 'URL', url: 'https://x.example/1818813486.pdf' } } });
    expect(ours.data.createInvoice.userErrors).toEqual([]);
    const issued = salla.issueStoreInvoice(1818813486);
    const order = await eventually(
      async () => (await gql(ORDER, { r: [{ __typename: 'Order', id: '1818813486' }] })).data._entities[0].invoices as Array<{ providerInvoiceId: string; origin: string; lines: unknown[] | null }>,
      (invoices) => invoices.length === 2,
      4 * INTERVAL_MS + 4_000,
    );
    const external = order.value.find((i) => i.providerInvoiceId === String(issued.id))!;
    expect(external.origin).toBe('EXTERNAL');
    expect(external.lines?.length).toBeGreaterThan(0);
    const listed = await gql(LIST);
    expect(listed.data.invoices.edges.map((e: any) => e.node)).toContainEqual({ providerInvoiceId: String(issued.id), provider: 'SALLA', origin: 'EXTERNAL' });
    // Later passes find it again and record nothing twice.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    const again = (await gql(ORDER, { r: [{ __typename: 'Order', id: '1818813486' }] })).data._entities[0].invoices;
    expect(again).toHaveLength(2);
    const [{ n }] = await server.db.query<{ n: string }>('SELECT count(*) AS n FROM invoices WHERE provider_invoice_id = $1', [String(issued.id)]);
    expect(Number(n)).toBe(1);
  });

  it('SALESFORCE: once a pass has taken its high-water mark, each pass asks the change feed and reads only what it named', async () => {
    const sf = server.emulators.SALESFORCE!;
    sf.server.resetCalls();
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    const calls = sf.server.calls.filter((c) => c.method === 'GET');
    const soql = calls.map((c) => String(c.query.q ?? ''));
    expect(calls.length).toBeGreaterThanOrEqual(2);
    // Every pass asks the change feed once; what it reads besides is only the invoice paid in the first test, still
    // inside the feed's clock margin (a minute). (Which of several known invoices are read: sync-pass.spec.ts.)
    const feed = soql.filter((q) => /FROM Invoice WHERE SystemModstamp > /.test(q));
    expect(feed.length).toBeGreaterThanOrEqual(2);
    const named = new Set(soql.filter((q) => !feed.includes(q)).flatMap((q) => [...q.matchAll(/'([A-Za-z0-9]{15,18})'/g)].map((m) => m[1])));
    expect([...named]).toEqual(named.size === 0 ? [] : [paidSalesforce]);
  });

  it('an operator sees the sync queue by state, and the passes keep their position per provider', async () => {
    const counts = await server.jobs.counts();
    const sync = counts.find((q) => q.name === 'sync-pass')!;
    // A chain per provider: one queued (or running) each, never more.
    expect(sync.queued + sync.active).toBeGreaterThanOrEqual(1);
    expect(sync.queued + sync.active).toBeLessThanOrEqual(5);
    expect(sync.failed).toBe(0);
    const positions = await server.db.query<{ provider: string; passed_at: Date | null }>('SELECT provider, passed_at FROM sync_positions ORDER BY provider');
    expect(positions.map((p) => p.provider)).toEqual(['COMMERCE', 'EXSITED', 'SALESFORCE', 'SALLA', 'ZUORA']);
    expect(positions.every((p) => p.passed_at !== null)).toBe(true);
  });
});
