import { FIRST_BENCH_ORDER, sallaBenchStore } from '../../bench/fixtures';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_CLIENT_ID, SALLA_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/salla/salla.seed';
import { dropTestSchema } from '../support/store';
import { deployedEnv, startSubgraphProcess as start, stopProcesses, type TsChild } from '../support/ts-child';

/**
 * Two replicas, each a real process started as `npm start` starts it, on one PostgreSQL, sharing one Salla session
 * whose access tokens live 2 s (Salla's live 14 days: SallaApp/oauth2-merchant) and whose refresh tokens are single
 * use: used twice, the emulator revokes the chain, as Salla does (the merchant would have to reinstall the app;
 * Salla's refresh guide, SallaApp/salla-partners-agent-kit). A renewal also ends the chain's earlier access tokens at
 * once, so the other replica's requests meet 401s it must absorb. Under a steady load of creates and reads spread
 * over both, the session is renewed many times: no refresh token may be used twice, and no request may fail.
 * Needs DATABASE_URL; the embedded store is one process's by design.
 */
const withPostgres = process.env.DATABASE_URL ? describe : describe.skip;

const LOAD_MS = 12_000;
/** Every create uses an order up: an idle machine made about 9,000 requests in the 12 s. */
const ORDERS = 40_000;
const CLIENTS = 12;
const REFRESH_TOKEN = 'salla-replicas-refresh-token';

withPostgres('one Salla session renewed under load by two replicas on one PostgreSQL', () => {
  const schema = `salla_sessions_${Date.now().toString(36)}`;
  const salla = new SallaEmulator({
    stores: [{ ...sallaBenchStore(ORDERS), refreshTokens: [{ token: REFRESH_TOKEN, scopes: ['orders.read_write'] }] }],
    rateLimitPerMinute: 1e9,
    accessTokenTtlSeconds: 2,
    revokeAccessOnRefresh: true,
  });
  let replicas: Array<{ child: TsChild; url: string }>;

  beforeAll(async () => {
    await salla.start(0);
    const env = {
      ...deployedEnv(schema),
      SALLA_BASE_URL: salla.baseUrl,
      SALLA_CLIENT_ID: SALLA_SANDBOX_CLIENT_ID,
      SALLA_CLIENT_SECRET: SALLA_SANDBOX_CLIENT_SECRET,
      SALLA_REFRESH_TOKEN: REFRESH_TOKEN,
      SALLA_TOKEN_URL: salla.tokenUrl,
    };
    // One after the other: the second finds the schema migrated (and would wait on the advisory lock otherwise).
    replicas = [await start(env), await start(env)];
  }, 150_000);
  afterAll(async () => {
    await stopProcesses((replicas ?? []).map((r) => r.child));
    await salla.stop();
    await dropTestSchema(schema);
  });

  it('renews many times, never uses a refresh token twice, and every create and read succeeds', async () => {
    let nextOrder = FIRST_BENCH_ORDER;
    const created: string[] = [];
    const failures: string[] = [];
    let requests = 0;
    const post = async (url: string, query: string, variables: Record<string, unknown>) => {
      requests++;
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      return { status: res.status, body: (await res.json()) as { data?: any; errors?: unknown[] } };
    };
    const client = async (i: number, until: number) => {
      for (let n = 0; Date.now() < until; n++) {
        const url = replicas[(i + n) % 2]!.url;
        if (n % 3 === 2 && created.length > 0) {
          const id = created[Math.floor(Math.random() * created.length)]!;
          const out = await post(url, 'query ($id: ID!) { invoice(id: $id) { id lines { quantity } taxes { amount { amount } } } }', { id });
          if (out.status !== 200 || out.body.errors || !out.body.data?.invoice?.lines) failures.push(`read ${id}: ${JSON.stringify(out.body).slice(0, 300)}`);
        } else {
          const orderId = String(nextOrder++);
          const out = await post(url, 'mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { id } userErrors { code message } } }', {
            i: { salla: { orderId, dataType: 'URL', url: `https://files.example.com/${orderId}.pdf` } },
          });
          const payload = out.body.data?.createInvoice;
          if (out.status !== 200 || out.body.errors || !payload?.invoice || payload.userErrors.length > 0) failures.push(`create ${orderId}: ${JSON.stringify(out.body).slice(0, 300)}`);
          else created.push(payload.invoice.id);
        }
      }
    };
    const until = Date.now() + LOAD_MS;
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i, until)));

    // 401s: requests in flight with a token that a renewal had just ended, each absorbed by a retry with the stored pair.
    const refusedTokens = salla.server.calls.filter((c) => c.status === 401).length;
    const renewedBy = replicas.map((r) => r.child.logs.filter((l) => l.msg === 'session renewed').length);
    process.stdout.write(`salla sessions: ${JSON.stringify({ requests, renewals: salla.tokenRequests.length, renewedBy, refusedTokens })}\n`);
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(200);
    // Tokens living 2 s (1 to 2 s as the whole seconds of `expires` tell it), renewed with a quarter of their life
    // left, over 12 s: a renewal every second or so.
    const outcomes = salla.tokenRequests.map((r) => r.outcome);
    expect(outcomes.every((o) => o === 'issued')).toBe(true);
    expect(outcomes.length).toBeGreaterThanOrEqual(6);
    expect(salla.reusedRefreshTokens()).toEqual([]);
    const spent = salla.tokenRequests.map((r) => r.refreshToken);
    expect(new Set(spent).size).toBe(spent.length);
    // Every token request was a renewal one replica logged; the other took the stored pair.
    expect(renewedBy.reduce((a, b) => a + b, 0)).toBe(outcomes.length);
    expect(salla.invoices()).toHaveLength(created.length);
  }, LOAD_MS + 60_000);
});
