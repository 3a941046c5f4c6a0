import { openTestDatabase, storeName } from '../../test/support/store';
import type { Database } from './database';
import { DatabaseTokenStore } from './shared-tokens';

describe(`DatabaseTokenStore (${storeName()})`, () => {
  let db: Database;
  let store: DatabaseTokenStore;

  beforeAll(async () => {
    db = await openTestDatabase();
    store = new DatabaseTokenStore(db);
  });
  afterAll(() => db.close());

  it('keeps one value per name, the latest written', async () => {
    expect(await store.read('EXSITED https://a 1')).toBeNull();
    await store.write('EXSITED https://a 1', 'v1.sealed-one', new Date('2026-11-29T10:00:00.000Z'));
    await store.write('EXSITED https://a 1', 'v1.sealed-two', new Date('2026-11-29T11:00:00.000Z'));
    await store.write('ZUORA https://b 2', 'v1.other', new Date('2026-11-29T12:00:00.000Z'));
    expect(await store.read('EXSITED https://a 1')).toEqual({ sealed: 'v1.sealed-two', expiresAt: new Date('2026-11-29T11:00:00.000Z') });
  });

  it('runs one holder of a name at a time, and other names alongside', async () => {
    const events: string[] = [];
    const hold = (name: string, id: string) =>
      store.exclusive(name, async () => {
        events.push(`${id} in`);
        await new Promise((r) => setTimeout(r, 30));
        events.push(`${id} out`);
      });
    await Promise.all([hold('same', 'a'), hold('same', 'b'), hold('other', 'c')]);
    const same = events.filter((e) => !e.startsWith('c'));
    expect([['a in', 'a out', 'b in', 'b out'], ['b in', 'b out', 'a in', 'a out']]).toContainEqual(same);
    // The other name did not wait for either.
    expect(events.indexOf('c in')).toBeLessThan(events.indexOf(same[1]!));
  });

  it('releases a name when its holder fails', async () => {
    await expect(store.exclusive('failing', () => Promise.reject(new Error('issue failed')))).rejects.toThrow('issue failed');
    await expect(store.exclusive('failing', async () => 'next')).resolves.toBe('next');
  });
});
