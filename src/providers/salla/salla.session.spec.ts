import type { Logger } from 'pino';
import { openTestDatabase, storeName } from '../../../test/support/store';
import { providerFailure as failure } from '../../../test/support/provider-failure';
import type { Database } from '../../ledger/database';
import { DatabaseTokenStore } from '../../ledger/shared-tokens';
import { SallaEmulator, type SallaEmulatorOptions } from '../../sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_CLIENT_ID, SALLA_SANDBOX_CLIENT_SECRET, SALLA_SANDBOX_REFRESH_TOKEN, SALLA_SANDBOX_TOKEN } from '../../sandbox/salla/salla.seed';
import type { RotatingTokenSource } from '../shared/rotating-token-source';
import type { SallaCreateInput } from './salla.input';
import { SallaProvider } from './salla.provider';
import { sallaExpiresInMs } from './salla.wire';

/**
 * Salla sessions against the emulator's token endpoint over HTTP, kept in the ledger's database. Salla's access
 * tokens expire (SallaApp/oauth2-merchant: "the access token expired after 14 days"; the answer's `expires`), and a
 * refresh token is single use: used twice, Salla revokes the chain and the merchant must reinstall the app (Salla's
 * refresh guide, SallaApp/salla-partners-agent-kit, after RFC 6819 §5.2.2.3). Token endpoint:
 * https://docs.salla.dev/421118m0 ("Authorization").
 */
