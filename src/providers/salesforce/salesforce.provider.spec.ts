import { ProviderError } from '../../domain/errors';
import type { InvoiceDetails, ProviderInvoiceRef } from '../../domain/invoice';
import type { Money } from '../../domain/money';
import { SalesforceEmulator } from '../../sandbox/salesforce/salesforce.emulator';
import { randomSalesforceId, salesforceId } from '../../sandbox/salesforce/salesforce.ids';
import {
  SALESFORCE_SANDBOX_CANCELLED_FULFILLMENT_ORDER_ID,
  SALESFORCE_SANDBOX_ORDER_SUMMARIES,
  SALESFORCE_SANDBOX_PRODUCTS,
  SALESFORCE_SANDBOX_TOKEN,
  type SalesforceOrderSummarySeed,
} from '../../sandbox/salesforce/salesforce.seed';
import { SALESFORCE_REQUEST_LIMIT_COOLDOWN_SECONDS, SalesforceProvider, type SalesforceConfig } from './salesforce.provider';
import { providerFailure } from '../../../test/support/provider-failure';

/** 20 more fulfillment orders of one order summary, two lines each: enough for a page of invoices. */
const BULK_ORDER: SalesforceOrderSummarySeed = {
  id: salesforceId('1Os', 9_000_000),
  orderNumber: '00000900',
  accountName: 'Bulk Buyer Inc.',
  currency: 'USD',
  paymentTermDays: 30,
  fulfillmentOrders: Array.from({ length: 20 }, (_, i) => ({
    id: salesforceId('0a3', 9_000_000 + i),
    status: 'Fulfilled' as const,
    lines: [
      { product: SALESFORCE_SANDBOX_PRODUCTS.pencil, quantity: String(i + 1), unitPrice: '0.20', adjustment: '0.00', tax: { name: 'Sales Tax', code: 'US-X', ratePercent: '5' } },
      { product: SALESFORCE_SANDBOX_PRODUCTS.shipping, quantity: '1', unitPrice: '3.00', adjustment: '0.00', tax: { name: 'Sales Tax', code: 'US-X', ratePercent: '5' } },
    ],
  })),
};
const BULK_IDS = BULK_ORDER.fulfillmentOrders.map((fo) => fo.id);

const CA_ORDER = '0a3Dn000000cEXFIA2'; // 2 × Trail Running Shoes, shipping, CA 8.25 % → 292.20 USD
const DE_ORDER = '0a3Dn000000cEXIIA2'; // coat 19 %, books 7 %, shipping 19 % → 329.94 EUR

