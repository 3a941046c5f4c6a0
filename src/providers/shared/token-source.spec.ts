import { memoryStore } from '../../../test/support/memory-token-store';
import { TokenSource, withTokenRetry, type SharedTokenStore } from './token-source';

describe('TokenSource', () => {
  const source = (expiresIn = 3600) => {
    let clock = 0;
    let n = 0;
    const calls: number[] = [];
    const s = new TokenSource({
      issue: async () => {
        calls.push(clock);
        await new Promise((r) => setTimeout(r, 5));
        return { accessToken: `t${++n}`, expiresIn };
      },
      refreshAheadMs: 60_000,
      now: () => clock,
    });
    return { s, calls, tick: (ms: number) => (clock += ms) };
  };

  it('collapses concurrent first requests into one token request', async () => {
    const { s, calls } = source();
    const tokens = await Promise.all(Array.from({ length: 25 }, () => s.get()));
    expect(new Set(tokens)).toEqual(new Set(['t1']));
    expect(calls).toHaveLength(1);
  });

  it('reuses the token until shortly before expiry, then refreshes once', async () => {
    const { s, calls, tick } = source(3600);
    await s.get();
    tick(3_540_000 - 1);
    expect(await s.get()).toBe('t1');
    tick(1);
    const again = await Promise.all([s.get(), s.get(), s.get()]);
    expect(again).toEqual(['t2', 't2', 't2']);
    expect(calls).toHaveLength(2);
  });

  it('refreshes once when many requests see a 401 for the same token', async () => {
    const { s, calls } = source();
    const stale = await s.get();
    const fresh = await Promise.all(Array.from({ length: 10 }, () => s.rejected(stale)));
    expect(new Set(fresh)).toEqual(new Set(['t2']));
    expect(calls).toHaveLength(2);
    // A late 401 for the old token does not throw away the new one.
    expect(await s.rejected(stale)).toBe('t2');
    expect(calls).toHaveLength(2);
  });

  it('a failed token request fails its waiters and is tried again next time', async () => {
    let fail = true;
    const s = new TokenSource({ issue: async () => (fail ? Promise.reject(new Error('down')) : { accessToken: 'ok', expiresIn: 60 }) });
    await expect(Promise.all([s.get(), s.get()])).rejects.toThrow('down');
    fail = false;
    expect(await s.get()).toBe('ok');
  });
});

describe('withTokenRetry', () => {
  it('retries once with a fresh token on 401, and not again', async () => {
    let n = 0;
    const s = new TokenSource({ issue: async () => ({ accessToken: `t${++n}`, expiresIn: 3600 }) });
    const seen: string[] = [];
    const res = await withTokenRetry(s, async (token) => {
      seen.push(token);
      return { status: 401 };
    });
    expect(res.status).toBe(401);
    expect(seen).toEqual(['t1', 't2']);
  });

  it('does not retry a fixed token', async () => {
    const s = TokenSource.fixed('static');
    const seen: string[] = [];
    await withTokenRetry(s, async (token) => {
      seen.push(token);
      return { status: 401 };
    });
    expect(seen).toEqual(['static']);
  });
});

/** A provider account like Exsited's: a new token ends the previous one; a request with an ended token gets 401. */
function revokingAccount() {
  let n = 0;
  let live = '';
  return {
    issued: () => n,
    issue: async () => {
      await new Promise((r) => setTimeout(r, 5));
      live = `access-token-${++n}`;
      return { accessToken: live, expiresIn: 3600 };
    },
    call: async (token: string) => ({ status: token === live ? 200 : 401 }),
  };
}

