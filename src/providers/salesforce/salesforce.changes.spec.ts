import { SalesforceEmulator } from '../../sandbox/salesforce/salesforce.emulator';
import { salesforceId } from '../../sandbox/salesforce/salesforce.ids';
import { SALESFORCE_SANDBOX_ORDER_SUMMARIES, SALESFORCE_SANDBOX_PRODUCTS, SALESFORCE_SANDBOX_TOKEN, type SalesforceOrderSummarySeed } from '../../sandbox/salesforce/salesforce.seed';
import { SalesforceProvider, type SalesforceConfig } from './salesforce.provider';
import { providerFailure } from '../../../test/support/provider-failure';

/** Five fulfillment orders of one order summary: enough invoices to page through. */
const MANY: SalesforceOrderSummarySeed = {
  id: salesforceId('1Os', 9_100_000),
  orderNumber: '00000910',
  accountName: 'Changes Inc.',
  currency: 'USD',
  paymentTermDays: 30,
  fulfillmentOrders: Array.from({ length: 5 }, (_, i) => ({
    id: salesforceId('0a3', 9_100_000 + i),
    status: 'Fulfilled' as const,
    lines: [{ product: SALESFORCE_SANDBOX_PRODUCTS.pencil, quantity: String(i + 1), unitPrice: '1.00', adjustment: '0.00', tax: { name: 'Sales Tax', code: 'US-X', ratePercent: '5' } }],
  })),
};
const MANY_IDS = MANY.fulfillmentOrders.map((fo) => fo.id);
const CA_ORDER = '0a3Dn000000cEXFIA2';

