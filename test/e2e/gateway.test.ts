import { startDevSupergraph, type DevSupergraph } from '../support/dev-supergraph';
import { storeName } from '../support/store';

/** Through a real gateway: the orders subgraph, the invoicing subgraph with its sandboxes, @apollo/gateway. */
describe(`through @apollo/gateway (${storeName()})`, () => {
  let dev: DevSupergraph;
  const query = (query: string, variables?: Record<string, unknown>) => dev.query(query, variables);

  beforeAll(async () => {
    dev = await startDevSupergraph('gw');
  });
  afterAll(() => dev.stop());

  it('creates a Salla invoice through the gateway and reads the order with it, across both subgraphs', async () => {
    const created = await query(
      `mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input, idempotencyKey: "gw-1") {
        invoice { id order { id number total currencyCode } total { amount currencyCode } } userErrors { code message } } }`,
      { input: { salla: { orderId: '1056403210', dataType: 'URL', url: 'https://files.example.com/1056403210.pdf' } } },
    );
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data.createInvoice.userErrors).toEqual([]);
    expect(created.body.data.createInvoice.invoice.order).toEqual({ id: '1056403210', number: '#1056403210', total: '495.65', currencyCode: 'SAR' });

    const read = await query(`{ order(id: "1056403210") { number invoices { number total { amount currencyCode }
      lines { description quantity total { amount } } taxes { ratePercent amount { amount } } kpis { outstanding { amount } } } } }`);
    expect(read.body.errors).toBeUndefined();
    const [invoice] = read.body.data.order.invoices;
    expect(invoice.total).toEqual({ amount: '495.65', currencyCode: 'SAR' });
    expect(invoice.lines.map((l: { description: string }) => l.description)).toEqual(['Arabic Coffee Beans 1 kg', 'Brass Dallah Coffee Pot', 'Sukkari Dates 500 g']);
  });

  it.each([
    ['SALESFORCE', { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXJIA2' } }, '1OsDn000000KCdxKAG', { amount: '48.28', currencyCode: 'EUR' }, '127.36'],
    [
      'ZUORA',
      {
        zuora: {
          fulfillments: [
            { orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70401', quantity: '1', fulfillmentDate: '2024-05-01' },
            { orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70402', quantity: '2', fulfillmentDate: '2024-05-01' },
          ],
        },
      },
      'O-00000202',
      { amount: '1687.56', currencyCode: 'USD' },
      null,
    ],
    ['EXSITED', { exsited: { orderId: 'ORD-2V5X7Z' } }, 'ORD-2V5X7Z', { amount: '4425.77', currencyCode: 'USD' }, null],
    ['COMMERCE', { commerce: { orderId: '69ab2a10449866373d5e3e40' } }, '69ab2a10449866373d5e3e40', { amount: '14.65', currencyCode: 'USD' }, null],
    // Every row has all five values: jest would take a missing last argument for a done callback.
  ] as Array<[string, Record<string, unknown>, string, { amount: string; currencyCode: string }, string | null]>)('%s: createInvoice through the gateway, then the order with its invoice, lines, taxes and KPIs', async (provider, input, orderId, total, orderTotal) => {
    const created = await query(
      'mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { invoice { provider order { id total currencyCode } total { amount currencyCode } } userErrors { code message } } }',
      { input },
    );
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data.createInvoice.userErrors).toEqual([]);
    // An order's total is the invoice's unless the order is billed in parts (a Salesforce order's other fulfillment orders).
    expect(created.body.data.createInvoice.invoice).toMatchObject({ provider, total, order: { id: orderId, total: orderTotal ?? total.amount, currencyCode: total.currencyCode } });
    const read = await query(`{ order(id: "${orderId}") { invoices { provider total { amount } lines { quantity } taxes { amount { amount } } kpis { outstanding { amount } } } } }`);
    expect(read.body.errors).toBeUndefined();
    expect(read.body.data.order.invoices).toEqual([expect.objectContaining({ provider, total: { amount: total.amount } })]);
    expect(read.body.data.order.invoices[0].lines.length).toBeGreaterThan(0);
  });

  // Reproduction (issue 10, point 7): through a plain @apollo/gateway these answered `400: Bad Request` /
  // INTERNAL_SERVER_ERROR, with the subgraph's message buried in extensions.response.body.
  it.each([
    ['zero providers', '{}', /it names none/],
    ['a null branch', '{ salla: null }', /salla is null/],
    ['two providers', '{ salla: { orderId: "1818813486", dataType: ORDER }, commerce: { orderId: "69ab24db449866373d5e3e35" } }', /it names salla and commerce/],
  ])('%s: a userError saying exactly one provider must be named, not an opaque 400', async (_name, literal, why) => {
    const res = await query(`mutation { createInvoice(input: ${literal}) { invoice { id } userErrors { field code message } } }`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createInvoice).toEqual({
      invoice: null,
      userErrors: [{ field: ['input'], code: 'INVALID_INPUT', message: expect.stringMatching(/^Name exactly one provider in input/) }],
    });
    expect(res.body.data.createInvoice.userErrors[0].message).toMatch(why);
  });

  it('two providers in variables: the same userError', async () => {
    const res = await query('mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { userErrors { field code message } } }', {
      input: { exsited: { orderId: 'ORD-7K2M4P' }, commerce: { orderId: '69ab24db449866373d5e3e35' } },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.createInvoice.userErrors).toEqual([{ field: ['input'], code: 'INVALID_INPUT', message: expect.stringMatching(/exactly one provider.*it names exsited and commerce/) }]);
  });
});
