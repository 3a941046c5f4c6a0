import { TokenSource, withTokenRetry } from './token-source';

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