/** changedSince against the emulator over HTTP, with the emulator's clock moved by hand. */
describe('SalesforceProvider.changedSince (sandbox emulator)', () => {
  let clock = new Date('2026-12-01T10:00:00.000Z');
  const at = (iso: string) => (clock = new Date(iso));
  let salesforce: SalesforceEmulator;
  const provider = (extra: Partial<SalesforceConfig> = {}, emulator = salesforce) =>
    new SalesforceProvider({ instanceUrl: emulator.baseUrl, accessToken: SALESFORCE_SANDBOX_TOKEN, apiVersion: '62.0', timeoutMs: 1_000, now: () => clock, ...extra });
  /** Invoices for fulfillment orders, one a second from `from`; the call log cleared after. */
  const invoiced = async (ids: string[], from: string, emulator = salesforce): Promise<string[]> => {
    const made: string[] = [];
    for (const [i, id] of ids.entries()) {
      at(new Date(new Date(from).getTime() + i * 1_000).toISOString());
      const [d] = await provider({}, emulator).create({ fulfillmentOrderId: id }, { idempotencyKey: 'k' });
      made.push(d!.header.providerInvoiceId);
    }
    emulator.server.resetCalls();
    return made;
  };
  const queries = (emulator = salesforce) => emulator.server.calls.filter((c) => c.method === 'GET' && c.path.includes('/query'));

  beforeAll(async () => {
    salesforce = new SalesforceEmulator({ orderSummaries: [...SALESFORCE_SANDBOX_ORDER_SUMMARIES, MANY], now: () => clock });
    await salesforce.start(0);
  });
  afterAll(() => salesforce.stop());
  beforeEach(() => {
    salesforce.reset();
    at('2026-12-01T10:00:00.000Z');
  });

  it('nothing changed: no ids, the mark stays where it was; one query, in the documented form', async () => {
    await invoiced([CA_ORDER], '2026-12-01T09:00:00.000Z');
    const since = new Date('2026-12-01T10:00:00.250Z');
    const changes = await provider().changedSince(since);
    expect(changes).toEqual({ providerInvoiceIds: [], until: since });
    expect(queries().map((c) => [c.path, c.query.q])).toEqual([
      ['/services/data/v62.0/query', 'SELECT Id, SystemModstamp FROM Invoice WHERE SystemModstamp > 2026-12-01T10:00:00Z ORDER BY SystemModstamp, Id'],
    ]);
    // No describe: the feed needs only Id and SystemModstamp, which every object has.
    expect(salesforce.server.calls).toHaveLength(1);
  });

  it('a payment at Salesforce: that invoice, the mark at its SystemModstamp; asking from the mark again: nothing', async () => {
    const [paid, other] = await invoiced([CA_ORDER, MANY_IDS[0]!], '2026-12-01T09:00:00.000Z');
    const since = new Date('2026-12-01T09:30:00.000Z');
    expect((await provider().changedSince(since)).providerInvoiceIds).toEqual([]);

    at('2026-12-01T11:15:42.123Z');
    salesforce.recordPayment(paid!, '10.00');
    const changes = await provider().changedSince(since);
    expect(changes).toEqual({ providerInvoiceIds: [paid], until: new Date('2026-12-01T11:15:42.123Z') });
    expect(changes.providerInvoiceIds).not.toContain(other);

    expect(await provider().changedSince(changes.until)).toEqual({ providerInvoiceIds: [], until: changes.until });
  });

  it("within since's own second: only what changed after since itself (the literal is whole seconds)", async () => {
    const [before, after] = await invoiced([CA_ORDER, MANY_IDS[0]!], '2026-12-01T09:00:00.000Z');
    at('2026-12-01T10:00:00.200Z');
    salesforce.recordPayment(before!, '1.00');
    at('2026-12-01T10:00:00.700Z');
    salesforce.recordPayment(after!, '1.00');
    const changes = await provider().changedSince(new Date('2026-12-01T10:00:00.500Z'));
    expect(changes).toEqual({ providerInvoiceIds: [after], until: new Date('2026-12-01T10:00:00.700Z') });
    expect(String(queries().at(-1)!.query.q)).toContain('SystemModstamp > 2026-12-01T10:00:00Z ORDER BY');
  });

  it('credits, voids and invoices made elsewhere count as changes, oldest first', async () => {
    const [credited, voided] = await invoiced([CA_ORDER, MANY_IDS[0]!], '2026-12-01T09:00:00.000Z');
    const since = new Date('2026-12-01T09:30:00.000Z');
    at('2026-12-01T10:00:00.000Z');
    salesforce.voidInvoice(voided!);
    at('2026-12-01T10:01:00.000Z');
    salesforce.recordCredit(credited!, '1.00');
    const [fresh] = await invoiced([MANY_IDS[1]!], '2026-12-01T10:02:00.000Z');
    const changes = await provider().changedSince(since);
    expect(changes).toEqual({ providerInvoiceIds: [voided, credited, fresh], until: new Date('2026-12-01T10:02:00.000Z') });
  });

  it('follows nextRecordsUrl across pages', async () => {
    const small = new SalesforceEmulator({ orderSummaries: [MANY], now: () => clock, queryPageSize: 2 });
    await small.start(0);
    try {
      const made = await invoiced(MANY_IDS, '2026-12-01T10:00:00.000Z', small);
      const changes = await provider({}, small).changedSince(new Date('2026-12-01T09:00:00.000Z'));
      expect(changes).toEqual({ providerInvoiceIds: made, until: new Date('2026-12-01T10:00:04.000Z') });
      expect(queries(small).map((c) => c.path.replace(/[A-Za-z0-9]{18}-/, '<locator>-'))).toEqual([
        '/services/data/v62.0/query',
        '/services/data/v62.0/query/<locator>-2',
        '/services/data/v62.0/query/<locator>-4',
      ]);
    } finally {
      await small.stop();
    }
  });

  it('stops at changesMaxPages; the mark then lets the next call read the rest, losing none', async () => {
    const small = new SalesforceEmulator({ orderSummaries: [MANY], now: () => clock, queryPageSize: 2 });
    await small.start(0);
    try {
      const made = await invoiced(MANY_IDS, '2026-12-01T10:00:00.000Z', small);
      const capped = provider({ changesMaxPages: 2 }, small);
      const first = await capped.changedSince(new Date('2026-12-01T09:00:00.000Z'));
      expect(first).toEqual({ providerInvoiceIds: made.slice(0, 4), until: new Date('2026-12-01T10:00:02.999Z') });
      expect(queries(small)).toHaveLength(2);
      // The records not read were all stamped at or after the last one read (10:00:03), so the fourth comes again.
      const rest = await capped.changedSince(first.until);
      expect(rest).toEqual({ providerInvoiceIds: made.slice(3), until: new Date('2026-12-01T10:00:04.000Z') });
      expect(() => provider({ changesMaxPages: 0 }, small)).toThrow(/changesMaxPages/);
    } finally {
      await small.stop();
    }
  });

  it("a refusal is the provider's mapped error: the org's daily limit is RATE_LIMITED, not retried", async () => {
    const limited = new SalesforceEmulator({ now: () => clock, apiRequestLimit: 0 });
    await limited.start(0);
    try {
      const err = await providerFailure(provider({}, limited).changedSince(new Date('2026-12-01T09:00:00.000Z')));
      expect(err.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', providerCode: 'REQUEST_LIMIT_EXCEEDED' });
      expect(err.disposition).toBe('retryable');
      expect(limited.server.calls).toHaveLength(1);
    } finally {
      await limited.stop();
    }
  });

  it('a failing query is retried as every read is, then reported mapped (PROVIDER_UNAVAILABLE)', async () => {
    salesforce.server.injectFault({ method: 'GET', path: /\/query/, status: 503, times: Infinity });
    const err = await providerFailure(provider().changedSince(new Date('2026-12-01T09:00:00.000Z')));
    expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(err.disposition).toBe('retryable');
    expect(queries().length).toBeGreaterThan(1);
  });

  it('a transient failure is retried and the answer read', async () => {
    const [paid] = await invoiced([CA_ORDER], '2026-12-01T09:00:00.000Z');
    salesforce.server.injectFault({ method: 'GET', path: /\/query/, status: 503 });
    const changes = await provider().changedSince(new Date('2026-12-01T08:00:00.000Z'));
    expect(changes.providerInvoiceIds).toEqual([paid]);
    expect(queries()).toHaveLength(2);
  });

  it('a record whose SystemModstamp is no dateTime is a failed read, not a guess', async () => {
    salesforce.server.injectFault({
      method: 'GET',
      path: /\/query/,
      status: 200,
      body: { totalSize: 1, done: true, records: [{ attributes: { type: 'Invoice' }, Id: '3ttDn000000AAAAAAA', SystemModstamp: 'yesterday' }] },
    });
    const err = await providerFailure(provider().changedSince(new Date('2026-12-01T09:00:00.000Z')));
    expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
  });
});
