import { SalesforceEmulator } from '../../src/sandbox/salesforce/salesforce.emulator';
import { SALESFORCE_SANDBOX_CLIENT_ID, SALESFORCE_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/salesforce/salesforce.seed';
import { dropTestSchema } from '../support/store';
import { deployedEnv, startSubgraphProcess as start, stopProcesses, type TsChild } from '../support/ts-child';

/**
 * The subgraph as an operator deploys it against a Salesforce org with the OAuth client credentials flow: a real
 * process configured only through the environment, a session obtained from the org's token endpoint, and a session
 * the org ends (its timeout, or an admin's "Remove" in Session Management) renewed on INVALID_SESSION_ID without a
 * client seeing it. Salesforce's token answer has no expiry (Help: "OAuth 2.0 Client Credentials Flow for
 * Server-to-Server Integration"), so the 401 is the only signal.
 */
describe('a Salesforce org reached with client credentials, through a real server process', () => {
  const schema = `sf_sessions_${Date.now().toString(36)}`;
  const salesforce = new SalesforceEmulator();
  let replica: { child: TsChild; url: string };

  const post = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(replica.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
  };

  beforeAll(async () => {
    await salesforce.start(0);
    replica = await start({
      ...deployedEnv(schema),
      SALESFORCE_INSTANCE_URL: salesforce.baseUrl,
      SALESFORCE_CLIENT_ID: SALESFORCE_SANDBOX_CLIENT_ID,
      SALESFORCE_CLIENT_SECRET: SALESFORCE_SANDBOX_CLIENT_SECRET,
    });
  }, 120_000);
  afterAll(async () => {
    await stopProcesses(replica ? [replica.child] : []);
    await salesforce.stop();
    if (process.env.DATABASE_URL) await dropTestSchema(schema);
  });

  it('creates with a session of its own, and a session the org ended is renewed once, unseen by the client', async () => {
    const created = await post('mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { id provider total { amount currencyCode } } userErrors { code message } } }', {
      i: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXGIA2' } },
    });
    expect(created.status).toBe(200);
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data.createInvoice.userErrors).toEqual([]);
    const invoice = created.body.data.createInvoice.invoice;
    expect(invoice.provider).toBe('SALESFORCE');
    expect(salesforce.sessionsIssued.client_credentials).toBe(1);

    salesforce.expireSessions();
    // The first invoice's lines are kept by the ledger now: a second create is what needs the org.
    const next = await post('mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { id lines { quantity } } userErrors { code message } } }', {
      i: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXHIA2' } },
    });
    expect(next.status).toBe(200);
    expect(next.body.errors).toBeUndefined();
    expect(next.body.data.createInvoice.userErrors).toEqual([]);
    expect(next.body.data.createInvoice.invoice.lines.length).toBeGreaterThan(0);
    // One renewal, and the refused call sent once more.
    expect(salesforce.sessionsIssued.client_credentials).toBe(2);
    const refused = salesforce.server.calls.filter((c) => c.status === 401);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThanOrEqual(3);
    // The client secret and the sessions stay out of the logs.
    const logs = JSON.stringify(replica.child.logs);
    expect(logs).not.toContain(SALESFORCE_SANDBOX_CLIENT_SECRET);
  }, 60_000);
});
