import { randomUUID } from 'node:crypto';
import type { FailureDisposition, UserError } from '../domain/errors';
import type { Invoice, InvoiceHeader, InvoiceRecord } from '../domain/invoice';
import { contentToJson, headerToJson, kpisToJson } from '../domain/invoice.codec';
import type { Database } from './database';
import { GroupCommit } from './group-commit';
import { INVOICE_COLUMNS, toInvoice, type InvoiceRow } from './invoice-row';

export type AttemptState = 'pending' | 'succeeded' | 'failed' | 'unknown';

/** One createInvoice attempt as recorded; the key of idempotency and of crash repair. */
export interface Attempt {
  id: string;
  tenantId: string;
  idempotencyKey: string;
  provider: string;
  orderId: string;
  inputFingerprint: string;
  /** The provider input in JSON form, enough to look the outcome up at the provider. */
  input: unknown;
  state: AttemptState;
  disposition: FailureDisposition | null;
  userErrors: UserError[] | null;
  providerInvoiceIds: string[];
  tries: number;
  leaseExpiresAt: Date | null;
  /** The provider account the attempt was sent to, as its caller named it (null: not recorded, as before 0010). */
  account: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What the provider created for an attempt, to record. */
interface Success {
  attemptId: string;
  tenantId: string;
  records: InvoiceRecord[];
}

/** The columns an invoice's record fills besides its ids, as text for one statement's parameters or unnest. */
const RECORD_COLUMNS = ['snapshot', 'status', 'kind', 'currency_code', 'issue_date', 'due_date', 'total', 'content', 'kpis'] as const;
const RECORD_CASTS = ['jsonb', 'text', 'text', 'text', 'date', 'date', 'numeric', 'jsonb', 'jsonb'] as const;
function recordValues(r: InvoiceRecord): Array<string | null> {
  const h = r.header;
  return [
    JSON.stringify(headerToJson(h)),
    h.status,
    h.kind,
    h.total.currencyCode,
    h.issueDate,
    h.dueDate,
    h.total.amount.toFixed(),
    r.content && JSON.stringify(contentToJson(r.content)),
    r.kpis && JSON.stringify(kpisToJson(r.kpis)),
  ];
}
const asRecord = (x: InvoiceHeader | InvoiceRecord): InvoiceRecord => ('header' in x ? x : { header: x, content: null, kpis: null });

/** Who holds an attempt: its id and the try it was claimed or taken over at. */
export type AttemptOwner = Pick<Attempt, 'id' | 'tries'>;

export interface NewAttempt {
  tenantId: string;
  idempotencyKey: string;
  provider: string;
  orderId: string;
  inputFingerprint: string;
  input: unknown;
  leaseMs: number;
  /** The provider account it is sent to (opaque here); null when the caller cannot name one. */
  account?: string | null;
}

interface AttemptRow {
  id: string;
  tenant_id: string;
  idempotency_key: string;
  provider: string;
  order_id: string;
  input_fingerprint: string;
  input: unknown;
  state: AttemptState;
  disposition: FailureDisposition | null;
  user_errors: UserError[] | null;
  provider_invoice_ids: string[];
  tries: number;
  lease_expires_at: Date | null;
  account: string | null;
  created_at: Date;
  updated_at: Date;
}

const toAttempt = (r: AttemptRow): Attempt => ({
  id: r.id,
  tenantId: r.tenant_id,
  idempotencyKey: r.idempotency_key,
  provider: r.provider,
  orderId: r.order_id,
  inputFingerprint: r.input_fingerprint,
  input: r.input,
  state: r.state,
  disposition: r.disposition,
  userErrors: r.user_errors,
  providerInvoiceIds: r.provider_invoice_ids ?? [],
  tries: r.tries,
  leaseExpiresAt: r.lease_expires_at ? new Date(r.lease_expires_at) : null,
  account: r.account ?? null,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

const INSERTED_COLUMNS = `${INVOICE_COLUMNS}, provider, provider_invoice_id`;
type InsertedRow = InvoiceRow & { provider: string; provider_invoice_id: string };

/**
 * SET clause closing an attempt as succeeded with the provider ids in the SQL expression `ids`. Not fenced: invoices the provider issued are facts,
 * whoever holds the attempt now. Ids already recorded on it (a concurrent owner's) are kept, in order, so nothing
 * created is ever dropped from the attempt.
 */
const closeSucceeded = (ids: string) => `state = 'succeeded', disposition = NULL, user_errors = NULL,
  provider_invoice_ids = CASE WHEN state = 'succeeded'
    THEN provider_invoice_ids || ARRAY(SELECT x FROM unnest(${ids}) AS x WHERE x <> ALL (provider_invoice_ids))
    ELSE ${ids} END,
  lease_expires_at = NULL, updated_at = now(), completed_at = now()`;

/**
 * ON CONFLICT clause of the invoices a success inserts (table `invoices`, proposed row EXCLUDED). A provider invoice is
 * recorded once across tenants (invoices_provider_invoice_once), so that index is the arbiter. The row already there
 * is kept as it is (another tenant's, or ours by any attempt), except an EXTERNAL row of the same tenant: the sync or
 * a webhook found the invoice (Zuora's Invoice Posted, Salla's invoice.created) before this create's success was
 * stored. The create takes that row over: it becomes the row the insert would have written (origin CREATED_HERE, the
 * attempt, the create's order and header), keeping its id, seq and created_at, which Order.invoices, invoices(origin:
 * EXTERNAL) and entity references may already have served; lines, taxes and kpis the read found stay where the
 * create brought none. synced_at is cleared with the header replaced: the next read of any age is stored, and the
 * refresher reads it as not read since creation.
 */
const TAKE_OVER_EXTERNAL = `ON CONFLICT (provider, provider_invoice_id) DO UPDATE SET
    origin = EXCLUDED.origin, attempt_id = EXCLUDED.attempt_id, order_id = EXCLUDED.order_id,
    ${RECORD_COLUMNS.map((c) => (c === 'content' || c === 'kpis' ? `${c} = COALESCE(EXCLUDED.${c}, invoices.${c})` : `${c} = EXCLUDED.${c}`)).join(', ')},
    synced_at = NULL
  WHERE invoices.origin = 'EXTERNAL' AND invoices.tenant_id = EXCLUDED.tenant_id`;

/**
 * Whether a success's write failed on the (tenant, provider, provider invoice id) constraint, which is not its arbiter
 * (TAKE_OVER_EXTERNAL): PostgreSQL reports it when another transaction inserts the same invoice for the same tenant
 * between this insert's conflict check and its index entries (a webhook's EXTERNAL record, a concurrent owner). That
 * row is committed by then, so the write done again takes it over or keeps it.
 */
const lostInsertRace = (err: unknown): boolean =>
  (err as { code?: string; constraint?: string } | null)?.code === '23505' && (err as { constraint?: string }).constraint === 'invoices_provider_id';

/**
 * The record of every attempt and every invoice created through this service. It stores provider codes and
 * normalised snapshots as data and knows nothing of any provider. Every method is one round trip unless it says so.
 */
export class Ledger {
  /** Concurrent claims and successes are written in batches (see GroupCommit); `writes` counts them. */
  private readonly claims: GroupCommit<NewAttempt & { id: string }, { attempt: Attempt; fresh: boolean }>;
  private readonly successes: GroupCommit<Success, Invoice[]>;
  readonly writes = { claims: { batches: 0, items: 0, fallbacks: 0 }, successes: { batches: 0, items: 0, fallbacks: 0 } };

  constructor(private readonly db: Database) {
    this.claims = new GroupCommit((a) => this.claimOne(a), (as) => this.claimMany(as), this.writes.claims, { name: 'attempt_claim' });
    this.successes = new GroupCommit((s) => this.succeedOne(s), (ss) => this.succeedMany(ss), this.writes.successes, { name: 'attempt_success' });
  }

  /**
   * Records a new pending attempt under (tenant, key), or returns the attempt already there. Called before any
   * provider call. One statement when the key is new (shared with the claims that arrive meanwhile), one more when
   * it exists.
   */
  claim(a: NewAttempt): Promise<{ attempt: Attempt; fresh: boolean }> {
    return this.claims.write({ ...a, id: randomUUID() });
  }

  private async claimOne(a: NewAttempt & { id: string }): Promise<{ attempt: Attempt; fresh: boolean }> {
    const inserted = await this.db.query<AttemptRow>(
      `INSERT INTO invoice_attempts (id, tenant_id, idempotency_key, provider, order_id, input_fingerprint, input, state, lease_expires_at, account)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'pending', now() + make_interval(secs => $8::double precision / 1000), $9)
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
       RETURNING *`,
      [a.id, a.tenantId, a.idempotencyKey, a.provider, a.orderId, a.inputFingerprint, JSON.stringify(a.input), a.leaseMs, a.account ?? null],
    );
    return inserted[0] ? { attempt: toAttempt(inserted[0]), fresh: true } : this.existing(a);
  }

  /** Many claims as one statement. Of claims sharing a key in one batch, the first inserts and the rest find it. */
  private async claimMany(as: ReadonlyArray<NewAttempt & { id: string }>): Promise<Array<{ attempt: Attempt; fresh: boolean }>> {
    const inserted = await this.db.query<AttemptRow>(
      `INSERT INTO invoice_attempts (id, tenant_id, idempotency_key, provider, order_id, input_fingerprint, input, state, lease_expires_at, account)
       SELECT id::uuid, tenant_id, idempotency_key, provider, order_id, input_fingerprint, input::jsonb, 'pending',
              now() + make_interval(secs => lease_ms::double precision / 1000), account
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY
              AS a(id, tenant_id, idempotency_key, provider, order_id, input_fingerprint, input, lease_ms, account, n)
        -- One order for every replica's batches, so that two of them claiming the same keys cannot deadlock.
        ORDER BY tenant_id, idempotency_key, n
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
       RETURNING *`,
      [
        as.map((a) => a.id),
        as.map((a) => a.tenantId),
        as.map((a) => a.idempotencyKey),
        as.map((a) => a.provider),
        as.map((a) => a.orderId),
        as.map((a) => a.inputFingerprint),
        as.map((a) => JSON.stringify(a.input)),
        as.map((a) => String(a.leaseMs)),
        as.map((a) => a.account ?? null),
      ],
    );
    const byId = new Map(inserted.map((r) => [r.id, toAttempt(r)]));
    return Promise.all(as.map(async (a) => {
      const mine = byId.get(a.id);
      return mine ? { attempt: mine, fresh: true } : this.existing(a);
    }));
  }

  /**
   * The attempt already under a claim's key. One that carries the claim's own id was written by a batch whose answer
   * was lost after it committed (its items are then written again one by one): it is this claim's to run only if
   * nobody took it over meanwhile, which a fenced lease renewal settles. Otherwise the caller resumes it as anyone's.
   */
  private async existing(a: NewAttempt & { id: string }): Promise<{ attempt: Attempt; fresh: boolean }> {
    const existing = await this.findAttempt(a.tenantId, a.idempotencyKey);
    if (!existing) throw new Error('attempt vanished between insert and select');
    const fresh = existing.id === a.id && (await this.extendLease({ id: existing.id, tries: 1 }, a.leaseMs));
    return { attempt: existing, fresh };
  }

  async findAttempt(tenantId: string, idempotencyKey: string): Promise<Attempt | null> {
    const rows = await this.db.query<AttemptRow>('SELECT * FROM invoice_attempts WHERE tenant_id = $1 AND idempotency_key = $2', [tenantId, idempotencyKey]);
    return rows[0] ? toAttempt(rows[0]) : null;
  }

  async getAttempt(id: string): Promise<Attempt | null> {
    const rows = await this.db.query<AttemptRow>('SELECT * FROM invoice_attempts WHERE id = $1', [id]);
    return rows[0] ? toAttempt(rows[0]) : null;
  }

  /**
   * Takes over an attempt for another try, if it is still in one of `from` and (for pending) its lease has run
   * out. Compare-and-set: of many replicas racing, exactly one gets the attempt back.
   */
  async retake(id: string, from: AttemptState[], leaseMs: number): Promise<Attempt | null> {
    const rows = await this.db.query<AttemptRow>(
      `UPDATE invoice_attempts
          SET state = 'pending', tries = tries + 1, updated_at = now(),
              lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1 AND state = ANY($2::text[])
          AND (state <> 'pending' OR lease_expires_at < now())
       RETURNING *`,
      [id, from, leaseMs],
    );
    return rows[0] ? toAttempt(rows[0]) : null;
  }

  /**
   * Records what the provider created and closes the attempt, atomically. An invoice already recorded (same
   * provider and provider id) is kept, not duplicated; one recorded EXTERNAL for this tenant (found before this
   * success was stored) is taken over as this attempt's, and one of another tenant's is left alone and not returned
   * (TAKE_OVER_EXTERNAL). Returns the attempt's invoices, in the order given. One statement, shared with the
   * successes that arrive meanwhile.
   */
  succeed(attemptId: string, tenantId: string, invoices: ReadonlyArray<InvoiceHeader | InvoiceRecord>): Promise<Invoice[]> {
    return this.successes.write({ attemptId, tenantId, records: invoices.map(asRecord) });
  }

  /** One success: the invoices' inserts and the attempt's close in one transaction (cheaper than the batch's CTE). */
  private async succeedOne(s: Success): Promise<Invoice[]> {
    const inserted = await this.insertOne(s).catch((err: unknown) => {
      if (lostInsertRace(err)) return this.insertOne(s);
      throw err;
    });
    return (await this.answer([s], inserted))[0]!;
  }

  private insertOne(s: Success): Promise<InsertedRow[]> {
    return this.db.transaction(async (tx) => {
      const rows: InsertedRow[] = [];
      for (const r of s.records) {
        const h = r.header;
        rows.push(
          ...(await tx.query<InsertedRow>(
            `INSERT INTO invoices (id, tenant_id, provider, provider_invoice_id, order_id, attempt_id, ${RECORD_COLUMNS.join(', ')})
             VALUES ($1, $2, $3, $4, $5, $6, ${RECORD_CASTS.map((c, i) => `$${i + 7}::${c}`).join(', ')})
             ${TAKE_OVER_EXTERNAL}
             RETURNING ${INSERTED_COLUMNS}`,
            [randomUUID(), s.tenantId, h.provider, h.providerInvoiceId, h.orderId, s.attemptId, ...recordValues(r)],
          )),
        );
      }
      await tx.query(
        `UPDATE invoice_attempts SET ${closeSucceeded('$2::text[]')} WHERE id = $1`,
        [s.attemptId, [...new Set(s.records.map((r) => r.header.providerInvoiceId))]],
      );
      return rows;
    });
  }

  /**
   * Many successes as one statement: insert the invoices and close the attempts. A success some of whose invoices
   * were already recorded (a replay, a repair, a concurrent owner) is then read back on its own. A provider invoice
   * twice in the batch is inserted once, for its first success (an ON CONFLICT DO UPDATE statement cannot touch one row
   * twice); the others find it as already recorded.
   */
  private async succeedMany(ss: readonly Success[]): Promise<Invoice[][]> {
    const rows = ss.flatMap((s) => s.records.map((r) => ({ tenantId: s.tenantId, attemptId: s.attemptId, h: r.header, values: recordValues(r) })));
    const recordParams = RECORD_COLUMNS.map((_, i) => `$${i + 8}::text[]`).join(', ');
    const inserted = await this.db.query<InsertedRow>(
      `WITH h AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], ${recordParams}) WITH ORDINALITY
                AS h(id, attempt_id, tenant_id, provider, provider_invoice_id, order_id, ${RECORD_COLUMNS.join(', ')}, n)
       ), ins AS (
         INSERT INTO invoices (id, tenant_id, provider, provider_invoice_id, order_id, attempt_id, ${RECORD_COLUMNS.join(', ')})
         SELECT id::uuid, tenant_id, provider, provider_invoice_id, order_id, attempt_id::uuid,
                ${RECORD_COLUMNS.map((c, i) => `${c}::${RECORD_CASTS[i]}`).join(', ')}
           FROM (SELECT DISTINCT ON (provider, provider_invoice_id) * FROM h ORDER BY provider, provider_invoice_id, n) d
          ORDER BY n
         ${TAKE_OVER_EXTERNAL}
         RETURNING ${INSERTED_COLUMNS}
       ), closed AS (
         UPDATE invoice_attempts t SET ${closeSucceeded('c.ids')}
           FROM (SELECT a::uuid AS attempt_id,
                        ARRAY(SELECT provider_invoice_id FROM h WHERE h.attempt_id = a GROUP BY provider_invoice_id ORDER BY min(n)) AS ids
                   FROM unnest($7::text[]) AS a) c
          WHERE t.id = c.attempt_id
         RETURNING t.id
       )
       SELECT * FROM ins`,
      [
        rows.map(() => randomUUID()),
        rows.map((r) => r.attemptId),
        rows.map((r) => r.tenantId),
        rows.map((r) => r.h.provider),
        rows.map((r) => r.h.providerInvoiceId),
        rows.map((r) => r.h.orderId),
        ss.map((s) => s.attemptId),
        ...RECORD_COLUMNS.map((_, i) => rows.map((r) => r.values[i] ?? null)),
      ],
    );
    return this.answer(ss, inserted);
  }

  /** Each success's invoices, from the rows its write inserted; one whose invoices were not all new is read back. */
  private answer(ss: readonly Success[], inserted: InsertedRow[]): Promise<Invoice[][]> {
    const key = (tenantId: string, provider: string, providerInvoiceId: string) => `${tenantId}\u0000${provider}\u0000${providerInvoiceId}`;
    const recorded = new Map(inserted.map((r) => [key(r.tenant_id, r.provider, r.provider_invoice_id), toInvoice(r)]));
    return Promise.all(
      ss.map(async (s) => {
        const invoices = s.records.map(({ header: h }) => recorded.get(key(s.tenantId, h.provider, h.providerInvoiceId)));
        return invoices.every((i) => i) ? [...new Set(invoices as Invoice[])] : this.invoicesOf(s);
      }),
    );
  }

  /** A success's invoices as now committed, in the order of its headers (another tenant's are absent). */
  private async invoicesOf(s: Success): Promise<Invoice[]> {
    const rows = await this.db.query<InvoiceRow>(
      `SELECT ${INVOICE_COLUMNS} FROM invoices WHERE tenant_id = $1 AND provider = $2 AND provider_invoice_id = ANY($3::text[])`,
      [s.tenantId, s.records[0]?.header.provider ?? '', s.records.map((r) => r.header.providerInvoiceId)],
    );
    const order = new Map(s.records.map((r, i) => [r.header.providerInvoiceId, i]));
    return rows.map(toInvoice).sort((a, b) => order.get(a.providerInvoiceId)! - order.get(b.providerInvoiceId)!);
  }

  /**
   * Closes the attempt as failed (nothing happened at the provider) or unknown (it may have acted), if `owner` still
   * holds it: pending, at the try it took. Returns false when someone else took it over or settled it meanwhile, so a
   * late owner never overwrites a newer outcome.
   */
  async fail(owner: AttemptOwner, state: 'failed' | 'unknown', disposition: FailureDisposition, userErrors: UserError[]): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `UPDATE invoice_attempts
          SET state = $2, disposition = $3, user_errors = $4::jsonb, lease_expires_at = NULL, updated_at = now(), completed_at = now()
        WHERE id = $1 AND state = 'pending' AND tries = $5
       RETURNING id`,
      [owner.id, state, disposition, JSON.stringify(userErrors), owner.tries],
    );
    return rows.length > 0;
  }

  /**
   * Keeps `owner`'s lease on a pending attempt alive while its provider call runs, so that only a dead owner's
   * attempt is ever taken over. One write; false when the owner no longer holds the attempt.
   */
  async extendLease(owner: AttemptOwner, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `UPDATE invoice_attempts SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1 AND state = 'pending' AND tries = $2
       RETURNING id`,
      [owner.id, owner.tries, leaseMs],
    );
    return rows.length > 0;
  }

