import { randomBytes } from 'node:crypto';
import { GATEWAY_NAMES } from '../../examples/supergraph/gateway';
import { SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';
import { GATEWAYS, startDevSupergraph, type DevSupergraph } from '../support/dev-supergraph';
import { storeName } from '../support/store';
import { JWT, tenantToken } from '../support/tenants';

/**
 * Tenants and their connections through a real gateway that forwards the client's Authorization (as a platform
 * configures it: README "In a supergraph"): a merchant's tenant connects its store, creates, and reads its order's
 * invoices across both subgraphs; another tenant sees none of it; a token without the scope is refused.
 */
describe.each(GATEWAYS.map((kind) => [GATEWAY_NAMES[kind], kind] as const))(`tenants through %s (${storeName()})`, (_name, kind) => {
  let dev: DevSupergraph;
  const as = async (bearer: string | null, query: string, variables?: Record<string, unknown>) => dev.query(query, variables, bearer ? { authorization: `Bearer ${bearer}` } : {});

  beforeAll(async () => {
    dev = await startDevSupergraph(kind, 'gwt', { env: { ...JWT, CONNECTIONS_KEY: randomBytes(32).toString('base64') }, forwardHeaders: ['authorization'] });
  });
  afterAll(() => dev.stop());

  it("connects a tenant's store, creates and reads the order's invoices as that tenant only; other tenants and scopes are refused", async () => {
    const a = await tenantToken('gw-tenant-a');
    const b = await tenantToken('gw-tenant-b');
    const salla = dev.invoicing.emulators.SALLA!;
    const connected = await as(a, `mutation ($i: ConnectProviderInput!) { connectProvider(input: $i) { connection { provider status source accountId } userErrors { code } } }`, {
      i: { salla: { accessToken: SALLA_SANDBOX_TOKEN, baseUrl: salla.baseUrl } },
    });
    expect(connected.status).toBe(200);
    expect(connected.body.data.connectProvider).toEqual({ connection: { provider: 'SALLA', status: 'CONNECTED', source: 'TENANT', accountId: expect.any(String) }, userErrors: [] });
    expect((await as(a, '{ providerConnections { provider status } }')).body.data.providerConnections).toEqual([{ provider: 'SALLA', status: 'CONNECTED' }]);
    expect((await as(b, '{ providerConnections { provider status } }')).body.data.providerConnections).toEqual([]);

    const CREATE = `mutation { createInvoice(input: { salla: { orderId: "1056403210", dataType: URL, url: "https://files.example.com/gw.pdf" } }) { invoice { id } userErrors { code } } }`;
    const created = await as(a, CREATE);
    expect(created.body.data.createInvoice.userErrors).toEqual([]);
    // Tenant B has no connection: told so, and nothing reaches the store.
    const calls = salla.server.calls.length;
    expect((await as(b, CREATE)).body.data.createInvoice).toEqual({ invoice: null, userErrors: [{ code: 'PROVIDER_NOT_CONNECTED' }] });
    expect(salla.server.calls.length).toBe(calls);

    // The order across both subgraphs: A sees its invoice with its lines (read through A's connection), B none.
    const ORDER = `{ order(id: "1056403210") { number invoices { id lines { description } } } }`;
    const readA = await as(a, ORDER);
    expect(readA.body.errors).toBeUndefined();
    expect(readA.body.data.order.invoices).toEqual([{ id: created.body.data.createInvoice.invoice.id, lines: expect.arrayContaining([{ description: 'Arabic Coffee Beans 1 kg' }]) }]);
    const readB = await as(b, ORDER);
    expect(readB.body.errors).toBeUndefined();
    expect(readB.body.data.order).toEqual({ number: '#1056403210', invoices: [] });

    // A token without connections:write cannot connect; the subgraph's FORBIDDEN reaches the client through the gateway.
    const readOnly = await tenantToken('gw-tenant-a', 'invoices:read connections:read');
    const refused = await as(readOnly, `mutation { connectProvider(input: { salla: { storeId: "1" } }) { userErrors { code } } }`);
    expect(refused.body.data?.connectProvider ?? null).toBeNull();
    expect(JSON.stringify(refused.body.errors)).toMatch(/connections:write/);
    // No token at all: nothing is served.
    const anonymous = await as(null, '{ providerConnections { provider } }');
    expect(anonymous.body.data?.providerConnections ?? null).toBeNull();
    expect(anonymous.body.errors?.length).toBeGreaterThan(0);
  });
});
