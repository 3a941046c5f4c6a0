import {
  CreateSallaInvoiceDocument,
  InvoiceEntitiesDocument,
  InvoiceHeaderByIdDocument,
  OrderEntitiesDocument,
  OrderEntitiesWithDetailsDocument,
} from '../generated/graphql';
import { startHarness, type Harness } from '../support/harness';
import { storeName } from '../support/store';

const ORDERS = ['1818813486', '389701957', '213320125', '1056403210'];

describe(`reads: invoice(id), Order.invoices and _entities (${storeName()})`, () => {
  let h: Harness;
  const ids: Record<string, string[]> = {};

  beforeAll(async () => {
    h = await startHarness();
    // Each order gets a tax invoice; the first also a credit note.
    for (const orderId of ORDERS) {
      const res = await h.execute(CreateSallaInvoiceDocument, { input: { orderId, dataType: 'URL', url: `https://x.example/${orderId}.pdf` } });
      ids[orderId] = [res.data!.createInvoice.invoice!.id];
    }
    const credit = await h.execute(CreateSallaInvoiceDocument, {
      input: { orderId: ORDERS[0]!, type: 'CREDIT_NOTE', dataType: 'URL', url: 'https://x.example/credit.pdf' },
    });
    ids[ORDERS[0]!]!.push(credit.data!.createInvoice.invoice!.id);
  });
  afterAll(() => h.close());
  beforeEach(() => h.salla.server.resetCalls());

  const ledgerQueries = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const before = h.db.stats.queries;
    const out = await fn();
    return [out, h.db.stats.queries - before];
  };

  it('invoice(id) without lazy fields is answered from the ledger: no Salla call', async () => {
    const [res, queries] = await ledgerQueries(() => h.execute(InvoiceHeaderByIdDocument, { id: ids[ORDERS[1]!]![0]! }));
    expect(res.data!.invoice).toMatchObject({ provider: 'SALLA', order: { id: ORDERS[1] }, kind: 'INVOICE' });
    expect(queries).toBe(1);
    expect(h.salla.server.calls).toHaveLength(0);
  });

  it('invoice(id) of an unknown or malformed id is null, not an error', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const res = await h.execute(InvoiceHeaderByIdDocument, { id });
      expect(res.errors).toBeUndefined();
      expect(res.data!.invoice).toBeNull();
    }
  });

  it('_entities with many Invoice representations costs one ledger query and no Salla call, in order', async () => {
    const all = Object.values(ids).flat();
    // 100 representations, as a router sends for a page: every invoice many times, and one that does not exist.
    const wanted = [...Array.from({ length: 99 }, (_, i) => all[i % all.length]!), 'missing'];
    const representations = wanted.map((id) => ({ __typename: 'Invoice', id }));
    const [res, queries] = await ledgerQueries(() => h.execute(InvoiceEntitiesDocument, { representations }));
    expect(res.errors).toBeUndefined();
    const entities = res.data!._entities as Array<{ id: string } | null>;
    expect(entities).toHaveLength(100);
    expect(entities.map((e) => e?.id ?? null)).toEqual([...wanted.slice(0, 99), null]);
    expect(queries).toBe(1);
    expect(h.salla.server.calls).toHaveLength(0);
  });

  it('_entities for Orders lists their invoices from the ledger, oldest first, in one query', async () => {
    const representations = [...ORDERS, '42'].map((id) => ({ __typename: 'Order', id }));
    const [res, queries] = await ledgerQueries(() => h.execute(OrderEntitiesDocument, { representations }));
    const orders = res.data!._entities as Array<{ id: string; invoices: Array<{ id: string; kind: string }> }>;
    expect(orders.map((o) => o.invoices.map((i) => i.id))).toEqual([...ORDERS.map((o) => ids[o]), []]);
    expect(orders[0]!.invoices.map((i) => i.kind)).toEqual(['INVOICE', 'CREDIT_NOTE']);
    expect(queries).toBe(1);
    expect(h.salla.server.calls).toHaveLength(0);
  });

  /** Forgets what the ledger keeps of these invoices' details, as for invoices recorded before it kept them. */
  const forgetDetails = (orderIds: string[]) => h.db.query('UPDATE invoices SET content = NULL, kpis = NULL, synced_at = NULL WHERE order_id = ANY($1::text[])', [orderIds]);

  it('lines, taxes and kpis of a page of orders come from the ledger once stored (at creation): no Salla call', async () => {
    const representations = [...ORDERS, ...ORDERS].map((id) => ({ __typename: 'Order', id }));
    const [res, queries] = await ledgerQueries(() => h.execute(OrderEntitiesWithDetailsDocument, { representations }));
    expect(res.errors).toBeUndefined();
    expect(h.salla.server.calls).toHaveLength(0);
    expect(queries).toBe(1);
    const first = (res.data!._entities as Array<{ invoices: Array<{ lines: unknown[]; taxes: unknown[]; kpis: unknown }> }>)[0]!;
    expect(first.invoices[0]!.lines.length).toBeGreaterThan(0);
    expect(first.invoices[0]!.kpis).not.toBeNull();
  });

  it('invoices without stored details cost one Salla read each and one per distinct order, shared by the three fields, and none once read', async () => {
    await forgetDetails(ORDERS);
    const representations = [...ORDERS, ...ORDERS].map((id) => ({ __typename: 'Order', id }));
    const res = await h.execute(OrderEntitiesWithDetailsDocument, { representations });
    expect(res.errors).toBeUndefined();
    const invoiceCount = Object.values(ids).flat().length;
    expect(h.salla.server.countCalls('GET', '/admin/v2/orders/invoices')).toBe(invoiceCount);
    // The status lives on the order: one read of each distinct order (Salla has no batch read).
    expect(h.salla.server.countCalls('GET')).toBe(invoiceCount + ORDERS.length);
    expect(new Set(h.salla.server.calls.map((c) => c.path)).size).toBe(invoiceCount + ORDERS.length);
    h.salla.server.resetCalls();
    const again = await h.execute(OrderEntitiesWithDetailsDocument, { representations });
    expect(h.salla.server.calls).toHaveLength(0);
    expect(again.data).toEqual(res.data);
  });

  it('stored details still answer while Salla is down', async () => {
    h.salla.server.injectFault({ method: 'GET', status: 503, times: Infinity });
    try {
      const res = await h.execute(OrderEntitiesWithDetailsDocument, { representations: [{ __typename: 'Order', id: ORDERS[1]! }] });
      expect(res.errors).toBeUndefined();
      const order = (res.data!._entities as Array<{ invoices: Array<{ lines: unknown[] }> }>)[0]!;
      expect(order.invoices[0]!.lines.length).toBeGreaterThan(0);
    } finally {
      h.salla.server.clearFaults();
    }
  });

  it('a failed Salla read of details not yet stored errors only the lazy field, with a code', async () => {
    await forgetDetails([ORDERS[1]!]);
    h.salla.server.injectFault({ method: 'GET', status: 503, times: 10 });
    const res = await h.execute(OrderEntitiesWithDetailsDocument, { representations: [{ __typename: 'Order', id: ORDERS[1]! }] });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', provider: 'SALLA' });
    expect(res.errors?.[0]?.message).toMatch(/Could not read invoice/);
  });

  it("an invoice the provider no longer knows (a sandbox that restarted) errors with the provider's words", async () => {
    h.salla.server.clearFaults();
    await forgetDetails([ORDERS[1]!]);
    h.salla.server.injectFault({
      method: 'GET',
      status: 404,
      body: { status: 404, success: false, error: { code: 'error', message: 'The content you are trying to access is not available.' } },
      times: 10,
    });
    const res = await h.execute(OrderEntitiesWithDetailsDocument, { representations: [{ __typename: 'Order', id: ORDERS[1]! }] });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_REFUSED', provider: 'SALLA' });
    expect(res.errors?.[0]?.message).toMatch(/Could not read invoice .* from SALLA: .* The provider said: The content you are trying to access is not available\./);
    h.salla.server.clearFaults();
  });
});