  /**
   * Of these provider invoice ids, the ones already recorded by another attempt, of any tenant: tenants may share a
   * provider account, and an invoice another tenant recorded is never this attempt's, however well it matches.
   */
  async recordedByOthers(attempt: Pick<Attempt, 'id' | 'provider'>, providerInvoiceIds: string[]): Promise<Set<string>> {
    if (providerInvoiceIds.length === 0) return new Set();
    const rows = await this.db.query<{ provider_invoice_id: string }>(
      `SELECT provider_invoice_id FROM invoices
        WHERE provider = $1 AND provider_invoice_id = ANY($2::text[]) AND attempt_id <> $3`,
      [attempt.provider, providerInvoiceIds, attempt.id],
    );
    return new Set(rows.map((r) => r.provider_invoice_id));
  }

  /** The invoices an attempt created, in creation order. */
  async invoicesOfAttempt(attemptId: string): Promise<Invoice[]> {
    const rows = await this.db.query<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM invoices WHERE attempt_id = $1 ORDER BY seq`, [attemptId]);
    return rows.map(toInvoice);
  }

  /** Invoices by id, for `invoice(id)` and `_entities`: one query for the whole batch. Missing ids are absent. */
  async invoicesByIds(tenantId: string, ids: readonly string[]): Promise<Invoice[]> {
    const uuids = ids.filter(isUuid);
    if (uuids.length === 0) return [];
    const rows = await this.db.query<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM invoices WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, [tenantId, uuids]);
    return rows.map(toInvoice);
  }

  /** Invoices of many orders, oldest first, for `Order.invoices`: one query for the whole batch. */
  async invoicesByOrderIds(tenantId: string, orderIds: readonly string[]): Promise<Invoice[]> {
    if (orderIds.length === 0) return [];
    const rows = await this.db.query<InvoiceRow>(
      `SELECT ${INVOICE_COLUMNS} FROM invoices WHERE tenant_id = $1 AND order_id = ANY($2::text[]) ORDER BY seq`,
      [tenantId, orderIds],
    );
    return rows.map(toInvoice);
  }

  /**
   * Stores what provider reads found (header, payment figures, and lines and taxes once final) on the invoices they
   * read, across tenants (a provider invoice is recorded once). A read older than the one stored is ignored, so a
   * slow read never overwrites a newer one. The order and a document link only the create answer carried are kept.
   * One statement for the batch; returns how many invoices it updated.
   */
  async recordReads(reads: ReadonlyArray<{ record: InvoiceRecord; readAt: Date }>): Promise<number> {
    if (reads.length === 0) return 0;
    const recordParams = RECORD_COLUMNS.map((_, i) => `$${i + 4}::text[]`).join(', ');
    // Each record's column values once (they hold its JSON), not once per column.
    const values = reads.map((r) => recordValues(r.record));
    const rows = await this.db.query<{ id: string }>(
      `UPDATE invoices i SET
          snapshot = u.snapshot::jsonb || jsonb_build_object(
            'orderId', i.snapshot->'orderId',
            'documentUrl', COALESCE(NULLIF(u.snapshot::jsonb->'documentUrl', 'null'::jsonb), i.snapshot->'documentUrl')),
          status = u.status, kind = u.kind, currency_code = u.currency_code, issue_date = u.issue_date::date,
          due_date = u.due_date::date, total = u.total::numeric,
          content = COALESCE(u.content::jsonb, i.content), kpis = COALESCE(u.kpis::jsonb, i.kpis),
          synced_at = u.read_at::timestamptz, refresh_held_until = NULL
         FROM unnest($1::text[], $2::text[], $3::text[], ${recordParams})
              AS u(provider, provider_invoice_id, read_at, ${RECORD_COLUMNS.join(', ')})
        WHERE i.provider = u.provider AND i.provider_invoice_id = u.provider_invoice_id
          AND (i.synced_at IS NULL OR i.synced_at <= u.read_at::timestamptz)
       RETURNING i.id`,
      [
        reads.map((r) => r.record.header.provider),
        reads.map((r) => r.record.header.providerInvoiceId),
        reads.map((r) => r.readAt.toISOString()),
        ...RECORD_COLUMNS.map((_, i) => values.map((v) => v[i] ?? null)),
      ],
    );
    return rows.length;
  }

  /**
   * Of these invoices, holds for `holdMs` those whose status and kpis were last read over `freshnessMs` ago and that
   * no replica holds: the caller refreshes exactly those. Compare-and-set, so of many replicas wanting the same
   * stale invoice one reads it; a refresh that fails leaves the hold to run out, which paces the retries. One statement.
   */
  async holdForRefresh(ids: readonly string[], freshnessMs: number, holdMs: number): Promise<Array<{ id: string; tenantId: string; provider: string; providerInvoiceId: string; orderId: string }>> {
    const uuids = ids.filter(isUuid);
    if (uuids.length === 0) return [];
    const rows = await this.db.query<{ id: string; tenant_id: string; provider: string; provider_invoice_id: string; order_id: string }>(
      `UPDATE invoices SET refresh_held_until = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = ANY($1::uuid[])
          AND (refresh_held_until IS NULL OR refresh_held_until < now())
          AND COALESCE(synced_at, created_at) <= now() - make_interval(secs => $2::double precision / 1000)
       RETURNING id, tenant_id, provider, provider_invoice_id, order_id`,
      [uuids, freshnessMs, holdMs],
    );
    return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, provider: r.provider, providerInvoiceId: r.provider_invoice_id, orderId: r.order_id }));
  }

  /**
   * Open attempts by provider and state, and how many of them are older than their provider's lookup window
   * (`windowsMs`, by provider: past it, only a person can settle them). Read by `GET /metrics`; one query on the
   * open-attempts index, so its cost grows with the open attempts only.
   */
  async openAttemptCounts(windowsMs: Readonly<Record<string, number>>): Promise<Array<{ provider: string; state: 'pending' | 'unknown'; open: number; manual: number }>> {
    const providers = Object.keys(windowsMs);
    const rows = await this.db.query<{ provider: string; state: 'pending' | 'unknown'; open: string; manual: string }>(
      `SELECT a.provider, a.state, count(*) AS open,
              count(*) FILTER (WHERE w.ms IS NOT NULL AND a.created_at < now() - make_interval(secs => w.ms / 1000)) AS manual
         FROM invoice_attempts a
         LEFT JOIN unnest($1::text[], $2::double precision[]) AS w(provider, ms) ON w.provider = a.provider
        WHERE a.state IN ('pending', 'unknown')
        GROUP BY a.provider, a.state`,
      [providers, providers.map((p) => windowsMs[p]!)],
    );
    return rows.map((r) => ({ provider: r.provider, state: r.state, open: Number(r.open), manual: Number(r.manual) }));
  }

  /**
   * Attempts that a crash or a lost answer may have left open, across tenants: unknown ones, and pending ones whose
   * lease has run out, either untouched for at least `graceMs`. Called by the reconciler a page at a time, in id
   * order after `afterId`. One query, on the open-attempts index.
   */
  async staleAttempts(options: { graceMs?: number; limit?: number; afterId?: string } = {}): Promise<Attempt[]> {
    const rows = await this.db.query<AttemptRow>(
      `SELECT * FROM invoice_attempts
        WHERE state IN ('pending', 'unknown')
          AND COALESCE(lease_expires_at, updated_at) < now() - make_interval(secs => $1::double precision / 1000)
          AND ($2::uuid IS NULL OR id > $2::uuid)
        ORDER BY id
        LIMIT $3`,
      [options.graceMs ?? 0, options.afterId ?? null, options.limit ?? 100],
    );
    return rows.map(toAttempt);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids that are not UUIDs cannot be ours; filtering them keeps a bad id from failing the whole batch's query. */
export const isUuid = (id: string): boolean => UUID.test(id);
