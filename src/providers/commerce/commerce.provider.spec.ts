import { ProviderError } from '../../domain/errors';
import type { InvoiceDetails } from '../../domain/invoice';
import { CommerceEmulator } from '../../sandbox/commerce/commerce.emulator';
import {
  COMMERCE_REQUEST_ORDER_ID,
  COMMERCE_SAMPLE_ORDER_ID,
  COMMERCE_SANDBOX_FAILING_ORDER_ID,
  COMMERCE_SANDBOX_ORDERS,
  COMMERCE_SANDBOX_TOKEN,
} from '../../sandbox/commerce/commerce.seed';
import type { CommerceCreateInput } from './commerce.input';
import { CommerceProvider, type CommerceConfig } from './commerce.provider';
import { providerFailure } from '../../../test/support/provider-failure';

/** The data source against the Commerce emulator over real HTTP: the same code path as against the real API. */
describe('CommerceProvider over HTTP (sandbox emulator)', () => {
  let commerce: CommerceEmulator;
  const provider = (extra: Partial<CommerceConfig> = {}) =>
    new CommerceProvider({ baseUrl: commerce.baseUrl, accessToken: COMMERCE_SANDBOX_TOKEN, currency: 'USD', timeoutMs: 1_000, ...extra });
  const order = (orderId: string): CommerceCreateInput => ({ orderId });
  const ctx = { idempotencyKey: 'k' };
  const ref = (providerInvoiceId: string, orderId = '') => ({ provider: 'COMMERCE' as const, providerInvoiceId, orderId });
  const failure = providerFailure;
  const details = (d: InvoiceDetails | Error | undefined): InvoiceDetails => {
    if (!d || d instanceof Error) throw d ?? new Error('no entry');
    return d;
  };

  beforeAll(async () => {
    commerce = new CommerceEmulator();
    await commerce.start(0);
  });
  afterAll(() => commerce.stop());
  beforeEach(() => commerce.reset());

  it('sends the token as the `accessToken` header, never as Authorization, and the order id as JSON', async () => {
    await provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx);
    const [post] = commerce.server.calls;
    expect(post).toMatchObject({ method: 'POST', path: '/api/v1/invoices', body: { orderId: COMMERCE_REQUEST_ORDER_ID } });
    expect(post!.headers.accesstoken).toBe(COMMERCE_SANDBOX_TOKEN);
    expect(post!.headers.authorization).toBeUndefined();
    expect(String(post!.headers['content-type'])).toMatch(/^application\/json/);
  });

  it("creates with one call and maps the answer: the order's lines, the exact total, the configured currency", async () => {
    const [d, ...rest] = await provider().create(order(COMMERCE_SAMPLE_ORDER_ID), ctx);
    expect(rest).toEqual([]);
    expect(d!.header).toMatchObject({ provider: 'COMMERCE', orderId: COMMERCE_SAMPLE_ORDER_ID, kind: 'INVOICE', status: 'ISSUED', currencyCode: 'USD', number: null });
    const [stored] = commerce.invoices();
    expect(d!.header.providerInvoiceId).toBe(stored!.id);
    expect(d!.header.issueDate).toBe(stored!.createdAt.slice(0, 10));
    expect(d!.header.total.amount.toFixed(2)).toBe('3684.78');
    expect(d!.lines.map((l) => l.quantity.toFixed())).toEqual(['30', '20', '10', '5', '2']);
    expect(d!.lines.every((l) => l.unitPrice === null && l.total === null && l.taxes.length === 0)).toBe(true);
    // The create answer is the whole invoice: nothing is read back.
    expect(commerce.server.calls.map((c) => c.method)).toEqual(['POST']);
  });

  it('keeps amounts exact where binary floats would not (3 × 0.10 + 7 × 0.20 + 12.95)', async () => {
    const [d] = await provider().create(order('69ab2a10449866373d5e3e40'), ctx);
    expect(d!.header.total.amount.toFixed()).toBe('14.65');
  });

  it('labels amounts with the configured currency, normalised to an ISO code', async () => {
    const [d] = await provider({ currency: 'eur' }).create(order(COMMERCE_REQUEST_ORDER_ID), ctx);
    expect(d!.header.total).toMatchObject({ currencyCode: 'EUR' });
    expect(() => provider({ currency: '¤' })).toThrow(/currency/);
  });

  it("maps the API's refusals with its message", async () => {
    await provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx);
    const again = await failure(provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx));
    expect(again).toMatchObject({ disposition: 'final', userErrors: [{ code: 'ALREADY_INVOICED', field: ['orderId'], providerMessage: 'Invoice already exists for this order' }] });

    const unknown = await failure(provider().create(order('0123456789abcdef01234567'), ctx));
    expect(unknown).toMatchObject({ disposition: 'final', userErrors: [{ code: 'ORDER_NOT_FOUND', field: ['orderId'], providerMessage: 'Order not found' }] });

    const missing = await failure(provider().create(order(''), ctx));
    expect(missing.userErrors[0]).toMatchObject({ code: 'INVALID_INPUT', field: ['orderId'], providerMessage: 'Validation error: orderId is required' });

    const badToken = await failure(provider({ accessToken: 'wrong' }).create(order(COMMERCE_SAMPLE_ORDER_ID), ctx));
    expect(badToken).toMatchObject({ disposition: 'final', userErrors: [{ code: 'PROVIDER_UNAUTHORIZED', providerMessage: 'Invalid or missing access token' }] });
    expect(commerce.invoices()).toHaveLength(1);
  });

  it("the API's 500 on create is an unknown outcome, and nothing is retried", async () => {
    const err = await failure(provider().create(order(COMMERCE_SANDBOX_FAILING_ORDER_ID), ctx));
    expect(err).toMatchObject({ disposition: 'indeterminate', cause_: 'http:500', userErrors: [{ code: 'PROVIDER_UNAVAILABLE', providerMessage: 'An error occurred while creating the invoice' }] });
    expect(commerce.server.countCalls('POST')).toBe(1);
  });

  it('never retries a create, even on a 503', async () => {
    commerce.server.injectFault({ method: 'POST', status: 503, times: 5 });
    const err = await failure(provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx));
    expect(err.disposition).toBe('indeterminate');
    expect(commerce.server.countCalls('POST')).toBe(1);
  });

  it('a 2xx whose body says `success: false` is a failure, not an invoice', async () => {
    commerce.server.injectFault({ method: 'POST', status: 200, body: { success: false, message: 'Order not found' } });
    const err = await failure(provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx));
    expect(err).toMatchObject({ disposition: 'final', userErrors: [{ code: 'ORDER_NOT_FOUND' }] });
  });

  it('a 201 whose body cannot be read is an unknown outcome', async () => {
    commerce.server.injectFault({ method: 'POST', status: 201, body: { success: true, data: { total: 1 } }, afterHandler: true });
    const err = await failure(provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx));
    expect(err).toMatchObject({ disposition: 'indeterminate', userErrors: [{ code: 'PROVIDER_UNAVAILABLE' }] });
    expect(commerce.invoices()).toHaveLength(1);
  });

  it('a timeout on create is indeterminate', async () => {
    commerce.server.injectFault({ method: 'POST', delayMs: 1_500 });
    const err = await failure(provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx));
    expect(err).toMatchObject({ disposition: 'indeterminate', cause_: 'transport:timeout' });
  });

  it('an unreachable API: PROVIDER_UNAVAILABLE, retryable (nothing was sent)', async () => {
    const closed = new CommerceEmulator();
    await closed.start(0);
    const baseUrl = closed.baseUrl;
    await closed.stop();
    const err = await failure(new CommerceProvider({ baseUrl, accessToken: 't', currency: 'USD', timeoutMs: 500 }).create(order(COMMERCE_REQUEST_ORDER_ID), ctx));
    expect(err).toMatchObject({ disposition: 'retryable', cause_: 'transport:unreachable', userErrors: [{ code: 'PROVIDER_UNAVAILABLE' }] });
  });

  it('a wrong base URL is a refusal that names no order', async () => {
    const err = await failure(provider({ baseUrl: `${commerce.server.url}/api/v2` }).create(order(COMMERCE_REQUEST_ORDER_ID), ctx));
    expect(err).toMatchObject({ disposition: 'final', userErrors: [{ code: 'PROVIDER_REFUSED', field: null, providerMessage: 'Cannot POST /api/v2/invoices' }] });
  });

  it('findCreated: [] before, then the invoice an answer-less create made', async () => {
    expect(await provider().findCreated(order(COMMERCE_REQUEST_ORDER_ID))).toEqual([]);
    // The API acts, but its answer is lost on the way back.
    commerce.server.injectFault({ method: 'POST', reset: true, afterHandler: true });
    const lost = await failure(provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx));
    expect(lost.disposition).toBe('indeterminate');
    const found = await provider().findCreated(order(COMMERCE_REQUEST_ORDER_ID));
    expect(found.map((d) => [d.header.providerInvoiceId, d.header.orderId, d.header.total.amount.toFixed(2)])).toEqual([
      [commerce.invoices()[0]!.id, COMMERCE_REQUEST_ORDER_ID, '104.89'],
    ]);
    expect(commerce.server.calls.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/invoices', query: { orderId: COMMERCE_REQUEST_ORDER_ID, page: '1', limit: '100' } });
  });

  it('findCreated pages through the whole list before it concludes nothing was created, and checks each invoice\'s order [assumed list]', async () => {
    // A list that ignores the order filter and pages by 1: the order's invoice is on the last page.
    const paged = new CommerceEmulator({ maxPageSize: 1, ignoreOrderFilter: true });
    await paged.start(0);
    try {
      const p = new CommerceProvider({ baseUrl: paged.baseUrl, accessToken: COMMERCE_SANDBOX_TOKEN, currency: 'USD', timeoutMs: 1_000 });
      const others = COMMERCE_SANDBOX_ORDERS.map((o) => o.id).filter((id) => id !== COMMERCE_REQUEST_ORDER_ID && id !== COMMERCE_SANDBOX_FAILING_ORDER_ID);
      await p.create(order(COMMERCE_REQUEST_ORDER_ID), ctx);
      for (const id of others) await p.create(order(id), ctx);
      paged.server.resetCalls();
      const found = await p.findCreated(order(COMMERCE_REQUEST_ORDER_ID));
      expect(found.map((d) => d.header.orderId)).toEqual([COMMERCE_REQUEST_ORDER_ID]);
      const pages = paged.server.calls.filter((c) => c.method === 'GET').map((c) => c.query.page);
      expect(pages).toEqual(Array.from({ length: others.length + 1 }, (_, i) => String(i + 1)));
      // An order with no invoice: every page read, then [].
      paged.server.resetCalls();
      expect(await p.findCreated(order(COMMERCE_SANDBOX_FAILING_ORDER_ID))).toEqual([]);
      expect(paged.server.countCalls('GET')).toBe(others.length + 1);
    } finally {
      await paged.stop();
    }
  });

  it('findCreated stops on a list that ignores page (a page with nothing new)', async () => {
    await provider().create(order(COMMERCE_SAMPLE_ORDER_ID), ctx);
    const whole = await fetch(`${commerce.baseUrl}/invoices`, { headers: { accessToken: COMMERCE_SANDBOX_TOKEN } }).then((r) => r.json() as Promise<Record<string, unknown>>);
    commerce.server.injectFault({ method: 'GET', path: '/api/v1/invoices', status: 200, body: { ...whole, pagination: { page: 1, totalPages: 50 } }, times: 3 });
    commerce.server.resetCalls();
    expect(await provider().findCreated(order(COMMERCE_REQUEST_ORDER_ID))).toEqual([]);
    expect(commerce.server.countCalls('GET')).toBe(2);
  });

  it("findCreated keeps only the order's invoices, should the list ignore its filter", async () => {
    await provider().create(order(COMMERCE_SAMPLE_ORDER_ID), ctx);
    const other = await fetch(`${commerce.baseUrl}/invoices`, { headers: { accessToken: COMMERCE_SANDBOX_TOKEN } }).then((r) => r.json());
    commerce.server.injectFault({ method: 'GET', path: '/api/v1/invoices', status: 200, body: other });
    expect(await provider().findCreated(order(COMMERCE_REQUEST_ORDER_ID))).toEqual([]);
  });

  it('findCreated retries a transient failure and reports one it cannot get past', async () => {
    commerce.server.injectFault({ method: 'GET', status: 503 });
    expect(await provider().findCreated(order(COMMERCE_REQUEST_ORDER_ID))).toEqual([]);
    expect(commerce.server.countCalls('GET')).toBe(2);
    commerce.server.resetCalls();
    commerce.server.injectFault({ method: 'GET', status: 503, times: Infinity });
    expect(await failure(provider().findCreated(order(COMMERCE_REQUEST_ORDER_ID)))).toMatchObject({ disposition: 'retryable' });
    // One call and two retries, then the failure is the caller's to record.
    expect(commerce.server.countCalls('GET')).toBe(3);
  });

  it('retries a read once after a transient 503, with backoff', async () => {
    const [created] = await provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx);
    commerce.server.resetCalls();
    commerce.server.injectFault({ method: 'GET', status: 503 });
    const [d] = await provider().loadDetails([ref(created!.header.providerInvoiceId)]);
    expect(details(d).header.total.amount.toFixed(2)).toBe('104.89');
    expect(commerce.server.countCalls('GET')).toBe(2);
  });

  it('loadDetails: one GET per invoice, results in order, an Error in the slot of a missing one', async () => {
    const a = (await provider().create(order(COMMERCE_SAMPLE_ORDER_ID), ctx))[0]!.header.providerInvoiceId;
    const b = (await provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx))[0]!.header.providerInvoiceId;
    commerce.server.resetCalls();
    const out = await provider().loadDetails([ref(b), ref('0123456789abcdef01234567'), ref(a)]);
    expect(details(out[0]).header).toMatchObject({ providerInvoiceId: b, orderId: COMMERCE_REQUEST_ORDER_ID });
    expect(out[1]).toBeInstanceOf(ProviderError);
    expect(out[1]).toMatchObject({ disposition: 'final', userErrors: [{ code: 'PROVIDER_REFUSED', providerMessage: 'Invoice not found' }] });
    expect(details(out[2]).lines).toHaveLength(5);
    // A 404 is final: not retried.
    expect(commerce.server.countCalls('GET')).toBe(3);
  });

  it('loadDetails keeps at most readConcurrency reads in flight', async () => {
    // Middleware outlives reset(): an emulator of its own.
    const slow = new CommerceEmulator();
    let inFlight = 0;
    let peak = 0;
    slow.server.use(async (req, next) => {
      if (req.method !== 'GET') return next();
      peak = Math.max(peak, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 20));
        return await next();
      } finally {
        inFlight--;
      }
    });
    await slow.start(0);
    try {
      const p = provider({ baseUrl: slow.baseUrl, readConcurrency: 2 });
      const ids: string[] = [];
      for (const o of COMMERCE_SANDBOX_ORDERS.filter((o) => o.id !== COMMERCE_SANDBOX_FAILING_ORDER_ID)) {
        ids.push((await p.create(order(o.id), ctx))[0]!.header.providerInvoiceId);
      }
      const out = await p.loadDetails([...ids, ...ids].map((id) => ref(id)));
      expect(out.filter((d) => d instanceof Error)).toEqual([]);
      expect(slow.server.countCalls('GET')).toBe(8);
      expect(peak).toBe(2);
    } finally {
      await slow.stop();
    }
  });
  describe("invoicesOfOrders: each order's whole list (the sync's discovery) [assumed list]", () => {
    /** Someone invoicing the order at the API directly (outside the subgraph), with the sandbox's token. */
    const invoiceAtTheApi = async (orderId: string) =>
      fetch(`${commerce.baseUrl}/invoices`, { method: 'POST', headers: { 'content-type': 'application/json', accessToken: COMMERCE_SANDBOX_TOKEN }, body: JSON.stringify({ orderId }) });
    const ids = (r: InvoiceDetails[] | Error | undefined) => {
      if (!Array.isArray(r)) throw r ?? new Error('no entry');
      return r.map((d) => d.header.providerInvoiceId);
    };

    it('lists ours and one made at the API, mapped as reads are; an order with none or unknown: []', async () => {
      const [ours] = await provider().create(order(COMMERCE_SAMPLE_ORDER_ID), ctx);
      const made = await invoiceAtTheApi(COMMERCE_REQUEST_ORDER_ID);
      expect(made.status).toBe(201);
      const theirs = ((await made.json()) as { data: { id: string } }).data.id;
      commerce.server.resetCalls();
      const out = await provider().invoicesOfOrders([COMMERCE_SAMPLE_ORDER_ID, COMMERCE_REQUEST_ORDER_ID, COMMERCE_SANDBOX_FAILING_ORDER_ID, '0123456789abcdef01234567']);
      expect(out.map(ids)).toEqual([[ours!.header.providerInvoiceId], [theirs], [], []]);
      const listed = (out[1] as InvoiceDetails[])[0]!;
      expect(listed).toEqual(details((await provider().loadDetails([ref(theirs)]))[0]));
      expect(listed.header).toMatchObject({ orderId: COMMERCE_REQUEST_ORDER_ID, currencyCode: 'USD' });
      expect(listed.lines.length).toBeGreaterThan(0);
      // One list page per order.
      expect(commerce.server.calls.filter((c) => c.method === 'GET' && c.path === '/api/v1/invoices').map((c) => [c.query.orderId, c.query.page, c.query.limit])).toEqual([
        [COMMERCE_SAMPLE_ORDER_ID, '1', '100'],
        [COMMERCE_REQUEST_ORDER_ID, '1', '100'],
        [COMMERCE_SANDBOX_FAILING_ORDER_ID, '1', '100'],
        ['0123456789abcdef01234567', '1', '100'],
      ]);
    });

    it('a second invoice of an order cannot be made at the API (409, the emulator\'s assumption): an order lists one', async () => {
      const [ours] = await provider().create(order(COMMERCE_SAMPLE_ORDER_ID), ctx);
      expect((await invoiceAtTheApi(COMMERCE_SAMPLE_ORDER_ID)).status).toBe(409);
      expect((await provider().invoicesOfOrders([COMMERCE_SAMPLE_ORDER_ID])).map(ids)).toEqual([[ours!.header.providerInvoiceId]]);
    });

    it('an order whose listing fails: an Error in its slot, after the read retries; the others listed', async () => {
      // Middleware outlives reset(): an emulator of its own, failing one order's listing.
      const failing = new CommerceEmulator();
      failing.server.use((req, next) =>
        req.method === 'GET' && req.query.orderId === COMMERCE_REQUEST_ORDER_ID ? { status: 503, body: { success: false, message: 'unavailable' } } : next(),
      );
      await failing.start(0);
      try {
        const p = provider({ baseUrl: failing.baseUrl });
        const [ours] = await p.create(order(COMMERCE_SAMPLE_ORDER_ID), ctx);
        const out = await p.invoicesOfOrders([COMMERCE_REQUEST_ORDER_ID, COMMERCE_SAMPLE_ORDER_ID]);
        expect(out[0]).toBeInstanceOf(ProviderError);
        expect(out[0]).toMatchObject({ disposition: 'retryable', userErrors: [{ code: 'PROVIDER_UNAVAILABLE' }] });
        expect(ids(out[1])).toEqual([ours!.header.providerInvoiceId]);
        expect(failing.server.calls.filter((c) => c.query.orderId === COMMERCE_REQUEST_ORDER_ID)).toHaveLength(3);
      } finally {
        await failing.stop();
      }
    });
  });

  it('status and KPIs follow payments, credits and a void recorded in the sandbox (an assumption: no public docs)', async () => {
    const [made] = await provider().create(order(COMMERCE_SAMPLE_ORDER_ID), ctx);
    const id = made!.header.providerInvoiceId;
    const total = made!.header.total.amount;
    const read = async () => details((await provider().loadDetails([ref(id)]))[0]);
    const kpis = (d: InvoiceDetails) => [d.header.status, d.kpis.paid?.amount.toFixed(2), d.kpis.creditApplied?.amount.toFixed(2), d.kpis.outstanding?.amount.toFixed(2), d.kpis.lastPaymentDate];
    expect(kpis(await read())).toEqual(['ISSUED', undefined, undefined, undefined, null]);

    commerce.recordPayment(id, '10.00', '2026-12-01');
    expect(kpis(await read())).toEqual(['PARTIALLY_PAID', '10.00', '0.00', total.minus(10).toFixed(2), '2026-12-01']);
    commerce.recordCredit(id, '5.00');
    const rest = total.minus(15).toFixed(2);
    expect(() => commerce.recordPayment(id, total.toFixed(2))).toThrow(/more than the .* outstanding/);
    commerce.recordPayment(id, rest, '2026-12-02');
    expect(kpis(await read())).toEqual(['PAID', total.minus(5).toFixed(2), '5.00', '0.00', '2026-12-02']);
    expect(() => commerce.voidInvoice(id)).toThrow(/payments or credits/);

    const [other] = await provider().create(order(COMMERCE_REQUEST_ORDER_ID), ctx);
    expect(commerce.voidInvoice(other!.header.providerInvoiceId)).toMatchObject({ status: 'void', voided: true, outstanding: '0.00' });
    const voided = details((await provider().loadDetails([ref(other!.header.providerInvoiceId)]))[0]);
    expect([voided.header.status, voided.kpis.outstanding!.amount.toFixed(2)]).toEqual(['VOID', '0.00']);
    expect(() => commerce.recordPayment('0123456789abcdef01234567', '1.00')).toThrow(/no invoice/);
  });

  it('contentFinal: every Commerce invoice is final once created (an assumption); a DRAFT would not be', () => {
    const header = (status: InvoiceDetails['header']['status']) => ({ status }) as InvoiceDetails['header'];
    expect((['DRAFT', 'ISSUED', 'PAID', 'VOID'] as const).map((s) => provider().contentFinal(header(s)))).toEqual([false, true, true, true]);
  });
});
