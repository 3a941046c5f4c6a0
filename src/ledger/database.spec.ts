import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestDatabase, storeName } from '../../test/support/store';
import { PgliteDatabase, type Database } from './database';

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

describe('Database (pglite): a data folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pglite-folder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is created when missing (in a child process), keeps what was written, and runs with the small shared_buffers', async () => {
    const folder = join(dir, 'new');
    const first = await PgliteDatabase.open(folder);
    await first.exec('CREATE TABLE kept (v text); INSERT INTO kept VALUES (\'written\')');
    await first.close();
    const again = await PgliteDatabase.open(folder);
    try {
      await expect(again.query('SELECT v FROM kept')).resolves.toEqual([{ v: 'written' }]);
      await expect(again.query("SELECT current_setting('shared_buffers') AS s")).resolves.toEqual([{ s: '16MB' }]);
    } finally {
      await again.close();
    }
  });
});
