import { CreateInvoiceHeaderDocument as CREATE, InvoiceLinesDocument as LINES, type CreateInvoiceMutationVariables } from '../generated/graphql';
import type { Fault } from '../../src/sandbox/shared/emulator-server';
import type { ProviderEmulator } from '../../src/sandbox/shared/provider-emulator';
import { SALESFORCE_REQUEST_LIMIT_COOLDOWN_SECONDS } from '../../src/providers/salesforce/salesforce.provider';
import { startHarness, type Harness } from '../support/harness';
import { storeName } from '../support/store';

type Input = CreateInvoiceMutationVariables['input'];

/**
 * What each provider's resilience promises, as a caller of the subgraph sees it, against the sandbox emulators over
 * HTTP: the breaker opens on outages and then sends nothing; a rate limit is honoured without hammering; a short
 * Retry-After on a read is waited out; a create is repeated only where the provider deduplicates the repeat.
 */
interface ResilienceCase {
  provider: string;
  emulator(h: Harness): ProviderEmulator;
  create: Input;
  /** Another order of the same provider, for a create after the first. */
  other: Input;
  /** The create call's path at the emulator. */
  createPath: string | RegExp;
  /** An outage on every read. */
  outage: Fault;
  /** The provider's way of saying "slow down", and the wait the caller is told. */
  rateLimit: Fault;
  retryAfter: number;
  /** Whether a create whose answer was lost is sent again, and what marks the repeat as the same request. */
  repeats: false | ((call: { headers: Record<string, unknown>; body: unknown }) => unknown);
  documents(h: Harness): number;
}

const retryAfter30 = (body: unknown): Fault => ({ status: 429, headers: { 'retry-after': '30' }, body });

