import { randomUUID } from 'node:crypto';
import type { InvoiceRecord, ProviderInvoiceRef } from '../domain/invoice';
import { contentToJson, headerToJson, kpisToJson } from '../domain/invoice.codec';
import type { Database } from './database';

/** A known invoice the sync may read again, with the tenant that owns it. */
export interface KnownInvoice extends ProviderInvoiceRef {
  tenantId: string;
  seq: string;
}

interface KnownRow {
  tenant_id: string;
  provider_invoice_id: string;
  order_id: string;
  seq: string;
}
const toKnown = (provider: string) => (r: KnownRow): KnownInvoice => ({
  provider: provider as KnownInvoice['provider'],
  providerInvoiceId: r.provider_invoice_id,
  orderId: r.order_id,
  tenantId: r.tenant_id,
  seq: r.seq,
});

/** Statuses after which nothing but a rare reversal changes an invoice: the sync's refresh pass skips them. */
const SETTLED = ['PAID', 'VOID'];

/**
 * What the sync reads and writes in the ledger: known invoices and orders by provider, invoices found at a provider
 * (origin EXTERNAL), and each provider's sync position. Provider codes are data here; every method is one statement.
 */
export class SyncStore {
  constructor(private readonly db: Database) {}

  /** Known invoices (any tenant) of these provider invoice ids or of these orders, at one provider. */
  async known(provider: string, providerInvoiceIds: readonly string[], orderIds: readonly string[]): Promise<KnownInvoice[]> {
    if (providerInvoiceIds.length === 0 && orderIds.length === 0) return [];
    const rows = await this.db.query<KnownRow>(
      `SELECT tenant_id, provider_invoice_id, order_id, seq FROM invoices
        WHERE provider = $1 AND (provider_invoice_id = ANY($2::text[]) OR order_id = ANY($3::text[]))
        ORDER BY seq`,
      [provider, providerInvoiceIds, orderIds],
    );
    return rows.map(toKnown(provider));
  }

  /**
   * A page of the provider's known invoices that can still change (not PAID or VOID), in creation order after `afterSeq`:
   * the sync pass reads them again.
   */
  async unsettled(provider: string, afterSeq: string | null, limit: number): Promise<KnownInvoice[]> {
    const rows = await this.db.query<KnownRow>(
      `SELECT tenant_id, provider_invoice_id, order_id, seq FROM invoices
        WHERE provider = $1 AND status <> ALL($2::text[]) AND ($3::bigint IS NULL OR seq > $3::bigint)
        ORDER BY seq LIMIT $4`,
      [provider, SETTLED, afterSeq, limit],
    );
    return rows.map(toKnown(provider));
  }

  /**
   * A page of the orders the ledger knows at a provider, in id order after `afterOrderId`, each with the tenants that
   * have invoices of it (discovery records a found invoice only for an order exactly one tenant owns).
   */
  async orders(provider: string, afterOrderId: string | null, limit: number): Promise<Array<{ orderId: string; tenants: string[] }>> {
    const rows = await this.db.query<{ order_id: string; tenants: string[] }>(
      `SELECT order_id, array_agg(DISTINCT tenant_id) AS tenants FROM invoices
        WHERE provider = $1 AND ($2::text IS NULL OR order_id > $2::text)
        GROUP BY order_id ORDER BY order_id LIMIT $3`,
      [provider, afterOrderId, limit],
    );
    return rows.map((r) => ({ orderId: r.order_id, tenants: r.tenants }));
  }

  /** The tenants that have invoices of each order at a provider. */
  async ownersOf(provider: string, orderIds: readonly string[]): Promise<Map<string, string[]>> {
    if (orderIds.length === 0) return new Map();
    const rows = await this.db.query<{ order_id: string; tenants: string[] }>(
      `SELECT order_id, array_agg(DISTINCT tenant_id) AS tenants FROM invoices WHERE provider = $1 AND order_id = ANY($2::text[]) GROUP BY order_id`,
      [provider, orderIds],
    );
    return new Map(rows.map((r) => [r.order_id, r.tenants]));
  }

  /**
   * Records invoices found at their provider (origin EXTERNAL, no attempt) for the tenant owning their order, with
   * what the read found and when. A provider invoice already recorded (ours, or found before) is left alone, so a
   * found invoice is never recorded twice, nor over one of ours. One of ours whose create's success is stored after
   * this takes the row over (Ledger.succeed). Returns the provider invoice ids it recorded.
   */
  async recordExternal(found: ReadonlyArray<{ tenantId: string; record: InvoiceRecord; readAt: Date }>): Promise<string[]> {
    if (found.length === 0) return [];
    const rows = await this.db.query<{ provider_invoice_id: string }>(
      `INSERT INTO invoices (id, tenant_id, provider, provider_invoice_id, order_id, attempt_id, origin, snapshot, status, kind,
                             currency_code, issue_date, due_date, total, content, kpis, synced_at)
       SELECT id::uuid, tenant_id, provider, provider_invoice_id, order_id, NULL, 'EXTERNAL', snapshot::jsonb, status, kind,
              currency_code, issue_date::date, due_date::date, total::numeric, content::jsonb, kpis::jsonb, read_at::timestamptz
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                     $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) WITH ORDINALITY
              AS f(id, tenant_id, provider, provider_invoice_id, order_id, snapshot, status, kind, currency_code, issue_date,
                   due_date, total, content, kpis, read_at, n)
        ORDER BY n
       ON CONFLICT DO NOTHING
       RETURNING provider_invoice_id`,
      [
        found.map(() => randomUUID()),
        found.map((f) => f.tenantId),
        found.map((f) => f.record.header.provider),
        found.map((f) => f.record.header.providerInvoiceId),
        found.map((f) => f.record.header.orderId),
        found.map((f) => JSON.stringify(headerToJson(f.record.header))),
        found.map((f) => f.record.header.status),
        found.map((f) => f.record.header.kind),
        found.map((f) => f.record.header.total.currencyCode),
        found.map((f) => f.record.header.issueDate),
        found.map((f) => f.record.header.dueDate),
        found.map((f) => f.record.header.total.amount.toFixed()),
        found.map((f) => (f.record.content ? JSON.stringify(contentToJson(f.record.content)) : null)),
        found.map((f) => (f.record.kpis ? JSON.stringify(kpisToJson(f.record.kpis)) : null)),
        found.map((f) => f.readAt.toISOString()),
      ],
    );
    return rows.map((r) => r.provider_invoice_id);
  }

  /** Where the provider's last sync pass got to (opaque to the ledger), and when it ended. */
  async position<T>(provider: string): Promise<{ position: T | null; passedAt: Date | null }> {
    const [row] = await this.db.query<{ position: T | null; passed_at: Date | null }>(`SELECT position, passed_at FROM sync_positions WHERE provider = $1`, [provider]);
    return { position: row?.position ?? null, passedAt: row?.passed_at ? new Date(row.passed_at) : null };
  }

  /** Keeps the provider's sync position; `passed` also stamps the end of a whole pass. */
  async savePosition(provider: string, position: unknown, passed: boolean): Promise<void> {
    await this.db.query(
      `INSERT INTO sync_positions (provider, position, passed_at, updated_at) VALUES ($1, $2::jsonb, CASE WHEN $3 THEN now() END, now())
       ON CONFLICT (provider) DO UPDATE SET position = EXCLUDED.position, updated_at = now(),
         passed_at = CASE WHEN $3 THEN now() ELSE sync_positions.passed_at END`,
      [provider, JSON.stringify(position ?? null), passed],
    );
  }
}
