import { randomUUID } from 'node:crypto';
import type { Database } from './database';
import { GroupCommit } from './group-commit';

interface Delivery {
  provider: string;
  deliveryKey: string;
  event: string;
  body: string;
  tenantId: string | null;
}

/** A delivery whose reads failed this many times is parked (never taken again; kept for a person). */
export const MAX_EVENT_FAILURES = 20;

/** One webhook delivery as recorded. */
export interface RecordedEvent {
  id: string;
  provider: string;
  event: string;
  /** The body as received (verified JSON text). */
  body: string;
  /** The tenant whose own secret verified the delivery (its account sent it); null: the deployment's secret. */
  tenantId: string | null;
  deliveries: number;
  receivedAt: Date;
  processedAt: Date | null;
}

interface EventRow {
  id: string;
  provider: string;
  event: string;
  body: string;
  tenant_id: string | null;
  deliveries: number;
  received_at: Date;
  processed_at: Date | null;
}

const toEvent = (r: EventRow): RecordedEvent => ({
  id: r.id,
  provider: r.provider,
  event: r.event,
  body: r.body,
  tenantId: r.tenant_id ?? null,
  deliveries: r.deliveries,
  receivedAt: new Date(r.received_at),
  processedAt: r.processed_at ? new Date(r.processed_at) : null,
});

/**
 * Provider webhook deliveries, recorded before they are answered. It stores provider codes and bodies as data and
 * knows nothing of any provider. Every method is one statement.
 */
export class EventLog {
  /** Deliveries arriving together are recorded together (see GroupCommit): a burst costs a statement per batch. */
  private readonly writes: GroupCommit<Delivery, { id: string; fresh: boolean }>;
  readonly stats = { batches: 0, items: 0, fallbacks: 0 };

  constructor(private readonly db: Database) {
    this.writes = new GroupCommit((d) => this.recordMany([d]).then(([r]) => r!), (ds) => this.recordMany(ds), this.stats, { name: 'provider_event' });
  }

  /**
   * Records a verified delivery once per (provider, deliveryKey); a redelivery counts and changes nothing else.
   * `tenantId`: the tenant whose own secret verified it (null: the deployment's). Returns the event's id and whether it
   * is new (only a new one wakes the processing). One statement per batch of concurrent deliveries.
   */
  record(provider: string, deliveryKey: string, event: string, body: string, tenantId: string | null = null): Promise<{ id: string; fresh: boolean }> {
    return this.writes.write({ provider, deliveryKey, event, body, tenantId });
  }

  /** One statement for many deliveries; the same delivery twice in a batch is inserted once and counted twice. */
  private async recordMany(ds: readonly Delivery[]): Promise<Array<{ id: string; fresh: boolean }>> {
    const key = (d: Pick<Delivery, 'provider' | 'deliveryKey'>) => `${d.provider}\u0000${d.deliveryKey}`;
    const unique = new Map<string, { d: Delivery; count: number }>();
    for (const d of ds) {
      const u = unique.get(key(d));
      if (u) u.count++;
      else unique.set(key(d), { d, count: 1 });
    }
    const rows = [...unique.values()];
    const written = await this.db.query<{ id: string; provider: string; delivery_key: string; fresh: boolean }>(
      `INSERT INTO provider_events (id, provider, delivery_key, event, body, deliveries, tenant_id)
       SELECT id::uuid, provider, delivery_key, event, body, n, tenant_id FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[])
              AS u(id, provider, delivery_key, event, body, n, tenant_id)
       ON CONFLICT (provider, delivery_key) DO UPDATE SET deliveries = provider_events.deliveries + EXCLUDED.deliveries
       RETURNING id, provider, delivery_key, (xmax = 0) AS fresh`,
      [rows.map(() => randomUUID()), rows.map((r) => r.d.provider), rows.map((r) => r.d.deliveryKey), rows.map((r) => r.d.event), rows.map((r) => r.d.body), rows.map((r) => r.count), rows.map((r) => r.d.tenantId)],
    );
    const byKey = new Map(written.map((w) => [key({ provider: w.provider, deliveryKey: w.delivery_key }), w]));
    // The first of a batch's copies is the new one (if the row is); the others are redeliveries.
    const seen = new Set<string>();
    return ds.map((d) => {
      const w = byKey.get(key(d))!;
      const first = !seen.has(key(d));
      seen.add(key(d));
      return { id: w.id, fresh: w.fresh && first };
    });
  }

