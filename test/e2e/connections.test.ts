import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_CLIENT_ID, SALLA_SANDBOX_CLIENT_SECRET, SALLA_SANDBOX_TOKEN, sallaSandboxStores } from '../../src/sandbox/salla/salla.seed';
import { sallaSignature } from '../../src/providers/salla/salla.webhooks';
import { zuoraSignature } from '../../src/providers/zuora/zuora.webhooks';
import { ZuoraEmulator } from '../../src/sandbox/zuora/zuora.emulator';
import { EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/exsited/exsited.seed';
import { COMMERCE_SANDBOX_TOKEN } from '../../src/sandbox/commerce/commerce.seed';
import { SalesforceEmulator } from '../../src/sandbox/salesforce/salesforce.emulator';
import { salesforceId } from '../../src/sandbox/salesforce/salesforce.ids';
import { SALESFORCE_SANDBOX_CLIENT_ID, SALESFORCE_SANDBOX_CLIENT_SECRET, SALESFORCE_SANDBOX_ORDER_SUMMARIES } from '../../src/sandbox/salesforce/salesforce.seed';
import { ZUORA_SANDBOX_CLIENT_ID, ZUORA_SANDBOX_CLIENT_SECRET, zuoraSandboxTenant, type ZuoraTenantSeed } from '../../src/sandbox/zuora/zuora.seed';
import { dropTestSchema, storeName } from '../support/store';
import { waitFor } from '../support/ts-child';
import { callAs, JWT, STORE_B_ID, STORE_B_ORDER_OFFSET, STORE_B_TOKEN, tenantToken, twoSallaStores } from '../support/tenants';

const WEBHOOK_SECRET = 'connections-webhook-secret-0123456789';

const CONNECT = `mutation ($i: ConnectProviderInput!) { connectProvider(input: $i) {
  connection { provider status source accountId accountName connectedAt expiresAt lastError } userErrors { code field message providerCode } } }`;
const LIST = 'query { providerConnections { provider status source accountId lastError } }';
const DISCONNECT = 'mutation ($p: InvoiceProvider!) { disconnectProvider(provider: $p) { connection { provider status } userErrors { code } } }';
const CREATE = `mutation ($o: ID!, $k: String) { createInvoice(input: { salla: { orderId: $o, dataType: URL, url: "https://files.example.com/i.pdf" } }, idempotencyKey: $k) {
  invoice { id providerInvoiceId status } userErrors { code field message } } }`;
const LINES = 'query ($id: ID!) { invoice(id: $id) { id lines { description } } }';

describe(`tenants' own provider connections (${storeName()})`, () => {
  const keyA = randomBytes(32).toString('base64');
  const schema = `conn_${Date.now().toString(36)}`;
  const logs: string[] = [];
  let salla: SallaEmulator;
  let server: RunningServer;
  let orders: number[];
  const dataDir = mkdtempSync(join(tmpdir(), 'connections-'));

  const env = (extra: Record<string, string> = {}) => {
    // On disk, not in memory: the rotation test starts the server again on the same store.
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: dataDir };
    return loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...JWT, SYNC_INTERVAL_MS: '0', CONNECTIONS_KEY: keyA, ...sallaApp(), ...store, ...extra });
  };
  // The platform's Salla app, with no store of its own: every store is a tenant's.
  const sallaApp = () => ({ SALLA_BASE_URL: salla.baseUrl, SALLA_CLIENT_ID: SALLA_SANDBOX_CLIENT_ID, SALLA_CLIENT_SECRET: SALLA_SANDBOX_CLIENT_SECRET, SALLA_TOKEN_URL: salla.tokenUrl, SALLA_WEBHOOK_SECRET: WEBHOOK_SECRET });
  const hookUp = () => salla.configureWebhook({ url: `${new URL(server.url).origin}/webhooks/salla`, secret: WEBHOOK_SECRET });
  const statusOf = async (bearer: string, provider = 'SALLA') => ((await call(LIST, {}, bearer)).body.data.providerConnections as Array<{ provider: string; status: string }>).find((c) => c.provider === provider)?.status;
  /** The connection's status once it is `want`, or as it stands after 2.5 s (a refusal is marked in the background). */
  const statusBecomes = async (bearer: string, provider: string, want: string) => {
    let status = await statusOf(bearer, provider);
    for (let i = 0; i < 50 && status !== want; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await statusOf(bearer, provider);
    }
    return status;
  };
  const call = (query: string, variables: Record<string, unknown>, bearer: string, target = server) => callAs(target.url, query, variables, bearer);

  beforeAll(async () => {
    salla = new SallaEmulator({ stores: twoSallaStores() });
    await salla.start(0);
    orders = sallaSandboxStores()[0]!.orders.map((o) => o.id);
    server = await startServer(env(), pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }));
    hookUp();
  });
  afterAll(async () => {
    await server?.stop();
    await salla?.stop();
    await dropTestSchema(schema);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a tenant without a connection is told PROVIDER_NOT_CONNECTED, and the deployment\'s account does not act for it', async () => {
    const t = await tenantToken('tenant-none');
    const created = await call(CREATE, { o: String(orders[0]) }, t);
    expect(created.status).toBe(200);
    expect(created.body.data.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_NOT_CONNECTED', field: ['salla'] })]);
    expect((await call(LIST, {}, t)).body.data.providerConnections).toEqual([]);
  });

  it('a token whose tenant claim is "default" gets no account of the deployment\'s', async () => {
    const t = await tenantToken('default');
    expect((await call(CREATE, { o: String(orders[0]) }, t)).body.data.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_NOT_CONNECTED' })]);
    const created = await call('mutation { createInvoice(input: { commerce: { orderId: "69ab2a10449866373d5e3e41" } }) { userErrors { code } } }', {}, t);
    expect(created.body.data.createInvoice.userErrors).toEqual([{ code: 'PROVIDER_NOT_CONNECTED' }]);
    expect((await call(LIST, {}, t)).body.data.providerConnections).toEqual([]);
  });

  it('the scopes gate connections: connections:read to list them, connections:write to make them (403 otherwise)', async () => {
    const readOnly = await tenantToken('tenant-scopes', 'invoices:read invoices:write');
    const list = await call(LIST, {}, readOnly);
    expect(list.status).toBe(403);
    expect(list.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const connect = await call(CONNECT, { i: { salla: { accessToken: SALLA_SANDBOX_TOKEN, baseUrl: salla.baseUrl } } }, await tenantToken('tenant-scopes', 'connections:read'));
    expect(connect.status).toBe(403);
    expect(connect.body.errors?.[0]?.message).toMatch(/connections:write/);
    // A mixed operation needs every scope its fields need.
    const mixed = await call('query { providerConnections { provider } invoices { totalCount } }', {}, await tenantToken('tenant-scopes', 'connections:read'));
    expect(mixed.status).toBe(403);
  });

  it('refuses bad connection input with a clear userError and stores nothing', async () => {
    const t = await tenantToken('tenant-bad');
    for (const [input, field] of [
      [{ salla: { accessToken: 'x'.repeat(5000), baseUrl: salla.baseUrl } }, ['input', 'salla', 'accessToken']],
      [{ salla: { accessToken: 'ok', baseUrl: 'https://169.254.169.254/latest' } }, ['input', 'salla', 'baseUrl']],
      [{ salla: { accessToken: 'ok', baseUrl: 'ftp://example.com' } }, ['input', 'salla', 'baseUrl']],
      [{ commerce: { accessToken: 'ok', currency: 'DOLLARS', baseUrl: salla.baseUrl } }, ['input', 'commerce', 'currency']],
    ] as const) {
      const r = await call(CONNECT, { i: input }, t);
      if (r.status !== 200) throw new Error(`${JSON.stringify(input).slice(0, 80)}: ${r.status} ${r.text.slice(0, 300)}`);
      expect(r.body.data.connectProvider).toEqual({ connection: null, userErrors: [expect.objectContaining({ code: 'INVALID_INPUT', field })] });
    }
    // NUL never reaches a resolver: the request is refused as it enters (400), naming the variable.
    const nul = await call(CONNECT, { i: { salla: { accessToken: 'x\u0000y', baseUrl: salla.baseUrl } } }, t);
    expect(nul.status).toBe(400);
    expect(nul.body.errors?.[0]?.message).toMatch(/accessToken holds the character U\+0000/);
    // Naming no provider: the one-of rule, answered as data by the subgraph (gateways that enforce @oneOf refuse it first).
    const none = await call(CONNECT, { i: {} }, t);
    expect(none.body.data.connectProvider).toEqual({ connection: null, userErrors: [expect.objectContaining({ code: 'INVALID_INPUT', field: ['input'] })] });
    expect((await call(LIST, {}, t)).body.data.providerConnections).toEqual([]);
  });

  it('each tenant creates in its own store, reads through its own connection, and cannot name the other store\'s order', async () => {
    const a = await tenantToken('tenant-a');
    const b = await tenantToken('tenant-b');
    const ca = await call(CONNECT, { i: { salla: { accessToken: SALLA_SANDBOX_TOKEN, baseUrl: salla.baseUrl } } }, a);
    expect(ca.body.data.connectProvider.userErrors).toEqual([]);
    expect(ca.body.data.connectProvider.connection).toMatchObject({ provider: 'SALLA', status: 'CONNECTED', source: 'TENANT' });
    const cb = await call(CONNECT, { i: { salla: { accessToken: STORE_B_TOKEN, baseUrl: salla.baseUrl } } }, b);
    expect(cb.body.data.connectProvider.userErrors).toEqual([]);

    const mine = await call(CREATE, { o: String(orders[1]), k: 'a-1' }, a);
    expect(mine.body.data.createInvoice.userErrors).toEqual([]);
    const theirs = await call(CREATE, { o: String(orders[1]! + STORE_B_ORDER_OFFSET), k: 'b-1' }, b);
    expect(theirs.body.data.createInvoice.userErrors).toEqual([]);
    // Each invoice is in its tenant's store, and only there.
    expect(salla.invoices(SALLA_SANDBOX_TOKEN).map((i) => String(i.id))).toContain(mine.body.data.createInvoice.invoice.providerInvoiceId);
    expect(salla.invoices(STORE_B_TOKEN).map((i) => String(i.id))).toEqual([theirs.body.data.createInvoice.invoice.providerInvoiceId]);
    // Tenant B naming store A's order: its own store does not know it.
    const crossed = await call(CREATE, { o: String(orders[2]), k: 'b-2' }, b);
    expect(crossed.body.data.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'ORDER_NOT_FOUND' })]);
    expect(salla.invoices(STORE_B_TOKEN)).toHaveLength(1);
    // Lazy reads go through the owner's connection.
    const lines = await call(LINES, { id: theirs.body.data.createInvoice.invoice.id }, b);
    expect(lines.body.errors).toBeUndefined();
    expect(lines.body.data.invoice.lines.length).toBeGreaterThan(0);
  });

  it("a store's news reaches its tenant's invoice through that tenant's connection, and the store's own invoice is that tenant's alone", async () => {
    const b = await tenantToken('tenant-b');
    const a = await tenantToken('tenant-a');
    // A prepaid order (apple_pay): a cash-on-delivery order's invoice is not paid by a payment record before delivery.
    const orderId = orders[5]! + STORE_B_ORDER_OFFSET;
    const made = await call(CREATE, { o: String(orderId), k: 'b-news' }, b);
    expect(made.body.data.createInvoice.userErrors).toEqual([]);
    const invoice = made.body.data.createInvoice.invoice;
    const { total } = salla.invoices(STORE_B_TOKEN).find((i) => String(i.id) === invoice.providerInvoiceId)!;
    salla.recordPayment(invoice.providerInvoiceId, total);
    const statusOfInvoice = async () => (await call('query ($id: ID!) { invoice(id: $id) { status } }', { id: invoice.id }, b)).body.data.invoice.status;
    let status = await statusOfInvoice();
    for (let i = 0; i < 100 && status !== 'PAID'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await statusOfInvoice();
    }
    expect(status).toBe('PAID');
    const issued = salla.issueStoreInvoice(orderId, { storeToken: STORE_B_TOKEN });
    const external = async (bearer: string) =>
      (await call('query { invoices(filter: { origin: [EXTERNAL] }) { nodes { providerInvoiceId } } }', {}, bearer)).body.data.invoices.nodes.map((n: { providerInvoiceId: string }) => n.providerInvoiceId) as string[];
    let found = await external(b);
    for (let i = 0; i < 100 && !found.includes(String(issued.id)); i++) {
      await new Promise((r) => setTimeout(r, 50));
      found = await external(b);
    }
    expect(found).toEqual([String(issued.id)]);
    expect(await external(a)).toEqual([]);
  });

  it('never returns, stores in clear or logs the credentials', async () => {
    const t = await tenantToken('tenant-secret');
    await call(CONNECT, { i: { salla: { accessToken: STORE_B_TOKEN, baseUrl: salla.baseUrl } } }, t);
    const list = await call(LIST, {}, t);
    expect(list.body.data.providerConnections).toEqual([{ provider: 'SALLA', status: 'CONNECTED', source: 'TENANT', accountId: expect.anything(), lastError: null }]);
    expect(list.text).not.toContain(STORE_B_TOKEN);
    const rows = await server.db.query<{ sealed: string }>(`SELECT sealed FROM provider_connections WHERE tenant_id = 'tenant-secret'`);
    expect(rows[0]!.sealed).toMatch(/^v1\./);
    expect(rows[0]!.sealed).not.toContain(STORE_B_TOKEN);
    expect(logs.join('\n')).not.toContain(STORE_B_TOKEN);
    expect(logs.join('\n')).not.toContain(SALLA_SANDBOX_TOKEN);
  });

  it('disconnect erases the credentials: the tenant is DISCONNECTED and not connected, its invoices stay', async () => {
    const t = await tenantToken('tenant-leaving');
    await call(CONNECT, { i: { salla: { accessToken: SALLA_SANDBOX_TOKEN, baseUrl: salla.baseUrl } } }, t);
    const made = await call(CREATE, { o: String(orders[3]), k: 'leaving-1' }, t);
    expect(made.body.data.createInvoice.userErrors).toEqual([]);
    const gone = await call(DISCONNECT, { p: 'SALLA' }, t);
    expect(gone.body.data.disconnectProvider).toEqual({ connection: { provider: 'SALLA', status: 'DISCONNECTED' }, userErrors: [] });
    const rows = await server.db.query<{ sealed: string | null }>(`SELECT sealed FROM provider_connections WHERE tenant_id = 'tenant-leaving'`);
    expect(rows[0]!.sealed).toBeNull();
    const again = await call(CREATE, { o: String(orders[4]), k: 'leaving-2' }, t);
    expect(again.body.data.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_NOT_CONNECTED' })]);
    expect((await call('query ($id: ID!) { invoice(id: $id) { id } }', { id: made.body.data.createInvoice.invoice.id }, t)).body.data.invoice).not.toBeNull();
  });

  it('a refresh chain revoked at the provider turns that tenant\'s connection NEEDS_REAUTHORIZATION, and only its', async () => {
    // Salla revokes a chain whose refresh token is used twice (https://docs.salla.dev/421118m0): the merchant's
    // authorisation is gone. The other tenant, on the other store, goes on.
    const refreshToken = salla.authorize(SALLA_SANDBOX_TOKEN);
    const t = await tenantToken('tenant-revoked');
    const other = await tenantToken('tenant-b');
    const c = await call(CONNECT, { i: { salla: { accessToken: 'unused', refreshToken, baseUrl: salla.baseUrl } } }, t);
    expect(c.body.data.connectProvider.userErrors).toEqual([]);
    // The check spent the first refresh token; presented again, it revokes the chain.
    const reuse = await fetch(salla.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'salla-sandbox-client-id', client_secret: 'salla-sandbox-client-secret' }),
    });
    expect(reuse.status).toBe(400);
    await server.db.query(`UPDATE shared_tokens SET expires_at = now() - interval '1 second' WHERE name LIKE '%connection:%'`);
    // The tenant's next call renews, is refused, and the connection is marked.
    await call(CREATE, { o: String(orders[5]), k: 'revoked-1' }, t);
    expect(await statusBecomes(t, 'SALLA', 'NEEDS_REAUTHORIZATION')).toBe('NEEDS_REAUTHORIZATION');
    const next = await call(CREATE, { o: String(orders[5]), k: 'revoked-2' }, t);
    expect(next.body.data.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_NOT_CONNECTED', message: expect.stringMatching(/reauthorization/) })]);
    expect((await call(LIST, {}, other)).body.data.providerConnections).toEqual([expect.objectContaining({ provider: 'SALLA', status: 'CONNECTED' })]);
  });

  it('a new CONNECTIONS_KEY with the old one as CONNECTIONS_KEY_PREVIOUS keeps every connection working and seals them again', async () => {
    const before = await server.db.query<{ key_id: string }>(`SELECT DISTINCT key_id FROM provider_connections WHERE sealed IS NOT NULL`);
    expect(before).toHaveLength(1);
    await server.stop();
    const keyB = randomBytes(32).toString('base64');
    server = await startServer(env({ CONNECTIONS_KEY: keyB, CONNECTIONS_KEY_PREVIOUS: keyA }), pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }));
    const b = await tenantToken('tenant-b');
    const made = await call(CREATE, { o: String(orders[2]! + STORE_B_ORDER_OFFSET), k: 'b-rotated' }, b);
    expect(made.body.data.createInvoice.userErrors).toEqual([]);
    let after: Array<{ key_id: string }> = [];
    for (let i = 0; i < 50; i++) {
      after = await server.db.query<{ key_id: string }>(`SELECT DISTINCT key_id FROM provider_connections WHERE sealed IS NOT NULL`);
      if (after.length === 1 && after[0]!.key_id !== before[0]!.key_id) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(after).toHaveLength(1);
    expect(after[0]!.key_id).not.toBe(before[0]!.key_id);
  });

  it("Salla's app.store.authorize connects the tenant that claimed the store; a forged one is refused; app.uninstalled marks it", async () => {
    const t = await tenantToken('tenant-install');
    hookUp();
    const claimed = await call(CONNECT, { i: { salla: { storeId: String(STORE_B_ID) } } }, t);
    expect(claimed.body.data.connectProvider).toEqual({ connection: expect.objectContaining({ status: 'NEEDS_REAUTHORIZATION', accountId: String(STORE_B_ID) }), userErrors: [] });
    // Unsigned, or signed with another secret: 401, nothing stored.
    const forged = JSON.stringify({ event: 'app.store.authorize', merchant: STORE_B_ID, created_at: '2026-12-03 10:00:00', data: { access_token: 'forged-at', refresh_token: 'forged-rt', expires: 2000000000, scope: 'orders.read_write offline_access', token_type: 'bearer' } });
    for (const signature of [undefined, sallaSignature(forged, 'another-secret-of-enough-length')]) {
      const res = await fetch(`${new URL(server.url).origin}/webhooks/salla`, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature ? { 'x-salla-signature': signature } : {}) }, body: forged });
      expect(res.status).toBe(401);
    }
    expect(await statusOf(t)).toBe('NEEDS_REAUTHORIZATION');
    // The merchant installs the app: Salla delivers the store's tokens, signed.
    const installed = salla.authorizeApp(STORE_B_ID);
    await salla.webhookIdle();
    expect(salla.webhookDeliveries.at(-1)).toMatchObject({ event: 'app.store.authorize', status: 200 });
    expect(await statusOf(t)).toBe('CONNECTED');
    const made = await call(CREATE, { o: String(orders[3]! + STORE_B_ORDER_OFFSET), k: 'installed-1' }, t);
    expect(made.body.data.createInvoice.userErrors).toEqual([]);
    expect(salla.invoices(installed.accessToken).map((i) => String(i.id))).toContain(made.body.data.createInvoice.invoice.providerInvoiceId);
    // A redelivery of the same event changes nothing (the chain is not set back to a spent refresh token).
    salla.redeliver(salla.webhookDeliveries.length - 1);
    await salla.webhookIdle();
    expect(await statusOf(t)).toBe('CONNECTED');
    expect(logs.join('\n')).not.toContain(installed.refreshToken);
    // Uninstalled: every tenant on that store needs reauthorization; the tenant on store A goes on.
    salla.uninstallApp(STORE_B_ID);
    await salla.webhookIdle();
    expect(await statusOf(t)).toBe('NEEDS_REAUTHORIZATION');
    expect(await statusOf(await tenantToken('tenant-a'))).toBe('CONNECTED');
  });

  describe('two Zuora tenants', () => {
    const ITEM = '8ad0887e8a0f4f2c018a10a1d6e70201';
    // Tenant B's Zuora tenant: its own OAuth client and its own ids (Zuora's ids are unique across tenants).
    const otherIds = (id: string) => `9${id.slice(1)}`;
    const seedB = (): ZuoraTenantSeed => {
      const seed = zuoraSandboxTenant();
      return { ...seed, clients: [{ clientId: '6a3c5d2f-0b8e-4f4c-9d7a-3e2b1c0a8f65', clientSecret: 'zuora-tenant-b-secret' }], orders: seed.orders.map((o) => ({ ...o, id: otherIds(o.id), lineItems: o.lineItems.map((i) => ({ ...i, id: otherIds(i.id) })) })) };
    };
    const zuoraA = new ZuoraEmulator({ tenantId: '1001' });
    const zuoraB = new ZuoraEmulator({ tenant: seedB(), tenantId: '1002' });
    const create = (item: string, k: string) =>
      `mutation { createInvoice(input: { zuora: { fulfillments: [{ orderLineItemId: "${item}", quantity: "1", fulfillmentDate: "2024-05-01" }] } }, idempotencyKey: "${k}") { invoice { id providerInvoiceId } userErrors { code field } } }`;

    beforeAll(async () => {
      await zuoraA.start(0);
      await zuoraB.start(0);
    });
    afterAll(async () => {
      await zuoraA.stop();
      await zuoraB.stop();
    });

    it('each tenant bills in its own Zuora tenant, cannot name the other tenant\'s line item, and a deleted client marks only its tenant', async () => {
      const a = await tenantToken('zuora-a');
      const b = await tenantToken('zuora-b');
      const refused = await call(CONNECT, { i: { zuora: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: 'wrong', baseUrl: zuoraA.baseUrl } } }, a);
      expect(refused.body.data.connectProvider).toEqual({ connection: null, userErrors: [expect.objectContaining({ code: 'CREDENTIALS_REFUSED', field: ['input', 'zuora'] })] });
      const ca = await call(CONNECT, { i: { zuora: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: ZUORA_SANDBOX_CLIENT_SECRET, baseUrl: zuoraA.baseUrl } } }, a);
      expect(ca.body.data.connectProvider.connection).toMatchObject({ status: 'CONNECTED', accountId: '1001' });
      const cb = await call(CONNECT, { i: { zuora: { clientId: seedB().clients[0]!.clientId, clientSecret: 'zuora-tenant-b-secret', baseUrl: zuoraB.baseUrl } } }, b);
      expect(cb.body.data.connectProvider.connection).toMatchObject({ status: 'CONNECTED', accountId: '1002' });

      const madeA = await call(create(ITEM, 'za-1'), {}, a);
      expect(madeA.body.data.createInvoice.userErrors).toEqual([]);
      const madeB = await call(create(otherIds(ITEM), 'zb-1'), {}, b);
      expect(madeB.body.data.createInvoice.userErrors).toEqual([]);
      expect(zuoraA.documents().map((d) => d.id)).toEqual([madeA.body.data.createInvoice.invoice.providerInvoiceId]);
      expect(zuoraB.documents().map((d) => d.id)).toEqual([madeB.body.data.createInvoice.invoice.providerInvoiceId]);
      // B naming A's line item: unknown in B's tenant.
      const crossed = await call(create('8ad0887e8a0f4f2c018a10a1d6e70202', 'zb-2'), {}, b);
      expect(crossed.body.data.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'ORDER_NOT_FOUND' })]);
      expect(zuoraA.documents()).toHaveLength(1);

      // An administrator deletes tenant B's OAuth client: B's next call is refused, and B alone needs reauthorization.
      zuoraB.deleteClient(seedB().clients[0]!.clientId);
      await call(create(otherIds('8ad0887e8a0f4f2c018a10a1d6e70202'), 'zb-3'), {}, b);
      expect(await statusBecomes(b, 'ZUORA', 'NEEDS_REAUTHORIZATION')).toBe('NEEDS_REAUTHORIZATION');
      const listA = (await call(LIST, {}, a)).body.data.providerConnections as Array<{ provider: string; status: string }>;
      expect(listA.find((c) => c.provider === 'ZUORA')?.status).toBe('CONNECTED');
      expect((await call(create('8ad0887e8a0f4f2c018a10a1d6e70202', 'za-2'), {}, a)).body.data.createInvoice.userErrors).toEqual([]);
    });

    describe("each tenant's own Zuora callouts", () => {
      // Two more Zuora tenants, each calling out to the one endpoint with its own HMAC secret and X-Zuora-Tenant-Id.
      const zuoraC = new ZuoraEmulator({ tenantId: '1003' });
      const zuoraD = new ZuoraEmulator({ tenant: seedB(), tenantId: '1004' });
      const SECRET_C = 'tenant-c-callout-secret-0123456789';
      const SECRET_D = 'tenant-d-callout-secret-9876543210';
      const POLES = '8ad0887e8a0f4f2c018a10a1d6e70202'; // the same order (O-00000102) as ITEM
      const OWN = `query { invoices(filter: { provider: [ZUORA], orderId: ["O-00000102"] }) { nodes { providerInvoiceId origin status } } }`;
      type Own = Array<{ providerInvoiceId: string; origin: string; status: string | null }>;
      const own = async (bearer: string) => (await call(OWN, {}, bearer)).body.data.invoices.nodes as Own;
      const until = async (bearer: string, done: (list: Own) => boolean) => {
        const started = Date.now();
        let list = await own(bearer);
        while (!done(list) && Date.now() - started < 5_000) {
          await new Promise((r) => setTimeout(r, 50));
          list = await own(bearer);
        }
        return list;
      };
      /** Waits until every recorded delivery is processed by the drain. */
      const drained = async () => {
        for (let i = 0; i < 100; i++) {
          const [row] = await server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM provider_events WHERE processed_at IS NULL');
          if (row!.n === 0) return;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error('deliveries still unprocessed after 5 s');
      };
      const hook = () => `${new URL(server.url).origin}/webhooks/zuora`;
      const post = (body: string, headers: Record<string, string>) => fetch(hook(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

      beforeAll(async () => {
        await zuoraC.start(0);
        await zuoraD.start(0);
      });
      afterAll(async () => {
        await zuoraC.stop();
        await zuoraD.stop();
      });

      it("a callout verified with a tenant's secret is applied for that tenant alone, through its connection; another's secret, none, or a disconnected tenant's is refused", async () => {
        const c = await tenantToken('zuora-c');
        const d = await tenantToken('zuora-d');
        const short = await call(CONNECT, { i: { zuora: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: ZUORA_SANDBOX_CLIENT_SECRET, baseUrl: zuoraC.baseUrl, webhookSecret: 'too-short' } } }, c);
        expect(short.body.data.connectProvider.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_INPUT', field: ['input', 'zuora', 'webhookSecret'] })]);
        const cc = await call(CONNECT, { i: { zuora: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: ZUORA_SANDBOX_CLIENT_SECRET, baseUrl: zuoraC.baseUrl, webhookSecret: SECRET_C } } }, c);
        expect(cc.body.data.connectProvider.connection).toMatchObject({ status: 'CONNECTED', accountId: '1003' });
        const cd = await call(CONNECT, { i: { zuora: { clientId: seedB().clients[0]!.clientId, clientSecret: 'zuora-tenant-b-secret', baseUrl: zuoraD.baseUrl, webhookSecret: SECRET_D } } }, d);
        expect(cd.body.data.connectProvider.connection).toMatchObject({ status: 'CONNECTED', accountId: '1004' });
        // Never shown back, nor stored in the clear.
        expect(JSON.stringify(cc.body) + JSON.stringify(cd.body)).not.toMatch(/callout-secret/);
        const rows = await server.db.query<{ sealed: string }>(`SELECT sealed FROM provider_connections WHERE provider = 'ZUORA'`);
        expect(JSON.stringify(rows)).not.toMatch(/callout-secret/);
        zuoraC.configureWebhook({ url: hook(), secret: SECRET_C, headers: { 'X-Zuora-Tenant-Id': '1003' } });
        zuoraD.configureWebhook({ url: hook(), secret: SECRET_D, headers: { 'X-Zuora-Tenant-Id': '1004' } });

        // Both tenants have an order O-00000102, each in its own Zuora tenant.
        const madeC = await call(create(ITEM, 'zc-1'), {}, c);
        expect(madeC.body.data.createInvoice.userErrors).toEqual([]);
        const madeD = await call(create(otherIds(ITEM), 'zd-1'), {}, d);
        expect(madeD.body.data.createInvoice.userErrors).toEqual([]);
        const ourD = madeD.body.data.createInvoice.invoice.providerInvoiceId as string;

        // Billed in C's Zuora outside the subgraph: its Invoice Posted callout makes it C's, EXTERNAL; D sees nothing new.
        const outside = zuoraC.postInvoiceOutside(POLES, 1, '2024-05-02');
        const listC = await until(c, (l) => l.some((i) => i.providerInvoiceId === outside.id));
        expect(listC.map((i) => [i.providerInvoiceId, i.origin]).sort()).toEqual([[madeC.body.data.createInvoice.invoice.providerInvoiceId, 'CREATED_HERE'], [outside.id, 'EXTERNAL']].sort());
        await zuoraC.webhookIdle();
        expect(zuoraC.webhookDeliveries.map((x) => [x.event, x.status])).toEqual([['InvoicePosted', 200]]);
        await drained();
        expect((await own(d)).map((i) => i.providerInvoiceId)).toEqual([ourD]);
        expect(await server.db.query('SELECT tenant_id, origin FROM invoices WHERE provider_invoice_id = $1', [outside.id])).toEqual([{ tenant_id: 'zuora-c', origin: 'EXTERNAL' }]);

        // Paid in D's Zuora: D's callout turns D's invoice PAID, read through D's connection.
        const total = (await call(`query { invoice(id: "${madeD.body.data.createInvoice.invoice.id}") { total { amount } } }`, {}, d)).body.data.invoice.total.amount as string;
        zuoraD.server.resetCalls();
        zuoraD.recordPayment(ourD, total);
        expect((await until(d, (l) => l[0]?.status === 'PAID'))[0]).toMatchObject({ providerInvoiceId: ourD, status: 'PAID' });
        expect(zuoraD.server.calls.filter((x) => x.method === 'GET' && x.path.startsWith(`/v1/invoices/${ourD}`)).length).toBeGreaterThan(0);

        // Forgeries, each answered 401 and recorded nowhere: C's header with D's secret, no header (the deployment's
        // secret is another), a header naming no tenant, a tenant nobody connected.
        zuoraC.configureWebhook(null);
        const hidden = zuoraC.postInvoiceOutside(POLES, 1, '2024-05-03');
        const body = JSON.stringify({ event: 'InvoicePosted', invoiceId: hidden.id, invoiceNumber: hidden.number, accountId: '' });
        const forged: Array<Record<string, string>> = [
          { 'x-zuora-tenant-id': '1003', 'x-zuora-signature': zuoraSignature(body, SECRET_D) },
          { 'x-zuora-signature': zuoraSignature(body, SECRET_C) },
          { 'x-zuora-tenant-id': 'tenant-1003', 'x-zuora-signature': zuoraSignature(body, SECRET_C) },
          { 'x-zuora-tenant-id': '1099', 'x-zuora-signature': zuoraSignature(body, SECRET_C) },
        ];
        for (const headers of forged) expect((await post(body, headers)).status).toBe(401);
        // D's own secret and header naming C's invoice: accepted (it is D's to send), read at D's Zuora, which has no such invoice: nothing recorded.
        expect((await post(body, { 'x-zuora-tenant-id': '1004', 'x-zuora-signature': zuoraSignature(body, SECRET_D) })).status).toBe(200);
        await drained();
        expect(await server.db.query('SELECT tenant_id FROM invoices WHERE provider_invoice_id = $1', [hidden.id])).toEqual([]);
        // The same body as C's Zuora signs it: C's.
        expect((await post(body, { 'x-zuora-tenant-id': '1003', 'x-zuora-signature': zuoraSignature(body, SECRET_C) })).status).toBe(200);
        expect((await until(c, (l) => l.some((i) => i.providerInvoiceId === hidden.id))).find((i) => i.providerInvoiceId === hidden.id)).toMatchObject({ origin: 'EXTERNAL' });
        expect(await server.db.query('SELECT tenant_id FROM invoices WHERE provider_invoice_id = $1', [hidden.id])).toEqual([{ tenant_id: 'zuora-c' }]);

        // D disconnects: its secret goes with its credentials, and its callouts are refused.
        expect((await call(DISCONNECT, { p: 'ZUORA' }, d)).body.data.disconnectProvider.connection).toEqual({ provider: 'ZUORA', status: 'DISCONNECTED' });
        const late = JSON.stringify({ event: 'InvoiceCanceled', invoiceId: ourD, invoiceNumber: '' });
        expect((await post(late, { 'x-zuora-tenant-id': '1004', 'x-zuora-signature': zuoraSignature(late, SECRET_D) })).status).toBe(401);
      });

      it("a tenant whose Zuora fails does not hold up another's callouts; its own are applied once its Zuora answers again", async () => {
        const c = await tenantToken('zuora-c');
        const d = await tenantToken('zuora-d');
        const cd = await call(CONNECT, { i: { zuora: { clientId: seedB().clients[0]!.clientId, clientSecret: 'zuora-tenant-b-secret', baseUrl: zuoraD.baseUrl, webhookSecret: SECRET_D } } }, d);
        expect(cd.body.data.connectProvider.connection).toMatchObject({ status: 'CONNECTED' });
        const cc = await call(CONNECT, { i: { zuora: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: ZUORA_SANDBOX_CLIENT_SECRET, baseUrl: zuoraC.baseUrl, webhookSecret: SECRET_C } } }, c);
        expect(cc.body.data.connectProvider.connection).toMatchObject({ status: 'CONNECTED' });
        zuoraC.configureWebhook({ url: hook(), secret: SECRET_C, headers: { 'X-Zuora-Tenant-Id': '1003' } });
        zuoraD.configureWebhook({ url: hook(), secret: SECRET_D, headers: { 'X-Zuora-Tenant-Id': '1004' } });
        // Each tenant has invoiced its order O-00000102 (an invoice found elsewhere is recorded on a known order).
        expect((await call(create(ITEM, 'zc-hold-1'), {}, c)).body.data.createInvoice.userErrors).toEqual([]);
        expect((await call(create(otherIds(ITEM), 'zd-hold-1'), {}, d)).body.data.createInvoice.userErrors).toEqual([]);
        // D's Zuora answers every document read with a 503 for now.
        zuoraD.server.injectFault({ method: 'GET', path: /^\/v1\/invoices\//, status: 503, times: 100_000 });
        const failing = zuoraD.postInvoiceOutside(otherIds(POLES), 1, '2024-05-04');
        await zuoraD.webhookIdle();
        expect(zuoraD.webhookDeliveries.at(-1)).toMatchObject({ event: 'InvoicePosted', status: 200 });
        const outside = zuoraC.postInvoiceOutside(ITEM, 1, '2024-05-04');
        expect((await until(c, (l) => l.some((i) => i.providerInvoiceId === outside.id))).find((i) => i.providerInvoiceId === outside.id)).toMatchObject({ origin: 'EXTERNAL' });
        // D's delivery waits, counted, unprocessed; nothing recorded for it yet.
        const [waiting] = await server.db.query<{ failures: number; processed: boolean }>(
          `SELECT failures, processed_at IS NOT NULL AS processed FROM provider_events WHERE tenant_id = 'zuora-d' AND body LIKE $1`,
          [`%${failing.id}%`],
        );
        expect(waiting!.processed).toBe(false);
        expect(waiting!.failures).toBeGreaterThanOrEqual(1);
        expect(await server.db.query('SELECT tenant_id FROM invoices WHERE provider_invoice_id = $1', [failing.id])).toEqual([]);
        // An operator sees it waiting at GET /metrics.
        const scrape = await (await fetch(new URL('/metrics', server.url))).text();
        expect(scrape).toMatch(/^invoicing_webhook_deliveries_unprocessed\{provider="ZUORA",state="(retrying|due)"\} [1-9]/m);
        expect(scrape).toMatch(/^invoicing_webhook_deliveries_unprocessed\{provider="ZUORA",state="parked"\} 0$/m);
        // D's Zuora is back: the retry records it for D, once.
        zuoraD.server.clearFaults();
        const started = Date.now();
        const rows = await waitFor(() => server.db.query('SELECT tenant_id, origin FROM invoices WHERE provider_invoice_id = $1', [failing.id]), (r) => r.length > 0, 20_000, "D's callout recorded");
        expect(rows).toEqual([{ tenant_id: 'zuora-d', origin: 'EXTERNAL' }]);
        process.stdout.write(`a failed tenant's callout applied ${Date.now() - started} ms after its Zuora answered again\n`);

        // C's OAuth client is deleted: C's connection needs reauthorization, yet its callouts (its secret still holds)
        // are accepted and wait, uncounted, rather than being refused (Zuora would never send them again) or dropped.
        zuoraC.deleteClient(ZUORA_SANDBOX_CLIENT_ID);
        await call(create(POLES, 'zc-hold-2'), {}, c);
        expect(await statusBecomes(c, 'ZUORA', 'NEEDS_REAUTHORIZATION')).toBe('NEEDS_REAUTHORIZATION');
        const meanwhile = zuoraC.postInvoiceOutside(ITEM, 1, '2024-05-05');
        await zuoraC.webhookIdle();
        expect(zuoraC.webhookDeliveries.at(-1)).toMatchObject({ event: 'InvoicePosted', status: 200 });
        let held: Array<{ failures: number; processed: boolean; wait: number }> = [];
        for (let i = 0; i < 100 && !(held[0]?.wait > 0); i++) {
          await new Promise((r) => setTimeout(r, 50));
          held = await server.db.query(
            `SELECT failures, processed_at IS NOT NULL AS processed, extract(epoch FROM retry_at - now())::float AS wait FROM provider_events WHERE tenant_id = 'zuora-c' AND body LIKE $1`,
            [`%${meanwhile.id}%`],
          );
        }
        expect(held).toEqual([{ failures: 0, processed: false, wait: expect.any(Number) }]);
        expect(held[0]!.wait).toBeGreaterThan(30);
      });
    });
  });

  describe('two Salesforce orgs', () => {
    const FO = SALESFORCE_SANDBOX_ORDER_SUMMARIES[0]!.fulfillmentOrders.find((f) => f.status !== 'Cancelled')!.id;
    // Org B: its own connected app, org id and records (Salesforce ids are unique across orgs).
    let serial = 900;
    const summariesB = SALESFORCE_SANDBOX_ORDER_SUMMARIES.map((o) => ({ ...o, id: salesforceId('1Os', serial++), fulfillmentOrders: o.fulfillmentOrders.map((f) => ({ ...f, id: salesforceId('0a3', serial++) })) }));
    const FO_B = summariesB[0]!.fulfillmentOrders.find((f) => f.status !== 'Cancelled')!.id;
    const appB = { clientId: '3MVG9orgB.connected.app', clientSecret: 'org-b-consumer-secret', username: 'integration@org-b' };
    const orgA = new SalesforceEmulator();
    const orgB = new SalesforceEmulator({ orderSummaries: summariesB, orgId: salesforceId('00D', 77), orgName: 'Org B', connectedApp: appB });
    const create = (fo: string, k: string) => `mutation { createInvoice(input: { salesforce: { fulfillmentOrderId: "${fo}" } }, idempotencyKey: "${k}") { invoice { id providerInvoiceId } userErrors { code } } }`;

    beforeAll(async () => {
      await orgA.start(0);
      await orgB.start(0);
    });
    afterAll(async () => {
      await orgA.stop();
      await orgB.stop();
    });

    it("each tenant invoices in its own org, cannot name the other org's fulfillment order, and a blocked app marks only its tenant", async () => {
      const a = await tenantToken('sf-a');
      const b = await tenantToken('sf-b');
      const ca = await call(CONNECT, { i: { salesforce: { clientId: SALESFORCE_SANDBOX_CLIENT_ID, clientSecret: SALESFORCE_SANDBOX_CLIENT_SECRET, instanceUrl: orgA.baseUrl } } }, a);
      expect(ca.body.data.connectProvider.connection).toMatchObject({ status: 'CONNECTED', accountId: orgA.orgId, accountName: 'Invoicing Sandbox' });
      const cb = await call(CONNECT, { i: { salesforce: { clientId: appB.clientId, clientSecret: appB.clientSecret, instanceUrl: orgB.baseUrl } } }, b);
      expect(cb.body.data.connectProvider.connection).toMatchObject({ status: 'CONNECTED', accountId: orgB.orgId, accountName: 'Org B' });
      // Org A's app's credentials are not org B's.
      const wrong = await call(CONNECT, { i: { salesforce: { clientId: SALESFORCE_SANDBOX_CLIENT_ID, clientSecret: SALESFORCE_SANDBOX_CLIENT_SECRET, instanceUrl: orgB.baseUrl } } }, await tenantToken('sf-c'));
      expect(wrong.body.data.connectProvider.userErrors).toEqual([expect.objectContaining({ code: 'CREDENTIALS_REFUSED' })]);

      const madeA = await call(create(FO, 'sfa-1'), {}, a);
      expect(madeA.body.data.createInvoice.userErrors).toEqual([]);
      const madeB = await call(create(FO_B, 'sfb-1'), {}, b);
      expect(madeB.body.data.createInvoice.userErrors).toEqual([]);
      expect(orgA.invoices().map((i) => i.id)).toEqual([madeA.body.data.createInvoice.invoice.providerInvoiceId]);
      expect(orgB.invoices().map((i) => i.id)).toEqual([madeB.body.data.createInvoice.invoice.providerInvoiceId]);
      const crossed = await call(create(SALESFORCE_SANDBOX_ORDER_SUMMARIES[1]!.fulfillmentOrders[0]!.id, 'sfb-2'), {}, b);
      expect(crossed.body.data.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'ORDER_NOT_FOUND' })]);

      orgB.revokeConnectedApp();
      await call(create(summariesB[1]!.fulfillmentOrders[0]!.id, 'sfb-3'), {}, b);
      expect(await statusBecomes(b, 'SALESFORCE', 'NEEDS_REAUTHORIZATION')).toBe('NEEDS_REAUTHORIZATION');
      expect(await statusOf(a, 'SALESFORCE')).toBe('CONNECTED');
    });
  });

  it("Exsited and Commerce credentials are checked too; a base URL left out is the deployment's (here its sandbox)", async () => {
    const t = await tenantToken('other-providers');
    const refusedX = await call(CONNECT, { i: { exsited: { clientId: EXSITED_SANDBOX_CLIENT_ID, clientSecret: 'wrong' } } }, t);
    expect(refusedX.body.data.connectProvider.userErrors).toEqual([expect.objectContaining({ code: 'CREDENTIALS_REFUSED', field: ['input', 'exsited'] })]);
    const x = await call(CONNECT, { i: { exsited: { clientId: EXSITED_SANDBOX_CLIENT_ID, clientSecret: EXSITED_SANDBOX_CLIENT_SECRET } } }, t);
    expect(x.body.data.connectProvider).toEqual({ connection: expect.objectContaining({ provider: 'EXSITED', status: 'CONNECTED' }), userErrors: [] });
    const refusedC = await call(CONNECT, { i: { commerce: { accessToken: 'not-the-token', currency: 'USD' } } }, t);
    expect(refusedC.body.data.connectProvider.userErrors).toEqual([expect.objectContaining({ code: 'CREDENTIALS_REFUSED' })]);
    const c = await call(CONNECT, { i: { commerce: { accessToken: COMMERCE_SANDBOX_TOKEN, currency: 'usd' } } }, t);
    expect(c.body.data.connectProvider.userErrors).toEqual([]);
    const made = await call('mutation { createInvoice(input: { commerce: { orderId: "69ab2a10449866373d5e3e40" } }) { invoice { id total { currencyCode } } userErrors { code } } }', {}, t);
    expect(made.body.data.createInvoice).toEqual({ invoice: { id: expect.any(String), total: { currencyCode: 'USD' } }, userErrors: [] });
    expect((await call(LIST, {}, t)).body.data.providerConnections.map((p: { provider: string }) => p.provider)).toEqual(['COMMERCE', 'EXSITED']);
  });
});
