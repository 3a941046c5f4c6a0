import { openTestDatabase, storeName } from '../../test/support/store';
import { LockTimeoutError, type Database } from './database';
import { DatabaseTokenStore } from './shared-tokens';

describe(`DatabaseTokenStore (${storeName()})`, () => {
  let db: Database;
  let store: DatabaseTokenStore;

  beforeAll(async () => {
    db = await openTestDatabase();
    store = new DatabaseTokenStore(db);
  });
  afterAll(() => db.close());

  it("keeps one value per name, the latest written, with its life counted by the database's clock", async () => {
    expect(await store.read('EXSITED https://a 1')).toBeNull();
    await store.exclusive('EXSITED https://a 1', 1000, async (held) => {
      expect(await held.read()).toBeNull();
      await held.write('v1.sealed-one', 60_000);
      await held.write('v1.sealed-two', 3_600_000);
    });
    await store.write('ZUORA https://b 2', 'v1.other', 60_000);
    const stored = await store.read('EXSITED https://a 1');
    expect(stored!.sealed).toBe('v1.sealed-two');
    expect(stored!.expiresInMs).toBeGreaterThan(3_590_000);
    expect(stored!.expiresInMs).toBeLessThanOrEqual(3_600_000);
    expect((await store.read('ZUORA https://b 2'))!.sealed).toBe('v1.other');
  });

  it('runs one holder of a name at a time, and other names alongside', async () => {
    const events: string[] = [];
    const hold = (name: string, id: string) =>
      store.exclusive(name, 5000, async () => {
        events.push(`${id} in`);
        await new Promise((r) => setTimeout(r, 30));
        events.push(`${id} out`);
      });
    await Promise.all([hold('same', 'a'), hold('same', 'b'), hold('other', 'c')]);
    const same = events.filter((e) => !e.startsWith('c'));
    expect([['a in', 'a out', 'b in', 'b out'], ['b in', 'b out', 'a in', 'a out']]).toContainEqual(same);
    expect(events.indexOf('c in')).toBeLessThan(events.indexOf(same[1]!));
  });

  it('gives up waiting after waitMs, without running, and the holder keeps the name', async () => {
    let release!: () => void;
    const holding = store.exclusive('busy', 1000, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 50));
    let ran = false;
    await expect(store.exclusive('busy', 100, async () => void (ran = true))).rejects.toBeInstanceOf(LockTimeoutError);
    expect(ran).toBe(false);
    const next = store.exclusive('busy', 5000, async () => 'after the holder');
    release();
    await holding;
    await expect(next).resolves.toBe('after the holder');
  });

  it('releases a name when its holder fails', async () => {
    await expect(store.exclusive('failing', 1000, () => Promise.reject(new Error('issue failed')))).rejects.toThrow('issue failed');
    await expect(store.exclusive('failing', 1000, async () => 'next')).resolves.toBe('next');
  });
});
