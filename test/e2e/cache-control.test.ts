import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { dropTestSchema, storeName } from '../support/store';

/**
 * What a router's entity cache sees: the Cache-Control header the subgraph computes from its @cacheControl hints.
 * Fields that never change may be kept a day; status, kpis and an order's list of invoices only INVOICE_FRESHNESS_MS;
 * always private (an invoice is one tenant's), and never for an answer with errors.
 */
describe(`Cache-Control hints for a router's entity cache, over HTTP (${storeName()})`, () => {
  const schema = `cache_control_${Date.now().toString(36)}`;
  let server: RunningServer;
  let id: string;
  const post = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: res.status, cacheControl: res.headers.get('cache-control'), body: (await res.json()) as { data?: any; errors?: unknown[] } };
  };

  beforeAll(async () => {
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', INVOICE_FRESHNESS_MS: '30000', ...store }), pino({ level: 'silent' }));
    const created = await post('mutation { createInvoice(input: { salla: { orderId: "389701957", dataType: URL, url: "https://files.example.com/c.pdf" } }) { invoice { id } userErrors { code } } }');
    expect(created.body.data.createInvoice.userErrors).toEqual([]);
    id = created.body.data.createInvoice.invoice.id;
  });
  afterAll(async () => {
    await server.stop();
    if (process.env.DATABASE_URL) await dropTestSchema(schema);
  });

  it('immutable fields of an invoice: a day, private', async () => {
    const res = await post('query ($id: ID!) { invoice(id: $id) { id provider providerInvoiceId kind total { amount currencyCode } lines { quantity total { amount } } taxes { amount { amount } } } }', { id });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.cacheControl).toBe('max-age=86400, private');
  });

  it('status, kpis or syncedAt: the freshness window', async () => {
    for (const field of ['status', 'kpis { paid { amount } }', 'syncedAt']) {
      const res = await post(`query ($id: ID!) { invoice(id: $id) { id ${field} } }`, { id });
      expect(res.body.errors).toBeUndefined();
      expect(res.cacheControl).toBe('max-age=30, private');
    }
  });

  it('_entities as a router sends them: Invoice by its type hint, an Order by its invoices list', async () => {
    const invoice = await post('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { id number total { amount } } } }', {
      r: [{ __typename: 'Invoice', id }],
    });
    expect(invoice.body.errors).toBeUndefined();
    expect(invoice.cacheControl).toBe('max-age=86400, private');
    const order = await post('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id invoices { id } } } }', {
      r: [{ __typename: 'Order', id: '389701957' }],
    });
    expect(order.body.data._entities[0].invoices).toEqual([{ id }]);
    expect(order.cacheControl).toBe('max-age=30, private');
  });

  it('a mutation, or an answer with errors, is not cacheable', async () => {
    const mutation = await post('mutation { createInvoice(input: { salla: { orderId: "1" } }) { userErrors { code } } }');
    expect(mutation.cacheControl).toBe('no-store');
    const bad = await post('query { invoice(id: 1) { nope } }');
    expect(bad.status).toBe(400);
    expect(bad.cacheControl).not.toMatch(/max-age=[1-9]/);
  });
});
