import { ProviderError } from '../../domain/errors';
import type { InvoiceDetails } from '../../domain/invoice';
import { ExsitedEmulator } from '../../sandbox/exsited/exsited.emulator';
import {
  EXSITED_SANDBOX_CLIENT_ID,
  EXSITED_SANDBOX_CLIENT_SECRET,
  EXSITED_SANDBOX_READONLY_CLIENT_ID,
  EXSITED_SANDBOX_READONLY_CLIENT_SECRET,
} from '../../sandbox/exsited/exsited.seed';
import type { ExsitedCreateInput } from './exsited.input';
import { derivedInvoiceId, ExsitedProvider, type ExsitedConfig } from './exsited.provider';
import { EXSITED_ID } from './exsited.rules';
import { providerFailure } from '../../../test/support/provider-failure';

const TOKEN_PATH = '/api/v1/oauth2/token';
const credentials = { clientId: EXSITED_SANDBOX_CLIENT_ID, clientSecret: EXSITED_SANDBOX_CLIENT_SECRET };

/** The data source against the Exsited emulator over real HTTP: the same code path as against api.exsited.com. */
describe('ExsitedProvider over HTTP (sandbox emulator)', () => {
  let exsited: ExsitedEmulator;
  let now: Date;
  const provider = (extra: Partial<ExsitedConfig> = {}) => new ExsitedProvider({ baseUrl: exsited.baseUrl, credentials, timeoutMs: 1_000, ...extra });
  const input = (orderId: string, extra: Partial<ExsitedCreateInput> = {}): ExsitedCreateInput => ({ orderId, invoiceId: null, invoiceNote: null, ...extra });
  const ref = (providerInvoiceId: string) => ({ provider: 'EXSITED' as const, providerInvoiceId, orderId: '' });
  const tokenCalls = () => exsited.server.countCalls('POST', TOKEN_PATH);
  const apiCalls = (method?: string) => exsited.server.countCalls(method, '/api/v3');
  const unauthorizedCalls = () => exsited.server.calls.filter((c) => c.status === 401).length;
  const money = (m: { amount: { toFixed(n: number): string }; currencyCode: string } | null) => (m ? `${m.amount.toFixed(2)} ${m.currencyCode}` : null);
  const failure = providerFailure;
  /** Another app with the same credentials takes a token: Exsited ends ours. */
  const signInElsewhere = () =>
    fetch(`${exsited.baseUrl}${TOKEN_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
  const created = async (orderIds: string[]): Promise<string[]> => {
    const p = provider();
    const ids: string[] = [];
    for (const o of orderIds) ids.push((await p.create(input(o), { idempotencyKey: `seed-${o}` }))[0]!.header.providerInvoiceId);
    exsited.server.resetCalls();
    return ids;
  };

  beforeAll(async () => {
    exsited = new ExsitedEmulator({ now: () => now });
    await exsited.start(0);
  });
  afterAll(() => exsited.stop());
  beforeEach(() => {
    now = new Date();
    exsited.reset();
  });

  describe('create', () => {
    it('asks for one token with the client credentials and sends it as a bearer token', async () => {
      await provider({ redirectUri: 'https://invoicing.example/callback' }).create(input('ORD-7K2M4P'), { idempotencyKey: 'k' });
      const [token, post] = exsited.server.calls;
      expect(token!.body).toEqual({ grant_type: 'client_credentials', client_id: EXSITED_SANDBOX_CLIENT_ID, client_secret: EXSITED_SANDBOX_CLIENT_SECRET, redirect_uri: 'https://invoicing.example/callback' });
      expect(post!.path).toBe('/api/v3/orders/ORD-7K2M4P/invoices');
      expect(post!.headers.authorization).toMatch(/^Bearer exs_\S+$/);
      expect(exsited.server.calls).toHaveLength(2);
    });

    it("documentUrl is the invoice's PDF endpoint, GET /api/v2/invoices/{id}/pdf, served with the bearer (exsited-php invoicePdf)", async () => {
      const [d] = await provider().create(input('ORD-7K2M4P'), { idempotencyKey: 'pdf' });
      expect(d!.header.documentUrl).toBe(`${exsited.baseUrl}/api/v2/invoices/${encodeURIComponent(d!.header.providerInvoiceId)}/pdf`);
      // The create cost no extra call for it.
      expect(exsited.server.calls).toHaveLength(2);
      const token = exsited.server.calls[1]!.headers.authorization as string;
      const pdf = await fetch(d!.header.documentUrl!, { headers: { authorization: token } });
      expect([pdf.status, pdf.headers.get('content-type')]).toEqual([200, 'application/pdf']);
      expect((await pdf.text()).startsWith('%PDF-')).toBe(true);
      expect((await fetch(d!.header.documentUrl!)).status).toBe(401);
      const [read] = (await provider().loadDetails([{ provider: 'EXSITED', providerInvoiceId: d!.header.providerInvoiceId, orderId: 'ORD-7K2M4P' }])) as InvoiceDetails[];
      expect(read!.header.documentUrl).toBe(d!.header.documentUrl);
    });

    it("returns header, lines, taxes and KPIs from the create answer alone, exactly (tax-inclusive order)", async () => {
      const [d] = await provider().create(input('ORD-8N3Q5R'), { idempotencyKey: 'k' });
      expect(d!.header).toMatchObject({ provider: 'EXSITED', orderId: 'ORD-8N3Q5R', kind: 'INVOICE', status: 'ISSUED', currencyCode: 'AUD', documentUrl: expect.stringMatching(/\/api\/v2\/invoices\/INV-[0-9A-F]+\/pdf$/) });
      expect([money(d!.header.subtotal), money(d!.header.taxTotal), money(d!.header.total)]).toEqual(['580.75 AUD', '58.07 AUD', '638.82 AUD']);
      expect(d!.lines.map((l) => [l.sku, l.quantity.toFixed(), money(l.subtotal), money(l.taxTotal), money(l.total)])).toEqual([
        ['TRAINING-BARISTA', '1', '450.00 AUD', '45.00 AUD', '495.00 AUD'],
        ['CUPSET-CERAMIC', '4', '130.75 AUD', '13.07 AUD', '143.82 AUD'],
      ]);
      expect(d!.taxes.map((t) => [t.code, t.ratePercent!.toFixed(), money(t.amount)])).toEqual([['GST', '10', '58.07 AUD']]);
      expect(d!.kpis).toMatchObject({ overdue: false, lastPaymentDate: null });
      expect([money(d!.kpis.outstanding), money(d!.kpis.paid), money(d!.kpis.creditApplied)]).toEqual(['638.82 AUD', '0.00 AUD', '0.00 AUD']);
      expect(apiCalls('GET')).toBe(0);
    });

    it('sums taxes per code across a zero-rated line (NZD)', async () => {
      const [d] = await provider().create(input('ORD-4X7Z9C'), { idempotencyKey: 'k' });
      expect(d!.taxes.map((t) => [t.code, t.ratePercent!.toFixed(), money(t.amount)])).toEqual([
        ['GST-NZ', '15', '54.00 NZD'],
        ['ZERO', '0', '0.00 NZD'],
      ]);
      expect(money(d!.header.total)).toBe('499.00 NZD');
    });

    it("sends the caller's invoice id and note as given", async () => {
      const [d] = await provider().create(input('ORD-2V5X7Z', { invoiceId: 'LA-2024-018-A', invoiceNote: 'Net 30 — thank you' }), { idempotencyKey: 'k' });
      expect(exsited.server.calls.find((c) => c.method === 'POST' && c.path.startsWith('/api/v3'))!.body).toEqual({ invoice: { id: 'LA-2024-018-A', invoice_note: 'Net 30 — thank you' } });
      expect(d!.header).toMatchObject({ providerInvoiceId: 'LA-2024-018-A', number: 'LA-2024-018-A' });
      expect(exsited.invoices()[0]).toMatchObject({ id: 'LA-2024-018-A', note: 'Net 30 — thank you' });
    });

    it('without one, sends an id derived from the order and idempotency key: stable across retries, valid for Exsited', async () => {
      const [d] = await provider().create(input('ORD-7K2M4P'), { idempotencyKey: 'order-7k2m4p-1' });
      const sent = exsited.server.calls.find((c) => c.method === 'POST' && c.path.startsWith('/api/v3'))!.body as { invoice: Record<string, unknown> };
      expect(sent).toEqual({ invoice: { id: derivedInvoiceId('ORD-7K2M4P', 'order-7k2m4p-1') } });
      expect(d!.header.providerInvoiceId).toBe(sent.invoice.id);
      expect(sent.invoice.id).toMatch(EXSITED_ID);
      expect(derivedInvoiceId('ORD-7K2M4P', 'order-7k2m4p-1')).toBe(sent.invoice.id);
      expect(new Set([derivedInvoiceId('ORD-7K2M4P', 'other-key'), derivedInvoiceId('ORD-8N3Q5R', 'order-7k2m4p-1')]).has(sent.invoice.id as string)).toBe(false);
    });

    it('a retry after a lost answer returns the invoice the first try created, and never a second one', async () => {
      // Both tries of the first call (the create is repeated once with our id) lose their answer.
      exsited.server.injectFault({ method: 'POST', path: '/api/v3/orders', status: 502, afterHandler: true, times: 2 });
      const lost = await failure(provider().create(input('ORD-3W6Y8B'), { idempotencyKey: 'lost' }));
      expect(lost.disposition).toBe('indeterminate');
      expect(exsited.invoices()).toHaveLength(1);

      exsited.server.resetCalls();
      const [again] = await provider().create(input('ORD-3W6Y8B'), { idempotencyKey: 'lost' });
      expect(again!.header.providerInvoiceId).toBe(exsited.invoices()[0]!.id);
      expect(money(again!.header.total)).toBe('889.45 NZD');
      expect(exsited.invoices()).toHaveLength(1);
      // Exsited refused the repeated id; one read of it answered.
      expect(exsited.server.calls.filter((c) => c.path.startsWith('/api/v3')).map((c) => [c.method, c.status])).toEqual([
        ['POST', 400],
        ['GET', 200],
      ]);
    });

    it('the same recovery on a monthly order, once its billing period is invoiced', async () => {
      exsited.server.injectFault({ method: 'POST', path: '/api/v3/orders', reset: true, afterHandler: true, times: 2 });
      expect((await failure(provider().create(input('ORD-9P4S6T'), { idempotencyKey: 'seats-may' }))).disposition).toBe('indeterminate');
      const [again] = await provider().create(input('ORD-9P4S6T'), { idempotencyKey: 'seats-may' });
      expect(again!.header.providerInvoiceId).toBe(derivedInvoiceId('ORD-9P4S6T', 'seats-may'));
      expect(exsited.invoices()).toHaveLength(1);
    });

    it("maps Exsited's refusals to codes and fields, with Exsited's message", async () => {
      await provider().create(input('ORD-7K2M4P', { invoiceId: 'INV-TAKEN' }), { idempotencyKey: 'a' });

      const taken = await failure(provider().create(input('ORD-2V5X7Z', { invoiceId: 'INV-TAKEN' }), { idempotencyKey: 'b' }));
      expect(taken.userErrors).toEqual([expect.objectContaining({ code: 'DUPLICATE_INVOICE_NUMBER', field: ['invoiceId'], providerMessage: 'An invoice with id INV-TAKEN already exists.' })]);
      expect(taken.disposition).toBe('final');

      const twice = await failure(provider().create(input('ORD-7K2M4P'), { idempotencyKey: 'c' }));
      expect(twice.userErrors).toEqual([expect.objectContaining({ code: 'ALREADY_INVOICED', field: ['orderId'], providerMessage: 'Order ORD-7K2M4P has already been fully invoiced.' })]);

      const unknown = await failure(provider().create(input('ORD-NOPE00'), { idempotencyKey: 'd' }));
      expect(unknown.userErrors[0]).toMatchObject({ code: 'ORDER_NOT_FOUND', field: ['orderId'], providerCode: '404' });
    });

    it('an id we derived that another order already holds: refused, not taken for ours', async () => {
      const clash = derivedInvoiceId('ORD-4X7Z9C', 'k');
      await provider().create(input('ORD-7K2M4P', { invoiceId: clash }), { idempotencyKey: 'other' });
      const err = await failure(provider().create(input('ORD-4X7Z9C'), { idempotencyKey: 'k' }));
      expect(err.userErrors).toEqual([expect.objectContaining({ code: 'DUPLICATE_INVOICE_NUMBER', field: null })]);
      expect(err.disposition).toBe('final');
      expect(exsited.invoices().map((i) => i.orderId)).toEqual(['ORD-7K2M4P']);
    });

    it('a client without write access: PROVIDER_UNAUTHORIZED, final, and no token refresh for a 403', async () => {
      const readonly = provider({ credentials: { clientId: EXSITED_SANDBOX_READONLY_CLIENT_ID, clientSecret: EXSITED_SANDBOX_READONLY_CLIENT_SECRET } });
      const err = await failure(readonly.create(input('ORD-7K2M4P'), { idempotencyKey: 'k' }));
      expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerCode: '403', providerMessage: 'Access denied: this API client may not create invoices.' });
      expect(err.disposition).toBe('final');
      expect([tokenCalls(), apiCalls()]).toEqual([1, 1]);
    });

    it('wrong credentials: PROVIDER_UNAUTHORIZED, final, before any API call', async () => {
      const err = await failure(provider({ credentials: { ...credentials, clientSecret: 'wrong' } }).create(input('ORD-7K2M4P'), { idempotencyKey: 'k' }));
      expect(err).toMatchObject({ disposition: 'final', cause_: 'token:http:401' });
      expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerMessage: 'Invalid client credentials.' });
      expect(apiCalls()).toBe(0);
    });

    it('with an id we chose, a 503 is sent once more at once, with the same id: one invoice, no error', async () => {
      exsited.server.injectFault({ method: 'POST', path: '/api/v3', status: 503 });
      const [d] = await provider().create(input('ORD-7K2M4P'), { idempotencyKey: 'k' });
      const posts = exsited.server.calls.filter((c) => c.method === 'POST' && c.path.startsWith('/api/v3'));
      expect(posts.map((c) => [c.status, (c.body as { invoice: { id: string } }).invoice.id])).toEqual([
        [503, derivedInvoiceId('ORD-7K2M4P', 'k')],
        [200, derivedInvoiceId('ORD-7K2M4P', 'k')],
      ]);
      expect(exsited.invoices().map((i) => i.id)).toEqual([d!.header.providerInvoiceId]);
    });

    it('with an id we chose, a lost answer is settled in the same call: the repeat is refused as a taken id, the invoice read back', async () => {
      exsited.server.injectFault({ method: 'POST', path: '/api/v3/orders', status: 502, afterHandler: true });
      const [d] = await provider().create(input('ORD-3W6Y8B'), { idempotencyKey: 'lost-once' });
      expect(d!.header.providerInvoiceId).toBe(derivedInvoiceId('ORD-3W6Y8B', 'lost-once'));
      expect(exsited.invoices()).toHaveLength(1);
      expect(exsited.server.calls.filter((c) => c.path.startsWith('/api/v3')).map((c) => [c.method, c.status])).toEqual([
        ['POST', 502],
        ['POST', 400],
        ['GET', 200],
      ]);
    });

    it("with the caller's id, never repeats a create, even on a 503", async () => {
      exsited.server.injectFault({ method: 'POST', path: '/api/v3', status: 503, times: 5 });
      const err = await failure(provider().create(input('ORD-7K2M4P', { invoiceId: 'INV-CALLER-1' }), { idempotencyKey: 'k' }));
      expect(err.disposition).toBe('indeterminate');
      expect(apiCalls('POST')).toBe(1);
    });

    it("a timeout on create is indeterminate (the caller's id: not repeated)", async () => {
      exsited.server.injectFault({ method: 'POST', path: '/api/v3', delayMs: 1_500 });
      const err = await failure(provider().create(input('ORD-7K2M4P', { invoiceId: 'INV-CALLER-2' }), { idempotencyKey: 'k' }));
      expect(err).toMatchObject({ disposition: 'indeterminate', cause_: 'transport:timeout' });
    });

    it('an unreachable Exsited: PROVIDER_UNAVAILABLE, retryable (nothing was sent)', async () => {
      const closed = new ExsitedEmulator();
      const origin = await closed.start(0);
      await closed.stop();
      const err = await failure(new ExsitedProvider({ baseUrl: origin, credentials, timeoutMs: 500 }).create(input('ORD-7K2M4P'), { idempotencyKey: 'k' }));
      expect(err).toMatchObject({ disposition: 'retryable', cause_: 'transport:unreachable' });
      expect(err.userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
    });
  });

  describe('tokens: one per instance, shared by its requests', () => {
    it('concurrent requests of a fresh instance wait on one token request', async () => {
      const ids = await created(['ORD-7K2M4P', 'ORD-8N3Q5R', 'ORD-2V5X7Z', 'ORD-3W6Y8B', 'ORD-4X7Z9C']);
      const p = provider({ readConcurrency: 20 });
      const out = await Promise.all([p.loadDetails([...ids, ...ids].map(ref)), p.findCreated(input('ORD-9P4S6T'), { idempotencyKey: 'none' }), p.loadDetails(ids.map(ref))]);
      expect(out[0].filter((d) => d instanceof Error)).toEqual([]);
      expect([tokenCalls(), apiCalls('GET')]).toEqual([1, 16]);
    });

    it('a 401 for an ended token refreshes it once for all the requests that saw it, and each retries once', async () => {
      const ids = await created(['ORD-7K2M4P', 'ORD-8N3Q5R', 'ORD-2V5X7Z', 'ORD-3W6Y8B', 'ORD-4X7Z9C']);
      const p = provider({ readConcurrency: 20 });
      await p.loadDetails([ref(ids[0]!)]);
      await signInElsewhere();
      exsited.server.resetCalls();
      const out = await p.loadDetails(ids.map(ref));
      expect(out.filter((d) => d instanceof Error)).toEqual([]);
      expect([tokenCalls(), unauthorizedCalls(), apiCalls('GET')]).toEqual([1, 5, 10]);
    });

    it('two instances sharing credentials sign each other out: each 401 costs one refresh and one retry, never a loop', async () => {
      const [id] = await created(['ORD-7K2M4P']);
      const a = provider();
      const b = provider();
      const read = async (p: ExsitedProvider) => expect((await p.loadDetails([ref(id!)]))[0]).not.toBeInstanceOf(Error);
      await read(a);
      await read(b); // b's token ends a's
      await read(a); // 401, refresh (ends b's), retry
      await read(b); // 401, refresh (ends a's), retry
      expect([tokenCalls(), unauthorizedCalls(), apiCalls('GET')]).toEqual([4, 2, 6]);
      expect(exsited.server.calls.map((c) => `${c.method === 'POST' ? 'token' : 'GET'}:${c.status}`)).toEqual([
        'token:200', 'GET:200',
        'token:200', 'GET:200',
        'GET:401', 'token:200', 'GET:200',
        'GET:401', 'token:200', 'GET:200',
      ]);
    });

    it('a 401 that persists after one refresh is final: two tries, two tokens, then PROVIDER_UNAUTHORIZED', async () => {
      exsited.server.injectFault({ path: '/api/v3', status: 401, body: { errors: [{ message: 'The access token is invalid.' }] }, times: Infinity });
      const err = await failure(provider().create(input('ORD-7K2M4P'), { idempotencyKey: 'k' }));
      expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerMessage: 'The access token is invalid.' });
      expect(err.disposition).toBe('final');
      expect([tokenCalls(), apiCalls('POST')]).toEqual([2, 2]);
    });

    it('refreshes a token ahead of its expiry, so no request is sent with a lapsing one', async () => {
      const shortLived = new ExsitedEmulator({ tokenTtlSeconds: 61 });
      await shortLived.start(0);
      try {
        const p = new ExsitedProvider({ baseUrl: shortLived.baseUrl, credentials, timeoutMs: 1_000 });
        const find = () => p.findCreated(input('ORD-7K2M4P'), { idempotencyKey: 'k' });
        await Promise.all([find(), find()]);
        await find(); // still within the first second of a 61 s token, i.e. before the 60 s refresh margin
        await new Promise((r) => setTimeout(r, 1_100));
        await find();
        expect(shortLived.server.calls.map((c) => `${c.method}:${c.status}`)).toEqual(['POST:200', 'GET:404', 'GET:404', 'GET:404', 'POST:200', 'GET:404']);
      } finally {
        await shortLived.stop();
      }
    });

    it('an expired token is replaced on the 401 it meets', async () => {
      const [id] = await created(['ORD-7K2M4P']);
      const p = provider();
      await p.loadDetails([ref(id!)]);
      now = new Date(now.getTime() + 3_600_000); // the emulator's clock passes the token's hour; ours does not
      expect((await p.loadDetails([ref(id!)]))[0]).not.toBeInstanceOf(Error);
      expect([tokenCalls(), unauthorizedCalls()]).toEqual([2, 1]);
    });

    it('an access token an operator configured is used as is and never refreshed: a 401 is final', async () => {
      const [id] = await created(['ORD-7K2M4P']);
      const { access_token } = await signInElsewhere();
      const p = provider({ credentials: { accessToken: access_token } });
      expect((await p.loadDetails([ref(id!)]))[0]).not.toBeInstanceOf(Error);
      await signInElsewhere();
      const [gone] = await p.loadDetails([ref(id!)]);
      expect(gone).toBeInstanceOf(ProviderError);
      expect((gone as ProviderError).userErrors[0]!.code).toBe('PROVIDER_UNAUTHORIZED');
      expect([tokenCalls(), apiCalls('GET')]).toEqual([2, 2]);
      expect(exsited.server.calls.filter((c) => c.method === 'GET').every((c) => c.headers.authorization === `Bearer ${access_token}`)).toBe(true);
    });
  });

  describe('reads', () => {
    it('findCreated: [] on a verified absence, the invoice once it exists, by our id or the caller\'s', async () => {
      expect(await provider().findCreated(input('ORD-7K2M4P'), { idempotencyKey: 'k' })).toEqual([]);
      const [made] = await provider().create(input('ORD-7K2M4P'), { idempotencyKey: 'k' });
      const found = await provider().findCreated(input('ORD-7K2M4P'), { idempotencyKey: 'k' });
      expect(found.map((d) => d.header.providerInvoiceId)).toEqual([made!.header.providerInvoiceId]);
      expect(await provider().findCreated(input('ORD-7K2M4P'), { idempotencyKey: 'another' })).toEqual([]);

      await provider().create(input('ORD-2V5X7Z', { invoiceId: 'LA-77' }), { idempotencyKey: 'x' });
      expect((await provider().findCreated(input('ORD-2V5X7Z', { invoiceId: 'LA-77' }), { idempotencyKey: 'y' })).map((d) => d.header.number)).toEqual(['LA-77']);
      // The id exists, but on another order: not this input's invoice.
      expect(await provider().findCreated(input('ORD-3W6Y8B', { invoiceId: 'LA-77' }), { idempotencyKey: 'y' })).toEqual([]);
    });

    it('findCreated cannot verify on a lasting 5xx: after its retries it throws, it does not answer []', async () => {
      exsited.server.injectFault({ method: 'GET', path: '/api/v3', status: 500, times: 5 });
      const err = await failure(provider().findCreated(input('ORD-7K2M4P'), { idempotencyKey: 'k' }));
      expect(err.userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
      expect(apiCalls('GET')).toBe(3);
    });

    it('loadDetails: one GET per invoice, results in order, an Error in the slot of a missing one', async () => {
      const [a, b] = await created(['ORD-7K2M4P', 'ORD-2V5X7Z']);
      const out = await provider().loadDetails([ref(b!), ref('INV-MISSING'), ref(a!)]);
      expect((out[0] as InvoiceDetails).header.orderId).toBe('ORD-2V5X7Z');
      expect(out[1]).toBeInstanceOf(ProviderError);
      expect((out[1] as ProviderError).userErrors[0]).toMatchObject({ code: 'PROVIDER_REFUSED', providerMessage: 'Invoice INV-MISSING was not found.' });
      expect((out[2] as InvoiceDetails).header.orderId).toBe('ORD-7K2M4P');
      expect(apiCalls('GET')).toBe(3);
    });

    it('retries a read once after a transient 503, with backoff', async () => {
      const [id] = await created(['ORD-7K2M4P']);
      exsited.server.injectFault({ method: 'GET', path: '/api/v3', status: 503 });
      const [d] = await provider().loadDetails([ref(id!)]);
      expect(d).not.toBeInstanceOf(Error);
      expect(apiCalls('GET')).toBe(2);
    });

    it('loadDetails keeps at most readConcurrency reads in flight', async () => {
      const ids = await created(['ORD-7K2M4P', 'ORD-8N3Q5R', 'ORD-9P4S6T', 'ORD-2V5X7Z', 'ORD-3W6Y8B', 'ORD-4X7Z9C']);
      let inFlight = 0;
      let peak = 0;
      exsited.server.use(async (req, next) => {
        if (req.method !== 'GET') return next();
        peak = Math.max(peak, ++inFlight);
        try {
          await new Promise((r) => setTimeout(r, 20));
          return await next();
        } finally {
          inFlight--;
        }
      });
      const out = await provider({ readConcurrency: 2 }).loadDetails(ids.map(ref));
      expect(out.filter((d) => d instanceof Error)).toEqual([]);
      expect(peak).toBe(2);
    });

    it('KPIs follow payments and credits: partly paid, then overdue, then paid', async () => {
      const [id] = await created(['ORD-7K2M4P']);
      const p = provider();
      const read = async () => (await p.loadDetails([ref(id!)]))[0] as InvoiceDetails;
      exsited.recordPayment(id!, '200.00', new Date('2024-05-12T10:00:00Z'));
      let d = await read();
      expect(d.header.status).toBe('PARTIALLY_PAID');
      expect([money(d.kpis.outstanding), money(d.kpis.paid), d.kpis.overdue, d.kpis.lastPaymentDate]).toEqual(['322.23 AUD', '200.00 AUD', false, '2024-05-12']);

      exsited.applyCredit(id!, '22.23');
      now = new Date(now.getTime() + 15 * 86_400_000); // past the 14-day terms
      d = await read();
      expect([money(d.kpis.outstanding), money(d.kpis.creditApplied), d.kpis.overdue]).toEqual(['300.00 AUD', '22.23 AUD', true]);
      // outstanding = total − paid − credit, exactly
      expect(d.header.total.amount.minus(d.kpis.paid!.amount).minus(d.kpis.creditApplied!.amount).equals(d.kpis.outstanding!.amount)).toBe(true);

      exsited.recordPayment(id!, '300.00');
      d = await read();
      expect([d.header.status, money(d.kpis.outstanding), d.kpis.overdue]).toEqual(['PAID', '0.00 AUD', false]);
      expect(() => exsited.recordPayment(id!, '0.01')).toThrow(/more than the 0.00 outstanding/);
      expect(() => exsited.voidInvoice(id!)).toThrow(/payments or credit applied/);
    });

    it('the uniform sandbox controls: a payment with a date, a credit, then a void of another invoice reads as VOID', async () => {
      const [id, other] = await created(['ORD-7K2M4P', 'ORD-2V5X7Z']);
      const p = provider();
      const read = async (which: string) => (await p.loadDetails([ref(which)]))[0] as InvoiceDetails;
      expect(exsited.recordPayment(id!, '100.00', '2024-05-03')).toMatchObject({ status: 'ACTIVE', paid: '100.00', lastPaymentDate: '2024-05-03' });
      expect(exsited.recordCredit(id!, '10.00')).toMatchObject({ credited: '10.00' });
      let d = await read(id!);
      expect([d.header.status, money(d.kpis.paid), money(d.kpis.creditApplied), d.kpis.lastPaymentDate]).toEqual(['PARTIALLY_PAID', '100.00 AUD', '10.00 AUD', '2024-05-03']);

      expect(exsited.voidInvoice(other!)).toMatchObject({ status: 'VOIDED', outstanding: '0.00', voided: true });
      d = await read(other!);
      expect([d.header.status, money(d.kpis.outstanding), d.kpis.overdue]).toEqual(['VOID', '0.00 USD', false]);
      expect(() => exsited.recordPayment(other!, '1.00')).toThrow(/VOIDED/);
      expect(() => exsited.recordPayment('INV-NOPE', '1.00')).toThrow(/no invoice/);
      expect(() => exsited.recordPayment(id!, '1.005')).toThrow(/decimal string/);
    });

    describe("invoicesOfOrders: an order's whole list (the sync's discovery)", () => {
      /** A merchant invoicing the order at Exsited itself (outside the subgraph), with the sandbox's client. */
      const invoiceAtExsited = async (orderId: string): Promise<string> => {
        const { access_token } = await signInElsewhere();
        const res = await fetch(`${exsited.baseUrl}/api/v3/orders/${orderId}/invoices`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${access_token}` },
          body: JSON.stringify({ invoice: { invoice_note: 'Raised in Exsited' } }),
        });
        expect(res.status).toBe(200);
        return ((await res.json()) as { invoice: { id: string } }).invoice.id;
      };
      const ids = (r: InvoiceDetails[] | Error | undefined) => (r as InvoiceDetails[]).map((d) => d.header.providerInvoiceId);

      it("lists ours and one made at Exsited, mapped as reads are (lines, taxes, KPIs); an order with none or unknown: []", async () => {
        // A monthly order: ours for May, the merchant's for June, made at Exsited directly.
        now = new Date('2024-05-02T09:00:00Z');
        const p = provider();
        const [ours] = await p.create(input('ORD-9P4S6T'), { idempotencyKey: 'may' });
        now = new Date('2024-06-02T09:00:00Z');
        const theirs = await invoiceAtExsited('ORD-9P4S6T');
        exsited.server.resetCalls();
        const out = await p.invoicesOfOrders(['ORD-9P4S6T', 'ORD-7K2M4P', 'ORD-NOPE00']);
        expect(out).toHaveLength(3);
        expect(ids(out[0])).toEqual([ours!.header.providerInvoiceId, theirs]);
        const [read] = (await p.loadDetails([ref(theirs)])) as InvoiceDetails[];
        const listed = (out[0] as InvoiceDetails[])[1]!;
        expect(listed).toEqual(read);
        expect(listed.header).toMatchObject({ orderId: 'ORD-9P4S6T', documentUrl: `${exsited.baseUrl}/api/v2/invoices/${theirs}/pdf` });
        expect(listed.lines.length).toBeGreaterThan(0);
        expect(listed.lines.map((l) => l.sku)).toEqual(ours!.lines.map((l) => l.sku));
        expect(listed.taxes.length).toBeGreaterThan(0);
        // An order without invoices, and one Exsited does not know (404): nothing to list, not a failure.
        expect(out.slice(1)).toEqual([[], []]);
        // One page each (the merchant's sign-in ended our token: the 401s before the one refresh are left out).
        const lists = exsited.server.calls.filter((c) => c.method === 'GET' && c.status !== 401 && /^\/api\/v3\/orders\//.test(c.path));
        expect(lists.map((c) => [c.path, c.query.limit, c.query.offset])).toEqual([
          ['/api/v3/orders/ORD-9P4S6T/invoices', '100', '0'],
          ['/api/v3/orders/ORD-7K2M4P/invoices', '100', '0'],
          ['/api/v3/orders/ORD-NOPE00/invoices', '100', '0'],
        ]);
      });

      it("pages by offset while the pagination says there is more (either envelope), and keeps only the order's invoices", async () => {
        const p = provider();
        for (const month of ['05', '06']) {
          now = new Date(`2024-${month}-02T09:00:00Z`);
          await p.create(input('ORD-9P4S6T'), { idempotencyKey: month });
        }
        const [other] = await created(['ORD-7K2M4P']);
        const { access_token } = await signInElsewhere();
        const list = async (orderId: string) =>
          ((await fetch(`${exsited.baseUrl}/api/v3/orders/${orderId}/invoices`, { headers: { authorization: `Bearer ${access_token}` } }).then((r) => r.json())) as { invoices: Array<{ id: string }> })
            .invoices;
        const [may, june] = await list('ORD-9P4S6T');
        const [ofOther] = await list('ORD-7K2M4P');
        // A first page of one, in the SDK's envelope (under `order`), whose pagination names a next page; the rest is
        // read from offset 1. Another order's invoice in a list is never kept.
        exsited.server.injectFault({
          method: 'GET',
          path: '/api/v3/orders/ORD-9P4S6T/invoices',
          status: 200,
          body: { order: { invoices: [may], pagination: { records: 2, limit: 1, offset: 0, previous_page: '', next_page: 'next' } } },
        });
        exsited.server.injectFault({ method: 'GET', path: '/api/v3/orders/ORD-2V5X7Z/invoices', status: 200, body: { invoices: [ofOther] } });
        exsited.server.resetCalls();
        const out = await p.invoicesOfOrders(['ORD-9P4S6T', 'ORD-2V5X7Z']);
        expect(ids(out[0])).toEqual([may!.id, june!.id]);
        expect(ids(out[1])).toEqual([]);
        expect(other).toBe(ofOther!.id);
        const pages = exsited.server.calls.filter((c) => c.method === 'GET' && c.status !== 401 && c.path === '/api/v3/orders/ORD-9P4S6T/invoices');
        expect(pages.map((c) => c.query.offset)).toEqual(['0', '1']);
      });

      it('an order whose listing fails: an Error in its slot, after the read retries; the others listed', async () => {
        const [a] = await created(['ORD-7K2M4P']);
        exsited.server.injectFault({ method: 'GET', path: '/api/v3/orders/ORD-2V5X7Z', status: 503, times: Infinity });
        const out = await provider().invoicesOfOrders(['ORD-2V5X7Z', 'ORD-7K2M4P']);
        expect(out[0]).toBeInstanceOf(ProviderError);
        expect((out[0] as ProviderError).userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
        expect(ids(out[1])).toEqual([a]);
        expect(exsited.server.countCalls('GET', '/api/v3/orders/ORD-2V5X7Z')).toBe(3);
      });
    });

    it('contentFinal: a draft is read live; issued ones are kept (an amendment shows through the age-based refresh)', () => {
      const header = (status: InvoiceDetails['header']['status']) => ({ status }) as InvoiceDetails['header'];
      expect((['DRAFT', 'ISSUED', 'PARTIALLY_PAID', 'PAID', 'VOID'] as const).map((s) => provider().contentFinal(header(s)))).toEqual([false, true, true, true, true]);
    });
  });
});
