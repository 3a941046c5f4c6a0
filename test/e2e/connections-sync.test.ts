import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_CLIENT_ID, SALLA_SANDBOX_CLIENT_SECRET, SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';
import { SalesforceEmulator } from '../../src/sandbox/salesforce/salesforce.emulator';
import { salesforceId } from '../../src/sandbox/salesforce/salesforce.ids';
import { SALESFORCE_SANDBOX_CLIENT_ID, SALESFORCE_SANDBOX_CLIENT_SECRET, SALESFORCE_SANDBOX_ORDER_SUMMARIES, SALESFORCE_SANDBOX_TOKEN } from '../../src/sandbox/salesforce/salesforce.seed';
import { ZuoraEmulator } from '../../src/sandbox/zuora/zuora.emulator';
import { ZUORA_SANDBOX_CLIENT_ID, ZUORA_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/zuora/zuora.seed';
import { dropTestSchema, storeName } from '../support/store';
import { waitFor } from '../support/ts-child';
import { callAs, JWT, STORE_B_ORDER_OFFSET, STORE_B_TOKEN, tenantToken, twoSallaStores } from '../support/tenants';

/**
 * The background work of tenants' own connections, through a real server and emulators: the polling pass (a
 * Salesforce change feed asked per connection, each with its own mark; Salla's order listings through the owner's
 * connection) and the reconciler (an attempt left open settled through its tenant's connection; Zuora's, whose
 * Idempotency-Key replay tells; a Salla URL invoice whose answer was lost is left for a person by design). Webhooks are off:
 * only a pass, or the reconciler, can change what the ledger serves.
 */

const INTERVAL_MS = 1_000;
const CONNECT = `mutation ($i: ConnectProviderInput!) { connectProvider(input: $i) { connection { status accountId } userErrors { code message } } }`;
const LIST = `query ($p: [InvoiceProvider!]) { invoices(first: 50, filter: { provider: $p }) { nodes { id providerInvoiceId origin status order { id } } } }`;
type Listed = { id: string; providerInvoiceId: string; origin: string; status: string | null; order: { id: string } };

describe(`tenants' connections in the sync pass and the reconciler (${storeName()})`, () => {
  const schema = `conn_sync_${Date.now().toString(36)}`;
  const salla = new SallaEmulator({ stores: twoSallaStores() });
  // Org B: its own connected app, org id and records (Salesforce ids are unique across orgs).
  let serial = 700;
  const summariesB = SALESFORCE_SANDBOX_ORDER_SUMMARIES.map((o) => ({ ...o, id: salesforceId('1Os', serial++), fulfillmentOrders: o.fulfillmentOrders.map((f) => ({ ...f, id: salesforceId('0a3', serial++) })) }));
  const appB = { clientId: '3MVG9orgB.connected.app', clientSecret: 'org-b-consumer-secret', username: 'integration@org-b' };
  const orgA = new SalesforceEmulator();
  const orgB = new SalesforceEmulator({ orderSummaries: summariesB, orgId: salesforceId('00D', 78), orgName: 'Org B', connectedApp: appB });
  const zuora = new ZuoraEmulator({ tenantId: '2001' });
  // The order summary with two fulfillment orders, in each org.
  const twoFo = SALESFORCE_SANDBOX_ORDER_SUMMARIES.findIndex((o) => o.id === '1OsDn000000KCdvKAG');
  let server: RunningServer;
  let a = '';
  let b = '';

  const call = (query: string, variables: Record<string, unknown>, bearer: string) => callAs(server.url, query, variables, bearer);
  const listed = async (bearer: string, provider: string) => (await call(LIST, { p: [provider] }, bearer)).body.data.invoices.nodes as Listed[];
  /** Waits for what a pass or the reconciler does: two intervals and the pass itself by default. */
  const eventually = <T>(read: () => Promise<T>, ok: (v: T) => boolean, withinMs = 4 * INTERVAL_MS + 4_000) => waitFor(read, ok, withinMs, 'the background work');
  const connect = async (bearer: string, input: Record<string, unknown>) => {
    const r = await call(CONNECT, { i: input }, bearer);
    expect(r.body.data.connectProvider).toMatchObject({ connection: { status: 'CONNECTED' }, userErrors: [] });
  };

  beforeAll(async () => {
    await Promise.all([salla.start(0), orgA.start(0), orgB.start(0), zuora.start(0)]);
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    server = await startServer(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env.SYNC_LOG ? 'debug' : 'silent',
        ...JWT,
        CONNECTIONS_KEY: randomBytes(32).toString('base64'),
        SYNC_INTERVAL_MS: String(INTERVAL_MS),
        // Stale for a day: no read refreshes an invoice, only a pass can.
        INVOICE_FRESHNESS_MS: '86400000',
        // An attempt left open is the reconciler's 1.5 s later.
        ATTEMPT_LEASE_MS: '1500',
        PROVIDER_TIMEOUT_MS: '1000',
        RECONCILE_INTERVAL_MS: '300',
        // The platform's Salla app, with no store of its own.
        SALLA_BASE_URL: salla.baseUrl,
        SALLA_CLIENT_ID: SALLA_SANDBOX_CLIENT_ID,
        SALLA_CLIENT_SECRET: SALLA_SANDBOX_CLIENT_SECRET,
        SALLA_TOKEN_URL: salla.tokenUrl,
        ...store,
      }),
      process.env.SYNC_LOG ? pino({ level: 'debug' }, pino.destination(process.env.SYNC_LOG)) : pino({ level: 'silent' }),
    );
    a = await tenantToken('tenant-a');
    b = await tenantToken('tenant-b');
    await connect(a, { salla: { accessToken: SALLA_SANDBOX_TOKEN, baseUrl: salla.baseUrl } });
    await connect(b, { salla: { accessToken: STORE_B_TOKEN, baseUrl: salla.baseUrl } });
    await connect(a, { salesforce: { clientId: SALESFORCE_SANDBOX_CLIENT_ID, clientSecret: SALESFORCE_SANDBOX_CLIENT_SECRET, instanceUrl: orgA.baseUrl } });
    await connect(b, { salesforce: { clientId: appB.clientId, clientSecret: appB.clientSecret, instanceUrl: orgB.baseUrl } });
    await connect(a, { zuora: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: ZUORA_SANDBOX_CLIENT_SECRET, baseUrl: zuora.baseUrl } });
  });
  afterAll(async () => {
    await server?.stop();
    await Promise.all([salla.stop(), orgA.stop(), orgB.stop(), zuora.stop()]);
    await dropTestSchema(schema);
  });

  it("SALESFORCE: each org's change feed is asked through its tenant's connection, with a mark of its own; a payment in org A reaches A's invoice, an invoice the merchant made in org B is B's alone", async () => {
    const create = (fo: string) => `mutation { createInvoice(input: { salesforce: { fulfillmentOrderId: "${fo}" } }) { invoice { id providerInvoiceId total { amount } } userErrors { code } } }`;
    const madeA = (await call(create(SALESFORCE_SANDBOX_ORDER_SUMMARIES[twoFo]!.fulfillmentOrders[0]!.id), {}, a)).body.data.createInvoice;
    const madeB = (await call(create(summariesB[twoFo]!.fulfillmentOrders[0]!.id), {}, b)).body.data.createInvoice;
    expect([madeA.userErrors, madeB.userErrors]).toEqual([[], []]);

    // Org A records a payment in full; org B's merchant invoices the summary's second fulfillment order at the org.
    orgA.recordPayment(madeA.invoice.providerInvoiceId, madeA.invoice.total.amount);
    const made = await fetch(`${orgB.baseUrl}/services/data/v62.0/commerce/fulfillment/fulfillment-orders/${summariesB[twoFo]!.fulfillmentOrders[1]!.id}/actions/create-invoice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` },
      body: '{}',
    });
    expect(made.status).toBe(201);
    const theirs = ((await made.json()) as { invoiceId: string }).invoiceId;

    const listA = await eventually(() => listed(a, 'SALESFORCE'), (l) => l.some((i) => i.status === 'PAID'));
    expect(listA).toEqual([expect.objectContaining({ providerInvoiceId: madeA.invoice.providerInvoiceId, status: 'PAID', origin: 'CREATED_HERE' })]);
    const listB = await eventually(() => listed(b, 'SALESFORCE'), (l) => l.length === 2);
    expect(listB.map((i) => [i.providerInvoiceId, i.origin, i.order.id]).sort()).toEqual(
      [
        [madeB.invoice.providerInvoiceId, 'CREATED_HERE', summariesB[twoFo]!.id],
        [theirs, 'EXTERNAL', summariesB[twoFo]!.id],
      ].sort(),
    );
    expect(listB.find((i) => i.providerInvoiceId === madeB.invoice.providerInvoiceId)!.status).toBe('ISSUED');

    // Each org was asked its own feed (SystemModstamp SOQL) with its own connected app's session, and each connection
    // keeps its own mark.
    for (const org of [orgA, orgB]) {
      const feed = org.server.calls.filter((c) => c.method === 'GET' && /FROM Invoice WHERE SystemModstamp > /.test(String(c.query.q ?? '')));
      expect(feed.length).toBeGreaterThanOrEqual(1);
      expect(feed.every((c) => c.headers.authorization !== `Bearer ${SALESFORCE_SANDBOX_TOKEN}`)).toBe(true);
    }
    const connections = await server.db.query<{ id: string }>(`SELECT id FROM provider_connections WHERE provider = 'SALESFORCE' ORDER BY id`);
    const marks = await server.db.query<{ provider: string }>(`SELECT provider FROM sync_positions WHERE provider LIKE 'SALESFORCE %' ORDER BY provider`);
    expect(marks.map((m) => m.provider)).toEqual(connections.map((c) => `SALESFORCE ${c.id}`));
    // Later passes record nothing twice.
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS));
    expect(await server.db.query('SELECT tenant_id FROM invoices WHERE provider_invoice_id = $1', [theirs])).toEqual([{ tenant_id: 'tenant-b' }]);
  });

  it("SALLA: a pass lists each store's orders through its tenant's connection: store B's own invoice is B's alone, a payment at store A reaches A's invoice", async () => {
    const create = (orderId: number) =>
      `mutation { createInvoice(input: { salla: { orderId: "${orderId}", dataType: URL, url: "https://files.example.com/${orderId}.pdf" } }) { invoice { providerInvoiceId } userErrors { code } } }`;
    const [storeA] = twoSallaStores();
    const orderA = storeA!.orders[0]!.id;
    const orderB = orderA + STORE_B_ORDER_OFFSET;
    const madeA = (await call(create(orderA), {}, a)).body.data.createInvoice;
    const madeB = (await call(create(orderB), {}, b)).body.data.createInvoice;
    expect([madeA.userErrors, madeB.userErrors]).toEqual([[], []]);

    const issued = salla.issueStoreInvoice(orderB, { storeToken: STORE_B_TOKEN });
    const { total } = salla.invoices(SALLA_SANDBOX_TOKEN).find((i) => String(i.id) === madeA.invoice.providerInvoiceId)!;
    salla.recordPayment(madeA.invoice.providerInvoiceId, total);

    const listB = await eventually(() => listed(b, 'SALLA'), (l) => l.length === 2);
    expect(listB.map((i) => [i.providerInvoiceId, i.origin]).sort()).toEqual([[madeB.invoice.providerInvoiceId, 'CREATED_HERE'], [String(issued.id), 'EXTERNAL']].sort());
    const listA = await eventually(() => listed(a, 'SALLA'), (l) => l.some((i) => i.status === 'PAID'));
    expect(listA.map((i) => [i.providerInvoiceId, i.status])).toEqual([[madeA.invoice.providerInvoiceId, 'PAID']]);
    expect(await server.db.query('SELECT tenant_id FROM invoices WHERE provider_invoice_id = $1', [String(issued.id)])).toEqual([{ tenant_id: 'tenant-b' }]);
  });

  it("the reconciler settles an attempt left open through its tenant's connection: one invoice in the tenant's Zuora, the key's retry answers it", async () => {
    const ITEM = '8ad0887e8a0f4f2c018a10a1d6e70201'; // O-00000102
    const CREATE = `mutation ($k: String) { createInvoice(input: { zuora: { fulfillments: [{ orderLineItemId: "${ITEM}", quantity: "1", fulfillmentDate: "2024-05-01" }] } }, idempotencyKey: $k) {
      invoice { providerInvoiceId } userErrors { code } } }`;
    // Zuora bills, its answer is lost, and every later try fails for a while: the create cannot tell what happened.
    zuora.server.injectFault({ method: 'POST', path: '/v1/fulfillments', afterHandler: true, reset: true, times: 1 });
    zuora.server.injectFault({ method: 'POST', path: '/v1/fulfillments', reset: true, times: 10_000 });
    const first = await call(CREATE, { k: 'left-open-1' }, a);
    expect(first.status).toBe(200);
    expect(first.body.data.createInvoice.invoice).toBeNull();
    expect(first.body.data.createInvoice.userErrors).toEqual([expect.objectContaining({ code: expect.stringMatching(/PROVIDER_UNAVAILABLE|IN_PROGRESS/) })]);
    expect(zuora.documents()).toHaveLength(1);
    zuora.server.clearFaults();

    // Nobody retries: the reconciler asks tenant A's Zuora through A's connection (the deployment has no Zuora account
    // it may reconcile with: its own is a fresh sandbox), and records the invoice as the attempt's.
    const found = await eventually(() => listed(a, 'ZUORA'), (l) => l.length > 0, 10_000);
    expect(found).toEqual([expect.objectContaining({ providerInvoiceId: zuora.documents()[0]!.id, origin: 'CREATED_HERE', order: { id: 'O-00000102' } })]);
    const retry = await call(CREATE, { k: 'left-open-1' }, a);
    expect(retry.body.data.createInvoice).toEqual({ invoice: { providerInvoiceId: zuora.documents()[0]!.id }, userErrors: [] });
    expect(zuora.documents()).toHaveLength(1);
    expect(await listed(b, 'ZUORA')).toEqual([]);
  });
});