  /**
   * The provider's events not processed yet, oldest first, at most `limit`: what a drain job applies next. One
   * query on the unprocessed-events index.
   */
  async pending(provider: string, limit: number): Promise<RecordedEvent[]> {
    const rows = await this.db.query<EventRow>(
      `SELECT * FROM provider_events WHERE processed_at IS NULL AND provider = $1 AND (retry_at IS NULL OR retry_at <= now()) ORDER BY received_at, id LIMIT $2`,
      [provider, limit],
    );
    return rows.map(toEvent);
  }

  /**
   * Puts events off, so that the drain takes the others first: after a failed read (`counted`: the wait doubles from
   * 0.5 s to 6 h; the MAX_EVENT_FAILURES-th failure parks the event for a person) or while its tenant's connection
   * awaits reauthorization (not counted: a minute, a cheap look at the connection). Returns how many were parked now. One statement.
   */
  async defer(ids: readonly string[], counted: boolean): Promise<number> {
    if (ids.length === 0) return 0;
    const rows = await this.db.query<{ parked: boolean }>(
      `UPDATE provider_events SET failures = failures + $2::int,
              retry_at = CASE WHEN failures + $2::int >= $3::int THEN 'infinity'::timestamptz
                              WHEN $2::int = 0 THEN now() + interval '1 minute'
                              ELSE now() + make_interval(secs => least(0.5 * power(2, failures), 21600)) END
        WHERE id = ANY($1::uuid[]) AND processed_at IS NULL
        RETURNING retry_at = 'infinity'::timestamptz AS parked`,
      [ids, counted ? 1 : 0, MAX_EVENT_FAILURES],
    );
    return rows.filter((r) => r.parked).length;
  }

  /** Marks events processed: their changes were read from the provider and stored. */
  async processed(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(`UPDATE provider_events SET processed_at = now() WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /**
   * Unprocessed deliveries by provider and state: `due` (to be drained now), `retrying` (put off until their retry),
   * `parked` (failed too often: for a person). For GET /metrics; one query on the unprocessed-events index.
   */
  async counts(): Promise<Array<{ provider: string; state: 'due' | 'retrying' | 'parked'; count: number }>> {
    return this.db.query(
      `SELECT provider,
              CASE WHEN retry_at = 'infinity'::timestamptz THEN 'parked' WHEN retry_at > now() THEN 'retrying' ELSE 'due' END AS state,
              count(*)::int AS count
         FROM provider_events WHERE processed_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2`,
    );
  }

  /** When the provider's next put-off event (defer) is due, or null when none waits. One query. */
  async nextRetry(provider: string): Promise<Date | null> {
    const [row] = await this.db.query<{ at: Date | string | null }>(
      `SELECT min(retry_at) AS at FROM provider_events
        WHERE processed_at IS NULL AND provider = $1 AND retry_at > now() AND retry_at < 'infinity'::timestamptz`,
      [provider],
    );
    return row?.at ? new Date(row.at) : null;
  }

  /** Whether the provider has events received over `graceMs` ago, due and not processed (their wake-up was lost, or their retry is due). */
  async stalled(provider: string, graceMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 FROM provider_events
        WHERE processed_at IS NULL AND provider = $1 AND received_at < now() - make_interval(secs => $2::double precision / 1000)
          AND (retry_at IS NULL OR retry_at <= now())
        LIMIT 1`,
      [provider, graceMs],
    );
    return rows.length > 0;
  }
}
