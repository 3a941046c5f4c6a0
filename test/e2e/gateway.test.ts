import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { renderSchemaFile } from '../../src/graphql/schema-file';
import { sandboxOrders } from '../../examples/orders-subgraph/catalog';
import { startOrdersSubgraph, type OrdersSubgraph } from '../../examples/orders-subgraph/server';
import { ORDERS_SDL } from '../../examples/orders-subgraph/schema';
import { composeSupergraph, startGateway, type RunningGateway } from '../../examples/supergraph/gateway';
import { dropTestSchema, storeName } from '../support/store';

/** Through a real gateway: the orders subgraph, the invoicing subgraph with its sandboxes, @apollo/gateway. */
describe(`through @apollo/gateway (${storeName()})`, () => {
  let orders: OrdersSubgraph;
  let invoicing: RunningServer;
  let gateway: RunningGateway;
  const schema = `gw_${Date.now().toString(36)}`;
  const query = async (query: string, variables?: Record<string, unknown>) => {
    const res = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } };
  };

  beforeAll(async () => {
    orders = await startOrdersSubgraph(sandboxOrders());
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    invoicing = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', ...store }), pino({ level: 'silent' }));
    const supergraph = composeSupergraph([
      { name: 'orders', url: orders.url, sdl: ORDERS_SDL },
      { name: 'invoicing', url: invoicing.url, sdl: await renderSchemaFile() },
    ]);
    gateway = await startGateway(supergraph);
  });
  afterAll(async () => {
    await gateway.stop();
    await invoicing.stop();
    await orders.stop();
    await dropTestSchema(schema);
  });

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

  it.each([
    ['zero providers', '{}', /"CreateInvoiceInput" must specify exactly one key/i],
    ['a null branch', '{ salla: null }', /must be non-null|exactly one key/i],
    ['two providers', '{ salla: { orderId: "1818813486", dataType: ORDER }, commerce: { orderId: "69ab24db449866373d5e3e35" } }', /"CreateInvoiceInput" must specify exactly one key/i],
  ])('%s: a validation error that says so through the gateway, not an opaque 400', async (_name, literal, message) => {
    const res = await query(`mutation { createInvoice(input: ${literal}) { userErrors { code } } }`);
    expect(res.body.errors?.[0]?.message).toMatch(message);
    expect(res.body.errors?.[0]?.message).not.toMatch(/400: Bad Request/);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('zero providers in variables: the same clear validation error', async () => {
    const res = await query('mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { userErrors { code } } }', { input: {} });
    expect(res.body.errors?.[0]?.message).toMatch(/exactly one key must be specified for OneOf type "CreateInvoiceInput"/i);
  });
});
