import { memoryStore } from '../../../test/support/memory-token-store';
import { RefreshTokenRefused, RotatingTokenSource, SessionEnded, SessionUnavailable } from './rotating-token-source';
import { withTokenRetry, type SharedTokenStore } from './token-source';

/**
 * An OAuth server whose refresh tokens are single use, like Salla's: each refresh answers a new pair; a refresh token
 * presented again revokes the whole chain (every access and refresh token of it) and is refused as invalid_grant.
 */
function singleUseAccount(lifeMs = 3_600_000) {
  let n = 0;
  const spent = new Set<string>();
  const live = new Set<string>();
  const access = new Set<string>();
  const account = {
    reuses: 0,
    requests: [] as string[],
    /** A new authorisation (an install): a refresh token starting a chain of its own. */
    authorize: () => {
      const rt = `rt-${++n}`;
      live.add(rt);
      return rt;
    },
    refresh: async (rt: string) => {
      account.requests.push(rt);
      await new Promise((r) => setTimeout(r, 5));
      if (spent.has(rt)) {
        account.reuses++;
        live.clear();
        access.clear();
        throw new RefreshTokenRefused('The refresh token was used before.');
      }
      if (!live.has(rt)) throw new RefreshTokenRefused('The refresh token is invalid.');
      spent.add(rt);
      live.delete(rt);
      const at = `at-${++n}`;
      const next = `rt-${++n}`;
      live.add(next);
      access.add(at);
      return { accessToken: at, refreshToken: next, expiresInMs: lifeMs };
    },
    call: async (token: string) => ({ status: access.has(token) ? 200 : 401 }),
  };
  return account;
}

