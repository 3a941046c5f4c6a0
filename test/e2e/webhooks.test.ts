import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import type { ZuoraEmulator } from '../../src/sandbox/zuora/zuora.emulator';
import { sallaSignature } from '../../src/providers/salla/salla.webhooks';
import { zuoraSignature } from '../../src/providers/zuora/zuora.webhooks';
import type { Database } from '../../src/ledger/database';
import { dropTestSchema, storeName } from '../support/store';

/**
 * Salla's webhooks end to end: the sandbox emulator sends its signed deliveries to the subgraph's POST /webhooks/salla
 * when the sandbox records a payment, a void or a store invoice, and the subgraph's job queue re-reads the order.
 */

const CREATE = `mutation ($orderId: ID!) { createInvoice(input: { salla: { orderId: $orderId, dataType: URL, url: "https://x.example/inv.pdf" } }) {
  invoice { id providerInvoiceId status } userErrors { code message } } }`;
const STATUS = 'query ($id: ID!) { invoice(id: $id) { id status syncedAt } }';
const ORDER = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id invoices { providerInvoiceId origin status kind total { amount } } } } }';

type Gql = { status: number; body: { data?: any; errors?: Array<{ message: string }> } };

describe(`Salla and Zuora webhooks through the subgraph (${storeName()})`, () => {
  let server: RunningServer;
  let salla: SallaEmulator;
  const schema = `hooks_${Date.now().toString(36)}`;
  const gql = async (query: string, variables: Record<string, unknown>): Promise<Gql> => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: res.status, body: (await res.json()) as Gql['body'] };
  };
  const webhookUrl = () => new URL('/webhooks/salla', server.url).toString();
  const post = (url: string, body: string, headers: Record<string, string>) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const eventCount = async () => Number((await server.db.query<{ n: string }>('SELECT count(*) AS n FROM provider_events'))[0]!.n);
  const create = async (orderId: string) => {
    const res = await gql(CREATE, { orderId });
    expect(res.body.data?.createInvoice.userErrors).toEqual([]);
    return res.body.data!.createInvoice.invoice as { id: string; providerInvoiceId: string; status: string };
  };
  /** Polls the subgraph until the invoice reads `status`; resolves to how long that took. */
  const until = async (id: string, status: string, withinMs = 5_000): Promise<number> => {
    const started = Date.now();
    for (;;) {
      const res = await gql(STATUS, { id });
      if (res.body.data?.invoice?.status === status) return Date.now() - started;
      if (Date.now() - started > withinMs) throw new Error(`still ${res.body.data?.invoice?.status} after ${withinMs} ms, not ${status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const orderInvoices = async (orderId: string) => (await gql(ORDER, { r: [{ __typename: 'Order', id: orderId }] })).body.data!._entities[0].invoices as Array<{ providerInvoiceId: string; origin: string; status: string; kind: string }>;

  beforeAll(async () => {
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    // A day's freshness and no polling: only a webhook can change a stored status here.
    server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', INVOICE_FRESHNESS_MS: '86400000', SYNC_INTERVAL_MS: '0', ...store }),
      pino({ level: 'silent' }),
    );
    salla = server.emulators.SALLA as SallaEmulator;
  });
  afterAll(async () => {
    await server?.stop();
    await dropTestSchema(schema);
  });

  it('a payment recorded at Salla reaches status PAID through its signed webhook, within 2 s', async () => {
    const invoice = await create('213320125');
    expect(invoice.status).toBe('ISSUED');
    const { total } = salla.invoices().find((i) => String(i.id) === invoice.providerInvoiceId)!;
    const before = await eventCount();
    salla.recordPayment(invoice.providerInvoiceId, total);
    const took = await until(invoice.id, 'PAID', 2_000);
    expect(took).toBeLessThan(2_000);
    await salla.webhookIdle();
    const sent = salla.webhookDeliveries.filter((d) => d.event.startsWith('order.'));
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((d) => d.status === 200)).toBe(true);
    expect(await eventCount()).toBeGreaterThan(before);
  });

  it('a forged, unsigned or re-signed-with-another-secret delivery is refused with 401 and records nothing', async () => {
    const body = JSON.stringify({ event: 'order.cancelled', merchant: 1, created_at: new Date().toISOString(), data: { id: 213320125 } });
    const before = await eventCount();
    const forged: Array<Record<string, string>> = [
      {},
      { 'x-salla-signature': 'f'.repeat(64), 'x-salla-security-strategy': 'Signature' },
      { 'x-salla-signature': sallaSignature(body, 'not-the-secret-at-all'), 'x-salla-security-strategy': 'Signature' },
      { 'x-salla-security-strategy': 'Token', authorization: 'not-the-secret-at-all' },
    ];
    for (const headers of forged) {
      const res = await post(webhookUrl(), body, headers);
      expect(res.status).toBe(401);
    }
    expect(await eventCount()).toBe(before);
    // The invoice stays as it was: nothing was queued.
    const [paid] = (await orderInvoices('213320125')).filter((i) => i.kind === 'INVOICE');
    expect(paid!.status).toBe('PAID');
  });

  it('a redelivered event is recorded once and changes nothing twice', async () => {
    await salla.webhookIdle();
    const index = salla.webhookDeliveries.length - 1;
    const before = await eventCount();
    const replay = salla.redeliver(index);
    await salla.webhookIdle();
    expect(replay.body).toBe(salla.webhookDeliveries[index]!.body);
    expect(replay.status).toBe(200);
    expect(await eventCount()).toBe(before);
    const [row] = await server.db.query<{ deliveries: number }>('SELECT deliveries FROM provider_events ORDER BY deliveries DESC LIMIT 1');
    expect(row!.deliveries).toBeGreaterThanOrEqual(2);
  });

  it('events delivered out of order leave the latest state: a void delivered before the order events that preceded it', async () => {
    const invoice = await create('1371877152');
    salla.holdWebhooks();
    salla.setOrderStatus(1371877152, 'in_progress');
    salla.voidInvoice(invoice.providerInvoiceId);
    const held = salla.webhookDeliveries.filter((d) => d.state === 'held').map((d) => d.index);
    expect(held.length).toBeGreaterThanOrEqual(2);
    // Newest first: the cancellation arrives before the order's earlier status change.
    await salla.releaseWebhooks([...held].reverse());
    await salla.webhookIdle();
    await until(invoice.id, 'VOID', 2_000);
    // However long the queue takes with the older event, VOID stays.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await gql(STATUS, { id: invoice.id })).body.data.invoice.status).toBe('VOID');
  });

  it('an invoice the store issues itself appears in Order.invoices as EXTERNAL, once', async () => {
    const ours = await create('389701957');
    const issued = salla.issueStoreInvoice(389701957);
    await salla.webhookIdle();
    const started = Date.now();
    let invoices = await orderInvoices('389701957');
    while (!invoices.some((i) => i.providerInvoiceId === String(issued.id)) && Date.now() - started < 2_000) {
      await new Promise((r) => setTimeout(r, 50));
      invoices = await orderInvoices('389701957');
    }
    expect(invoices.map((i) => [i.providerInvoiceId, i.origin]).sort()).toEqual([[ours.providerInvoiceId, 'CREATED_HERE'], [String(issued.id), 'EXTERNAL']].sort());
    // Delivered again: still one record.
    salla.redeliver(salla.webhookDeliveries.findIndex((d) => d.event === 'invoice.created'));
    await salla.webhookIdle();
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await orderInvoices('389701957')).filter((i) => i.providerInvoiceId === String(issued.id))).toHaveLength(1);
  });

  it('a store invoice on an order no tenant has invoiced is recorded for nobody', async () => {
    const issued = salla.issueStoreInvoice(1818813486);
    await salla.webhookIdle();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await orderInvoices('1818813486')).toEqual([]);
    const rows = await server.db.query('SELECT id FROM invoices WHERE provider_invoice_id = $1', [String(issued.id)]);
    expect(rows).toEqual([]);
  });

  it('ZUORA: a payment recorded at Zuora reaches PAID through its signed callout within 2 s; a forged one is refused', async () => {
    const zuora = server.emulators.ZUORA as ZuoraEmulator;
    const res = await gql(
      `mutation { createInvoice(input: { zuora: { fulfillments: [{ orderLineItemId: "8ad0887e8a0f4f2c018a10a1d6e70201", quantity: "2", fulfillmentDate: "2024-05-01" }] } }) {
        invoice { id providerInvoiceId status total { amount } } userErrors { code } } }`,
      {},
    );
    const invoice = res.body.data!.createInvoice.invoice;
    expect(invoice.status).toBe('ISSUED');
    zuora.recordPayment(invoice.providerInvoiceId, invoice.total.amount);
    expect(await until(invoice.id, 'PAID', 2_000)).toBeLessThan(2_000);
    await zuora.webhookIdle();
    expect(zuora.webhookDeliveries.map((d) => [d.event, d.status])).toContainEqual(['PaymentProcessed', 200]);
    const body = JSON.stringify({ event: 'InvoiceCanceled', invoiceId: invoice.providerInvoiceId });
    expect((await post(new URL('/webhooks/zuora', server.url).toString(), body, { 'x-zuora-signature': 'ab'.repeat(32) })).status).toBe(401);
  });

  it('ZUORA: an invoice billed at Zuora outside the subgraph appears as EXTERNAL through its Invoice Posted callout within 2 s, once, with its lines; a forged callout records nothing', async () => {
    const zuora = server.emulators.ZUORA as ZuoraEmulator;
    const BEANS = '8ad0887e8a0f4f2c018a10a1d6e70301'; // O-00000201: 24 × Espresso Beans 1 lb
    const DRIPPER = '8ad0887e8a0f4f2c018a10a1d6e70302'; // O-00000201: 4 × Ceramic Pour-Over Dripper
    const ORDER_LINES = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id invoices {
      providerInvoiceId origin status kind lines { description quantity } } } } }`;
    const EXTERNAL = `query { invoices(filter: { provider: [ZUORA], origin: [EXTERNAL], orderId: ["O-00000201"] }) { totalCount nodes { providerInvoiceId origin order { id } } } }`;
    type Listed = { providerInvoiceId: string; origin: string; lines: Array<{ description: string; quantity: string }> | null };
    const onOrder = async () => (await gql(ORDER_LINES, { r: [{ __typename: 'Order', id: 'O-00000201' }] })).body.data!._entities[0].invoices as Listed[];
    const external = async () => (await gql(EXTERNAL, {})).body.data!.invoices as { totalCount: number; nodes: Array<{ providerInvoiceId: string; origin: string; order: { id: string } }> };
    const created = await gql(
      `mutation { createInvoice(input: { zuora: { fulfillments: [{ orderLineItemId: "${BEANS}", quantity: "3", fulfillmentDate: "2024-05-01" }] } }) {
        invoice { providerInvoiceId origin order { id } } userErrors { code } } }`,
      {},
    );
    const ours = created.body.data!.createInvoice.invoice;
    expect(ours).toEqual({ providerInvoiceId: expect.any(String), origin: 'CREATED_HERE', order: { id: 'O-00000201' } });

    // Billed in Zuora without the subgraph: another line item, and the same line item again.
    const outside = zuora.postInvoiceOutside(DRIPPER, 2, '2024-05-02');
    const started = Date.now();
    let invoices = await onOrder();
    while (!invoices.some((i) => i.providerInvoiceId === outside.id) && Date.now() - started < 2_000) {
      await new Promise((r) => setTimeout(r, 50));
      invoices = await onOrder();
    }
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(invoices.map((i) => [i.providerInvoiceId, i.origin]).sort()).toEqual([[ours.providerInvoiceId, 'CREATED_HERE'], [outside.id, 'EXTERNAL']].sort());
    // Its lines are Zuora's: 2 × the dripper.
    expect(invoices.find((i) => i.providerInvoiceId === outside.id)!.lines).toEqual([{ description: expect.stringContaining('Dripper'), quantity: '2' }]);
    expect(await external()).toEqual({ totalCount: 1, nodes: [{ providerInvoiceId: outside.id, origin: 'EXTERNAL', order: { id: 'O-00000201' } }] });
    await zuora.webhookIdle();
    expect(zuora.webhookDeliveries.filter((d) => d.event === 'InvoicePosted').map((d) => d.status)).toEqual([200]);
    // Never recorded as an attempt of ours.
    expect(await server.db.query('SELECT origin, attempt_id FROM invoices WHERE provider_invoice_id = $1', [outside.id])).toEqual([{ origin: 'EXTERNAL', attempt_id: null }]);

    // Delivered again (Zuora retries; another notification for the same invoice): still one record.
    const url = new URL('/webhooks/zuora', server.url).toString();
    const secret = server.webhookSecrets.ZUORA!;
    const again = JSON.stringify({ event: 'InvoicePosted', invoiceId: outside.id, invoiceNumber: outside.number, accountId: '' });
    expect((await post(url, again, { 'x-zuora-signature': zuoraSignature(again, secret), 'zuora-notification-id': 'redelivered-1' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await onOrder()).filter((i) => i.providerInvoiceId === outside.id)).toHaveLength(1);
    expect((await external()).totalCount).toBe(1);

    // Billed outside while no callout is configured, then named by forged callouts: refused, recorded for nobody.
    zuora.configureWebhook(null);
    const hidden = zuora.postInvoiceOutside(BEANS, 1, '2024-05-02');
    zuora.configureWebhook({ url, secret });
    const forged = JSON.stringify({ event: 'InvoicePosted', invoiceId: hidden.id, invoiceNumber: '', accountId: '' });
    const forgeries: Array<Record<string, string>> = [{}, { 'x-zuora-signature': 'ab'.repeat(32) }, { 'x-zuora-signature': zuoraSignature(forged, 'not-the-secret-at-all') }];
    for (const headers of forgeries) {
      expect((await post(url, forged, headers)).status).toBe(401);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await onOrder()).map((i) => i.providerInvoiceId)).not.toContain(hidden.id);
    expect(await server.db.query('SELECT id FROM invoices WHERE provider_invoice_id = $1', [hidden.id])).toEqual([]);
    expect((await external()).totalCount).toBe(1);
    // The same body signed with the secret is what Zuora would send: then it is found.
    expect((await post(url, forged, { 'x-zuora-signature': zuoraSignature(forged, secret) })).status).toBe(200);
    const since = Date.now();
    while ((await external()).totalCount < 2 && Date.now() - since < 2_000) await new Promise((r) => setTimeout(r, 50));
    expect((await external()).nodes.map((n) => n.providerInvoiceId).sort()).toEqual([outside.id, hidden.id].sort());
  });

  it("ZUORA: the Invoice Posted callout of an invoice our create billed, processed before the create's success is stored, leaves it once, CREATED_HERE, and the create answers it", async () => {
    const zuora = server.emulators.ZUORA as ZuoraEmulator;
    const BEARING = '8ad0887e8a0f4f2c018a10a1d6e70501'; // O-00000301: 8 × CNC Spindle Bearing
    const MANUAL = '8ad0887e8a0f4f2c018a10a1d6e70502'; // O-00000301: 8 × Maintenance Manual (print)
    const createOn = async (orderLineItemId: string) => {
      const res = await gql(
        `mutation { createInvoice(input: { zuora: { fulfillments: [{ orderLineItemId: "${orderLineItemId}", quantity: "1", fulfillmentDate: "2024-05-01" }] } }) {
          invoice { id providerInvoiceId origin } userErrors { code } } }`,
        {},
      );
      expect(res.body.data?.createInvoice.userErrors).toEqual([]);
      return res.body.data!.createInvoice.invoice as { id: string; providerInvoiceId: string; origin: string };
    };
    // A first invoice makes O-00000301 this tenant's, so that a callout naming another invoice of it records that one for it.
    const first = await createOn(BEARING);

    // Real Zuora sends Invoice Posted for the invoices POST /v1/fulfillments bills too (the emulator does not on its
    // own): sent here, and processed, while the next create's success is held. Ledger.succeed's transaction is the
    // only one the ledger opens after start; the hold ends at its first call.
    const url = new URL('/webhooks/zuora', server.url).toString();
    const secret = server.webhookSecrets.ZUORA!;
    const db = server.db;
    const transaction = db.transaction;
    const billedBefore = new Set(zuora.documents().map((d) => d.id));
    let recordedFirst: unknown[] = [];
    db.transaction = (async (...args: Parameters<Database['transaction']>) => {
      db.transaction = transaction;
      const posted = zuora.documents().find((d) => d.kind === 'invoice' && !billedBefore.has(d.id))!;
      const body = JSON.stringify({ event: 'InvoicePosted', invoiceId: posted.id, invoiceNumber: posted.number, accountId: '' });
      expect((await post(url, body, { 'x-zuora-signature': zuoraSignature(body, secret), 'zuora-notification-id': `posted-${posted.id}` })).status).toBe(200);
      const since = Date.now();
      const recorded = () => db.query('SELECT origin, attempt_id FROM invoices WHERE provider_invoice_id = $1', [posted.id]);
      while ((recordedFirst = await recorded()).length === 0 && Date.now() - since < 3_000) await new Promise((r) => setTimeout(r, 50));
      return transaction.apply(db, args);
    }) as Database['transaction'];
    let second: Awaited<ReturnType<typeof createOn>>;
    try {
      second = await createOn(MANUAL);
    } finally {
      db.transaction = transaction;
    }
    // The callout's read recorded it EXTERNAL first; the create's success then took that row over.
    expect(recordedFirst).toEqual([{ origin: 'EXTERNAL', attempt_id: null }]);
    expect(second.origin).toBe('CREATED_HERE');
    expect(await server.db.query('SELECT id, origin FROM invoices WHERE provider_invoice_id = $1', [second.providerInvoiceId])).toEqual([{ id: second.id, origin: 'CREATED_HERE' }]);
    expect((await orderInvoices('O-00000301')).map((i) => [i.providerInvoiceId, i.origin])).toEqual([
      [first.providerInvoiceId, 'CREATED_HERE'],
      [second.providerInvoiceId, 'CREATED_HERE'],
    ]);
    const external = await gql(`query { invoices(filter: { provider: [ZUORA], origin: [EXTERNAL], orderId: ["O-00000301"] }) { totalCount } }`, {});
    expect(external.body.data!.invoices.totalCount).toBe(0);
    const byId = await gql('query ($id: ID!) { invoice(id: $id) { providerInvoiceId origin } }', { id: second.id });
    expect(byId.body.data!.invoice).toEqual({ providerInvoiceId: second.providerInvoiceId, origin: 'CREATED_HERE' });
  });

  it('refuses what is not a delivery: 404 for providers without webhooks, 405 for GET, 400 for a signed non-event, 413 for a huge body', async () => {
    expect((await post(new URL('/webhooks/commerce', server.url).toString(), '{}', {})).status).toBe(404);
    expect((await post(new URL('/webhooks/nowhere', server.url).toString(), '{}', {})).status).toBe(404);
    expect((await post(new URL('/webhooks/SALLA', server.url).toString(), '{}', {})).status).toBe(404);
    expect((await fetch(webhookUrl())).status).toBe(405);
    const secret = server.webhookSecrets.SALLA!;
    const signed = (body: string) => ({ 'x-salla-signature': sallaSignature(body, secret), 'x-salla-security-strategy': 'Signature' });
    for (const body of ['not json', '[]', '{"event":"order.updated","data":{"id":"\\u0000"}}', '{"event":"order.updated","data":{"id":1e999}}', `{"event":"${'x'.repeat(300)}","data":{}}`]) {
      const res = await post(webhookUrl(), body, signed(body));
      expect([body.slice(0, 40), res.status]).toEqual([body.slice(0, 40), 400]);
    }
    // Control characters and lone surrogates inside strings are valid JSON: an event about something else is acknowledged.
    const odd = JSON.stringify({ event: 'product.updated\u0001', data: { name: '\ud800\u0000' } });
    expect((await post(webhookUrl(), odd, signed(odd))).status).toBe(200);
    const huge = `{"event":"order.updated","data":{"id":1,"pad":"${'a'.repeat(2 * 1024 * 1024)}"}}`;
    expect((await post(webhookUrl(), huge, signed(huge))).status).toBe(413);
  });
});
