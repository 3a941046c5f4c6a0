import { randomBytes } from 'node:crypto';
import { FIRST_BENCH_ORDER, sallaBenchStore } from '../../bench/fixtures';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_CLIENT_ID, SALLA_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/salla/salla.seed';
import { dropTestSchema } from '../support/store';
import { JWT, tenantToken } from '../support/tenants';
import { deployedEnv, startSubgraphProcess as start, stopProcesses, type TsChild } from '../support/ts-child';

/**
 * Many tenants, each connected to its own Salla authorisation (a chain of single-use refresh tokens; used twice, the
 * emulator revokes it, as Salla does), served by two replicas, real processes on one PostgreSQL, with access tokens
 * living 2 s (Salla's live 14 days). Under a steady load of each tenant's creates spread over both replicas, every
 * tenant's session is renewed many times: no refresh token may be used twice, every request must succeed, and each
 * invoice must land in its tenant's store. Needs DATABASE_URL; the embedded store is one process's by design.
 */
const withPostgres = process.env.DATABASE_URL ? describe : describe.skip;

const LOAD_MS = 10_000;
const TENANTS = 12;
const STORES = 3;
/** Every create uses an order up; an idle machine made 4,433 requests in the 10 s. */
const ORDERS_PER_STORE = 30_000;

const storeToken = (k: number) => `replica-store-${k}`;
const tokenOf = (tenant: string) => tenantToken(tenant);

withPostgres("many tenants' Salla sessions renewed under load by two replicas", () => {
  const schema = `conn_replicas_${Date.now().toString(36)}`;
  const salla = new SallaEmulator({
    stores: Array.from({ length: STORES }, (_, k) => ({ ...sallaBenchStore(ORDERS_PER_STORE), id: 9_100 + k, name: `Store ${k}`, tokens: [{ token: storeToken(k), scopes: ['orders.read_write' as const] }], refreshTokens: [] })),
    rateLimitPerMinute: 1e9,
    accessTokenTtlSeconds: 2,
  });
  let replicas: Array<{ child: TsChild; url: string }>;
  const bearer: string[] = [];

  const post = async (url: string, auth: string, query: string, variables: Record<string, unknown>) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` }, body: JSON.stringify({ query, variables }) });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: unknown[] } };
  };

  beforeAll(async () => {
    await salla.start(0);
    const env = {
      ...deployedEnv(schema),
      // Not production: the tenants' base URL is the emulator's loopback http.
      NODE_ENV: 'test',
      SYNC_INTERVAL_MS: '0',
      CONNECTIONS_KEY: randomBytes(32).toString('base64'),
      ...JWT,
      // The app alone: no store of the deployment's own, every store a tenant's.
      SALLA_BASE_URL: salla.baseUrl,
      SALLA_CLIENT_ID: SALLA_SANDBOX_CLIENT_ID,
      SALLA_CLIENT_SECRET: SALLA_SANDBOX_CLIENT_SECRET,
      SALLA_TOKEN_URL: salla.tokenUrl,
    };
    replicas = [await start(env), await start(env)];
    for (let i = 0; i < TENANTS; i++) {
      bearer.push(await tokenOf(`tenant-${i}`));
      const refreshToken = salla.authorize(storeToken(i % STORES));
      const out = await post(replicas[i % 2]!.url, bearer[i]!, 'mutation ($i: ConnectProviderInput!) { connectProvider(input: $i) { connection { status } userErrors { code message } } }', {
        i: { salla: { accessToken: 'issued-at-install', refreshToken } },
      });
      expect(out.body.data?.connectProvider).toEqual({ connection: { status: 'CONNECTED' }, userErrors: [] });
    }
  }, 150_000);
  afterAll(async () => {
    await stopProcesses((replicas ?? []).map((r) => r.child));
    await salla.stop();
    await dropTestSchema(schema);
  });

  it('renews every tenant\'s session many times, never uses a refresh token twice, and every create lands in its tenant\'s store', async () => {
    let nextOrder = FIRST_BENCH_ORDER;
    const failures: string[] = [];
    const createdBy = new Map<number, number>();
    let requests = 0;
    const client = async (i: number, until: number) => {
      for (let n = 0; Date.now() < until; n++) {
        const orderId = String(nextOrder++);
        requests++;
        const out = await post(replicas[(i + n) % 2]!.url, bearer[i]!, 'mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { id } userErrors { code message } } }', {
          i: { salla: { orderId, dataType: 'URL', url: `https://files.example.com/${orderId}.pdf` } },
        });
        const payload = out.body.data?.createInvoice;
        if (out.status !== 200 || out.body.errors || !payload?.invoice || payload.userErrors.length > 0) failures.push(`tenant-${i} create ${orderId}: ${JSON.stringify(out.body).slice(0, 300)}`);
        else createdBy.set(i % STORES, (createdBy.get(i % STORES) ?? 0) + 1);
      }
    };
    const until = Date.now() + LOAD_MS;
    await Promise.all(Array.from({ length: TENANTS }, (_, i) => client(i, until)));

    const outcomes = salla.tokenRequests.map((r) => r.outcome);
    process.stdout.write(`connections under two replicas: ${JSON.stringify({ tenants: TENANTS, requests, renewals: outcomes.length })}\n`);
    expect(failures).toEqual([]);
    expect(salla.reusedRefreshTokens()).toEqual([]);
    expect(outcomes.every((o) => o === 'issued')).toBe(true);
    const spent = salla.tokenRequests.map((r) => r.refreshToken);
    expect(new Set(spent).size).toBe(spent.length);
    // Each tenant's session was renewed several times in 10 s of 2 s tokens.
    expect(outcomes.length).toBeGreaterThanOrEqual(TENANTS * 3);
    for (let k = 0; k < STORES; k++) expect(salla.invoices(storeToken(k))).toHaveLength(createdBy.get(k) ?? 0);
    for (let i = 0; i < TENANTS; i++) {
      const list = await post(replicas[i % 2]!.url, bearer[i]!, 'query { providerConnections { provider status } }', {});
      expect(list.body.data.providerConnections).toEqual([{ provider: 'SALLA', status: 'CONNECTED' }]);
    }
  }, LOAD_MS + 60_000);
});