describe('RotatingTokenSource', () => {
  let clock = 1_000_000;
  const now = () => clock;
  const NAME = 'SALLA https://api.example/admin/v2 client-1';
  const logs: Array<{ level: string; msg: string }> = [];
  const logger = {
    info: (_o: unknown, msg: string) => void logs.push({ level: 'info', msg }),
    warn: (_o: unknown, msg: string) => void logs.push({ level: 'warn', msg }),
    error: (_o: unknown, msg: string) => void logs.push({ level: 'error', msg }),
  };
  const source = (store: SharedTokenStore, account: ReturnType<typeof singleUseAccount>, refreshToken: string, extra: { endedRecheckMs?: number } = {}) =>
    new RotatingTokenSource({ refreshToken, refresh: account.refresh, shared: { store, name: NAME, secret: 'client-secret' }, now, logger, provider: 'SALLA', ...extra });

  beforeEach(() => {
    logs.length = 0;
  });

  it('renews once a quarter of its life is left (at most refreshAheadMs before expiry), concurrent callers sharing one renewal', async () => {
    const account = singleUseAccount(3_600_000);
    const store = memoryStore(now);
    const s = source(store, account, account.authorize());
    expect(new Set(await Promise.all(Array.from({ length: 20 }, () => s.get())))).toEqual(new Set(['at-2']));
    clock += 2_700_000 - 1;
    expect(await s.get()).toBe('at-2');
    clock += 1;
    expect(new Set(await Promise.all([s.get(), s.get(), s.get()]))).toEqual(new Set(['at-4']));
    expect(account.requests).toEqual(['rt-1', 'rt-3']);
    expect(account.reuses).toBe(0);
  });

  it('stores the rotated pair sealed: neither token is readable in the store', async () => {
    const account = singleUseAccount();
    const store = memoryStore(now);
    await source(store, account, account.authorize()).get();
    const stored = store.values.get(NAME)!.sealed;
    expect(stored).not.toContain('at-2');
    expect(stored).not.toContain('rt-3');
  });

  it('replicas taking turns for many renewals spend every refresh token once, and no call is refused', async () => {
    const account = singleUseAccount(60_000);
    const store = memoryStore(now);
    const first = account.authorize();
    const replicas = [source(store, account, first), source(store, account, first), source(store, account, first)];
    const statuses: number[] = [];
    for (let round = 0; round < 40; round++) {
      statuses.push(...(await Promise.all(replicas.map((r) => withTokenRetry(r, account.call).then((res) => res.status)))));
      clock += 20_000;
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(account.reuses).toBe(0);
    expect(new Set(account.requests).size).toBe(account.requests.length);
    // Every third round renews: one token request among the three replicas, the others take the stored pair.
    expect(account.requests.length).toBeGreaterThanOrEqual(13);
    expect(account.requests.length).toBeLessThanOrEqual(41);
    expect(replicas.reduce((n, r) => n + r.adopted, 0)).toBeGreaterThan(0);
  });

  it('on a 401 the first holder renews; another replica holding the ended token takes the stored pair, spending nothing', async () => {
    const account = singleUseAccount();
    const store = memoryStore(now);
    const first = account.authorize();
    const [a, b] = [source(store, account, first), source(store, account, first)];
    const t = await a.get();
    expect(await b.get()).toBe(t);
    const fresh = await a.rejected(t);
    expect(fresh).not.toBe(t);
    expect(await b.rejected(t)).toBe(fresh);
    expect(account.requests).toHaveLength(2);
  });

  it('after a restart the stored refresh token is used, not the configured one (which was spent)', async () => {
    const account = singleUseAccount(60_000);
    const store = memoryStore(now);
    const configured = account.authorize();
    await source(store, account, configured).get();
    clock += 60_000;
    const restarted = source(store, account, configured);
    expect(await restarted.get()).toBe('at-4');
    expect(account.requests).toEqual(['rt-1', 'rt-3']);
    expect(account.reuses).toBe(0);
  });

  it('a refused refresh token ends the session for every replica: logged once, no further token request, PROVIDER_UNAUTHORIZED-worthy SessionEnded', async () => {
    const account = singleUseAccount(60_000);
    const store = memoryStore(now);
    const configured = account.authorize();
    const [a, b] = [source(store, account, configured), source(store, account, configured)];
    await a.get();
    // Someone else spends the stored refresh token: ours is refused as used, and the chain is revoked.
    await account.refresh('rt-3');
    clock += 60_000;
    await expect(a.get()).rejects.toBeInstanceOf(SessionEnded);
    await expect(a.get()).rejects.toThrow('The refresh token was used before.');
    await expect(b.get()).rejects.toBeInstanceOf(SessionEnded);
    expect(account.requests).toEqual(['rt-1', 'rt-3', 'rt-3']);
    expect(logs.filter((l) => l.level === 'error')).toHaveLength(2); // once per replica
    // A restart with the same configured token stays ended: nothing is sent.
    await expect(source(store, account, configured).get()).rejects.toBeInstanceOf(SessionEnded);
    expect(account.requests).toHaveLength(3);
  });

  it('a new configured refresh token (the app re-authorised) starts a new chain; a replica still on the old one follows it', async () => {
    const account = singleUseAccount(60_000);
    const store = memoryStore(now);
    const old = account.authorize();
    const a = source(store, account, old, { endedRecheckMs: 10_000 });
    await a.get();
    await account.refresh('rt-3'); // revokes the chain
    clock += 60_000;
    await expect(a.get()).rejects.toBeInstanceOf(SessionEnded);

    const renewed = source(store, account, account.authorize());
    const t = await renewed.get();
    // The ended replica reads the store now and then (no token request) and finds the new chain.
    await expect(a.get()).rejects.toBeInstanceOf(SessionEnded);
    clock += 10_000;
    expect(await a.get()).toBe(t);
    // Restarted with the old token, a replica follows the stored chain instead of spending the old token.
    clock += 60_000;
    const straggler = source(store, account, old);
    expect(await straggler.get()).toMatch(/^at-/);
    expect(account.reuses).toBe(1); // the one the test itself caused
    expect(logs.some((l) => l.msg.startsWith('session restored'))).toBe(true);
  });

  it('never spends a refresh token without the lock: a live token is used; an expired one fails retryable, sending nothing', async () => {
    const account = singleUseAccount(60_000);
    const store = memoryStore(now);
    const s = source(store, account, account.authorize());
    const t = await s.get();
    store.lockTimesOut = true;
    clock += 50_000; // due for renewal, not yet expired
    expect(await s.get()).toBe(t);
    clock += 10_000;
    await expect(s.get()).rejects.toBeInstanceOf(SessionUnavailable);
    store.down = true;
    await expect(s.get()).rejects.toBeInstanceOf(SessionUnavailable);
    expect(account.requests).toHaveLength(1);
    store.lockTimesOut = false;
    store.down = false;
    expect(await s.get()).not.toBe(t);
  });

  it('a token endpoint failure (not a refusal) is the caller\'s error; the same refresh token is tried next time', async () => {
    const account = singleUseAccount();
    const store = memoryStore(now);
    let down = true;
    const s = new RotatingTokenSource({
      refreshToken: account.authorize(),
      refresh: (rt) => (down ? Promise.reject(new Error('token endpoint down')) : account.refresh(rt)),
      shared: { store, name: NAME, secret: 'client-secret' },
      now,
    });
    await expect(s.get()).rejects.toThrow('token endpoint down');
    down = false;
    expect(await s.get()).toBe('at-2');
  });

  it('a rotated pair that could not be stored is used, kept, and spent next instead of the stale stored one', async () => {
    const account = singleUseAccount(60_000);
    const store = memoryStore(now);
    const s = new RotatingTokenSource({
      refreshToken: account.authorize(),
      refresh: async (rt) => {
        const out = await account.refresh(rt);
        // The database goes away between the token request and the COMMIT, and stays away for the plain write.
        if (rt === 'rt-3') Object.assign(store, { releaseFails: true, down: true });
        return out;
      },
      shared: { store, name: NAME, secret: 'client-secret' },
      now,
      logger,
    });
    await s.get();
    clock += 60_000;
    // releaseFails makes the held write not count: the stored pair is the old one (rt-3, now spent).
    const values = new Map(store.values);
    expect(await s.get()).toBe('at-4');
    expect(logs.some((l) => l.level === 'error' && l.msg.includes('could not be stored'))).toBe(true);
    store.values.clear();
    for (const [k, v] of values) store.values.set(k, v);
    Object.assign(store, { releaseFails: false, down: false });
    clock += 60_000;
    expect(await s.get()).toBe('at-6');
    expect(account.requests).toEqual(['rt-1', 'rt-3', 'rt-5']);
    expect(account.reuses).toBe(0);
  });
});
