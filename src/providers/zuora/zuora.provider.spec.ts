import { Decimal } from '../../domain/money';
import { ProviderError } from '../../domain/errors';
import type { InvoiceDetails } from '../../domain/invoice';
import { ZuoraEmulator } from '../../sandbox/zuora/zuora.emulator';
import { ZUORA_SANDBOX_CLIENT_ID, ZUORA_SANDBOX_CLIENT_SECRET, zuoraSandboxTenant } from '../../sandbox/zuora/zuora.seed';
import type { ZuoraCreateInput, ZuoraFulfillment } from './zuora.input';
import { ZuoraProvider, type ZuoraConfig } from './zuora.provider';
import { providerFailure } from '../../../test/support/provider-failure';

/** Line items of the sandbox (see zuora.seed.ts). */
const FILTER = '4028828c82819b740182821bb23e15c4'; // O-00000101, A00000001 (USD, no tax), 20 × 10.00
const TENT = '8ad0887e8a0f4f2c018a10a1d6e70102'; // O-00000101, 2 × 349.00
const BEANS = '8ad0887e8a0f4f2c018a10a1d6e70301'; // O-00000201, A00000002 (USD, NYC taxes), 24 × 18.50
const BEARING = '8ad0887e8a0f4f2c018a10a1d6e70501'; // O-00000301, A00000003 (EUR, 19 %), 8 × 142.30; no payment method

const CREDENTIALS = { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: ZUORA_SANDBOX_CLIENT_SECRET };
const TODAY = '2024-05-01';

const fulfillment = (orderLineItemId: string, quantity: string | number, over: Partial<ZuoraFulfillment> = {}): ZuoraFulfillment => ({
  orderLineItemId,
  quantity: new Decimal(quantity),
  fulfillmentDate: TODAY,
  billTargetDate: null,
  fulfillmentType: 'Delivery',
  state: 'SentToBilling',
  externalId: null,
  trackingNumber: null,
  carrier: null,
  description: null,
  ...over,
});
const input = (fulfillments: ZuoraFulfillment[], options: Partial<ZuoraCreateInput['processingOptions']> = {}): ZuoraCreateInput => ({
  fulfillments,
  processingOptions: { runBilling: true, collectPayment: false, documentDate: null, targetDate: null, ...options },
});

