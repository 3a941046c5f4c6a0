import type { Database } from './database';

/**
 * The table where replicas keep the provider tokens they share (sealed by whoever stores them; opaque here). It
 * knows no provider: names and values are the caller's. Serves as a SharedTokenStore.
 */
export class DatabaseTokenStore {
  constructor(private readonly db: Database) {}

  /** One read. */
  async read(name: string): Promise<{ sealed: string; expiresAt: Date } | null> {
    const rows = await this.db.query<{ sealed: string; expires_at: Date }>('SELECT sealed, expires_at FROM shared_tokens WHERE name = $1', [name]);
    return rows[0] ? { sealed: rows[0].sealed, expiresAt: new Date(rows[0].expires_at) } : null;
  }

  /** One write, replacing the value. */
  async write(name: string, sealed: string, expiresAt: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO shared_tokens (name, sealed, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at, updated_at = now()`,
      [name, sealed, expiresAt.toISOString()],
    );
  }

  /** Holds the database's lock for `name` (an advisory lock on PostgreSQL) while `fn` runs: one replica at a time. */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.db.withLock(`shared-token:${name}`, fn);
  }
}
