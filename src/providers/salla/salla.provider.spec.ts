import type { InvoiceDetails } from '../../domain/invoice';
import { createHash } from 'node:crypto';
import { Decimal } from '../../domain/money';
import { ProviderError } from '../../domain/errors';
import { SallaEmulator } from '../../sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_READONLY_TOKEN, SALLA_SANDBOX_SALLA_ISSUER_TOKEN, SALLA_SANDBOX_TOKEN } from '../../sandbox/salla/salla.seed';
import type { SallaCreateInput } from './salla.input';
import { SallaProvider, toJsonBody } from './salla.provider';
import { toJsonText } from '../shared/http-client';
import { providerFailure } from '../../../test/support/provider-failure';

/** The data source against the Salla emulator over real HTTP: the same code path as against api.salla.dev. */
describe('SallaProvider over HTTP (sandbox emulator)', () => {
  let salla: SallaEmulator;
  const provider = (token = SALLA_SANDBOX_TOKEN, extra: Partial<ConstructorParameters<typeof SallaProvider>[0]> = {}) =>
    new SallaProvider({ baseUrl: salla.baseUrl, accessToken: token, timeoutMs: 1_000, ...extra });
  const url = (orderId: string, type: SallaCreateInput['type'] = 'tax_invoice'): SallaCreateInput => ({ orderId, type, dataType: 'url', url: 'https://x.example/i.pdf' });
  const failure = providerFailure;

  beforeAll(async () => {
    salla = new SallaEmulator();
    await salla.start(0);
  });
  afterAll(() => salla.stop());
  beforeEach(() => {
    salla.reset();
    salla.server.resetCalls();
    salla.server.clearFaults();
  });

  it('sends the bearer token and asks for English', async () => {
    await provider().create(url('1818813486'), { idempotencyKey: 'k' });
    const post = salla.server.calls.find((c) => c.method === 'POST')!;
    expect(post.headers.authorization).toBe(`Bearer ${SALLA_SANDBOX_TOKEN}`);
    expect(post.headers['accept-language']).toBe('en');
  });

  it("creates, then reads the invoice back into the domain: the order's items, exact amounts", async () => {
    const [d] = await provider().create(url('389701957'), { idempotencyKey: 'k' });
    expect(d!.header).toMatchObject({ provider: 'SALLA', orderId: '389701957', kind: 'INVOICE', currencyCode: 'SAR', documentUrl: 'https://x.example/i.pdf' });
    expect(d!.header.total.amount.toFixed(2)).toBe('258.75');
    expect(d!.lines.map((l) => [l.sku, l.quantity.toFixed(), l.unitPrice!.amount.toFixed(2)])).toEqual([
      ['TSHIRT-COTTON-M', '2', '45.00'],
      ['JEANS-DENIM-32', '1', '120.00'],
    ]);
    // Every line's net and tax add up to its total, exactly.
    for (const l of d!.lines) expect(l.subtotal!.amount.plus(l.taxTotal!.amount).equals(l.total!.amount)).toBe(true);
    // The POST, then the new invoice and its order (for the status), read at once.
    expect(salla.server.calls.map((c) => `${c.method} ${c.path}`).sort()).toEqual(['GET /admin/v2/orders/389701957', 'GET /admin/v2/orders/invoices/' + d!.header.providerInvoiceId, 'POST /admin/v2/orders/invoices']);
    expect(d!.header.status).toBe('ISSUED'); // the sandbox's order awaits payment
  });

  it('sends DATA amounts as JSON numbers with the exact decimal text', async () => {
    const input: SallaCreateInput = {
      orderId: '1371877152',
      type: 'tax_invoice',
      dataType: 'data',
      invoiceNumber: 'EXACT-1',
      subTotal: new Decimal('0.1'),
      total: new Decimal('0.30'),
      shippingCost: new Decimal('0.2'),
      cashOnDeliveryCost: new Decimal('0'),
    };
    const [d] = await provider().create(input, { idempotencyKey: 'k' });
    const body = salla.server.calls.find((c) => c.method === 'POST')!.body as Record<string, unknown>;
    expect(body).toMatchObject({ order_id: 1371877152, type: 'tax_invoice', data_type: 'data', sub_total: 0.1, total: 0.3, shipping_cost: 0.2, cash_on_delivery_cost: 0 });
    expect(d!.header.number).toBe('EXACT-1');
    expect(d!.header.subtotal!.amount.toFixed(2)).toBe('0.10');
  });

  it('toJsonBody: amounts and the order id as JSON numbers with their exact text, absent fields left out', () => {
    const input: SallaCreateInput = {
      orderId: '999999999999999',
      type: 'credit_note',
      dataType: 'data',
      invoiceNumber: 'N-1',
      subTotal: new Decimal('90.50'),
      total: new Decimal('12345678901234567.89'),
      shippingCost: new Decimal('0'),
      cashOnDeliveryCost: new Decimal('1e-7'),
      taxPercent: new Decimal('15'),
      taxValue: new Decimal('35.30'),
    };
    expect(toJsonText(toJsonBody(input))).toBe(
      '{"order_id":999999999999999,"type":"credit_note","data_type":"data","invoice_number":"N-1","sub_total":90.5,"total":12345678901234567.89,' +
        '"shipping_cost":0,"cash_on_delivery_cost":0.0000001,"tax":15,"tax_value":35.3}',
    );
    expect(toJsonText(toJsonBody({ orderId: '389701957', type: 'tax_invoice', dataType: 'order' }))).toBe('{"order_id":389701957,"type":"tax_invoice","data_type":"order"}');
  });

  it('uploads FILE as multipart with the PDF', async () => {
    const pdf = Buffer.from('%PDF-1.4 sandbox test\n%%EOF');
    const [d] = await provider().create({ orderId: '213320125', type: 'tax_invoice', dataType: 'file', pdf }, { idempotencyKey: 'k' });
    expect(String(salla.server.calls[0]!.headers['content-type'])).toMatch(/^multipart\/form-data/);
    expect(d!.header.documentUrl).toMatch(/\.pdf$/);
    expect(salla.invoices()[0]!.file!.equals(pdf)).toBe(true);
  });

  it('ORDER data type on a store whose invoices Salla issues', async () => {
    const [d] = await provider(SALLA_SANDBOX_SALLA_ISSUER_TOKEN).create({ orderId: '1056403210', type: 'tax_invoice', dataType: 'order' }, { idempotencyKey: 'k' });
    expect(d!.header.total.amount.toFixed(2)).toBe('495.65');
    expect(d!.lines).toHaveLength(3);
  });

  it("maps Salla's refusals to codes with Salla's English message", async () => {
    await provider().create(url('1818813486'), { idempotencyKey: 'k' });
    const again = await failure(provider().create(url('1818813486'), { idempotencyKey: 'k' }));
    expect(again.userErrors).toEqual([expect.objectContaining({ code: 'ALREADY_INVOICED', field: ['type'], providerMessage: expect.stringMatching(/[a-z]/) })]);
    expect(again.disposition).toBe('final');

    const unknown = await failure(provider().create(url('123'), { idempotencyKey: 'k' }));
    expect(unknown.userErrors[0]).toMatchObject({ code: 'ORDER_NOT_FOUND', field: ['orderId'] });

    const readonly = await failure(provider(SALLA_SANDBOX_READONLY_TOKEN).create(url('389701957'), { idempotencyKey: 'k' }));
    expect(readonly.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerMessage: expect.stringContaining('orders.read_write') });

    const settings = await failure(provider(SALLA_SANDBOX_SALLA_ISSUER_TOKEN).create(url('389701957'), { idempotencyKey: 'k' }));
    expect(settings.userErrors[0]).toMatchObject({ code: 'PROVIDER_SETTINGS_MISMATCH' });
  });

  it('never retries a create, even on a 503', async () => {
    salla.server.injectFault({ method: 'POST', status: 503, times: 5 });
    const err = await failure(provider().create(url('1818813486'), { idempotencyKey: 'k' }));
    expect(err.disposition).toBe('indeterminate');
    expect(salla.server.countCalls('POST')).toBe(1);
  });

  it('a created invoice whose read-back fails is reported as unknown, not refused', async () => {
    salla.server.injectFault({ method: 'GET', path: '/admin/v2/orders/invoices', status: 500, times: 5 });
    const err = await failure(provider().create(url('1818813486'), { idempotencyKey: 'k' }));
    expect(err.disposition).toBe('indeterminate');
    expect(salla.invoices()).toHaveLength(1);
  });

  it('a timeout on create is indeterminate', async () => {
    salla.server.injectFault({ method: 'POST', delayMs: 1_500 });
    const err = await failure(provider().create(url('1818813486'), { idempotencyKey: 'k' }));
    expect(err).toMatchObject({ disposition: 'indeterminate', cause_: 'transport:timeout' });
  });

  it('an unreachable Salla: PROVIDER_UNAVAILABLE, retryable (nothing was sent)', async () => {
    const closed = new SallaEmulator();
    const origin = await closed.start(0);
    await closed.stop();
    const p = new SallaProvider({ baseUrl: `${origin}/admin/v2`, accessToken: 't', timeoutMs: 500 });
    const err = await failure(p.create(url('1'), { idempotencyKey: 'k' }));
    expect(err).toMatchObject({ disposition: 'retryable', cause_: 'transport:unreachable' });
    expect(err.userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('retries a read once after a transient 503, with backoff', async () => {
    const [created] = await provider().create(url('1818813486'), { idempotencyKey: 'k' });
    salla.server.resetCalls();
    salla.server.injectFault({ method: 'GET', path: '/admin/v2/orders/invoices', status: 503 });
    const [d] = await provider().loadDetails([{ provider: 'SALLA', providerInvoiceId: created!.header.providerInvoiceId, orderId: '1818813486' }]);
    expect(d).not.toBeInstanceOf(Error);
    // The invoice twice (the 503, then the retry), its order once.
    expect(salla.server.countCalls('GET', '/admin/v2/orders/invoices')).toBe(2);
    expect(salla.server.countCalls('GET')).toBe(3);
  });

  it('loadDetails: one GET per invoice and one per distinct order, results in order, an Error in the slot of a missing one', async () => {
    const a = (await provider().create(url('1818813486'), { idempotencyKey: 'a' }))[0]!.header.providerInvoiceId;
    const b = (await provider().create(url('389701957'), { idempotencyKey: 'b' }))[0]!.header.providerInvoiceId;
    salla.server.resetCalls();
    const out = await provider().loadDetails([
      { provider: 'SALLA', providerInvoiceId: b, orderId: '389701957' },
      { provider: 'SALLA', providerInvoiceId: '404404404', orderId: '1' },
      { provider: 'SALLA', providerInvoiceId: a, orderId: '1818813486' },
      { provider: 'SALLA', providerInvoiceId: a, orderId: '1818813486' },
    ]);
    expect((out[0] as { header: { orderId: string } }).header.orderId).toBe('389701957');
    expect(out[1]).toBeInstanceOf(ProviderError);
    expect((out[2] as { header: { orderId: string } }).header.orderId).toBe('1818813486');
    expect(out[3]).toEqual(out[2]);
    // Four invoice reads (Salla has no batch read), three distinct orders.
    expect(salla.server.countCalls('GET', '/admin/v2/orders/invoices')).toBe(4);
    expect(salla.server.countCalls('GET')).toBe(7);
  });

  it('loadDetails keeps at most readConcurrency reads in flight', async () => {
    const refs: Array<{ provider: 'SALLA'; providerInvoiceId: string; orderId: string }> = [];
    for (const o of ['1818813486', '389701957', '213320125', '1056403210', '1124455667', '1371877152']) {
      refs.push({ provider: 'SALLA', providerInvoiceId: (await provider().create(url(o), { idempotencyKey: o }))[0]!.header.providerInvoiceId, orderId: o });
    }
    let inFlight = 0;
    let peak = 0;
    salla.server.use(async (_req, next) => {
      peak = Math.max(peak, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 20));
        return await next();
      } finally {
        inFlight--;
      }
    });
    const out = await provider(SALLA_SANDBOX_TOKEN, { readConcurrency: 2 }).loadDetails(refs);
    expect(out.filter((d) => d instanceof Error)).toEqual([]);
    expect(peak).toBe(2);
  });

  const data = (orderId: string, invoiceNumber: string): SallaCreateInput => ({
    orderId,
    type: 'tax_invoice',
    dataType: 'data',
    invoiceNumber,
    subTotal: new Decimal('100'),
    total: new Decimal('115'),
    shippingCost: new Decimal('0'),
    cashOnDeliveryCost: new Decimal('0'),
  });

  // Salla's List Invoices example (https://docs.salla.dev/5394157e0): order 1557892161 holds two tax invoices and a
  // credit note, since the store issues invoices of its own. A lookup matches what the attempt sent, or adopts nothing.
  it('findCreated for DATA: the invoice with the number it sent, never the store\'s own of the same kind; [] when none', async () => {
    expect(await provider().findCreated(data('1124455667', 'OURS-1'))).toEqual([]);
    salla.issueStoreInvoice(1124455667);
    expect(await provider().findCreated(data('1124455667', 'OURS-1'))).toEqual([]);
    const [made] = await provider().create(data('1124455667', 'OURS-1'), { idempotencyKey: 'k' });
    const found = await provider().findCreated(data('1124455667', 'OURS-1'));
    expect(found.map((d) => d.header.providerInvoiceId)).toEqual([made!.header.providerInvoiceId]);
    expect(await provider().findCreated({ ...data('1124455667', 'OURS-1'), type: 'credit_note' })).toEqual([]);
  });

  it('findCreated for URL and FILE: [] on an order without an invoice of the kind; with one, never adopted (Salla shows no link): NEEDS_MANUAL_SETTLEMENT', async () => {
    expect(await provider().findCreated(url('1124455667'))).toEqual([]);
    const own = salla.issueStoreInvoice(1124455667);
    const lookup = await failure(provider().findCreated(url('1124455667')));
    expect(lookup).toMatchObject({ disposition: 'indeterminate' });
    expect(lookup.userErrors).toEqual([expect.objectContaining({ code: 'NEEDS_MANUAL_SETTLEMENT', message: expect.stringContaining(String(own.id)) })]);
    const pdf = Buffer.from('%PDF-1.4 sandbox test\n%%EOF');
    const file = await failure(provider().findCreated({ orderId: '1124455667', type: 'tax_invoice', dataType: 'file', pdf }));
    expect(file.userErrors[0]!.message).toContain(createHash('sha256').update(pdf).digest('hex'));
    // From the ledger, a FILE attempt has only its PDF's hash.
    const restored = await failure(provider().findCreated({ orderId: '1124455667', type: 'tax_invoice', dataType: 'file', pdfSha256: 'ab'.repeat(32) }));
    expect(restored.userErrors[0]!.message).toContain('ab'.repeat(32));
    expect(await provider().findCreated(url('1124455667', 'credit_note'))).toEqual([]);
  });

  it('findCreated for URL takes an invoice whose listing shows the very link it sent', async () => {
    const [made] = await provider().create(url('1124455667'), { idempotencyKey: 'k' });
    // Salla documents no `url` in its listing; should an answer carry one, it identifies ours.
    salla.server.use(async (req, next) => {
      const res = await next();
      if (req.method !== 'GET' || req.path !== '/admin/v2/orders/invoices') return res;
      const body = res.body as { data: Array<Record<string, unknown>> };
      return { ...res, body: { ...body, data: body.data.map((d) => ({ ...d, url: 'https://x.example/i.pdf' })) } };
    });
    const found = await provider().findCreated(url('1124455667'));
    expect(found.map((d) => [d.header.providerInvoiceId, d.header.documentUrl])).toEqual([[made!.header.providerInvoiceId, 'https://x.example/i.pdf']]);
    expect(await provider().findCreated({ ...url('1124455667'), url: 'https://x.example/other.pdf' })).toEqual([]);
  });

  it('ORDER: the lookup takes the invoice of the kind Salla issued for the order (an ORDER create asks for exactly that one)', async () => {
    const issuer = provider(SALLA_SANDBOX_SALLA_ISSUER_TOKEN);
    const input: SallaCreateInput = { orderId: '1056403210', type: 'tax_invoice', dataType: 'order' };
    expect(await issuer.findCreated(input)).toEqual([]);
    const [made] = await issuer.create(input, { idempotencyKey: 'k' });
    expect((await issuer.findCreated(input)).map((d) => d.header.providerInvoiceId)).toEqual([made!.header.providerInvoiceId]);
  });

  it("documentUrl: a URL invoice's is the link sent, a FILE invoice's Salla's copy, both from the create answer; DATA and ORDER have none", async () => {
    const [u] = await provider().create(url('389701957'), { idempotencyKey: 'k' });
    expect(u!.header.documentUrl).toBe('https://x.example/i.pdf');
    const pdf = Buffer.from('%PDF-1.4 sandbox test\n%%EOF');
    const [f] = await provider().create({ orderId: '213320125', type: 'tax_invoice', dataType: 'file', pdf }, { idempotencyKey: 'k' });
    expect(Buffer.from(await (await fetch(f!.header.documentUrl!)).arrayBuffer()).equals(pdf)).toBe(true);
    const [d] = await provider().create(data('1371877152', 'URL-NONE'), { idempotencyKey: 'k' });
    expect(d!.header.documentUrl).toBeNull();
    const [o] = await provider(SALLA_SANDBOX_SALLA_ISSUER_TOKEN).create({ orderId: '1056403210', type: 'tax_invoice', dataType: 'order' }, { idempotencyKey: 'k' });
    expect(o!.header.documentUrl).toBeNull();
    // A later read has no link: the ledger keeps the create's.
    const [again] = await provider().loadDetails([{ provider: 'SALLA', providerInvoiceId: u!.header.providerInvoiceId, orderId: '389701957' }]);
    expect((again as { header: { documentUrl: string | null } }).header.documentUrl).toBeNull();
  });
  describe("the status, from the invoice's order (Salla keeps payment and cancellation on the order)", () => {
    const refOf = (d: InvoiceDetails) => ({ provider: 'SALLA' as const, providerInvoiceId: d.header.providerInvoiceId, orderId: d.header.orderId });
    const read = async (d: InvoiceDetails) => (await provider().loadDetails([refOf(d)]))[0] as InvoiceDetails;
    const money = (amount: string) => ({ amount: new Decimal(amount), currencyCode: 'SAR' });

    it('awaiting payment: ISSUED and all of it outstanding, even part paid (a Salla order is paid whole); paid in full: PAID', async () => {
      const [d] = await provider().create(url('389701957'), { idempotencyKey: 'k' });
      const id = d!.header.providerInvoiceId;
      expect(salla.recordPayment(id, '100.00', '2026-12-01')).toMatchObject({ paid: '100.00', outstanding: '158.75', lastPaymentDate: '2026-12-01' });
      expect(salla.recordCredit(id, '8.75')).toMatchObject({ credited: '8.75', outstanding: '150.00' });
      expect(() => salla.recordPayment(id, '150.01')).toThrow(/more than the 150.00 outstanding/);
      salla.server.resetCalls();
      let r = await read(d!);
      expect([r.header.status, r.kpis]).toEqual(['ISSUED', { outstanding: money('258.75'), paid: money('0'), overdue: null, lastPaymentDate: null, creditApplied: null }]);
      // One read of the invoice, one of its order.
      expect(salla.server.calls.map((c) => `${c.method} ${c.path}`).sort()).toEqual(['GET /admin/v2/orders/389701957', `GET /admin/v2/orders/invoices/${id}`]);
      salla.recordPayment(id, '150.00');
      r = await read(d!);
      expect([r.header.status, r.kpis]).toEqual(['PAID', { outstanding: money('0'), paid: money('258.75'), overdue: false, lastPaymentDate: null, creditApplied: null }]);
    });

    it('canceled or returned in full: VOID; the credit note itself stays ISSUED', async () => {
      const [d] = await provider().create(url('213320125'), { idempotencyKey: 'k' });
      salla.voidInvoice(d!.header.providerInvoiceId);
      expect((await read(d!)).header.status).toBe('VOID');
      expect(() => salla.recordPayment(d!.header.providerInvoiceId, '1.00')).toThrow(/canceled/);
      expect(() => salla.recordPayment('404404404', '1.00')).toThrow(/no invoice/);
      const [e] = await provider().create(url('1124455667'), { idempotencyKey: 'e' });
      salla.setOrderStatus(1124455667, 'restored');
      expect((await read(e!)).header.status).toBe('VOID');
      const [note] = await provider().create(url('1124455667', 'credit_note'), { idempotencyKey: 'n' });
      expect([note!.header.kind, (await read(note!)).header.status]).toEqual(['CREDIT_NOTE', 'ISSUED']);
    });

    it('cash on delivery: ISSUED until delivered, then PAID', async () => {
      const [d] = await provider().create(url('1818813486'), { idempotencyKey: 'k' });
      const seen: string[] = [];
      for (const slug of ['under_review', 'in_progress', 'shipped', 'delivering', 'delivered'] as const) {
        salla.setOrderStatus(1818813486, slug);
        seen.push((await read(d!)).header.status);
      }
      expect(seen).toEqual(['ISSUED', 'ISSUED', 'ISSUED', 'ISSUED', 'PAID']);
    });

    it("an order that cannot be read fails its invoices' reads (a stale ISSUED must not replace a PAID), but never a create", async () => {
      salla.server.injectFault({ method: 'GET', path: '/admin/v2/orders/389701957', status: 404, body: { status: 404, success: false, error: { code: 'error', message: 'not found' } } });
      const [d] = await provider().create(url('389701957'), { idempotencyKey: 'k' });
      expect(d!.header.status).toBe('ISSUED');
      salla.recordPayment(d!.header.providerInvoiceId, '258.75');
      salla.server.injectFault({ method: 'GET', path: '/admin/v2/orders/389701957', status: 404, body: { status: 404, success: false, error: { code: 'error', message: 'not found' } } });
      const [failed] = await provider().loadDetails([refOf(d!)]);
      expect(failed).toBeInstanceOf(ProviderError);
      expect((await read(d!)).header.status).toBe('PAID');
    });
  });

  it('contentFinal: an issued Salla invoice cannot change (Salla has no update and no drafts)', () => {
    const header = (status: InvoiceDetails['header']['status']) => ({ status }) as InvoiceDetails['header'];
    expect((['ISSUED', 'PAID', 'VOID', 'DRAFT'] as const).map((st) => provider().contentFinal(header(st)))).toEqual([true, true, true, false]);
  });
});
