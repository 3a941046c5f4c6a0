import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import type { ProviderEmulator } from '../../src/sandbox/shared/provider-emulator';
import type { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/exsited/exsited.seed';
import { COMMERCE_SAMPLE_ORDER_ID, COMMERCE_SANDBOX_TOKEN } from '../../src/sandbox/commerce/commerce.seed';
import { SALESFORCE_SANDBOX_TOKEN } from '../../src/sandbox/salesforce/salesforce.seed';
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

  type OrderInvoice = { providerInvoiceId: string; origin: string; status: string; lines: Array<{ sku: string | null }> | null };
  const orderInvoices = async (orderId: string): Promise<OrderInvoice[]> => (await gql(ORDER, { r: [{ __typename: 'Order', id: orderId }] })).data._entities[0].invoices;
  const rowsOf = async (providerInvoiceId: string) =>
    Number((await server.db.query<{ n: string }>('SELECT count(*) AS n FROM invoices WHERE provider_invoice_id = $1', [providerInvoiceId]))[0]!.n);

  it("EXSITED: an invoice made at Exsited on a known order appears in Order.invoices and invoices(origin: EXTERNAL) within a pass, with Exsited's lines, never twice", async () => {
    const exsited = server.emulators.EXSITED!;
    // A monthly order: ours for this month through the subgraph.
    const ours = await gql(CREATE, { i: { exsited: { orderId: 'ORD-9P4S6T' } } });
    expect(ours.data.createInvoice.userErrors).toEqual([]);
    const oursId: string = ours.data.createInvoice.invoice.providerInvoiceId;
    // The merchant's, made at Exsited over its REST API with the sandbox's client. The emulator bills a monthly order
    // once per calendar month and its clock is its own: it is moved back a month for this one call, the merchant's
    // invoice of last month's period. Signing in ends the subgraph's token (its next call refreshes it), and a refresh
    // by a pass in between ends the merchant's: then the merchant signs in again.
    const clock = exsited as unknown as { now: () => Date };
    const realNow = clock.now;
    clock.now = () => new Date(Date.now() - 32 * 86_400_000);
    let made!: Response;
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const token = await fetch(`${exsited.baseUrl}/api/v1/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ grant_type: 'client_credentials', client_id: EXSITED_SANDBOX_CLIENT_ID, client_secret: EXSITED_SANDBOX_CLIENT_SECRET }),
        }).then((r) => r.json() as Promise<{ access_token: string }>);
        made = await fetch(`${exsited.baseUrl}/api/v3/orders/ORD-9P4S6T/invoices`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token.access_token}` },
          body: JSON.stringify({ invoice: { invoice_note: 'Raised in Exsited' } }),
        });
        if (made.status !== 401) break;
      }
    } finally {
      clock.now = realNow;
    }
    expect(made.status).toBe(200);
    const theirs = ((await made.json()) as { invoice: { id: string; lines: Array<{ item_id: string }> } }).invoice;

    const order = await eventually(() => orderInvoices('ORD-9P4S6T'), (invoices) => invoices.length === 2, 4 * INTERVAL_MS + 4_000);
    const external = order.value.find((i) => i.providerInvoiceId === theirs.id)!;
    expect(external.origin).toBe('EXTERNAL');
    expect(external.lines?.map((l) => l.sku)).toEqual(theirs.lines.map((l) => l.item_id));
    expect(external.lines!.length).toBeGreaterThan(0);
    expect(order.value.find((i) => i.providerInvoiceId === oursId)!.origin).toBe('CREATED_HERE');
    const listed = await gql(LIST);
    expect(listed.data.invoices.edges.map((e: any) => e.node)).toContainEqual({ providerInvoiceId: theirs.id, provider: 'EXSITED', origin: 'EXTERNAL' });
    // Later passes list the order again and record nothing twice.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    expect((await orderInvoices('ORD-9P4S6T')).map((i) => i.providerInvoiceId).sort()).toEqual([oursId, theirs.id].sort());
    expect(await rowsOf(theirs.id)).toBe(1);
  });

  it("COMMERCE: passes list the known orders; the API takes one invoice per order, and one made at it for an order no tenant has is recorded for none", async () => {
    const commerce = server.emulators.COMMERCE!;
    const atTheApi = (orderId: string) =>
      fetch(`${commerce.baseUrl}/invoices`, { method: 'POST', headers: { 'content-type': 'application/json', accessToken: COMMERCE_SANDBOX_TOKEN }, body: JSON.stringify({ orderId }) });
    const known = PAYABLE.find((c) => c.provider === 'COMMERCE')!.input.commerce as { orderId: string };
    // A second invoice of the order the subgraph invoiced cannot be made (the emulator's 409, our reading of the API).
    expect((await atTheApi(known.orderId)).status).toBe(409);
    // One made at the API for an order the ledger does not know: nobody's.
    const made = await atTheApi(COMMERCE_SAMPLE_ORDER_ID);
    expect(made.status).toBe(201);
    const theirs = ((await made.json()) as { data: { id: string } }).data.id;
    commerce.server.resetCalls();
    await eventually(
      async () => commerce.server.calls.filter((c) => c.method === 'GET' && c.path === '/api/v1/invoices' && c.query.orderId === known.orderId).length,
      (n) => n >= 2,
      4 * INTERVAL_MS + 4_000,
    );
    // Passes list only the orders the ledger knows, and keep the known invoice once, as ours.
    expect(commerce.server.calls.some((c) => c.query.orderId === COMMERCE_SAMPLE_ORDER_ID)).toBe(false);
    const invoices = await orderInvoices(known.orderId);
    expect(invoices.map((i) => i.origin)).toEqual(['CREATED_HERE']);
    expect(invoices[0]!.lines!.length).toBeGreaterThan(0);
    expect(await orderInvoices(COMMERCE_SAMPLE_ORDER_ID)).toEqual([]);
    const listed = await gql(LIST);
    expect(listed.data.invoices.edges.map((e: any) => e.node.providerInvoiceId)).not.toContain(theirs);
    expect(await rowsOf(theirs)).toBe(0);
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

  it("SALESFORCE: an invoice made at the org for another fulfillment order of a known order summary appears in Order.invoices and invoices(origin: EXTERNAL) after a pass, with its lines, never twice", async () => {
    const sf = server.emulators.SALESFORCE!;
    const orderSummaryId = '1OsDn000000KCdvKAG';
    // Ours through the subgraph for the order summary's first fulfillment order.
    const ours = await gql(CREATE, { i: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXGIA2' } } });
    expect(ours.data.createInvoice.userErrors).toEqual([]);
    const oursId: string = ours.data.createInvoice.invoice.providerInvoiceId;
    // The merchant's flow invokes the create-invoice action itself for the second one, with the sandbox org's session.
    const made = await fetch(`${sf.baseUrl}/services/data/v62.0/commerce/fulfillment/fulfillment-orders/0a3Dn000000cEXHIA2/actions/create-invoice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` },
      body: '{}',
    });
    expect(made.status).toBe(201);
    const theirs = ((await made.json()) as { invoiceId: string }).invoiceId;

    const order = await eventually(() => orderInvoices(orderSummaryId), (invoices) => invoices.length === 2, 4 * INTERVAL_MS + 4_000);
    const external = order.value.find((i) => i.providerInvoiceId === theirs)!;
    expect(external.origin).toBe('EXTERNAL');
    expect(external.lines!.length).toBe(2);
    expect(order.value.find((i) => i.providerInvoiceId === oursId)!.origin).toBe('CREATED_HERE');
    const listed = (await gql(LIST)).data.invoices.edges.map((e: any) => e.node);
    expect(listed.filter((n: { providerInvoiceId: string }) => n.providerInvoiceId === theirs)).toEqual([{ providerInvoiceId: theirs, provider: 'SALESFORCE', origin: 'EXTERNAL' }]);
    // Later passes (inside the feed's clock margin) name it again and record nothing twice.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    expect((await orderInvoices(orderSummaryId)).map((i) => i.providerInvoiceId).sort()).toEqual([oursId, theirs].sort());
    expect(await rowsOf(theirs)).toBe(1);
    expect((await gql(LIST)).data.invoices.edges.filter((e: any) => e.node.providerInvoiceId === theirs)).toHaveLength(1);
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