describe(`_entities representations are validated (${storeName()})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('a malformed representation is refused with BAD_USER_INPUT naming its slot, before anything is read', async () => {
    const created = await h.execute(CreateSallaInvoiceDocument, { input: { orderId: ORDERS[2]!, dataType: 'URL', url: 'https://x.example/r.pdf' } });
    const id = created.data!.createInvoice.invoice!.id;
    const valid = await h.execute(InvoiceEntitiesDocument, { representations: [{ __typename: 'Invoice', id }] });
    expect(valid.data!._entities).toEqual([expect.objectContaining({ id })]);
    const queries = h.db.stats.queries;
    for (const [bad, message] of [
      [{ __typename: 'Invoice' }, /representations\[1\]: Invoice.id must be a string/],
      [{ __typename: 'Invoice', id: { $ne: null } }, /representations\[1\]: Invoice.id must be a string/],
      [{ __typename: 'Invoice', id: 'x'.repeat(10_000) }, /1 to 255 characters/],
      [{ __typename: 'Order', id: 42 }, /Order.id must be a string/],
      [{ __typename: 'Payment', id: '1' }, /only Invoice and Order entities, not "Payment"/],
      ['Invoice', /is an object/],
    ] as const) {
      const res = await h.execute(InvoiceEntitiesDocument, { representations: [{ __typename: 'Invoice', id }, bad as never] });
      expect(res.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(message), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
      expect(res.data?._entities ?? null).toBeNull();
    }
    expect(h.db.stats.queries).toBe(queries);
  });
});