describe(`a stale read refreshed through the owner's connection (${storeName()})`, () => {
  const schema = `conn_fresh_${Date.now().toString(36)}`;
  const salla = new SallaEmulator({ stores: twoSallaStores() });
  let server: RunningServer;

  beforeAll(async () => {
    await salla.start(0);
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    server = await startServer(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        ...JWT,
        CONNECTIONS_KEY: randomBytes(32).toString('base64'),
        // No polling and no webhooks: only a read's background refresh can change a status.
        SYNC_INTERVAL_MS: '0',
        INVOICE_FRESHNESS_MS: '0',
        SALLA_BASE_URL: salla.baseUrl,
        SALLA_CLIENT_ID: SALLA_SANDBOX_CLIENT_ID,
        SALLA_CLIENT_SECRET: SALLA_SANDBOX_CLIENT_SECRET,
        SALLA_TOKEN_URL: salla.tokenUrl,
        ...store,
      }),
      pino({ level: 'silent' }),
    );
  });
  afterAll(async () => {
    await server?.stop();
    await salla.stop();
    await dropTestSchema(schema);
  });

  it("a payment at store B reaches tenant B's invoice on its next reads, read at store B with B's token only", async () => {
    const a = await tenantToken('tenant-a');
    const b = await tenantToken('tenant-b');
    for (const [bearer, accessToken] of [[a, SALLA_SANDBOX_TOKEN], [b, STORE_B_TOKEN]] as const) {
      expect((await callAs(server.url, CONNECT, { i: { salla: { accessToken, baseUrl: salla.baseUrl } } }, bearer)).body.data.connectProvider.userErrors).toEqual([]);
    }
    // A prepaid order of store B (a cash-on-delivery invoice is not paid by a payment record before delivery).
    const orderB = twoSallaStores()[1]!.orders[5]!.id;
    const made = (await callAs(server.url, `mutation { createInvoice(input: { salla: { orderId: "${orderB}", dataType: URL, url: "https://files.example.com/b.pdf" } }) { invoice { id providerInvoiceId } userErrors { code } } }`, {}, b)).body.data.createInvoice;
    expect(made.userErrors).toEqual([]);
    const { total } = salla.invoices(STORE_B_TOKEN).find((i) => String(i.id) === made.invoice.providerInvoiceId)!;
    salla.recordPayment(made.invoice.providerInvoiceId, total);
    salla.server.resetCalls();

    const STATUS = `query { invoice(id: "${made.invoice.id}") { status } }`;
    let status = '';
    for (let i = 0; i < 100 && status !== 'PAID'; i++) {
      status = (await callAs(server.url, STATUS, {}, b)).body.data.invoice.status;
      if (status !== 'PAID') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('PAID');
    const reads = salla.server.calls.filter((c) => c.method === 'GET' && c.path.endsWith(`/orders/invoices/${made.invoice.providerInvoiceId}`));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((c) => c.headers.authorization === `Bearer ${STORE_B_TOKEN}`)).toBe(true);
    // Tenant A cannot read it at all.
    expect((await callAs(server.url, STATUS, {}, a)).body.data.invoice).toBeNull();
  });
});