/** The data source against the Salesforce emulator over real HTTP: the same code path as against an org. */
describe('SalesforceProvider over HTTP (sandbox emulator)', () => {
  let salesforce: SalesforceEmulator;
  const provider = (extra: Partial<SalesforceConfig> = {}, emulator = salesforce) =>
    new SalesforceProvider({ instanceUrl: emulator.baseUrl, accessToken: SALESFORCE_SANDBOX_TOKEN, apiVersion: '62.0', timeoutMs: 1_000, ...extra });
  const create = (fulfillmentOrderId: string, p = provider()) => p.create({ fulfillmentOrderId }, { idempotencyKey: 'k' });
  const ref = (d: InvoiceDetails): ProviderInvoiceRef => ({ provider: 'SALESFORCE', providerInvoiceId: d.header.providerInvoiceId, orderId: d.header.orderId });
  const money = (m: Money | null) => (m ? `${m.amount.toFixed(2)} ${m.currencyCode}` : null);
  /** The calls made, without the describes each new provider makes once (a test of their own counts those). */
  const calls = (emulator = salesforce) => allCalls(emulator).filter((c) => !c.endsWith('/describe'));
  const allCalls = (emulator = salesforce) => emulator.server.calls.map((c) => `${c.method} ${c.path.replace(/^\/services\/data\/v\d+\.0/, '')}`);
  const QUERY = /\/query/;
  const failure = providerFailure;
  /** Invoices for fulfillment orders, with the call log cleared after. */
  const invoiced = async (ids: string[], emulator = salesforce): Promise<InvoiceDetails[]> => {
    const made: InvoiceDetails[] = [];
    for (const id of ids) made.push(...(await create(id, provider({}, emulator))));
    emulator.server.resetCalls();
    return made;
  };

  beforeAll(async () => {
    salesforce = new SalesforceEmulator({ orderSummaries: [...SALESFORCE_SANDBOX_ORDER_SUMMARIES, BULK_ORDER] });
    await salesforce.start(0);
  });
  afterAll(() => salesforce.stop());
  beforeEach(() => salesforce.reset());

  it('posts {} to the versioned create-invoice action with the bearer token', async () => {
    await create(CA_ORDER);
    const post = salesforce.server.calls.find((c) => c.method === 'POST')!;
    expect(post.path).toBe(`/services/data/v62.0/commerce/fulfillment/fulfillment-orders/${CA_ORDER}/actions/create-invoice`);
    expect(post.headers.authorization).toBe(`Bearer ${SALESFORCE_SANDBOX_TOKEN}`);
    expect(post.body).toEqual({});
  });

  it('creates, then reads back in one parallel batch: the OrderSummary as order, exact amounts, lines, grouped taxes', async () => {
    const [d] = await create(DE_ORDER);
    expect(d!.header).toMatchObject({ provider: 'SALESFORCE', orderId: '1OsDn000000KCdwKAG', kind: 'INVOICE', status: 'ISSUED', currencyCode: 'EUR', number: 'INV-0000000001' });
    expect([money(d!.header.subtotal), money(d!.header.taxTotal), money(d!.header.total)]).toEqual(['279.88 EUR', '50.06 EUR', '329.94 EUR']);
    expect(d!.lines.map((l) => [l.description, l.quantity.toFixed(), money(l.total)])).toEqual([
      ['Wool Coat', '1', '296.31 EUR'],
      ['Paperback Novel', '2', '27.80 EUR'],
      ['Standard Shipping', '1', '5.83 EUR'],
    ]);
    expect(d!.taxes.map((t) => [t.code, t.ratePercent!.toFixed(), money(t.amount)])).toEqual([
      ['DE-VAT-19', '19', '48.24 EUR'],
      ['DE-VAT-7', '7', '1.82 EUR'],
    ]);
    expect([money(d!.kpis.outstanding), money(d!.kpis.paid), d!.kpis.overdue]).toEqual(['329.94 EUR', '0.00 EUR', false]);
    expect(d!.header.providerInvoiceId).toBe(salesforce.invoices()[0]!.id);
    expect(calls()).toEqual([`POST /commerce/fulfillment/fulfillment-orders/${DE_ORDER}/actions/create-invoice`, 'GET /query', 'GET /query', 'GET /query', 'GET /query', 'GET /query']);
  });

  it('accepts the 15-character form of the fulfillment order id', async () => {
    const [d] = await create(CA_ORDER.slice(0, 15));
    expect(d!.header.orderId).toBe('1OsDn000000KCduKAG');
    expect(money(d!.header.total)).toBe('292.20 USD');
  });

  it('works against the oldest version with the action (48.0); refuses to be configured older', async () => {
    const [d] = await create(CA_ORDER, provider({ apiVersion: '48.0' }));
    expect(money(d!.header.total)).toBe('292.20 USD');
    expect(salesforce.server.calls.every((c) => c.path.startsWith('/services/data/v48.0/'))).toBe(true);
    expect(() => provider({ apiVersion: '47.0' })).toThrow(/48\.0/);
  });

  it('an API version the org does not serve is a configuration problem, not an unknown fulfillment order', async () => {
    const err = await failure(create(CA_ORDER, provider({ apiVersion: '99.0' })));
    expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_REFUSED', providerCode: 'NOT_FOUND', message: expect.stringContaining('SALESFORCE_API_VERSION') });
  });

  it("maps Salesforce's refusals to codes on the fulfillment order, with Salesforce's message", async () => {
    await create(CA_ORDER);
    const again = await failure(create(CA_ORDER));
    expect(again.userErrors).toEqual([expect.objectContaining({ code: 'ALREADY_INVOICED', field: ['fulfillmentOrderId'], providerCode: 'DUPLICATE_VALUE', providerMessage: expect.stringContaining(CA_ORDER) })]);
    expect(again.disposition).toBe('final');

    const unknown = await failure(create(salesforceId('0a3', 1)));
    expect(unknown.userErrors[0]).toMatchObject({ code: 'ORDER_NOT_FOUND', field: ['fulfillmentOrderId'], providerCode: 'NOT_FOUND' });

    // A success status whose output says success: false.
    const cancelled = await failure(create(SALESFORCE_SANDBOX_CANCELLED_FULFILLMENT_ORDER_ID));
    expect(cancelled.userErrors[0]).toMatchObject({ code: 'PROVIDER_REFUSED', field: ['fulfillmentOrderId'], providerCode: 'INVALID_STATUS' });
    expect(cancelled.disposition).toBe('final');
    expect(salesforce.invoices()).toHaveLength(1);
  });

  it('an expired session: PROVIDER_UNAUTHORIZED after one call, never a retry', async () => {
    const err = await failure(create(CA_ORDER, provider({ accessToken: 'expired' })));
    expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerCode: 'INVALID_SESSION_ID' });
    // The describe goes first: each of its two GETs once, and no create.
    expect(allCalls()).toEqual(['GET /sobjects/Invoice/describe', 'GET /sobjects/InvoiceLine/describe']);
  });

  it("the org's daily limit: RATE_LIMITED with the usage, retryable, and no read retried against it", async () => {
    const exhausted = new SalesforceEmulator({ apiRequestLimit: 0 });
    await exhausted.start(0);
    try {
      const err = await failure(create(CA_ORDER, provider({}, exhausted)));
      expect(err.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', providerCode: 'REQUEST_LIMIT_EXCEEDED', message: expect.stringContaining('api-usage=0/0') });
      expect(err.disposition).toBe('retryable');
      const [slot] = await provider({}, exhausted).loadDetails([{ provider: 'SALESFORCE', providerInvoiceId: salesforceId('3tt', 1), orderId: '' }]);
      expect((slot as ProviderError).userErrors[0]!.code).toBe('RATE_LIMITED');
      // Each provider's describe, refused before anything else is sent: nothing retried, nothing re-authenticated, no create.
      const describe = ['GET /sobjects/Invoice/describe', 'GET /sobjects/InvoiceLine/describe'];
      expect(allCalls(exhausted)).toEqual([...describe, ...describe]);
    } finally {
      await exhausted.stop();
    }
  });

  it('the daily limit pauses this data source for the cool-down: the caller is told when, and nothing is sent meanwhile', async () => {
    const exhausted = new SalesforceEmulator({ apiRequestLimit: 0 });
    await exhausted.start(0);
    try {
      const p = provider({}, exhausted);
      const err = await failure(create(CA_ORDER, p));
      expect(err.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', providerCode: 'REQUEST_LIMIT_EXCEEDED', retryAfterSeconds: SALESFORCE_REQUEST_LIMIT_COOLDOWN_SECONDS });
      exhausted.server.resetCalls();
      const again = await failure(p.findCreated({ fulfillmentOrderId: CA_ORDER }));
      expect(again.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', providerCode: 'REQUEST_LIMIT_EXCEEDED' });
      expect(again.userErrors[0]!.retryAfterSeconds).toBeGreaterThan(SALESFORCE_REQUEST_LIMIT_COOLDOWN_SECONDS - 5);
      expect(exhausted.server.calls).toEqual([]);
    } finally {
      await exhausted.stop();
    }
  });

  it('every answer reports the API usage in Sforce-Limit-Info', async () => {
    await create(CA_ORDER);
    // Two describes, the create, five queries (the fulfillment order, the invoice, its lines, its payment and credit applications).
    expect(salesforce.apiUsage).toBe(8);
    const res = await fetch(`${salesforce.baseUrl}/services/data/v62.0/query?q=x`, { headers: { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` } });
    expect(res.headers.get('sforce-limit-info')).toBe('api-usage=9/15000');
  });

  it('never retries a create, even on a 503', async () => {
    salesforce.server.injectFault({ method: 'POST', status: 503, times: 5 });
    const err = await failure(create(CA_ORDER));
    expect(err.disposition).toBe('indeterminate');
    expect(salesforce.server.countCalls('POST')).toBe(1);
  });

  it('a created invoice whose read-back fails is unknown, not refused; findCreated then finds it', async () => {
    salesforce.server.injectFault({ method: 'GET', path: QUERY, status: 500, times: Infinity });
    const err = await failure(create(CA_ORDER));
    expect(err.disposition).toBe('indeterminate');
    expect(err.cause_).toMatch(/^created 3tt/);
    salesforce.server.clearFaults();
    const [found] = await provider().findCreated({ fulfillmentOrderId: CA_ORDER });
    expect(found!.header.providerInvoiceId).toBe(salesforce.invoices()[0]!.id);
  });

  it('an answer lost on the way back (the invoice exists): indeterminate, and findCreated finds that invoice', async () => {
    salesforce.server.injectFault({ method: 'POST', reset: true, afterHandler: true });
    const err = await failure(create(CA_ORDER));
    expect(err.disposition).toBe('indeterminate');
    expect(salesforce.invoices()).toHaveLength(1);
    const found = await provider().findCreated({ fulfillmentOrderId: CA_ORDER });
    expect(found.map((d) => d.header.providerInvoiceId)).toEqual([salesforce.invoices()[0]!.id]);
  });

  it('a timeout on create is indeterminate', async () => {
    salesforce.server.injectFault({ method: 'POST', delayMs: 1_500 });
    const err = await failure(create(CA_ORDER));
    expect(err).toMatchObject({ disposition: 'indeterminate', cause_: 'transport:timeout' });
  });

  it('an unreachable org: PROVIDER_UNAVAILABLE, retryable (nothing was sent)', async () => {
    const closed = new SalesforceEmulator();
    const origin = await closed.start(0);
    await closed.stop();
    const err = await failure(create(CA_ORDER, new SalesforceProvider({ instanceUrl: origin, accessToken: 't', apiVersion: '62.0', timeoutMs: 500 })));
    expect(err).toMatchObject({ disposition: 'retryable', cause_: 'transport:unreachable' });
    expect(err.userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('findCreated: [] with one query while the fulfillment order has no invoice, or is unknown; its invoice once it has one', async () => {
    expect(await provider().findCreated({ fulfillmentOrderId: CA_ORDER })).toEqual([]);
    expect(calls()).toEqual(['GET /query']);
    expect(await provider().findCreated({ fulfillmentOrderId: salesforceId('0a3', 1) })).toEqual([]);
    const [made] = await create(CA_ORDER);
    salesforce.server.resetCalls();
    const found = await provider().findCreated({ fulfillmentOrderId: CA_ORDER });
    expect(found.map((d) => [d.header.providerInvoiceId, d.header.orderId, money(d.header.total)])).toEqual([[made!.header.providerInvoiceId, '1OsDn000000KCduKAG', '292.20 USD']]);
    expect(calls()).toEqual(['GET /query', 'GET /query', 'GET /query', 'GET /query', 'GET /query']);
  });

  it("readUnknown: an invoice made at the org outside the subgraph gets the order our own invoices get (the fulfillment order's OrderSummary), its lines; five queries per batch; an Error for an unknown or malformed id, null for one on no order", async () => {
    const MA_ORDER_SUMMARY = '1OsDn000000KCdvKAG';
    const [ours] = await create('0a3Dn000000cEXGIA2');
    // A merchant's flow or a finance user invokes the action itself on the order summary's other fulfillment order.
    const made = await fetch(`${salesforce.baseUrl}/services/data/v62.0/commerce/fulfillment/fulfillment-orders/0a3Dn000000cEXHIA2/actions/create-invoice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` },
      body: '{}',
    });
    const theirs = ((await made.json()) as { invoiceId: string }).invoiceId;
    // One on no order: the sandbox has none, so one of the bulk order's is made into one (no fulfillment order has it,
    // no ReferenceEntityId).
    const [orphan] = await invoiced([BULK_IDS[0]!]);
    const state = salesforce as unknown as { stored: Array<{ id: string; orderSummaryId: string | null }>; fulfillmentOrders: Map<string, { invoiceId: string | null }> };
    state.stored.find((i) => i.id === orphan!.header.providerInvoiceId)!.orderSummaryId = null;
    state.fulfillmentOrders.get(BULK_IDS[0]!)!.invoiceId = null;
    salesforce.server.resetCalls();

    const missing = randomSalesforceId('3tt');
    const out = await provider().readUnknown([theirs, missing, orphan!.header.providerInvoiceId, 'not an id', theirs.slice(0, 15)]);
    expect(out.map((d) => (d instanceof Error ? 'Error' : d === null ? null : `${d.header.providerInvoiceId} ${d.header.orderId}`))).toEqual([
      `${theirs} ${MA_ORDER_SUMMARY}`,
      'Error',
      null,
      'Error',
      `${theirs} ${MA_ORDER_SUMMARY}`,
    ]);
    expect(ours!.header.orderId).toBe(MA_ORDER_SUMMARY);
    const read = out[0] as InvoiceDetails;
    expect(money(read.header.total)).toBe('79.31 USD');
    expect(read.lines.map((l) => [l.description, l.quantity.toString()])).toEqual([['Coffee Beans 1 lb', '4'], ['Standard Shipping', '1']]);
    // Invoice, InvoiceLine, PaymentLineInvoice, CreditMemoInvApplication and FulfillmentOrder by InvoiceId.
    expect(calls()).toHaveLength(5);
    expect(salesforce.server.calls.some((c) => /FROM FulfillmentOrder WHERE InvoiceId IN/.test(String(c.query.q)))).toBe(true);
  });

  it('loadDetails: a batch of 20 invoices costs 4 HTTP calls (invoices, lines, payment and credit applications), as does a batch of 5 (flat in the page size)', async () => {
    const made = await invoiced(BULK_IDS);
    const twenty = await provider().loadDetails(made.map(ref));
    expect(calls()).toHaveLength(4);
    expect(twenty.map((d) => (d as InvoiceDetails).header.providerInvoiceId)).toEqual(made.map((d) => d.header.providerInvoiceId));
    expect(twenty.every((d) => (d as InvoiceDetails).lines.length === 2)).toBe(true);
    expect(money((twenty[19] as InvoiceDetails).lines[0]!.total)).toBe('4.20 USD'); // 20 × 0.20 + 5 %

    salesforce.server.resetCalls();
    await provider().loadDetails(made.slice(0, 5).map(ref));
    expect(calls()).toHaveLength(4);
  });

  it('loadDetails: results in order, an Error in the slot of an invoice Salesforce does not have or of a malformed id', async () => {
    const [a, b] = await invoiced([CA_ORDER, DE_ORDER]);
    const out = await provider().loadDetails([
      ref(b!),
      { provider: 'SALESFORCE', providerInvoiceId: salesforceId('3tt', 404), orderId: '' },
      ref(a!),
      { provider: 'SALESFORCE', providerInvoiceId: "3tt' OR Id != '", orderId: '' },
    ]);
    expect((out[0] as InvoiceDetails).header.currencyCode).toBe('EUR');
    expect((out[1] as ProviderError).userErrors[0]!.code).toBe('PROVIDER_REFUSED');
    expect((out[2] as InvoiceDetails).header.currencyCode).toBe('USD');
    expect(out[3]).toBeInstanceOf(ProviderError);
    expect(calls()).toHaveLength(4);
    // Nothing but record ids reaches a query.
    for (const c of salesforce.server.calls.filter((c) => !c.path.endsWith('/describe'))) expect(String(c.query.q)).toMatch(/ IN \('3tt[A-Za-z0-9]{15}'(,'3tt[A-Za-z0-9]{15}')*\)$/);
  });

  it('loadDetails follows nextRecordsUrl past the page size until done', async () => {
    const paged = new SalesforceEmulator({ orderSummaries: [BULK_ORDER], queryPageSize: 5 });
    await paged.start(0);
    try {
      const made = await invoiced(BULK_IDS, paged);
      const out = await provider({}, paged).loadDetails(made.map(ref));
      expect(out.every((d) => !(d instanceof Error) && d.lines.length === 2)).toBe(true);
      // 20 invoices in 4 pages, 40 lines in 8: the first page of each by SOQL, the rest through their locator; and
      // one page each of (no) payment and credit applications.
      expect(paged.server.countCalls('GET', QUERY)).toBe(14);
      expect(paged.server.countCalls('GET', /\/query\/01g[A-Za-z0-9]{15}-\d+$/)).toBe(10);
    } finally {
      await paged.stop();
    }
  });

  it('loadDetails splits a very large batch into queries of 200 ids', async () => {
    const refs = Array.from({ length: 450 }, () => ({ provider: 'SALESFORCE' as const, providerInvoiceId: randomSalesforceId('3tt'), orderId: '' }));
    const out = await provider().loadDetails(refs);
    expect(out.every((d) => d instanceof ProviderError)).toBe(true);
    expect(salesforce.server.countCalls('GET', QUERY)).toBe(12);
  });

  it('retries a read once after a transient 503, with backoff', async () => {
    const [made] = await invoiced([CA_ORDER]);
    salesforce.server.injectFault({ method: 'GET', path: QUERY, status: 503 });
    const [d] = await provider().loadDetails([ref(made!)]);
    expect(d).not.toBeInstanceOf(Error);
    expect(salesforce.server.countCalls('GET', QUERY)).toBe(5);
  });

  it('loadDetails keeps at most readConcurrency queries in flight', async () => {
    const made = await invoiced([CA_ORDER, DE_ORDER]);
    let inFlight = 0;
    let peak = 0;
    salesforce.server.use(async (_req, next) => {
      peak = Math.max(peak, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 20));
        return await next();
      } finally {
        inFlight--;
      }
    });
    // 201 ids: two chunks of up to 200, so four queries, two at a time.
    const refs = made.map(ref);
    const out = await provider({ readConcurrency: 2 }).loadDetails([...refs, ...Array.from({ length: 199 }, () => ({ ...refs[0]!, providerInvoiceId: randomSalesforceId('3tt') }))]);
    expect(out.filter((d) => !(d instanceof Error))).toHaveLength(2);
    expect(peak).toBe(2);
  });

  it('status and KPIs follow payments and credits recorded in the sandbox (PaymentLineInvoice, CreditMemoInvApplication); overdue by the clock', async () => {
    const [made] = await invoiced([CA_ORDER]);
    const id = made!.header.providerInvoiceId;
    const read = async (now?: Date) => (await provider(now ? { now: () => now } : {}).loadDetails([ref(made!)]))[0] as InvoiceDetails;
    const kpis = (d: InvoiceDetails) => [d.header.status, money(d.kpis.paid), money(d.kpis.creditApplied), money(d.kpis.outstanding), d.kpis.lastPaymentDate];

    expect(kpis(await read())).toEqual(['ISSUED', '0.00 USD', '0.00 USD', '292.20 USD', null]);
    salesforce.server.resetCalls();
    expect(salesforce.recordPayment(id, '100.00', '2026-12-01')).toMatchObject({ status: 'Posted', paid: '100.00', outstanding: '192.20' });
    let d = await read();
    expect(kpis(d)).toEqual(['PARTIALLY_PAID', '100.00 USD', '0.00 USD', '192.20 USD', '2026-12-01']);
    // One batch: the Invoice, its lines and the two application queries, each once.
    expect(calls().filter((c) => QUERY.test(c))).toHaveLength(4);

    const afterDue = new Date(`${d.header.dueDate}T12:00:00Z`);
    afterDue.setUTCDate(afterDue.getUTCDate() + 1);
    expect((await read(afterDue)).kpis.overdue).toBe(true);

    salesforce.recordCredit(id, '12.20');
    expect(kpis(await read())).toEqual(['PARTIALLY_PAID', '100.00 USD', '12.20 USD', '180.00 USD', '2026-12-01']);
    expect(() => salesforce.recordPayment(id, '180.01')).toThrow(/more than the 180.00 outstanding/);
    salesforce.recordPayment(id, '180.00', '2026-12-02');
    d = await read(afterDue);
    expect([...kpis(d), d.kpis.overdue]).toEqual(['PAID', '280.00 USD', '12.20 USD', '0.00 USD', '2026-12-02', false]);
    // A paid invoice cannot be voided: Salesforce voids only an invoice whose balance equals its total.
    expect(() => salesforce.voidInvoice(id)).toThrow(/payments or credits applied/);
  });

  it('void: a posted invoice with nothing applied becomes Voided, its own credit memo applied: VOID, nothing outstanding', async () => {
    const [made] = await invoiced([DE_ORDER]);
    expect(salesforce.voidInvoice(made!.header.providerInvoiceId)).toMatchObject({ status: 'Voided', credited: '329.94', outstanding: '0.00', voided: true });
    const d = (await provider().loadDetails([ref(made!)]))[0] as InvoiceDetails;
    expect([d.header.status, money(d.kpis.outstanding), money(d.kpis.creditApplied), d.kpis.overdue]).toEqual(['VOID', '0.00 EUR', '329.94 EUR', false]);
    expect(() => salesforce.recordPayment(made!.header.providerInvoiceId, '1.00')).toThrow(/Voided, not Posted/);
    expect(() => salesforce.recordPayment('3ttDn0000000000AAA', '1.00')).toThrow(/no invoice/);
  });

  it('contentFinal: a Draft or Pending invoice can still be edited; Posted, Canceled and Voided ones cannot', () => {
    const p = provider();
    const header = (status: InvoiceDetails['header']['status']) => ({ status }) as InvoiceDetails['header'];
    expect([p.contentFinal(header('DRAFT')), p.contentFinal(header('ISSUED')), p.contentFinal(header('PAID')), p.contentFinal(header('VOID'))]).toEqual([false, true, true, true]);
  });
});
