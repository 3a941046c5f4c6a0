import type { Logger } from 'pino';
import type { Database, Sql } from './database';

/** A stored value and how long it has left, by the database's clock (so replicas' clocks need not agree). */
export interface StoredToken {
  sealed: string;
  expiresInMs: number;
}

/** Reads and writes of one name, on the connection that holds its lock. */
export interface HeldToken {
  read(): Promise<StoredToken | null>;
  write(sealed: string, expiresInMs: number): Promise<void>;
}

/**
 * The table where replicas keep the provider tokens they share (sealed by whoever stores them; opaque here). It
 * knows no provider: names and values are the caller's. Serves as a SharedTokenStore. Failures are logged, then
 * thrown: the caller decides what to do without the store.
 */
export class DatabaseTokenStore {
  constructor(
    private readonly db: Database,
    private readonly logger?: Logger,
  ) {}

  /** Runs fn holding the name's lock (one replica at a time), waiting for it at most `waitMs`. */
  async exclusive<T>(name: string, waitMs: number, fn: (held: HeldToken) => Promise<T>): Promise<T> {
    return this.logged(name, () =>
      this.db.withLock(`shared-token:${name}`, (sql) => fn({ read: () => readToken(sql, name), write: (sealed, ms) => writeToken(sql, name, sealed, ms) }), { waitMs }),
    );
  }

  /** The stored value without the lock, for when the lock cannot be had. One read. */
  read(name: string): Promise<StoredToken | null> {
    return this.logged(name, () => readToken(this.db, name));
  }

  /** Stores a value without the lock, for a token issued when the lock could not be had. One write. */
  write(name: string, sealed: string, expiresInMs: number): Promise<void> {
    return this.logged(name, () => writeToken(this.db, name, sealed, expiresInMs));
  }

  private async logged<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.logger?.warn({ err, name }, 'shared token store failed; this replica refreshes its token on its own');
      throw err;
    }
  }
}

async function readToken(sql: Sql, name: string): Promise<StoredToken | null> {
  const rows = await sql.query<{ sealed: string; expires_in_ms: number | string }>(
    `SELECT sealed, extract(epoch FROM expires_at - clock_timestamp()) * 1000 AS expires_in_ms FROM shared_tokens WHERE name = $1`,
    [name],
  );
  return rows[0] ? { sealed: rows[0].sealed, expiresInMs: Number(rows[0].expires_in_ms) } : null;
}

async function writeToken(sql: Sql, name: string, sealed: string, expiresInMs: number): Promise<void> {
  await sql.query(
    `INSERT INTO shared_tokens (name, sealed, expires_at) VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3::double precision / 1000))
     ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at, updated_at = now()`,
    [name, sealed, expiresInMs],
  );
}
