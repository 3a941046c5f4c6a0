import type { Database } from '../ledger/database';

export type ConnectionStatus = 'CONNECTED' | 'NEEDS_REAUTHORIZATION' | 'DISCONNECTED';

/** A tenant's connection to one provider as stored: the credentials still sealed. */
export interface StoredConnection {
  id: string;
  tenantId: string;
  provider: string;
  status: ConnectionStatus;
  accountId: string | null;
  accountName: string | null;
  sealed: string | null;
  keyId: string | null;
  connectedAt: Date | null;
  expiresAt: Date | null;
  lastError: string | null;
  updatedAt: Date;
}

interface Row {
  id: string;
  tenant_id: string;
  provider: string;
  status: ConnectionStatus;
  account_id: string | null;
  account_name: string | null;
  sealed: string | null;
  key_id: string | null;
  connected_at: Date | string | null;
  expires_at: Date | string | null;
  last_error: string | null;
  updated_at: Date | string;
}

const date = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));
const toConnection = (r: Row): StoredConnection => ({
  id: r.id,
  tenantId: r.tenant_id,
  provider: r.provider,
  status: r.status,
  accountId: r.account_id,
  accountName: r.account_name,
  sealed: r.sealed,
  keyId: r.key_id,
  connectedAt: date(r.connected_at),
  expiresAt: date(r.expires_at),
  lastError: r.last_error,
  updatedAt: date(r.updated_at)!,
});

/** What a connect stores; `seal` seals the credentials for the new connection's id (they are bound to it). */
export interface NewConnection {
  /** Chosen by the caller before it checked the credentials, so that tokens a check renewed are already this connection's. */
  id: string;
  tenantId: string;
  provider: string;
  accountId: string | null;
  accountName: string | null;
  expiresAt: Date | null;
  seal: (id: string) => { sealed: string; keyId: string };
}

/**
 * The `provider_connections` table: one row per tenant and provider, its credentials sealed by the caller (opaque
 * here). Knows no provider. Every method is one statement.
 */
export class ConnectionStore {
  constructor(private readonly db: Database) {}

  /**
   * Stores a new connection for the tenant and provider, replacing any earlier one (under a new id), and drops the
   * tokens replicas kept for the one it replaces. Called by connectProvider after the provider accepted the credentials.
   */
  async put(c: NewConnection): Promise<StoredConnection> {
    const id = c.id;
    const { sealed, keyId } = c.seal(id);
    const rows = await this.db.transaction(async (tx) => {
      const before = await tx.query<{ id: string }>(`SELECT id FROM provider_connections WHERE tenant_id = $1 AND provider = $2 FOR UPDATE`, [c.tenantId, c.provider]);
      if (before[0]) await tx.query(`DELETE FROM shared_tokens WHERE name LIKE $1`, [`% connection:${before[0].id}`]);
      return tx.query<Row>(
        `INSERT INTO provider_connections (tenant_id, provider, id, status, account_id, account_name, sealed, key_id, connected_at, expires_at, last_error)
         VALUES ($1, $2, $3, 'CONNECTED', $4, $5, $6, $7, now(), $8, NULL)
         ON CONFLICT (tenant_id, provider) DO UPDATE SET id = excluded.id, status = 'CONNECTED', account_id = excluded.account_id,
           account_name = excluded.account_name, sealed = excluded.sealed, key_id = excluded.key_id, connected_at = now(),
           expires_at = excluded.expires_at, last_error = NULL, updated_at = now()
         RETURNING *`,
        [c.tenantId, c.provider, id, c.accountId, c.accountName, sealed, keyId, c.expiresAt],
      );
    });
    return toConnection(rows[0]!);
  }

  /**
   * Records that the tenant owns the provider's account `accountId` before its credentials arrive (a Salla store whose
   * app.store.authorize is awaited): NEEDS_REAUTHORIZATION with no credentials, under a new id. One statement.
   */
  async expect(id: string, tenantId: string, provider: string, accountId: string, reason: string): Promise<StoredConnection> {
    const rows = await this.db.query<Row>(
      `INSERT INTO provider_connections (tenant_id, provider, id, status, account_id, account_name, sealed, key_id, connected_at, expires_at, last_error)
       VALUES ($1, $2, $3, 'NEEDS_REAUTHORIZATION', $4, NULL, NULL, NULL, NULL, NULL, $5)
       ON CONFLICT (tenant_id, provider) DO UPDATE SET id = excluded.id, status = excluded.status, account_id = excluded.account_id, account_name = NULL,
         sealed = NULL, key_id = NULL, connected_at = NULL, expires_at = NULL, last_error = excluded.last_error, updated_at = now()
       RETURNING *`,
      [tenantId, provider, id, accountId, reason],
    );
    return toConnection(rows[0]!);
  }

