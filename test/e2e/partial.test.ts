import { startDevSupergraph, type DevSupergraph } from '../support/dev-supergraph';
import { storeName } from '../support/store';

/** One provider down: what a UI still gets through the gateway. */
describe(`partial results with one provider down (${storeName()})`, () => {
  let dev: DevSupergraph;
  const query = async (query: string, variables?: Record<string, unknown>) => (await dev.query(query, variables)).body;

  beforeAll(async () => {
    dev = await startDevSupergraph('pr');
    for (const input of [
      { salla: { orderId: '389701957', dataType: 'URL', url: 'https://files.example.com/389701957.pdf' } },
      { exsited: { orderId: 'ORD-2V5X7Z' } },
    ]) {
      const out = await query('mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { invoice { id } userErrors { code } } }', { input });
      expect(out.data.createInvoice.userErrors).toEqual([]);
    }
  });
  afterAll(() => dev.stop());
  afterEach(() => dev.invoicing.emulators.SALLA!.server.clearFaults());

  it('Salla down: the orders and their invoice headers still come from the ledger, the other provider reads, and only Salla is named in errors', async () => {
    const salla = dev.invoicing.emulators.SALLA!;
    salla.server.injectFault({ method: 'GET', status: 503, body: { status: 503, success: false, error: { code: 'error', message: 'Service Unavailable' } }, times: Infinity });
    salla.server.resetCalls();

    const headers = await query(`{ a: order(id: "389701957") { id invoices { provider number total { amount currencyCode } } }
                                   b: order(id: "ORD-2V5X7Z") { id invoices { provider number total { amount currencyCode } } } }`);
    expect(headers.errors).toBeUndefined();
    expect(headers.data.a.invoices).toEqual([expect.objectContaining({ provider: 'SALLA', total: { amount: '258.75', currencyCode: 'SAR' } })]);
    expect(headers.data.b.invoices).toEqual([expect.objectContaining({ provider: 'EXSITED' })]);
    expect(salla.server.calls).toHaveLength(0);

    // The contract's lazy fields are non-null, so a failed read nulls up to the nearest nullable ancestor: the one
    // order. The other provider's order in the same response is whole, and the error names only Salla.
    const full = await query(`{ a: order(id: "389701957") { id number invoices { provider lines { description } kpis { outstanding { amount } } } }
                                b: order(id: "ORD-2V5X7Z") { id number invoices { provider lines { quantity } kpis { outstanding { amount } } } } }`);
    expect(full.data.a).toBeNull();
    expect(full.data.b).toEqual({
      id: 'ORD-2V5X7Z',
      number: 'ORD-2V5X7Z',
      invoices: [{ provider: 'EXSITED', lines: [expect.objectContaining({ quantity: expect.any(String) }), expect.anything()], kpis: { outstanding: { amount: '4425.77' } } }],
    });
    expect(full.errors).toEqual([
      expect.objectContaining({ path: ['a', 'invoices', 0, 'lines'], extensions: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', provider: 'SALLA' }) }),
    ]);
  });

  it('Salla down: a page of orders keeps every order but the Salla ones with a lazy field selected', async () => {
    const salla = dev.invoicing.emulators.SALLA!;
    salla.server.injectFault({ method: 'GET', reset: true, times: Infinity });
    const page = await query('{ orders(first: 100) { id provider invoices { provider lines { quantity } } } }');
    const byId = new Map<string, any>(page.data.orders.filter(Boolean).map((o: { id: string }) => [o.id, o]));
    expect(page.data.orders.length).toBeGreaterThan(byId.size);
    expect(byId.has('389701957')).toBe(false);
    expect(byId.get('ORD-2V5X7Z').invoices).toEqual([{ provider: 'EXSITED', lines: expect.arrayContaining([expect.objectContaining({ quantity: expect.any(String) })]) }]);
    // Orders without invoices and every other provider's orders are all there.
    expect([...byId.values()].every((o) => o.provider !== 'SALLA' || o.invoices.length === 0)).toBe(true);
    expect(new Set(page.errors!.map((e) => e.extensions?.provider))).toEqual(new Set(['SALLA']));
    expect(page.errors!.every((e) => e.extensions?.code === 'PROVIDER_UNAVAILABLE')).toBe(true);
  });
});
