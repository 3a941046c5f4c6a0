import { gql } from 'graphql-tag';
import { CreateSallaInvoiceDocument, InvoiceWithDetailsDocument, type SallaInvoiceInput } from '../generated/graphql';
import { startHarness, TINY_PDF, type Harness } from '../support/harness';
import { storeName } from '../support/store';

const ORDER = '1818813486';
const OTHER_ORDER = '389701957';

describe(`createInvoice through Apollo with the Salla sandbox (${storeName()})`, () => {
  let h: Harness;
  let key = 0;
  const nextKey = () => `key-${Date.now()}-${++key}`;
  const create = (input: SallaInvoiceInput, idempotencyKey: string | null = nextKey()) => h.execute(CreateSallaInvoiceDocument, { input, idempotencyKey });
  const attempts = async () => Number((await h.db.query<{ n: string }>('SELECT count(*) AS n FROM invoice_attempts'))[0]!.n);
  const sallaPosts = () => h.salla.server.countCalls('POST');

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.salla.reset();
    h.salla.server.resetCalls();
    h.salla.server.clearFaults();
  });

  it('creates a URL invoice and returns its normalised header, exact money and document link', async () => {
    const res = await create({ orderId: ORDER, dataType: 'URL', url: 'https://files.example.com/inv/1818813486.pdf' });
    expect(res.errors).toBeUndefined();
    const payload = res.data!.createInvoice;
    expect(payload.userErrors).toEqual([]);
    expect(payload.invoice).toMatchObject({
      provider: 'SALLA',
      kind: 'INVOICE',
      status: 'ISSUED',
      documentUrl: 'https://files.example.com/inv/1818813486.pdf',
      order: { id: ORDER },
      dueDate: null,
    });
    expect(payload.invoice!.total.currencyCode).toBe('SAR');
    expect(payload.invoice!.total.amount).toMatch(/^\d+\.\d{2}$/);
    expect(payload.invoices.map((i) => i.id)).toEqual([payload.invoice!.id]);
    // POST, then one read of the new invoice for its amounts and one of its order for the status.
    expect(h.salla.server.countCalls('POST', '/admin/v2/orders/invoices')).toBe(1);
    expect(h.salla.server.countCalls('GET', '/admin/v2/orders/invoices')).toBe(1);
    expect(h.salla.server.countCalls('GET', `/admin/v2/orders/${ORDER}`)).toBe(1);
  });

  it('reads lines, taxes and KPIs back: the totals add up exactly', async () => {
    const created = await create({ orderId: ORDER, dataType: 'URL', url: 'https://files.example.com/a.pdf' });
    const id = created.data!.createInvoice.invoice!.id;
    h.salla.server.resetCalls();
    const res = await h.execute(InvoiceWithDetailsDocument, { id });
    expect(res.errors).toBeUndefined();
    const inv = res.data!.invoice!;
    expect(inv.lines!.length).toBeGreaterThan(0);
    for (const line of inv.lines!) {
      expect(line.taxes).toHaveLength(1);
      expect(line.taxes[0]!.ratePercent).toBe('15');
      // net + tax = total, in exact decimals
      const sum = (Number(line.subtotal!.amount) * 100 + Number(line.taxTotal!.amount) * 100) / 100;
      expect(sum.toFixed(2)).toBe(line.total!.amount);
    }
    expect(inv.taxes).toEqual([expect.objectContaining({ ratePercent: '15', amount: inv.taxTotal })]);
    // From the order's status (awaiting payment, as it is paid whole): all of it outstanding. Salla reports no dates.
    expect(inv.kpis).toEqual({ outstanding: inv.total, paid: { amount: '0.00', currencyCode: 'SAR' }, overdue: null, lastPaymentDate: null, creditApplied: null });
    // The ledger kept them from the create's read-back: an issued Salla invoice no longer changes.
    expect(h.salla.server.countCalls('GET')).toBe(0);
  });

  it('creates a DATA invoice with the merchant\'s number and amounts, exactly as given', async () => {
    const res = await create({
      orderId: '1371877152',
      dataType: 'DATA',
      invoiceNumber: 'INV-2026-0001',
      subTotal: '999.10',
      total: '7789.00',
      shippingCost: '78',
      cashOnDeliveryCost: '789',
      taxPercent: '10',
      taxValue: '35.30',
    });
    expect(res.data!.createInvoice.userErrors).toEqual([]);
    expect(res.data!.createInvoice.invoice).toMatchObject({
      number: 'INV-2026-0001',
      subtotal: { amount: '999.10', currencyCode: 'SAR' },
      total: { amount: '7789.00', currencyCode: 'SAR' },
    });
  });

  it('uploads a FILE invoice as a PDF and links the stored document', async () => {
    const res = await create({ orderId: ORDER, dataType: 'FILE', pdfBase64: TINY_PDF.toString('base64') });
    expect(res.data!.createInvoice.userErrors).toEqual([]);
    expect(res.data!.createInvoice.invoice!.documentUrl).toMatch(/\.pdf$/);
    const pdf = await fetch(res.data!.createInvoice.invoice!.documentUrl!);
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('credits an invoiced order with a CREDIT_NOTE, and refuses a credit note before any invoice', async () => {
    const early = await create({ orderId: OTHER_ORDER, type: 'CREDIT_NOTE', dataType: 'URL', url: 'https://x.example/c.pdf' });
    expect(early.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'NOTHING_TO_CREDIT', field: ['salla', 'type'] })]);
    await create({ orderId: OTHER_ORDER, dataType: 'URL', url: 'https://x.example/i.pdf' });
    const credit = await create({ orderId: OTHER_ORDER, type: 'CREDIT_NOTE', dataType: 'URL', url: 'https://x.example/c.pdf' });
    expect(credit.data!.createInvoice.invoice).toMatchObject({ kind: 'CREDIT_NOTE', order: { id: OTHER_ORDER } });
  });

  describe('bad input gets a clear error and changes nothing', () => {
    it.each([
      ['a negative amount', { orderId: ORDER, dataType: 'DATA', invoiceNumber: 'N-1', subTotal: '-1', total: '10', shippingCost: '0', cashOnDeliveryCost: '0' }, ['salla', 'subTotal']],
      ['a non-PDF URL', { orderId: ORDER, dataType: 'URL', url: 'https://files.example.com/invoice.png' }, ['salla', 'url']],
      ['a URL invoice without a URL', { orderId: ORDER, dataType: 'URL' }, ['salla', 'url']],
      ['a DATA invoice without its number', { orderId: ORDER, dataType: 'DATA', subTotal: '1', total: '1', shippingCost: '0', cashOnDeliveryCost: '0' }, ['salla', 'invoiceNumber']],
      ['a file that is not a PDF', { orderId: ORDER, dataType: 'FILE', pdfBase64: Buffer.from('GIF89a').toString('base64') }, ['salla', 'pdfBase64']],
      ['an order id that is not a number', { orderId: 'abc', dataType: 'URL', url: 'https://x.example/a.pdf' }, ['salla', 'orderId']],
    ] as Array<[string, SallaInvoiceInput, string[]]>)('%s: INVALID_INPUT at the field, nothing sent or recorded', async (_name, input, field) => {
      const before = await attempts();
      const res = await create(input);
      expect(res.errors).toBeUndefined();
      expect(res.data!.createInvoice).toMatchObject({ invoice: null, invoices: [] });
      expect(res.data!.createInvoice.userErrors).toContainEqual(expect.objectContaining({ code: 'INVALID_INPUT', field }));
      expect(h.salla.server.calls).toHaveLength(0);
      expect(await attempts()).toBe(before);
    });

    // The SDL's @oneOf is enforced by routers that implement it; the subgraph answers it as data, so that a gateway
    // that does not (the legacy @apollo/gateway) forwards a clear answer (federated-schema.ts, answerOneOfAsData).
    it.each([
      ['zero providers', '{ }', 'it names none'],
      ['two providers', '{ salla: { orderId: "1", dataType: URL }, commerce: { orderId: "69ab24db449866373d5e3e35" } }', 'it names salla and commerce'],
      ['a null branch', '{ salla: null }', 'salla is null'],
    ])('%s: a userError that names the rule, nothing recorded or sent', async (_name, literal, why) => {
      const before = await attempts();
      const res = await h.execute(gql(`mutation { createInvoice(input: ${literal}) { invoice { id } userErrors { field code message } } }`));
      expect(res.errors).toBeUndefined();
      expect((res.data as any).createInvoice).toEqual({
        invoice: null,
        userErrors: [{ field: ['input'], code: 'INVALID_INPUT', message: `Name exactly one provider in input: one of salesforce, salla, zuora, exsited, commerce (${why}).` }],
      });
      expect(h.salla.server.calls).toHaveLength(0);
      expect(h.commerce.server.calls).toHaveLength(0);
      expect(await attempts()).toBe(before);
    });

    it('the same provider twice: a validation error (unique input field names)', async () => {
      const res = await h.execute(gql('mutation { createInvoice(input: { salla: { orderId: "1", dataType: URL }, salla: { orderId: "2", dataType: URL } }) { userErrors { code } } }'));
      expect(res.data).toBeUndefined();
      expect(res.errors![0]!.message).toMatch(/only one input field named "salla"/i);
    });

    it.each([
      ['two providers', { salla: { orderId: '1', dataType: 'URL' }, commerce: { orderId: '69ab24db449866373d5e3e35' } }, 'it names salla and commerce'],
      ['zero providers', {}, 'it names none'],
    ])('%s in variables: the same userError, nothing sent', async (_name, input, why) => {
      const res = await h.execute(gql('mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { userErrors { field code message } } }'), { input });
      expect((res.data as any).createInvoice.userErrors).toEqual([{ field: ['input'], code: 'INVALID_INPUT', message: expect.stringContaining(why) }]);
      expect(h.salla.server.calls).toHaveLength(0);
      expect(h.commerce.server.calls).toHaveLength(0);
    });

    it('a float-looking amount is read exactly, not as a binary float', async () => {
      const res = await create({ orderId: '1056403210', dataType: 'DATA', invoiceNumber: `F-${key}`, subTotal: '0.1', total: '0.30', shippingCost: '0.2', cashOnDeliveryCost: '0' });
      expect(res.data!.createInvoice.invoice!.subtotal).toEqual({ amount: '0.10', currencyCode: 'SAR' });
    });
  });

  describe("Salla's refusals become userErrors with Salla's message alongside", () => {
    it('an unknown order: ORDER_NOT_FOUND', async () => {
      const res = await create({ orderId: '999999999', dataType: 'URL', url: 'https://x.example/a.pdf' });
      expect(res.data!.createInvoice.userErrors).toEqual([
        expect.objectContaining({ code: 'ORDER_NOT_FOUND', field: ['salla', 'orderId'], providerCode: 'error:order_id', providerMessage: expect.any(String) }),
      ]);
    });

    it('a second tax invoice for the order: ALREADY_INVOICED, and nothing new at Salla', async () => {
      await create({ orderId: ORDER, dataType: 'URL', url: 'https://x.example/a.pdf' });
      const res = await create({ orderId: ORDER, dataType: 'URL', url: 'https://x.example/b.pdf' });
      expect(res.data!.createInvoice.userErrors).toContainEqual(expect.objectContaining({ code: 'ALREADY_INVOICED', field: ['salla', 'type'] }));
      expect(h.salla.invoices()).toHaveLength(1);
    });

    it('a repeated invoice number: DUPLICATE_INVOICE_NUMBER', async () => {
      const data = { dataType: 'DATA', invoiceNumber: 'DUP-1', subTotal: '1', total: '1.15', shippingCost: '0', cashOnDeliveryCost: '0' } as const;
      await create({ orderId: ORDER, ...data });
      const res = await create({ orderId: OTHER_ORDER, ...data });
      expect(res.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'DUPLICATE_INVOICE_NUMBER', field: ['salla', 'invoiceNumber'] })]);
    });

    it("ORDER data type on a store whose issuer is custom: PROVIDER_SETTINGS_MISMATCH", async () => {
      const res = await create({ orderId: ORDER, dataType: 'ORDER' });
      expect(res.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_SETTINGS_MISMATCH', field: ['salla', 'dataType'] })]);
    });

    it('a 429 with Retry-After: RATE_LIMITED with the delay; a retry with the key after it succeeds', async () => {
      h.salla.server.injectFault({ method: 'POST', status: 429, headers: { 'retry-after': '1' }, body: { status: 429, success: false, error: { code: 'TooManyRequests', message: 'slow down' } } });
      const k = nextKey();
      const input = { orderId: ORDER, dataType: 'URL', url: 'https://x.example/a.pdf' } as const;
      const first = await create(input, k);
      expect(first.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'RATE_LIMITED', retryAfterSeconds: 1 })]);
      // Nothing is sent to Salla before the delay has passed (test/integration/resilience.test.ts).
      await new Promise((r) => setTimeout(r, 1_100));
      const again = await create(input, k);
      expect(again.data!.createInvoice.userErrors).toEqual([]);
      expect(sallaPosts()).toBe(2);
    });

    const lostAnswer = () =>
      h.salla.server.injectFault({ method: 'POST', status: 503, body: { status: 503, success: false, error: { code: 'error', message: 'upstream' } }, afterHandler: true });
    const dataInput = { orderId: ORDER, dataType: 'DATA', invoiceNumber: 'LOST-1', subTotal: '100', total: '115', shippingCost: '0', cashOnDeliveryCost: '0' } as const;

    it('a 5xx after Salla created the invoice: the retry finds it by the number it sent instead of creating a second', async () => {
      // The fault lets Salla act, then answers 503 (the answer is lost on the way back).
      lostAnswer();
      const k = nextKey();
      const input = dataInput;
      const first = await create(input, k);
      expect(first.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE' })]);
      expect(h.salla.invoices()).toHaveLength(1);
      const again = await create(input, k);
      expect(again.data!.createInvoice.userErrors).toEqual([]);
      expect(again.data!.createInvoice.invoice!.providerInvoiceId).toBe(String(h.salla.invoices()[0]!.id));
      expect(sallaPosts()).toBe(1);
    });

    it('a retry whose check at Salla is refused still says "retry with the key", never a final refusal, and the next retry repairs', async () => {
      lostAnswer();
      const k = nextKey();
      const input = dataInput;
      await create(input, k);
      // The lookup (GET /orders/invoices?order_id=) answers 401: that is not an answer about the invoice.
      h.salla.server.injectFault({ method: 'GET', status: 401, body: { status: 401, success: false, error: { code: 'Unauthorized', message: 'The access token is invalid.' } } });
      const unchecked = await create(input, k);
      expect(unchecked.data!.createInvoice.userErrors).toEqual([
        expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('retry with the same idempotency key') }),
      ]);
      const again = await create(input, k);
      expect(again.data!.createInvoice.invoice!.providerInvoiceId).toBe(String(h.salla.invoices()[0]!.id));
      expect(sallaPosts()).toBe(1);
    });

    // Salla's List Invoices example (https://docs.salla.dev/5394157e0) holds two tax invoices on one order: the store
    // issues its own. Its invoice details carry no document link (https://docs.salla.dev/5394158e0), so nothing shows
    // which one a URL or FILE attempt made.
    it("a URL create whose answer was lost, on an order with the store's own tax invoice: neither is adopted, none created again, left for a person", async () => {
      const own = h.salla.issueStoreInvoice(Number(ORDER));
      lostAnswer();
      const k = nextKey();
      const input = { orderId: ORDER, dataType: 'URL', url: 'https://x.example/a.pdf' } as const;
      await create(input, k);
      expect(h.salla.invoices().map((i) => i.source).sort()).toEqual(['api', 'store']);
      const again = await create(input, k);
      expect(again.data!.createInvoice.invoice).toBeNull();
      expect(again.data!.createInvoice.userErrors).toEqual([
        expect.objectContaining({ code: 'NEEDS_MANUAL_SETTLEMENT', field: ['salla'], message: expect.stringContaining('https://x.example/a.pdf') }),
      ]);
      expect(again.data!.createInvoice.userErrors[0]!.message).toContain(String(own.id));
      expect(sallaPosts()).toBe(1);
      const [attempt] = await h.db.query<{ state: string }>('SELECT state FROM invoice_attempts ORDER BY created_at DESC LIMIT 1');
      expect(attempt!.state).toBe('unknown');
    });

    it("a FILE create's lookup never takes the store's own invoice for ours, and finds nothing to adopt when the order has none", async () => {
      h.salla.issueStoreInvoice(Number(OTHER_ORDER));
      h.salla.server.injectFault({ method: 'POST', status: 503, afterHandler: true, times: 1 });
      const k = nextKey();
      const first = await create({ orderId: OTHER_ORDER, dataType: 'FILE', pdfBase64: TINY_PDF.toString('base64') }, k);
      expect(first.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE' })]);
      const again = await create({ orderId: OTHER_ORDER, dataType: 'FILE', pdfBase64: TINY_PDF.toString('base64') }, k);
      expect(again.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'NEEDS_MANUAL_SETTLEMENT', message: expect.stringMatching(/SHA-256 is [0-9a-f]{64}/) })]);
      expect(sallaPosts()).toBe(1);
    });

    it('a URL create refused with a 503 before Salla acted: the retry verifies no tax invoice is on the order and creates', async () => {
      h.salla.server.injectFault({ method: 'POST', status: 503 });
      const k = nextKey();
      const input = { orderId: ORDER, dataType: 'URL', url: 'https://x.example/a.pdf' } as const;
      await create(input, k);
      const again = await create(input, k);
      expect(again.data!.createInvoice.userErrors).toEqual([]);
      expect(again.data!.createInvoice.invoice!.documentUrl).toBe('https://x.example/a.pdf');
      expect(sallaPosts()).toBe(2);
    });

    it('Salla unreachable: PROVIDER_UNAVAILABLE', async () => {
      h.salla.server.injectFault({ method: 'POST', reset: true });
      const res = await create({ orderId: ORDER, dataType: 'URL', url: 'https://x.example/a.pdf' });
      expect(res.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE' })]);
    });
  });

  describe('idempotency', () => {
    it('a retry with the same key and input returns the same invoice without calling Salla', async () => {
      const k = nextKey();
      const input = { orderId: ORDER, dataType: 'URL', url: 'https://x.example/a.pdf' } as const;
      const first = await create(input, k);
      h.salla.server.resetCalls();
      const again = await create(input, k);
      expect(again.data!.createInvoice.invoice!.id).toBe(first.data!.createInvoice.invoice!.id);
      expect(h.salla.server.calls).toHaveLength(0);
    });

    it('a key is still honoured a day later, no expiry shorter than a day (a regression guard: nothing expires keys): a retry 25 hours on replays the invoice without calling Salla', async () => {
      const k = nextKey();
      const input = { orderId: ORDER, dataType: 'URL', url: 'https://x.example/a.pdf' } as const;
      const first = await create(input, k);
      await h.db.query(
        `UPDATE invoice_attempts SET created_at = created_at - interval '25 hours', updated_at = updated_at - interval '25 hours',
                completed_at = completed_at - interval '25 hours' WHERE idempotency_key = $1`,
        [k],
      );
      h.salla.server.resetCalls();
      const later = await create(input, k);
      expect(later.data!.createInvoice.invoice!.id).toBe(first.data!.createInvoice.invoice!.id);
      expect(h.salla.server.calls).toHaveLength(0);
    });

    it('the same key with another input: IDEMPOTENCY_CONFLICT', async () => {
      const k = nextKey();
      await create({ orderId: ORDER, dataType: 'URL', url: 'https://x.example/a.pdf' }, k);
      const res = await create({ orderId: ORDER, dataType: 'URL', url: 'https://x.example/other.pdf' }, k);
      expect(res.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'IDEMPOTENCY_CONFLICT', field: ['idempotencyKey'] })]);
    });

    it('concurrent requests with one key make one call to Salla', async () => {
      h.salla.server.injectFault({ method: 'POST', delayMs: 100 });
      const k = nextKey();
      const input = { orderId: ORDER, dataType: 'URL', url: 'https://x.example/a.pdf' } as const;
      const all = await Promise.all(Array.from({ length: 10 }, () => create(input, k)));
      expect(new Set(all.map((r) => r.data!.createInvoice.invoice?.id)).size).toBe(1);
      expect(sallaPosts()).toBe(1);
    });
  });
});