/** The data source against the Zuora emulator over real HTTP: the same code path as against rest.zuora.com. */
describe('ZuoraProvider over HTTP (sandbox emulator)', () => {
  let zuora: ZuoraEmulator;
  let zuoraNow: Date;
  const provider = (extra: Partial<ZuoraConfig> = {}) =>
    new ZuoraProvider({ baseUrl: zuora.baseUrl, credentials: CREDENTIALS, timeoutMs: 1_000, now: () => new Date(`${TODAY}T12:00:00Z`), ...extra });
  const failure = providerFailure;
  const calls = (method: string, path: string | RegExp) => zuora.server.countCalls(method, path);
  const ref = (d: InvoiceDetails) => ({ provider: 'ZUORA' as const, providerInvoiceId: d.header.providerInvoiceId, orderId: d.header.orderId });

  beforeAll(async () => {
    zuora = new ZuoraEmulator({ now: () => zuoraNow });
    await zuora.start(0);
  });
  afterAll(() => zuora.stop());
  beforeEach(() => {
    zuoraNow = new Date(`${TODAY}T12:00:00Z`);
    zuora.reset();
  });

  describe('create', () => {
    it('gets a token with the client credentials, then posts the fulfillments with its bearer, key, track id and minor version', async () => {
      await provider().create(input([fulfillment(FILTER, 2)]), { idempotencyKey: 'order-42-shipment-1' });
      const token = zuora.server.calls.find((c) => c.path === '/oauth/token')!;
      expect(String(token.headers['content-type'])).toBe('application/x-www-form-urlencoded');
      expect(Object.fromEntries(new URLSearchParams(Buffer.from(token.body as Buffer).toString('utf8')))).toEqual({
        client_id: ZUORA_SANDBOX_CLIENT_ID,
        client_secret: ZUORA_SANDBOX_CLIENT_SECRET,
        grant_type: 'client_credentials',
      });
      const post = zuora.server.calls.find((c) => c.path === '/v1/fulfillments')!;
      expect(post.headers.authorization).toMatch(/^Bearer [0-9a-f]{32}$/);
      expect(post.headers['idempotency-key']).toBe('order-42-shipment-1');
      expect(post.headers['zuora-track-id']).toMatch(/^invoicing-[0-9a-f]{32}$/);
      expect(post.headers['zuora-version']).toBe('239.0');
      expect(post.body).toEqual({
        // The externalId ties the fulfillment to the attempt, for findCreated's lookup.
        fulfillments: [{ orderLineItemId: FILTER, quantity: 2, fulfillmentDate: TODAY, fulfillmentType: 'Delivery', state: 'SentToBilling', externalId: 'invoicing:order-42-shipment-1:0' }],
        processingOptions: { runBilling: true, collectPayment: false },
      });
    });

    it("reads each new invoice back into the domain: lines, every tax, exact amounts, the line item's order", async () => {
      const [d] = await provider().create(input([fulfillment(BEANS, 3, { description: 'first roast' })]), { idempotencyKey: 'k' });
      expect(d!.header).toMatchObject({ provider: 'ZUORA', orderId: 'O-00000201', number: 'INV00000001', kind: 'INVOICE', status: 'ISSUED', issueDate: TODAY, dueDate: '2024-05-16', currencyCode: 'USD' });
      expect([d!.header.subtotal!.amount.toFixed(2), d!.header.taxTotal!.amount.toFixed(2), d!.header.total.amount.toFixed(2)]).toEqual(['55.50', '4.93', '60.43']);
      expect(d!.lines.map((l) => [l.description, l.sku, l.quantity.toFixed(), l.unitPrice!.amount.toFixed(2), l.total!.amount.toFixed(2)])).toEqual([
        ['Espresso Beans 1 lb', 'BEANS-ESP-1LB', '3', '18.50', '60.43'],
      ]);
      // Tax is rounded per item and per tax: 2.22 + 2.50 + 0.21, not 8.875 % of 55.50 (4.93 as well, by luck of the cents).
      expect(d!.taxes.map((t) => [t.name, t.ratePercent!.toFixed(), t.amount.amount.toFixed(2)])).toEqual([
        ['NY STATE TAX', '4', '2.22'],
        ['NYC LOCAL TAX', '4.5', '2.50'],
        ['MCTD SURCHARGE', '0.375', '0.21'],
      ]);
      expect(d!.kpis).toMatchObject({ overdue: false, lastPaymentDate: null });
      expect(d!.kpis.outstanding!.amount.toFixed(2)).toBe('60.43');
      // Zuora's PDF file of the invoice (GET /v1/invoices/{key}/files), at Zuora's file URL.
      expect(d!.header.documentUrl).toMatch(new RegExp(`^${zuora.baseUrl}/v1/files/[0-9a-f]{32}$`));
      // The invoice, its items and its files are read side by side; then the order: the line item's documented
      // orderId, and that order's number through Object Query.
      const log = zuora.server.calls.map((c) => `${c.method} ${c.path}`);
      expect(log.slice(0, 2)).toEqual(['POST /oauth/token', 'POST /v1/fulfillments']);
      expect(log.slice(2, 5).sort()).toEqual(['GET /v1/invoices/INV00000001', 'GET /v1/invoices/INV00000001/files', 'GET /v1/invoices/INV00000001/items']);
      expect(log.slice(5)).toEqual([`GET /v1/order-line-items/${BEANS}`, 'GET /object-query/orders/8ad0887e8a0f4f2c018a10a1c4d50201']);
    });

    it("the document's PDF: Zuora's file URL serves it with the bearer; a credit memo's too", async () => {
      const [inv] = await provider().create(input([fulfillment(BEARING, 2)]), { idempotencyKey: 'a' });
      const [memo] = await provider().create(input([fulfillment(BEARING, 1, { fulfillmentType: 'Return' })]), { idempotencyKey: 'b' });
      expect(memo!.header.documentUrl).toMatch(/\/v1\/files\/[0-9a-f]{32}$/);
      expect(memo!.header.documentUrl).not.toBe(inv!.header.documentUrl);
      const token = (await (await fetch(`${zuora.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${ZUORA_SANDBOX_CLIENT_ID}&client_secret=${ZUORA_SANDBOX_CLIENT_SECRET}&grant_type=client_credentials` })).json()) as { access_token: string };
      const pdf = await fetch(inv!.header.documentUrl!, { headers: { authorization: `Bearer ${token.access_token}` } });
      expect([pdf.status, pdf.headers.get('content-type')]).toEqual([200, 'application/pdf;charset=UTF-8']);
      expect((await pdf.text()).startsWith('%PDF-')).toBe(true);
      expect((await fetch(inv!.header.documentUrl!)).status).toBe(401);
    });

    it('a document with no generated file yet has documentUrl null', async () => {
      zuora.server.injectFault({ method: 'GET', path: /\/files$/, status: 200, body: { invoiceFiles: [], success: true } });
      const [d] = await provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'k' });
      expect(d!.header.documentUrl).toBeNull();
    });

    it('the order comes from the documented orderId; a line item naming no order still gets its invoice, under its own id', async () => {
      zuora.server.injectFault({ method: 'GET', path: `/v1/order-line-items/${FILTER}`, status: 200, body: { success: true, orderLineItem: { id: FILTER } } });
      const [d] = await provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'no-order' });
      expect([d!.header.number, d!.header.orderId]).toEqual(['INV00000001', FILTER]);
      expect(calls('GET', /^\/object-query\/orders\//)).toBe(0);
      // An orderNumber Zuora does not document is not read: the order's number comes from the order.
      zuora.server.injectFault({ method: 'GET', path: `/v1/order-line-items/${FILTER}`, status: 200, body: { success: true, orderLineItem: { id: FILTER, orderId: '8ad0887e8a0f4f2c018a10a1c4d50101', orderNumber: 'NOT-DOCUMENTED' } } });
      const [e] = await provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'with-order' });
      expect(e!.header.orderId).toBe('O-00000101');
    });

    it("follows an item's taxationItems.nextPage to the item's taxation-items list", async () => {
      const paged = new ZuoraEmulator({ embeddedTaxationItems: 1 });
      await paged.start(0);
      try {
        const p = new ZuoraProvider({ baseUrl: paged.baseUrl, credentials: CREDENTIALS, timeoutMs: 1_000 });
        const [d] = await p.create(input([fulfillment(BEANS, 3)]), { idempotencyKey: 'k' });
        expect(d!.lines[0]!.taxes.map((t) => t.amount.amount.toFixed(2))).toEqual(['2.22', '2.50', '0.21']);
        expect(d!.lines[0]!.taxTotal!.amount.toFixed(2)).toBe('4.93');
        const taxReads = paged.server.calls.filter((c) => c.path.endsWith('/taxation-items'));
        expect(taxReads.map((c) => c.query.page)).toEqual(['2', '3']);
      } finally {
        await paged.stop();
      }
    });

    it('one call across two accounts and a return: every invoice and the credit memo, each with its own order and currency', async () => {
      await provider().create(input([fulfillment(BEARING, 2)]), { idempotencyKey: 'earlier delivery' });
      zuora.server.resetCalls();
      const docs = await provider().create(input([fulfillment(FILTER, 4), fulfillment(BEANS, 1), fulfillment(BEARING, 1, { fulfillmentType: 'Return' })]), { idempotencyKey: 'k' });
      expect(docs.map((d) => [d.header.kind, d.header.number, d.header.orderId, d.header.currencyCode, d.header.total.amount.toFixed(2)])).toEqual([
        ['INVOICE', 'INV00000002', 'O-00000101', 'USD', '40.00'],
        ['INVOICE', 'INV00000003', 'O-00000201', 'USD', '20.14'],
        ['CREDIT_NOTE', 'CM00000001', 'O-00000301', 'EUR', '169.34'],
      ]);
      const memo = docs[2]!;
      expect(memo.header.providerInvoiceId).toMatch(/^creditmemo:[0-9a-f]{32}$/);
      expect(memo.lines.map((l) => [l.sku, l.subtotal!.amount.toFixed(2), l.taxTotal!.amount.toFixed(2)])).toEqual([['BRG-SPINDLE-7014', '142.30', '27.04']]);
      expect(memo.kpis.outstanding!.amount.toFixed(2)).toBe('169.34');
      expect(calls('GET', /^\/v1\/creditmemos\//)).toBe(2);
      // One line item read per order, whatever the number of documents.
      expect(calls('GET', '/v1/order-line-items')).toBe(3);
    });

    it('collectPayment: the invoice comes back paid', async () => {
      const [d] = await provider().create(input([fulfillment(FILTER, 10)], { collectPayment: true }), { idempotencyKey: 'k' });
      expect(d!.header.status).toBe('PAID');
      expect([d!.kpis.paid!.amount.toFixed(2), d!.kpis.outstanding!.amount.toFixed(2), d!.kpis.creditApplied!.amount.toFixed(2)]).toEqual(['100.00', '0.00', '0.00']);
    });

    it("maps Zuora's refusals to codes on the fulfillment they concern", async () => {
      const unknown = await failure(provider().create(input([fulfillment(FILTER, 1), fulfillment('0123456789abcdef0123456789abcdef', 1)]), { idempotencyKey: 'a' }));
      expect(unknown.userErrors).toEqual([expect.objectContaining({ code: 'ORDER_NOT_FOUND', field: ['fulfillments', '1', 'orderLineItemId'], providerCode: expect.stringMatching(/40$/) })]);
      expect(unknown.disposition).toBe('final');

      const tooMany = await failure(provider().create(input([fulfillment(TENT, 3)]), { idempotencyKey: 'b' }));
      expect(tooMany.userErrors[0]).toMatchObject({ code: 'INVALID_INPUT', field: ['fulfillments', '0', 'quantity'], providerMessage: expect.stringContaining('pending fulfillment (2)') });

      await provider().create(input([fulfillment(TENT, 2)]), { idempotencyKey: 'c' });
      const again = await failure(provider().create(input([fulfillment(TENT, 1)]), { idempotencyKey: 'd' }));
      expect(again.userErrors[0]).toMatchObject({ code: 'ALREADY_INVOICED', field: ['fulfillments', '0', 'quantity'] });

      const nothingDelivered = await failure(provider().create(input([fulfillment(BEANS, 1, { fulfillmentType: 'Return' })]), { idempotencyKey: 'e' }));
      expect(nothingDelivered.userErrors[0]).toMatchObject({ code: 'NOTHING_TO_CREDIT', field: ['fulfillments', '0', 'quantity'] });

      const noPaymentMethod = await failure(provider().create(input([fulfillment(BEARING, 1)], { collectPayment: true }), { idempotencyKey: 'f' }));
      expect(noPaymentMethod.userErrors[0]).toMatchObject({ code: 'PROVIDER_SETTINGS_MISMATCH', field: ['processingOptions', 'collectPayment'], providerMessage: expect.stringContaining('A00000003') });
      // Refusals are answers: nothing was sent twice.
      expect(calls('POST', '/v1/fulfillments')).toBe(6);
      expect(zuora.documents()).toHaveLength(1);
    });

    it('an answer lost on the way back: the POST is sent again with the same key and Zuora replays the stored result', async () => {
      zuora.server.injectFault({ method: 'POST', path: '/v1/fulfillments', afterHandler: true, status: 502, body: 'Bad Gateway' });
      const [d] = await provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'lost' });
      expect(d!.header.number).toBe('INV00000001');
      const posts = zuora.server.calls.filter((c) => c.path === '/v1/fulfillments');
      expect(posts.map((c) => [c.status, c.headers['idempotency-key']])).toEqual([
        [502, 'lost'],
        [200, 'lost'],
      ]);
      expect(zuora.documents()).toHaveLength(1);
    });

    it('a timeout: tried once more with the same key; the late first request then changes nothing', async () => {
      zuora.server.injectFault({ method: 'POST', path: '/v1/fulfillments', delayMs: 1_000 });
      const [d] = await provider({ timeoutMs: 500 }).create(input([fulfillment(BEANS, 2)]), { idempotencyKey: 'slow' });
      expect(d!.header.total.amount.toFixed(2)).toBe('40.29');
      await new Promise((r) => setTimeout(r, 1_000));
      // The first one timed out (its socket is gone, status 0); the second got the invoice.
      const posts = zuora.server.calls.filter((c) => c.path === '/v1/fulfillments').map((c) => [c.status, c.headers['idempotency-key']]);
      expect(posts.sort()).toEqual([
        [0, 'slow'],
        [200, 'slow'],
      ]);
      expect(zuora.documents()).toHaveLength(1);
    });

    it('gives up as IN_PROGRESS (unknown outcome) while Zuora still runs the first request with the key', async () => {
      let hold = 0;
      zuora.server.use(async (req, next) => {
        if (req.path === '/v1/fulfillments' && hold > 0) await new Promise((r) => setTimeout(r, hold));
        return next();
      });
      hold = 800;
      const first = provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'same' });
      await new Promise((r) => setTimeout(r, 100));
      hold = 0;
      const second = await failure(provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'same' }));
      expect([second.userErrors[0]!.code, second.disposition]).toEqual(['IN_PROGRESS', 'indeterminate']);
      await first;
      expect(await provider().findCreated(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'same' })).toHaveLength(1);
      expect(zuora.documents()).toHaveLength(1);
    });

    it('never sends a refused create again', async () => {
      await failure(provider().create(input([fulfillment(TENT, 9)]), { idempotencyKey: 'k' }));
      expect(calls('POST', '/v1/fulfillments')).toBe(1);
    });

    it('a created invoice whose read-back fails is reported as unknown, not refused', async () => {
      zuora.server.injectFault({ method: 'GET', path: '/v1/invoices', status: 500, times: 10 });
      const err = await failure(provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'k' }));
      expect(err.disposition).toBe('indeterminate');
      expect(err.cause_).toMatch(/^created INV00000001, read failed/);
      expect(zuora.documents()).toHaveLength(1);
      // Both reads (invoice and items) ran out their retries before the error: nothing goes on in the background.
      const seen = zuora.server.calls.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(zuora.server.calls.length).toBe(seen);
      expect(calls('GET', /^\/v1\/invoices\/INV00000001(\/items)?$/)).toBe(6);
    });

    it('an unreachable Zuora: PROVIDER_UNAVAILABLE, retryable (not even the token request got through)', async () => {
      const closed = new ZuoraEmulator();
      const origin = await closed.start(0);
      await closed.stop();
      const err = await failure(new ZuoraProvider({ baseUrl: origin, credentials: CREDENTIALS, timeoutMs: 500 }).create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'k' }));
      expect(err).toMatchObject({ disposition: 'retryable', cause_: 'transport:unreachable' });
      expect(err.userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
    });
  });

  describe('the OAuth token', () => {
    it('is fetched once for many concurrent requests, and reused', async () => {
      const made = await provider().create(input([fulfillment(FILTER, 1), fulfillment(BEANS, 1), fulfillment(BEARING, 1)]), { idempotencyKey: 'k' });
      zuora.server.resetCalls();
      const fresh = provider();
      const loaded = await Promise.all([fresh.loadDetails(made.map(ref)), fresh.loadDetails(made.map(ref)), fresh.loadDetails(made.map(ref))]);
      expect(loaded.flat().filter((d) => d instanceof Error)).toEqual([]);
      expect(calls('POST', '/oauth/token')).toBe(1);
      await fresh.loadDetails(made.map(ref));
      expect(calls('POST', '/oauth/token')).toBe(1);
    });

    it('is refreshed once when Zuora says it expired, however many requests saw the 401', async () => {
      const p = provider();
      const made = await p.create(input([fulfillment(FILTER, 1), fulfillment(BEANS, 1), fulfillment(BEARING, 1)]), { idempotencyKey: 'k' });
      zuoraNow = new Date(zuoraNow.getTime() + 3_601_000); // Zuora's clock passes the hour; ours has not moved
      zuora.server.resetCalls();
      const loaded = await p.loadDetails(made.map(ref));
      expect(loaded.filter((d) => d instanceof Error)).toEqual([]);
      expect(calls('POST', '/oauth/token')).toBe(1);
      expect(zuora.server.calls.filter((c) => c.status === 401).length).toBeGreaterThan(0);
    });

    it('is refreshed once when revoked', async () => {
      const p = provider();
      const [d] = await p.create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'k' });
      zuora.revokeTokens();
      zuora.server.resetCalls();
      expect((await p.loadDetails([ref(d!)]))[0]).not.toBeInstanceOf(Error);
      expect(calls('POST', '/oauth/token')).toBe(1);
    });

    it('is refreshed ahead of its expiry, before Zuora has to refuse it', async () => {
      let ours = new Date(`${TODAY}T12:00:00Z`);
      const p = provider({ now: () => ours });
      const [d] = await p.create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'k' });
      ours = new Date(ours.getTime() + 3_600_000 - 30_000); // inside the last minute of the token's hour
      zuora.server.resetCalls();
      await p.loadDetails([ref(d!)]);
      expect(calls('POST', '/oauth/token')).toBe(1);
      expect(zuora.server.calls.filter((c) => c.status === 401)).toEqual([]);
    });

    it('bad client credentials: PROVIDER_UNAUTHORIZED, final, and no fulfillment is sent', async () => {
      const err = await failure(provider({ credentials: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: 'wrong' } }).create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'k' }));
      expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerMessage: 'invalid_client: Bad client credentials' });
      expect(err.disposition).toBe('final');
      expect(calls('POST', '/v1/fulfillments')).toBe(0);
    });

    it('a fixed access token is used as given and never refreshed: its 401 is final', async () => {
      const err = await failure(provider({ credentials: { accessToken: 'an-operator-token' } }).create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'k' }));
      expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerCode: '90000011' });
      expect(calls('POST', '/oauth/token')).toBe(0);
      expect(zuora.server.calls.map((c) => [c.path, c.headers.authorization])).toEqual([['/v1/fulfillments', 'Bearer an-operator-token']]);
    });
  });

  describe('loadDetails', () => {
    it('one document read and one items read per distinct document, in order, an Error in the slot of an unknown one', async () => {
      const made = await provider().create(input([fulfillment(FILTER, 1), fulfillment(BEANS, 1), fulfillment(BEARING, 1)]), { idempotencyKey: 'a' });
      const [memo] = await provider().create(input([fulfillment(BEARING, 1, { fulfillmentType: 'Return' })]), { idempotencyKey: 'b' });
      zuora.server.resetCalls();
      const out = await provider().loadDetails([
        ref(made[1]!),
        { provider: 'ZUORA', providerInvoiceId: '0123456789abcdef0123456789abcdef', orderId: 'O-1' },
        ref(memo!),
        ref(made[0]!),
        ref(made[1]!),
      ]);
      expect(out.map((d) => (d instanceof Error ? d.message : `${d.header.kind} ${d.header.orderId}`))).toEqual([
        'INVOICE O-00000201',
        expect.stringMatching(/^PROVIDER_REFUSED/),
        'CREDIT_NOTE O-00000301',
        'INVOICE O-00000101',
        'INVOICE O-00000201',
      ]);
      expect(calls('GET', /^\/v1\/invoices\/[^/]+$/)).toBe(3);
      expect(calls('GET', /^\/v1\/invoices\/[^/]+\/items$/)).toBe(3);
      expect(calls('GET', /^\/v1\/creditmemos\//)).toBe(2);
      // The ledger knows the order: no line item read.
      expect(calls('GET', '/v1/order-line-items')).toBe(0);
    });

    it('reads the KPIs live: payments and credits recorded in the sandbox, reversal, overdue by our clock', async () => {
      const [inv] = await provider().create(input([fulfillment(BEANS, 3)]), { idempotencyKey: 'a' });
      const load = async (p = provider()) => (await p.loadDetails([ref(inv!)]))[0] as InvoiceDetails;
      const kpis = (d: InvoiceDetails) => [d.header.status, d.kpis.paid!.amount.toFixed(2), d.kpis.creditApplied!.amount.toFixed(2), d.kpis.outstanding!.amount.toFixed(2)];
      expect(zuora.recordPayment(inv!.header.number!, '20.00', '2024-05-02')).toMatchObject({ status: 'Posted', paid: '20.00', outstanding: '40.43', lastPaymentDate: '2024-05-02' });
      let d = await load();
      expect(kpis(d)).toEqual(['PARTIALLY_PAID', '20.00', '0.00', '40.43']);
      expect((await load(provider({ now: () => new Date('2024-05-17T00:00:00Z') }))).kpis.overdue).toBe(true);
      // By id as well as by number; a credit is a credit memo applied to the invoice.
      zuora.recordCredit(inv!.header.providerInvoiceId, '0.43');
      expect(kpis(await load())).toEqual(['PARTIALLY_PAID', '20.00', '0.43', '40.00']);
      expect(() => zuora.recordPayment(inv!.header.number!, '40.01')).toThrow(/more than the 40.00 outstanding/);
      zuora.recordPayment(inv!.header.number!, '40.00');
      d = await load();
      expect([...kpis(d), d.kpis.overdue]).toEqual(['PAID', '60.00', '0.43', '0.00', false]);
      // Zuora reverses only an invoice with nothing applied.
      expect(() => zuora.voidInvoice(inv!.header.number!)).toThrow(/payments or credit memos applied/);

      const [other] = await provider().create(input([fulfillment(BEANS, 1)]), { idempotencyKey: 'b' });
      expect(zuora.voidInvoice(other!.header.number!)).toMatchObject({ status: 'Posted (reversed)', outstanding: '0.00', voided: true });
      const reversed = (await provider().loadDetails([ref(other!)]))[0] as InvoiceDetails;
      expect([reversed.header.status, reversed.kpis.outstanding!.amount.toFixed(2), reversed.kpis.creditApplied!.amount.toFixed(2)]).toEqual(['VOID', '0.00', reversed.header.total.amount.toFixed(2)]);
      expect(() => zuora.recordPayment(other!.header.number!, '1.00')).toThrow(/reversed, not Posted/);
      expect(() => zuora.recordPayment('INV99999999', '1.00')).toThrow(/no invoice/);
    });

    it('an unposted-and-canceled invoice (no payments) is VOID too', async () => {
      const [inv] = await provider().create(input([fulfillment(BEANS, 1)]), { idempotencyKey: 'c' });
      zuora.cancelInvoice(inv!.header.number!);
      expect(((await provider().loadDetails([ref(inv!)]))[0] as InvoiceDetails).header.status).toBe('VOID');
    });

    it('contentFinal: a Draft can change; Posted (issued, paid) and Canceled cannot', () => {
      const header = (status: InvoiceDetails['header']['status']) => ({ status }) as InvoiceDetails['header'];
      expect((['DRAFT', 'ISSUED', 'PARTIALLY_PAID', 'PAID', 'VOID'] as const).map((s) => provider().contentFinal(header(s)))).toEqual([false, true, true, true, true]);
    });

    it('a credit memo applied to an invoice shows on both', async () => {
      const [inv] = await provider().create(input([fulfillment(BEARING, 2)]), { idempotencyKey: 'a' });
      const [memo] = await provider().create(input([fulfillment(BEARING, 1, { fulfillmentType: 'Return' })]), { idempotencyKey: 'b' });
      zuora.applyCreditMemo(memo!.header.number!, inv!.header.number!, '169.34');
      const [i, m] = (await provider().loadDetails([ref(inv!), ref(memo!)])) as InvoiceDetails[];
      expect([i!.header.status, i!.kpis.creditApplied!.amount.toFixed(2), i!.kpis.paid!.amount.toFixed(2), i!.kpis.outstanding!.amount.toFixed(2)]).toEqual(['PARTIALLY_PAID', '169.34', '0.00', '169.33']);
      expect([m!.header.status, m!.kpis.creditApplied!.amount.toFixed(2), m!.kpis.outstanding!.amount.toFixed(2)]).toEqual(['PAID', '169.34', '0.00']);
    });

    it('follows item pages past 40 items', async () => {
      const tenant = zuoraSandboxTenant();
      const big = new ZuoraEmulator({ tenant: { ...tenant, orders: tenant.orders.map((o) => ({ ...o, lineItems: o.lineItems.map((li) => (li.id === FILTER ? { ...li, quantity: '50' } : li)) })) } });
      await big.start(0);
      try {
        const p = new ZuoraProvider({ baseUrl: big.baseUrl, credentials: CREDENTIALS, timeoutMs: 1_000 });
        const [d] = await p.create(input(Array.from({ length: 45 }, () => fulfillment(FILTER, 1))), { idempotencyKey: 'k' });
        expect(d!.lines).toHaveLength(45);
        expect(d!.header.total.amount.toFixed(2)).toBe('450.00');
        expect(big.server.calls.filter((c) => c.path.endsWith('/items')).map((c) => c.query)).toEqual([
          { page: '1', pageSize: '40' },
          { page: '2', pageSize: '40' },
        ]);
      } finally {
        await big.stop();
      }
    });

    it('retries a read once after a transient 503, with backoff', async () => {
      const [d] = await provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'k' });
      zuora.server.resetCalls();
      zuora.server.injectFault({ method: 'GET', path: /^\/v1\/invoices\/[^/]+$/, status: 503 });
      expect((await provider().loadDetails([ref(d!)]))[0]).not.toBeInstanceOf(Error);
      expect(calls('GET', /^\/v1\/invoices\/[^/]+$/)).toBe(2);
    });

    it('keeps at most readConcurrency reads in flight', async () => {
      const made = await provider().create(input([fulfillment(FILTER, 1), fulfillment(BEANS, 1), fulfillment(BEARING, 1)]), { idempotencyKey: 'k' });
      let inFlight = 0;
      let peak = 0;
      let measuring = true;
      zuora.server.use(async (req, next) => {
        if (!measuring || req.method !== 'GET') return next();
        peak = Math.max(peak, ++inFlight);
        try {
          await new Promise((r) => setTimeout(r, 20));
          return await next();
        } finally {
          inFlight--;
        }
      });
      const out = await provider({ readConcurrency: 2 }).loadDetails(made.map(ref));
      measuring = false;
      expect(out.filter((d) => d instanceof Error)).toEqual([]);
      expect(peak).toBe(2);
    });
  });

  describe('readUnknown', () => {
    it("reads invoices billed outside the subgraph (and credit memos) with their line item's order, each line item once, null for an id this tenant does not have", async () => {
      const beans = zuora.postInvoiceOutside(BEANS, 2, TODAY);
      const tent = zuora.postInvoiceOutside(TENT, 1, TODAY);
      const beansAgain = zuora.postInvoiceOutside(BEANS, 1, TODAY);
      await provider().create(input([fulfillment(BEARING, 1)]), { idempotencyKey: 'b' });
      const [memo] = await provider().create(input([fulfillment(BEARING, 1, { fulfillmentType: 'Return' })]), { idempotencyKey: 'm' });
      zuora.server.resetCalls();
      const out = await provider().readUnknown([beans.id, '0123456789abcdef0123456789abcdef', tent.id, memo!.header.providerInvoiceId, beansAgain.id, beans.id]);
      expect(out.map((d) => (d instanceof Error ? d.message : d === null ? null : `${d.header.kind} ${d.header.providerInvoiceId} ${d.header.orderId}`))).toEqual([
        `INVOICE ${beans.id} O-00000201`,
        // Zuora's "not found" (category 40): not this tenant's, nothing to record, nothing to retry.
        null,
        `INVOICE ${tent.id} O-00000101`,
        `CREDIT_NOTE ${memo!.header.providerInvoiceId} O-00000301`,
        `INVOICE ${beansAgain.id} O-00000201`,
        `INVOICE ${beans.id} O-00000201`,
      ]);
      // Its lines are the provider's: 2 × Espresso Beans 1 lb.
      const read = out[0] as InvoiceDetails;
      expect(read.lines.map((l) => [l.description, l.quantity.toString()])).toEqual([[expect.stringContaining('Espresso Beans'), '2']]);
      // Each distinct document read once, with its file (asked in parallel, so for the unknown one too); each distinct
      // line item and its order once.
      expect(calls('GET', /^\/v1\/invoices\/[^/]+$/)).toBe(4);
      expect(calls('GET', /^\/v1\/invoices\/[^/]+\/files$/)).toBe(4);
      expect(calls('GET', /^\/v1\/order-line-items\//)).toBe(3);
      expect(calls('GET', /^\/object-query\/orders\//)).toBe(3);
    });

    it('a read that fails otherwise is an Error in its slot (the drain retries it), not a null', async () => {
      const beans = zuora.postInvoiceOutside(BEANS, 2, TODAY);
      zuora.server.injectFault({ method: 'GET', path: `/v1/invoices/${beans.id}`, reset: true, times: 20 });
      const [read] = await provider().readUnknown([beans.id]);
      expect(read).toBeInstanceOf(Error);
    });
  });

  describe('findCreated', () => {
    it('an attempt whose answers were all lost: Zuora replays its result, nothing is created again', async () => {
      zuora.server.injectFault({ method: 'POST', path: '/v1/fulfillments', afterHandler: true, reset: true, times: 2 });
      const err = await failure(provider().create(input([fulfillment(BEANS, 2)]), { idempotencyKey: 'attempt-1' }));
      expect(err.disposition).toBe('indeterminate');
      expect(zuora.documents()).toHaveLength(1);
      const found = await provider().findCreated(input([fulfillment(BEANS, 2)]), { idempotencyKey: 'attempt-1' });
      expect(found.map((d) => [d.header.number, d.header.orderId])).toEqual([['INV00000001', 'O-00000201']]);
      expect(zuora.documents()).toHaveLength(1);
    });

    it("an attempt older than Zuora's key window is not resent: it stays open and nothing reaches Zuora", async () => {
      const now = new Date(`${TODAY}T12:00:00Z`);
      const dayAgo = new Date(now.getTime() - 23.5 * 3600_000);
      zuora.server.resetCalls();
      const err = await failure(provider().findCreated(input([fulfillment(FILTER, 3)]), { idempotencyKey: 'old', attemptStartedAt: dayAgo }));
      expect(err.disposition).toBe('indeterminate');
      expect(err.userErrors[0]).toMatchObject({ code: 'NEEDS_MANUAL_SETTLEMENT', message: expect.stringContaining('24 hours') });
      expect(zuora.server.calls).toHaveLength(0);
      // Within the window the resend is safe and happens.
      const recent = new Date(now.getTime() - 22 * 3600_000);
      expect(await provider().findCreated(input([fulfillment(FILTER, 3)]), { idempotencyKey: 'recent', attemptStartedAt: recent })).toHaveLength(1);
    });

    it('an attempt Zuora refused: [] (its stored answer proves nothing was created)', async () => {
      await failure(provider().create(input([fulfillment(TENT, 5)]), { idempotencyKey: 'refused' }));
      expect(await provider().findCreated(input([fulfillment(TENT, 5)]), { idempotencyKey: 'refused' })).toEqual([]);
      expect(zuora.documents()).toEqual([]);
    });

    it('a refused token proves nothing: the attempt stays unknown', async () => {
      const err = await failure(provider({ credentials: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: 'rotated' } }).findCreated(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'k' }));
      expect(err.userErrors[0]!.code).toBe('PROVIDER_UNAUTHORIZED');
    });

    it('an attempt that never reached Zuora: its one create happens now, under its key', async () => {
      const found = await provider().findCreated(input([fulfillment(FILTER, 3)]), { idempotencyKey: 'never-sent' });
      expect(found.map((d) => d.header.total.amount.toFixed(2))).toEqual(['30.00']);
      expect(await provider().create(input([fulfillment(FILTER, 3)]), { idempotencyKey: 'never-sent' })).toEqual(found);
      expect(zuora.documents()).toHaveLength(1);
    });

    it('lookUpCreated finds by externalId what the attempt created, through the documented Object Query lookups', async () => {
      // Another attempt's fulfillment on the same line item carries another externalId: it does not match.
      await provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'another-attempt' });
      const mine = input([fulfillment(FILTER, 2), fulfillment(BEANS, 1), fulfillment(BEARING, 1)]);
      expect(await provider().lookUpCreated(mine, { idempotencyKey: 'attempt-x' })).toEqual([]);
      await provider().create(mine, { idempotencyKey: 'attempt-x' });
      zuora.server.resetCalls();
      const found = await provider().lookUpCreated(mine, { idempotencyKey: 'attempt-x' });
      expect(found.map((d) => [d.header.number, d.header.orderId]).sort()).toEqual([
        ['INV00000002', 'O-00000101'],
        ['INV00000003', 'O-00000201'],
        ['INV00000004', 'O-00000301'],
      ]);
      expect(calls('POST', '/v1/fulfillments')).toBe(0);
      const queries = zuora.server.calls.filter((c) => c.path.startsWith('/object-query/') && !c.path.startsWith('/object-query/orders'));
      const ids = expect.stringMatching(/^fulfillmentid\.IN:\[[0-9a-f]{32}(,[0-9a-f]{32}){2}\]$/);
      expect(queries.map((c) => [c.path, c.query['filter[]']]).sort()).toEqual([
        ['/object-query/credit-memo-items', ids],
        ['/object-query/fulfillments', 'externalid.EQ:invoicing:attempt-x:0'],
        ['/object-query/fulfillments', 'externalid.EQ:invoicing:attempt-x:1'],
        ['/object-query/fulfillments', 'externalid.EQ:invoicing:attempt-x:2'],
        ['/object-query/invoice-items', ids],
      ]);
    });

    it('pages through Object Query results by cursor', async () => {
      const externalId = 'shipment-77';
      for (let i = 0; i < 3; i++) await provider().create(input([fulfillment(FILTER, 1, { externalId })]), { idempotencyKey: `k${i}` });
      zuora.server.resetCalls();
      // 3 fulfillments with one caller's externalId on one line item, asked 99 at a time: make Zuora page by 1.
      zuora.server.use(async (req, next) => {
        if (req.path === '/object-query/fulfillments') (req.query as Record<string, string>).pageSize = '1';
        return next();
      });
      const found = await provider().lookUpCreated(input([fulfillment(FILTER, 1, { externalId })]), { idempotencyKey: 'k0' });
      expect(found.map((d) => d.header.number)).toEqual(['INV00000001', 'INV00000002', 'INV00000003']);
      const pages = zuora.server.calls.filter((c) => c.path === '/object-query/fulfillments');
      expect(pages.map((c) => c.query.cursor ?? null)).toEqual([null, expect.any(String), expect.any(String)]);
    });

    it('fulfillments without a document are left for a person, never created again', async () => {
      await provider().create(input([fulfillment(FILTER, 1, { state: 'Booked' }), fulfillment(BEANS, 1)]), { idempotencyKey: 'half' });
      const err = await failure(provider().lookUpCreated(input([fulfillment(FILTER, 1, { state: 'Booked' })]), { idempotencyKey: 'half' }));
      expect([err.userErrors[0]!.code, err.disposition]).toEqual(['NEEDS_MANUAL_SETTLEMENT', 'indeterminate']);
    });
  });

  describe("an attempt's keys (Zuora replays the first answer to a key for 24 hours, failures included)", () => {
    // https://developer.zuora.com/docs/guides/idempotent-requests: "the resulting status code, headers, and the body of
    // this request is saved regardless of whether it succeeded or failed. Subsequent requests with the same key return
    // the same result."
    const lock = { code: 59100050, message: 'Lock contention: the order line item is being updated by another request.' };
    const keys = () => zuora.server.calls.filter((c) => c.path === '/v1/fulfillments').map((c) => [c.headers['idempotency-key'], c.status]);

    it('the emulator replays a stored failure to every request with its key, however often it is sent', async () => {
      zuora.failCreates({ reasons: [lock] });
      const sent = await fetch(`${zuora.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${ZUORA_SANDBOX_CLIENT_ID}&client_secret=${ZUORA_SANDBOX_CLIENT_SECRET}&grant_type=client_credentials` });
      const { access_token: token } = (await sent.json()) as { access_token: string };
      const post = () =>
        fetch(`${zuora.baseUrl}/v1/fulfillments`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'replayed' },
          body: JSON.stringify({ fulfillments: [{ orderLineItemId: FILTER, quantity: 1, fulfillmentDate: TODAY, state: 'SentToBilling' }], processingOptions: { runBilling: true } }),
        }).then((r) => r.json() as Promise<{ success: boolean; reasons?: Array<{ code: number }> }>);
      for (let i = 0; i < 3; i++) expect((await post()).reasons?.[0]?.code).toBe(59100050);
      expect(zuora.documents()).toEqual([]);
    });

    it('lock contention stored under the first key: the second take passes it for the second key, which is performed', async () => {
      zuora.failCreates({ reasons: [lock] });
      const first = await failure(provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'att' }));
      expect([first.userErrors[0]!.code, first.disposition]).toEqual(['PROVIDER_UNAVAILABLE', 'retryable']);
      // The same take again (the same key): the lock is long gone, but Zuora answers with the stored failure.
      expect((await failure(provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'att', tryNumber: 1 }))).userErrors[0]!.providerCode).toBe('59100050');
      expect(zuora.documents()).toEqual([]);
      zuora.server.resetCalls();
      const [d] = await provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'att', tryNumber: 2 });
      expect(d!.header.number).toBe('INV00000001');
      // 'att' answered with its stored failure (nothing created), 'att.2' was performed; every later take replays it.
      expect(keys()).toEqual([['att', 200], ['att.2', 200]]);
      expect((await provider().findCreated(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'att', tryNumber: 5 })).map((x) => x.header.number)).toEqual(['INV00000001']);
      expect(zuora.documents()).toHaveLength(1);
    });

    it('an internal error stored under a key is passed only after the externalId lookup shows it created nothing', async () => {
      zuora.failCreates({ status: 500, reasons: [{ code: 50000060, message: 'Internal Server Error' }] });
      const att = input([fulfillment(BEANS, 2)]);
      expect((await failure(provider().create(att, { idempotencyKey: 'att5' }))).disposition).toBe('indeterminate');
      zuora.server.resetCalls();
      const found = await provider().findCreated(att, { idempotencyKey: 'att5', tryNumber: 2 });
      expect(found.map((d) => d.header.total.amount.toFixed(2))).toEqual(['40.29']);
      expect(keys()).toEqual([['att5', 500], ['att5.2', 200]]);
      expect(calls('GET', '/object-query/fulfillments')).toBe(1);
      expect(zuora.documents()).toHaveLength(1);
    });

    it('a request still running under a key is never raced by the next key: 409, the try stays unknown', async () => {
      zuora.failCreates({ reasons: [lock] });
      await failure(provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'race' }));
      let hold = 0;
      zuora.server.use(async (req, next) => {
        if (req.path === '/v1/fulfillments' && req.header('idempotency-key') === 'race.2' && hold > 0) await new Promise((r) => setTimeout(r, hold));
        return next();
      });
      hold = 800;
      const slow = provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'race', tryNumber: 2 });
      await new Promise((r) => setTimeout(r, 200));
      hold = 0;
      const err = await failure(provider().findCreated(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'race', tryNumber: 3 }));
      expect([err.userErrors[0]!.code, err.disposition]).toEqual(['IN_PROGRESS', 'indeterminate']);
      expect((await slow).map((d) => d.header.number)).toEqual(['INV00000001']);
      expect(zuora.server.calls.some((c) => c.headers['idempotency-key'] === 'race.3')).toBe(false);
      expect(zuora.documents()).toHaveLength(1);
    });

    // What the chaos run found: a failure in Zuora's envelope that Zuora never stored (a proxy's, or its edge's).
    const unstored = { method: 'POST', path: '/v1/fulfillments', status: 200, body: { success: false, processId: 'EDGE', reasons: [{ code: 50000000, message: 'Internal error' }] } };

    it("an envelope-shaped failure Zuora never stored on key 1: a later take finds key 2's invoice, never performs key 1 anew", async () => {
      const att = input([fulfillment(TENT, 2)]); // all of the line's quantity: a second create is refused
      zuora.server.injectFault(unstored);
      expect((await failure(provider().create(att, { idempotencyKey: 'edge' }))).disposition).toBe('indeterminate');
      // Take 2: key 1 gets the same unstored failure, key 2 creates and its answer is lost.
      zuora.server.injectFault(unstored);
      // Every answer lost, the repeats' under the same key too.
      zuora.server.injectFault({ method: 'POST', path: '/v1/fulfillments', afterHandler: true, reset: true, times: 10 });
      expect((await failure(provider().create(att, { idempotencyKey: 'edge', tryNumber: 2 }))).disposition).toBe('indeterminate');
      zuora.server.clearFaults();
      expect(zuora.documents()).toHaveLength(1);
      zuora.server.resetCalls();
      // Take 3: key 1 was never stored, so sending it would perform it (refused now: the quantity is used up). The
      // lookup this take begins with finds key 2's invoice first.
      const [d] = await provider().create(att, { idempotencyKey: 'edge', tryNumber: 3 });
      expect(d!.header.number).toBe(zuora.documents()[0]!.number);
      expect(keys()).toEqual([]);
      expect(zuora.documents()).toHaveLength(1);
    });

    it('a lookup that fails inside a create leaves the attempt open, never refused', async () => {
      zuora.server.injectFault(unstored);
      zuora.server.injectFault({ method: 'GET', path: '/object-query/fulfillments', status: 200, body: { success: false, reasons: [{ code: 50000000, message: 'Internal error' }] } });
      const err = await failure(provider().create(input([fulfillment(FILTER, 1)]), { idempotencyKey: 'looked' }));
      expect([err.userErrors[0]!.code, err.disposition]).toEqual(['PROVIDER_REFUSED', 'indeterminate']);
    });
  });
});