  /** The tenant's connection to the provider, whatever its status; null when it never connected. One read. */
  async get(tenantId: string, provider: string): Promise<StoredConnection | null> {
    const rows = await this.db.query<Row>(`SELECT * FROM provider_connections WHERE tenant_id = $1 AND provider = $2`, [tenantId, provider]);
    return rows[0] ? toConnection(rows[0]) : null;
  }

  /** Every connection of the tenant, by provider. One read. */
  async list(tenantId: string): Promise<StoredConnection[]> {
    return (await this.db.query<Row>(`SELECT * FROM provider_connections WHERE tenant_id = $1 ORDER BY provider`, [tenantId])).map(toConnection);
  }

  /** The live connections (not DISCONNECTED) of a provider's account, across tenants: who a store's event is for. */
  async byAccount(provider: string, accountId: string): Promise<StoredConnection[]> {
    return (await this.db.query<Row>(`SELECT * FROM provider_connections WHERE provider = $1 AND account_id = $2 AND status <> 'DISCONNECTED' ORDER BY tenant_id`, [provider, accountId])).map(toConnection);
  }

  /** The CONNECTED connections of a provider, across tenants (the sync's passes). One read. */
  async connectedTo(provider: string): Promise<StoredConnection[]> {
    return (await this.db.query<Row>(`SELECT * FROM provider_connections WHERE provider = $1 AND status = 'CONNECTED' ORDER BY tenant_id`, [provider])).map(toConnection);
  }

  /** Erases the credentials and marks the connection DISCONNECTED; null when there was none. Its shared tokens go too. */
  async disconnect(tenantId: string, provider: string): Promise<StoredConnection | null> {
    const rows = await this.db.transaction(async (tx) => {
      const updated = await tx.query<Row>(
        `UPDATE provider_connections SET status = 'DISCONNECTED', sealed = NULL, key_id = NULL, expires_at = NULL, updated_at = now()
         WHERE tenant_id = $1 AND provider = $2 RETURNING *`,
        [tenantId, provider],
      );
      if (updated[0]) await tx.query(`DELETE FROM shared_tokens WHERE name LIKE $1`, [`% connection:${updated[0].id}`]);
      return updated;
    });
    return rows[0] ? toConnection(rows[0]) : null;
  }

  /**
   * Marks a connection the provider refused as NEEDS_REAUTHORIZATION, with why; only that connection (by id), only
   * while CONNECTED: a refusal that arrives after a reconnect does not touch the new one. Returns whether it changed.
   */
  async refused(id: string, reason: string): Promise<boolean> {
    const rows = await this.db.query(`UPDATE provider_connections SET status = 'NEEDS_REAUTHORIZATION', last_error = $2, updated_at = now() WHERE id = $1 AND status = 'CONNECTED' RETURNING id`, [id, reason]);
    return rows.length > 0;
  }

  /** When the connection's tokens now run out, as a renewal learnt (Salla's `expires`). */
  async renewed(id: string, expiresAt: Date): Promise<void> {
    await this.db.query(`UPDATE provider_connections SET expires_at = $2, updated_at = now() WHERE id = $1 AND status <> 'DISCONNECTED'`, [id, expiresAt]);
  }

  /** Up to `limit` connections whose credentials are sealed under one of `keyIds` (the older keys of a rotation). */
  async sealedUnder(keyIds: readonly string[], limit: number): Promise<StoredConnection[]> {
    if (keyIds.length === 0) return [];
    return (await this.db.query<Row>(`SELECT * FROM provider_connections WHERE sealed IS NOT NULL AND key_id = ANY($1::text[]) ORDER BY id LIMIT $2`, [keyIds, limit])).map(toConnection);
  }

  /** Replaces a connection's sealed credentials with the same ones sealed under another key; only if unchanged meanwhile. */
  async reseal(id: string, before: string, sealed: string, keyId: string): Promise<boolean> {
    const rows = await this.db.query(`UPDATE provider_connections SET sealed = $3, key_id = $4 WHERE id = $1 AND sealed = $2 RETURNING id`, [id, before, sealed, keyId]);
    return rows.length > 0;
  }
}