describe(`Salla OAuth sessions (${storeName()})`, () => {
  let db: Database;
  let salla: SallaEmulator;
  let errors: string[];
  const logger = { info: () => undefined, warn: () => undefined, error: (_o: unknown, msg: string) => void errors.push(msg) } as unknown as Logger;
  const url = (orderId: string): SallaCreateInput => ({ orderId, type: 'tax_invoice', dataType: 'url', url: 'https://x.example/i.pdf' });
  const start = async (options: SallaEmulatorOptions = {}) => {
    await salla?.stop();
    salla = new SallaEmulator(options);
    await salla.start(0);
    // A fresh account name per emulator: nothing stored by an earlier test's chain.
    await db.query('DELETE FROM shared_tokens');
  };
  const provider = (refreshToken = SALLA_SANDBOX_REFRESH_TOKEN) =>
    new SallaProvider({
      baseUrl: salla.baseUrl,
      oauth: { clientId: SALLA_SANDBOX_CLIENT_ID, clientSecret: SALLA_SANDBOX_CLIENT_SECRET, refreshToken, tokenUrl: salla.tokenUrl },
      sharedTokens: new DatabaseTokenStore(db),
      timeoutMs: 2_000,
      logger,
    });
  const issued = () => salla.tokenRequests.filter((r) => r.outcome === 'issued').length;

  beforeAll(async () => {
    db = await openTestDatabase();
  });
  beforeEach(() => {
    errors = [];
  });
  afterAll(async () => {
    await salla?.stop();
    await db.close();
  });

  it('renews the session ahead of expiry, spending each refresh token once: no call ever meets an expired token', async () => {
    await start({ accessTokenTtlSeconds: 2 });
    const p = provider();
    const [made] = await p.create(url('389701957'), { idempotencyKey: 'k' });
    const ref = { provider: 'SALLA' as const, providerInvoiceId: made!.header.providerInvoiceId, orderId: '389701957' };
    const until = Date.now() + 4_500;
    let reads = 0;
    while (Date.now() < until) {
      const [d] = await p.loadDetails([ref]);
      expect(d).not.toBeInstanceOf(Error);
      reads++;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(reads).toBeGreaterThan(30);
    expect(issued()).toBeGreaterThanOrEqual(3);
    expect(salla.reusedRefreshTokens()).toEqual([]);
    expect(salla.server.calls.filter((c) => c.status === 401)).toEqual([]);
    // Form-encoded, the refresh grant, the app's credentials (RFC 6749 §6).
    const tokenCall = salla.server.calls.find((c) => c.path === '/oauth2/token')!;
    expect(String(tokenCall.headers['content-type'])).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(new URLSearchParams(Buffer.from(tokenCall.body as Buffer).toString()))).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: SALLA_SANDBOX_REFRESH_TOKEN,
      client_id: SALLA_SANDBOX_CLIENT_ID,
    });
  });

  it('on a 401 for the token (expired, revoked) renews once and sends the call again; a scope refusal renews nothing', async () => {
    await start();
    const p = provider();
    const [made] = await p.create(url('389701957'), { idempotencyKey: 'k' });
    salla.server.injectFault({ method: 'GET', status: 401, body: { status: 401, success: false, error: { code: 'Unauthorized', message: 'The access token is invalid.' } } });
    const [d] = await p.loadDetails([{ provider: 'SALLA', providerInvoiceId: made!.header.providerInvoiceId, orderId: '389701957' }]);
    expect(d).not.toBeInstanceOf(Error);
    expect(issued()).toBe(2);

    const readOnly = provider(salla.authorize(SALLA_SANDBOX_TOKEN, ['orders.read']));
    await db.query('DELETE FROM shared_tokens');
    const refused = await failure(readOnly.create(url('1818813486'), { idempotencyKey: 'k' }));
    expect(refused.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerMessage: expect.stringContaining('orders.read_write') });
    expect(issued()).toBe(3);
  });

  it('after a restart the stored session is taken, and renewed with the stored refresh token, not the configured (spent) one', async () => {
    await start();
    await provider().create(url('389701957'), { idempotencyKey: 'k' });
    const restarted = provider();
    const found = await restarted.findCreated(url('1818813486'));
    expect(found).toEqual([]);
    expect(issued()).toBe(1);
    const source = restarted.tokens as RotatingTokenSource;
    await source.rejected(await source.get());
    expect(issued()).toBe(2);
    expect(salla.reusedRefreshTokens()).toEqual([]);
  });

  it('a refresh token refused as used: PROVIDER_UNAUTHORIZED saying the app must be re-authorised, logged once, and no refresh tried again', async () => {
    await start();
    // Another holder of the same refresh token spends it first (a copy of the deployment, a script).
    const stolen = await fetch(salla.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: SALLA_SANDBOX_REFRESH_TOKEN, client_id: SALLA_SANDBOX_CLIENT_ID, client_secret: SALLA_SANDBOX_CLIENT_SECRET }),
    });
    expect(stolen.status).toBe(200);
    const p = provider();
    for (let i = 0; i < 3; i++) {
      const err = await failure(p.create(url('389701957'), { idempotencyKey: 'k' }));
      expect(err).toMatchObject({ disposition: 'final', cause_: 'session:ended' });
      expect(err.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAUTHORIZED', message: expect.stringMatching(/re-authorised.*SALLA_REFRESH_TOKEN/), providerCode: 'invalid_grant' })]);
    }
    expect(salla.tokenRequests.map((r) => r.outcome)).toEqual(['issued', 'reused']);
    expect(errors).toEqual([expect.stringMatching(/^session ended/)]);
    // The chain is revoked at Salla: the other holder's token no longer works either.
    const theirs = ((await stolen.json()) as { access_token: string }).access_token;
    expect((await fetch(`${salla.baseUrl}/orders/invoices`, { headers: { authorization: `Bearer ${theirs}` } })).status).toBe(401);
    expect(salla.server.countCalls('POST', '/admin/v2/orders/invoices')).toBe(0);

    // Re-authorised: the merchant reinstalls, the new refresh token is configured, and the next start works.
    const [made] = await provider(salla.authorize()).create(url('389701957'), { idempotencyKey: 'k' });
    expect(made!.header.orderId).toBe('389701957');
  });

  it("a 403 for a store blocked after many errors is RATE_LIMITED, retryable, and renews no token (docs.salla.dev/421123m0: 'blocked due to many errors')", async () => {
    await start({ blockAfterErrors: { errors: 3, windowMs: 60_000, blockMs: 60_000 } });
    const p = provider();
    for (let i = 0; i < 3; i++) await failure(p.create(url('123'), { idempotencyKey: 'k' }));
    const blocked = await failure(p.create(url('389701957'), { idempotencyKey: 'k' }));
    expect(blocked).toMatchObject({ disposition: 'retryable', cause_: 'http:403:blocked' });
    expect(blocked.userErrors).toEqual([expect.objectContaining({ code: 'RATE_LIMITED', providerMessage: expect.stringContaining('temporarily blocked') })]);
    expect(issued()).toBe(1);
    expect(salla.invoices()).toEqual([]);
  });

  it('the token endpoint down: PROVIDER_UNAVAILABLE, retryable; nothing reached the API, and the next call renews', async () => {
    await start();
    salla.server.injectFault({ path: '/oauth2/token', status: 503 });
    const err = await failure(provider().create(url('389701957'), { idempotencyKey: 'k' }));
    expect(err).toMatchObject({ disposition: 'retryable', cause_: 'token:http:503' });
    expect(salla.server.countCalls('POST', '/admin/v2/orders/invoices')).toBe(0);
    await provider().create(url('389701957'), { idempotencyKey: 'k' });
    expect(issued()).toBe(1);
  });

  it('wrong app credentials: PROVIDER_UNAUTHORIZED naming SALLA_CLIENT_ID, final, and the refresh token stays unspent', async () => {
    await start();
    const wrong = new SallaProvider({
      baseUrl: salla.baseUrl,
      oauth: { clientId: SALLA_SANDBOX_CLIENT_ID, clientSecret: 'wrong', refreshToken: SALLA_SANDBOX_REFRESH_TOKEN, tokenUrl: salla.tokenUrl },
      sharedTokens: new DatabaseTokenStore(db),
    });
    const err = await failure(wrong.create(url('389701957'), { idempotencyKey: 'k' }));
    expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', message: expect.stringContaining('SALLA_CLIENT_ID'), providerCode: 'invalid_client' });
    await provider().create(url('389701957'), { idempotencyKey: 'k' });
    expect(salla.reusedRefreshTokens()).toEqual([]);
  });
});

describe("Salla's token answer: how long the access token lives", () => {
  const now = 1_700_000_000_000;
  it('`expires` as a Unix time (Salla\'s payloads), `expires` as seconds, `expires_in`, or none (14 days)', () => {
    expect(sallaExpiresInMs({ access_token: 'a', expires: 1_700_001_209 }, now)).toBe(1_209_000);
    expect(sallaExpiresInMs({ access_token: 'a', expires: 1_209_600 }, now)).toBe(1_209_600_000);
    expect(sallaExpiresInMs({ access_token: 'a', expires_in: 3600, expires: 1 }, now)).toBe(3_600_000);
    expect(sallaExpiresInMs({ access_token: 'a' }, now)).toBe(14 * 86_400_000);
    // A time already past by our clock is renewed soon, not refused on arrival.
    expect(sallaExpiresInMs({ access_token: 'a', expires: 1_699_999_000 }, now)).toBe(1_000);
  });
});
