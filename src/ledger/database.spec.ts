import { openTestDatabase, storeName } from '../../test/support/store';
import type { Database } from './database';

const onPostgres = process.env.DATABASE_URL ? describe : describe.skip;

onPostgres(`Database (${storeName()}): a connection lost while held`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db.close());

  it('fails the lock holder, not the process, and the pool goes on with fresh connections', async () => {
    const crashes: unknown[] = [];
    const onError = (err: unknown) => crashes.push(err);
    process.on('uncaughtException', onError);
    try {
      await expect(
        db.withLock('dropped', async (sql) => {
          const [me] = await sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          // The server drops the lock's connection (a restart, a failover, an idle reaper) while it is held.
          await db.query('SELECT pg_terminate_backend($1)', [me!.pid]);
          await new Promise((r) => setTimeout(r, 200));
          return sql.query('SELECT 1');
        }),
      ).rejects.toThrow();
      expect(crashes).toEqual([]);
      await expect(db.withLock('dropped', (sql) => sql.query('SELECT 1 AS ok'))).resolves.toEqual([{ ok: 1 }]);
    } finally {
      process.off('uncaughtException', onError);
    }
  });
});