const CASES: ResilienceCase[] = [
  {
    provider: 'SALLA',
    emulator: (h) => h.salla,
    create: { salla: { orderId: '1818813486', dataType: 'URL', url: 'https://files.example.com/1818813486.pdf' } },
    other: { salla: { orderId: '389701957', dataType: 'URL', url: 'https://files.example.com/389701957.pdf' } },
    createPath: '/admin/v2/orders/invoices',
    outage: { status: 503, body: { status: 503, success: false, error: { code: 'error', message: 'upstream' } } },
    rateLimit: retryAfter30({ status: 429, success: false, error: { code: 'TooManyRequests', message: 'Too Many Attempts.' } }),
    retryAfter: 30,
    repeats: false,
    documents: (h) => h.salla.invoices().length,
  },
  {
    provider: 'SALESFORCE',
    emulator: (h) => h.salesforce,
    create: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXFIA2' } },
    other: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXGIA2' } },
    createPath: /\/actions\/create-invoice$/,
    outage: { reset: true },
    // The org's daily limit: a 403 that names no delay; we keep to our documented cool-down.
    rateLimit: { status: 403, body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }] },
    retryAfter: SALESFORCE_REQUEST_LIMIT_COOLDOWN_SECONDS,
    repeats: false,
    documents: (h) => h.salesforce.invoices().length,
  },
  {
    provider: 'ZUORA',
    emulator: (h) => h.zuora,
    create: { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70301', quantity: '1', fulfillmentDate: '2024-05-01' }] } },
    other: { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70401', quantity: '1', fulfillmentDate: '2024-05-01' }] } },
    createPath: '/v1/fulfillments',
    outage: { status: 503 },
    rateLimit: retryAfter30({ success: false, reasons: [{ code: 50000070, message: 'You have exceeded the limit of API requests per minute.' }] }),
    retryAfter: 30,
    repeats: (call) => call.headers['idempotency-key'],
    documents: (h) => h.zuora.documents().length,
  },
  {
    provider: 'EXSITED',
    emulator: (h) => h.exsited,
    create: { exsited: { orderId: 'ORD-7K2M4P' } },
    other: { exsited: { orderId: 'ORD-2V5X7Z' } },
    createPath: '/api/v3/orders',
    outage: { reset: true },
    rateLimit: retryAfter30({ errors: [{ message: 'Too many requests.' }] }),
    retryAfter: 30,
    // The invoice id we derive from the attempt: Exsited refuses it a second time.
    repeats: (call) => (call.body as { invoice: { id: string } }).invoice.id,
    documents: (h) => h.exsited.invoices().length,
  },
  {
    provider: 'COMMERCE',
    emulator: (h) => h.commerce,
    create: { commerce: { orderId: '69ab24db449866373d5e3e35' } },
    other: { commerce: { orderId: '69ab2a10449866373d5e3e40' } },
    createPath: '/api/v1/invoices',
    outage: { status: 503 },
    rateLimit: retryAfter30({ success: false, message: 'Too many requests' }),
    retryAfter: 30,
    repeats: false,
    documents: (h) => h.commerce.invoices().length,
  },
];

describe.each(CASES)(`$provider resilience through the subgraph (${storeName()})`, (c) => {
  // A fresh server per test: breaker and gate state belong to the provider instance, and must not leak between tests.
  let h: Harness;
  let emulator: ProviderEmulator;
  let n = 0;
  const key = () => `${c.provider}-resilience-${++n}`;
  const create = (input: Input, k = key()) => h.execute(CREATE, { input, idempotencyKey: k }).then((r) => r.data!.createInvoice);
  // These tests are about the provider read path: the ledger forgets what it keeps of the invoice's details first
  // (as for an invoice recorded before it kept them), so that lines are read from the provider.
  const readLines = async (id: string) => {
    await h.db.query('UPDATE invoices SET content = NULL, kpis = NULL, synced_at = NULL WHERE id = $1', [id]);
    return h.execute(LINES, { id });
  };
  const posts = () => emulator.server.calls.filter((call) => call.method === 'POST' && (typeof c.createPath === 'string' ? call.path.startsWith(c.createPath) : c.createPath.test(call.path)));
  /** A first invoice, with the call log cleared after it. */
  const invoiced = async (): Promise<string> => {
    const first = await create(c.create);
    expect(first.userErrors).toEqual([]);
    emulator.server.resetCalls();
    return first.invoice!.id;
  };

  beforeEach(async () => {
    h = await startHarness();
    emulator = c.emulator(h);
  });
  afterEach(() => h.close());

  it('after repeated outages on reads the circuit opens: a create and a read then fail fast, PROVIDER_UNAVAILABLE, and nothing is sent', async () => {
    const id = await invoiced();
    emulator.server.injectFault({ method: 'GET', ...c.outage, times: Infinity });
    for (let i = 0; i < 5; i++) {
      const res = await readLines(id);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', provider: c.provider });
    }
    expect(emulator.server.calls.length).toBeGreaterThanOrEqual(5);

    // The provider is back, but the circuit stays open until its half-open time: nothing leaves the process.
    emulator.server.clearFaults();
    emulator.server.resetCalls();
    const refused = await create(c.other);
    expect(refused.invoice).toBeNull();
    expect(refused.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', retryAfterSeconds: expect.any(Number) })]);
    expect(refused.userErrors[0]!.retryAfterSeconds).toBeGreaterThan(0);
    const read = await readLines(id);
    expect(read.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', provider: c.provider });
    expect(emulator.server.calls).toEqual([]);
    expect(c.documents(h)).toBe(1);
  });

  it(`a rate limit is RATE_LIMITED with retryAfterSeconds; within the wait, a retry and a read send nothing`, async () => {
    const id = await invoiced();
    emulator.server.injectFault({ method: 'POST', path: c.createPath, ...c.rateLimit });
    const k = key();
    const limited = await create(c.other, k);
    expect(limited.userErrors).toEqual([expect.objectContaining({ code: 'RATE_LIMITED', retryAfterSeconds: c.retryAfter })]);
    expect(posts()).toHaveLength(1);

    emulator.server.resetCalls();
    // The caller retries at once with the same key, as our message tells them to later: nothing is sent yet.
    const again = await create(c.other, k);
    expect(again.userErrors).toEqual([expect.objectContaining({ code: 'RATE_LIMITED' })]);
    expect(again.userErrors[0]!.retryAfterSeconds).toBeGreaterThan(c.retryAfter - 5);
    expect(again.userErrors[0]!.retryAfterSeconds).toBeLessThanOrEqual(c.retryAfter);
    const read = await readLines(id);
    expect(read.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', provider: c.provider, retryAfterSeconds: expect.any(Number) });
    expect(emulator.server.calls).toEqual([]);
    expect(c.documents(h)).toBe(1);
  });

  it('a short Retry-After on a read is waited out and the read retried: the caller sees the lines', async () => {
    const id = await invoiced();
    emulator.server.injectFault({ method: 'GET', status: 429, headers: { 'retry-after': '1' } });
    const started = Date.now();
    const res = await readLines(id);
    expect(res.errors).toBeUndefined();
    expect(res.data!.invoice!.lines!.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const limited = emulator.server.calls.filter((call) => call.status === 429);
    expect(limited).toHaveLength(1);
    const same = (call: { path: string; query: unknown }) => call.path === limited[0]!.path && JSON.stringify(call.query) === JSON.stringify(limited[0]!.query);
    expect(emulator.server.calls.filter((call) => same(call) && call.status === 200)).toHaveLength(1);
  });

  if (c.repeats) {
    const sameRequest = c.repeats;
    it('a create whose answer was lost is sent once more as the same request, and exactly one invoice exists', async () => {
      emulator.server.injectFault({ method: 'POST', path: c.createPath, status: 503, afterHandler: true });
      const res = await create(c.create);
      expect(res.userErrors).toEqual([]);
      const sent = posts();
      expect(sent.map((call) => call.status)).toEqual([503, expect.any(Number)]);
      expect(sameRequest(sent[1]!)).toBe(sameRequest(sent[0]!));
      expect(sameRequest(sent[0]!)).toEqual(expect.any(String));
      expect(c.documents(h)).toBe(1);
      expect(res.invoice).not.toBeNull();
    });
  } else {
    it('a create is never repeated: one POST after a 503, PROVIDER_UNAVAILABLE to the caller', async () => {
      emulator.server.injectFault({ method: 'POST', path: c.createPath, status: 503, times: Infinity });
      const res = await create(c.create);
      expect(res.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE' })]);
      expect(posts()).toHaveLength(1);
      expect(c.documents(h)).toBe(0);
    });
  }
});

describe(`EXSITED with the caller's invoice id (${storeName()})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('a create is never repeated: a repeat refused as a taken id would read as the caller\'s mistake', async () => {
    h.exsited.server.injectFault({ method: 'POST', path: '/api/v3/orders', status: 503, times: Infinity });
    const res = await h.execute(CREATE, { input: { exsited: { orderId: 'ORD-7K2M4P', invoiceId: 'INV-CALLER-7' } }, idempotencyKey: 'caller-id' });
    expect(res.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE' })]);
    expect(h.exsited.server.countCalls('POST', '/api/v3/orders')).toBe(1);
  });
});