describe('TokenSource shared by replicas', () => {
  let clock = 0;
  const now = () => clock;
  const NAME = 'EXSITED https://api.example 42';
  const replica = (store: SharedTokenStore | undefined, issue: () => Promise<{ accessToken: string; expiresIn: number }>, secret = 'client-secret', name = NAME) =>
    new TokenSource({ issue, now, shared: store ? { store, name, secret } : undefined });

  it("replicas take turns without ending each other's token: one token for all, and no request refused", async () => {
    const account = revokingAccount();
    const store = memoryStore(now);
    const [a, b] = [replica(store, account.issue), replica(store, account.issue)];
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      for (const r of [a, b]) statuses.push((await withTokenRetry(r, account.call)).status);
      clock += 10 * 60_000;
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Rounds at 0, 10, 20 … 190 minutes; a token is used until a minute before its hour: issued at 0, 60, 120, 180.
    expect(account.issued()).toBe(4);
    expect(a.adopted + b.adopted).toBeGreaterThan(0);
  });

  it("without a store, the same turns end each other's token (the failure the store prevents)", async () => {
    const account = revokingAccount();
    const [a, b] = [replica(undefined, account.issue), replica(undefined, account.issue)];
    for (let i = 0; i < 5; i++) for (const r of [a, b]) await withTokenRetry(r, account.call);
    expect(account.issued()).toBeGreaterThanOrEqual(10);
  });

  it('replicas refreshing at the same moment ask for one token between them', async () => {
    const account = revokingAccount();
    const store = memoryStore(now);
    const [a, b, c] = [replica(store, account.issue), replica(store, account.issue), replica(store, account.issue)];
    const tokens = await Promise.all([a.get(), b.get(), c.get()]);
    expect(new Set(tokens).size).toBe(1);
    expect(account.issued()).toBe(1);
    expect(store.locked).toBe(3);
  });

  it('a replica whose token was ended takes the newer one from the store instead of asking for another', async () => {
    const account = revokingAccount();
    const store = memoryStore(now);
    const [a, b] = [replica(store, account.issue), replica(store, account.issue)];
    const t1 = await a.get();
    expect(await b.get()).toBe(t1);
    const t2 = await a.rejected(t1);
    expect(t2).not.toBe(t1);
    expect(await b.rejected(t1)).toBe(t2);
    expect(account.issued()).toBe(2);
  });

  it('stores the token sealed: the value is not the token, and neither other credentials nor another name open it', async () => {
    const account = revokingAccount();
    const store = memoryStore(now);
    const token = await replica(store, account.issue).get();
    const stored = store.values.get(NAME)!;
    expect(stored.sealed).not.toContain(token);
    expect(await replica(store, account.issue, 'another-secret').get()).not.toBe(token);
    store.values.set('ZUORA elsewhere 42', stored);
    expect(await replica(store, account.issue, 'client-secret', 'ZUORA elsewhere 42').get()).not.toBe(token);
    expect(account.issued()).toBe(3);
  });

  it('without the lock in time, takes a usable stored token, else gets one alone and stores it', async () => {
    const account = revokingAccount();
    const store = memoryStore(now);
    const t1 = await replica(store, account.issue).get();
    store.lockTimesOut = true;
    const b = replica(store, account.issue);
    expect(await b.get()).toBe(t1);
    expect(account.issued()).toBe(1);
    const t2 = await b.rejected(t1);
    expect(t2).toBe('access-token-2');
    expect(await replica(store, account.issue).get()).toBe(t2);
  });

  it('with the store unreachable, a replica still gets a token on its own', async () => {
    const account = revokingAccount();
    const store = memoryStore(now);
    store.down = true;
    expect(await replica(store, account.issue).get()).toBe('access-token-1');
  });

  it("a failed token request is the caller's error, asked once; a failure after the work does not ask again", async () => {
    const store = memoryStore(now);
    let asked = 0;
    const failing = replica(store, async () => {
      asked++;
      throw new Error('token endpoint down');
    });
    await expect(failing.get()).rejects.toThrow('token endpoint down');
    expect(asked).toBe(1);

    const account = revokingAccount();
    store.releaseFails = true;
    expect(await replica(store, account.issue).get()).toBe('access-token-1');
    expect(account.issued()).toBe(1);
  });
});
