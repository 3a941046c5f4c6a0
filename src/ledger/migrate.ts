import { Umzug, type UmzugStorage } from 'umzug';
import type { Database } from './database';
import { MIGRATIONS } from './migrations';

const TABLE = 'ledger_migrations';

/** Umzug's record of applied migrations, kept in the ledger's own database. */
class SqlStorage implements UmzugStorage {
  constructor(private readonly db: Database) {}

  // The migration records itself inside its own transaction (see migrate); this only confirms it.
  async logMigration({ name }: { name: string }): Promise<void> {
    await this.db.query(`INSERT INTO ${TABLE} (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [name]);
  }

  async unlogMigration({ name }: { name: string }): Promise<void> {
    await this.db.query(`DELETE FROM ${TABLE} WHERE name = $1`, [name]);
  }

  async executed(): Promise<string[]> {
    await this.db.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const rows = await this.db.query<{ name: string }>(`SELECT name FROM ${TABLE} ORDER BY name`);
    return rows.map((r) => r.name);
  }
}

/**
 * Applies pending migrations; called at every start. Each migration runs in its own transaction, and replicas
 * sharing one PostgreSQL take an advisory lock so only one of them migrates. Returns the names applied.
 */
export async function migrate(db: Database): Promise<string[]> {
  return db.withLock('invoicing-ledger-migrations', async () => {
    const umzug = new Umzug({
      migrations: MIGRATIONS.map((m) => ({
        name: m.name,
        // Schema change and its record commit together: a crash cannot leave one without the other.
        up: () =>
          db.transaction(async (tx) => {
            await tx.exec(m.up);
            await tx.query(`INSERT INTO ${TABLE} (name) VALUES ($1)`, [m.name]);
          }),
      })),
      storage: new SqlStorage(db),
      logger: undefined,
    });
    const applied = await umzug.up();
    return applied.map((m) => m.name);
  });
}
