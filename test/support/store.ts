import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import type { Database } from '../../src/ledger/database';
import { openDatabase } from '../../src/ledger/open';

/**
 * A fresh, migrated ledger store for one test file: embedded PGlite in memory by default, or a schema of its own
 * on the PostgreSQL server named by DATABASE_URL (dropped again by `close`).
 */
export async function openTestDatabase(): Promise<Database & { schema?: string }> {
  const url = process.env.DATABASE_URL;
  if (!url) return openDatabase({ dataDir: 'memory://' });
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await openDatabase({ databaseUrl: url, dataDir: '', schema });
  const close = db.close.bind(db);
  return Object.assign(db, {
    schema,
    close: async () => {
      await close();
      const pool = new Pool({ connectionString: url, max: 1 });
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => pool.end());
    },
  });
}

export const storeName = (): string => (process.env.DATABASE_URL ? 'postgres' : 'pglite');

/** Drops a PostgreSQL schema a test created through configuration (DATABASE_SCHEMA); nothing on the embedded store. */
export async function dropTestSchema(schema: string | undefined): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url || !schema) return;
  const pool = new Pool({ connectionString: url, max: 1 });
  // The server's job queue (pg-boss) keeps its tables in a schema beside the ledger's.
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_jobs CASCADE`).finally(() => pool.end());
}
