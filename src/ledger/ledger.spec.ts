import { money } from '../domain/money';
import type { InvoiceHeader } from '../domain/invoice';
import type { Database } from './database';
import { Ledger } from './ledger';
import { migrate } from './migrate';
import { SyncStore } from './sync-store';
import { openTestDatabase, storeName } from '../../test/support/store';

const header = (providerInvoiceId: string, orderId = 'o-1'): InvoiceHeader => ({
  provider: 'SALLA',
  providerInvoiceId,
  orderId,
  number: `N-${providerInvoiceId}`,
  kind: 'INVOICE',
  status: 'ISSUED',
  issueDate: '2026-11-22',
  dueDate: null,
  currencyCode: 'SAR',
  subtotal: money('100.10', 'SAR'),
  taxTotal: money('15.02', 'SAR'),
  total: money('115.12', 'SAR'),
  documentUrl: null,
});

const attempt = (key: string, fp = 'fp-1') => ({
  tenantId: 't1',
  idempotencyKey: key,
  provider: 'SALLA',
  orderId: 'o-1',
  inputFingerprint: fp,
  input: { orderId: 'o-1' },
  leaseMs: 30_000,
});

describe(`Ledger (${storeName()})`, () => {
  let db: Database;
  let ledger: Ledger;

  beforeAll(async () => {
    db = await openTestDatabase();
    ledger = new Ledger(db);
  });
  afterAll(() => db.close());

  it('migrations are versioned and re-running them applies nothing', async () => {
    expect(await migrate(db)).toEqual([]);
    const rows = await db.query<{ name: string }>('SELECT name FROM ledger_migrations');
    expect(rows.map((r) => r.name)).toEqual(['0001_attempts_and_invoices', '0002_invoices_by_provider_id', '0003_one_record_per_provider_invoice', '0004_shared_tokens', '0005_invoice_read_model', '0006_invoices_by_status_due', '0007_provider_events_and_sync', '0008_provider_connections', '0009_provider_events_tenant', '0010_attempt_account']);
  });

  it('claims a key once; the second claim returns the same attempt', async () => {
    const first = await ledger.claim(attempt('k-claim'));
    const second = await ledger.claim(attempt('k-claim', 'other'));
    expect(first.fresh).toBe(true);
    expect(second.fresh).toBe(false);
    expect(second.attempt.id).toBe(first.attempt.id);
    expect(second.attempt.inputFingerprint).toBe('fp-1');
    expect(second.attempt.state).toBe('pending');
  });

  it('records invoices with exact amounts and closes the attempt in one transaction', async () => {
    const { attempt: a } = await ledger.claim(attempt('k-succeed'));
    const invoices = await ledger.succeed(a.id, 't1', [header('900'), header('901')]);
    expect(invoices.map((i) => i.providerInvoiceId)).toEqual(['900', '901']);
    expect(invoices[0]!.total.amount.toFixed()).toBe('115.12');
    expect(invoices[0]!.subtotal!.amount.toFixed()).toBe('100.1');
    const closed = await ledger.getAttempt(a.id);
    expect(closed).toMatchObject({ state: 'succeeded', providerInvoiceIds: ['900', '901'], leaseExpiresAt: null });
    expect((await ledger.invoicesOfAttempt(a.id)).map((i) => i.id)).toEqual(invoices.map((i) => i.id));
  });

  it('never records one provider invoice twice', async () => {
    const { attempt: a } = await ledger.claim(attempt('k-dup'));
    const [once] = await ledger.succeed(a.id, 't1', [header('950')]);
    const [again] = await ledger.succeed(a.id, 't1', [header('950')]);
    expect(again!.id).toBe(once!.id);
    const rows = await db.query("SELECT id FROM invoices WHERE provider_invoice_id = '950'");
    expect(rows).toHaveLength(1);
  });

  it('batches reads: many ids or orders cost one query, scoped to the tenant', async () => {
    const { attempt: a } = await ledger.claim(attempt('k-batch'));
    const created = await ledger.succeed(a.id, 't1', [header('960', 'o-a'), header('961', 'o-b'), header('962', 'o-b')]);
    const before = db.stats.queries;
    const byId = await ledger.invoicesByIds('t1', [...created.map((i) => i.id), 'not-a-uuid']);
    expect(db.stats.queries - before).toBe(1);
    expect(byId).toHaveLength(3);
    const byOrder = await ledger.invoicesByOrderIds('t1', ['o-a', 'o-b']);
    expect(byOrder.map((i) => i.providerInvoiceId)).toEqual(['960', '961', '962']);
    expect(await ledger.invoicesByIds('t2', created.map((i) => i.id))).toEqual([]);
  });

  it('lets exactly one racer retake a failed attempt', async () => {
    const { attempt: a } = await ledger.claim(attempt('k-retake'));
    await ledger.fail(a, 'failed', 'retryable', [{ code: 'PROVIDER_UNAVAILABLE', field: null, message: 'down' }]);
    const racers = await Promise.all([1, 2, 3, 4].map(() => ledger.retake(a.id, ['failed', 'unknown'], 30_000)));
    expect(racers.filter(Boolean)).toHaveLength(1);
    expect(racers.find(Boolean)).toMatchObject({ state: 'pending', tries: 2 });
  });

  it('fences closing writes: once an attempt is taken over, its former owner can neither close it nor renew its lease', async () => {
    const { attempt: a } = await ledger.claim({ ...attempt('k-fence'), leaseMs: -1000 });
    const newer = (await ledger.retake(a.id, ['pending'], 30_000))!;
    expect(await ledger.extendLease(a, 30_000)).toBe(false);
    expect(await ledger.fail(a, 'failed', 'final', [{ code: 'ALREADY_INVOICED', field: null, message: 'late' }])).toBe(false);
    expect(await ledger.getAttempt(a.id)).toMatchObject({ state: 'pending', tries: 2 });
    expect(await ledger.extendLease(newer, 30_000)).toBe(true);
    expect(await ledger.fail(newer, 'unknown', 'indeterminate', [])).toBe(true);
    expect(await ledger.getAttempt(a.id)).toMatchObject({ state: 'unknown' });
  });

  it("a late success still records its invoices, beside the ones already on the attempt", async () => {
    const { attempt: a } = await ledger.claim(attempt('k-merge'));
    await ledger.succeed(a.id, 't1', [header('970')]);
    await ledger.succeed(a.id, 't1', [header('971'), header('970')]);
    expect(await ledger.getAttempt(a.id)).toMatchObject({ state: 'succeeded', providerInvoiceIds: ['970', '971'] });
    expect((await ledger.invoicesOfAttempt(a.id)).map((i) => i.providerInvoiceId)).toEqual(['970', '971']);
  });

  it('does not retake a pending attempt whose lease is still running', async () => {
    const { attempt: a } = await ledger.claim(attempt('k-lease'));
    expect(await ledger.retake(a.id, ['pending'], 30_000)).toBeNull();
    const { attempt: b } = await ledger.claim({ ...attempt('k-lease-expired'), leaseMs: -1000 });
    expect(await ledger.retake(b.id, ['pending'], 30_000)).toMatchObject({ tries: 2 });
  });

  describe("a create's success stored after the invoice was found at the provider (origin EXTERNAL)", () => {
    const readAt = new Date('2026-11-23T10:00:00Z');
    const kpis = { outstanding: money('115.12', 'SAR'), paid: money('0', 'SAR'), overdue: false, lastPaymentDate: null, creditApplied: null };
    /** What a webhook or the sync records for an invoice it found: EXTERNAL, no attempt, with what its read found. */
    const foundFirst = async (tenantId: string, providerInvoiceId: string) => {
      const h = { ...header(providerInvoiceId), number: `FOUND-${providerInvoiceId}` };
      expect(await new SyncStore(db).recordExternal([{ tenantId, record: { header: h, content: { lines: [], taxes: [] }, kpis }, readAt }])).toEqual([providerInvoiceId]);
      const [row] = await db.query<{ id: string; seq: string }>('SELECT id, seq FROM invoices WHERE provider_invoice_id = $1', [providerInvoiceId]);
      return row!;
    };
    const rowsOf = (...ids: string[]) =>
      db.query<{ id: string; seq: string; tenant_id: string; origin: string; attempt_id: string | null; number: string; synced_at: Date | null; content: unknown }>(
        `SELECT id, seq, tenant_id, origin, attempt_id, snapshot->>'number' AS number, synced_at, content FROM invoices WHERE provider_invoice_id = ANY($1::text[]) ORDER BY seq`,
        [ids],
      );

    it("takes the tenant's EXTERNAL row over: one row, origin CREATED_HERE, the attempt's, same id, the create's header", async () => {
      const found = await foundFirst('t1', 'x-1');
      const { attempt: a } = await ledger.claim(attempt('k-x-1'));
      const [created] = await ledger.succeed(a.id, 't1', [header('x-1')]);
      expect(created).toMatchObject({ id: found.id, providerInvoiceId: 'x-1', origin: 'CREATED_HERE', number: 'N-x-1', syncedAt: null });
      const rows = await rowsOf('x-1');
      expect(rows).toEqual([expect.objectContaining({ id: found.id, seq: found.seq, tenant_id: 't1', origin: 'CREATED_HERE', attempt_id: a.id, number: 'N-x-1', synced_at: null })]);
      // The lines, taxes and kpis the read found are kept where the create brought none.
      expect(rows[0]!.content).toEqual({ lines: [], taxes: [] });
      expect(created!.kpis).toMatchObject({ overdue: false });
      expect(created!.kpis!.outstanding!.amount.toFixed()).toBe('115.12');
      expect((await ledger.invoicesOfAttempt(a.id)).map((i) => [i.id, i.origin])).toEqual([[found.id, 'CREATED_HERE']]);
      expect(await ledger.getAttempt(a.id)).toMatchObject({ state: 'succeeded', providerInvoiceIds: ['x-1'] });
      // A later find of it (a redelivered callout) leaves our row alone.
      expect(await new SyncStore(db).recordExternal([{ tenantId: 't1', record: { header: header('x-1'), content: null, kpis: null }, readAt }])).toEqual([]);
      expect((await rowsOf('x-1'))[0]).toMatchObject({ origin: 'CREATED_HERE', attempt_id: a.id });
    });

    it("never takes over another tenant's row: it stays theirs, and the create answers without it, as before", async () => {
      const theirs = await foundFirst('t2', 'x-2');
      const { attempt: a } = await ledger.claim(attempt('k-x-2'));
      expect(await ledger.succeed(a.id, 't1', [header('x-2')])).toEqual([]);
      expect(await rowsOf('x-2')).toEqual([expect.objectContaining({ id: theirs.id, tenant_id: 't2', origin: 'EXTERNAL', attempt_id: null, number: 'FOUND-x-2' })]);
      expect(await ledger.getAttempt(a.id)).toMatchObject({ state: 'succeeded', providerInvoiceIds: ['x-2'] });
      expect(await ledger.invoicesOfAttempt(a.id)).toEqual([]);
    });

    it("never takes over a row one of our attempts created: an EXTERNAL one only", async () => {
      const { attempt: mine } = await ledger.claim(attempt('k-x-3-mine'));
      const [first] = await ledger.succeed(mine.id, 't1', [header('x-3')]);
      const { attempt: other } = await ledger.claim(attempt('k-x-3-other'));
      expect((await ledger.succeed(other.id, 't1', [header('x-3')])).map((i) => i.id)).toEqual([first!.id]);
      expect(await rowsOf('x-3')).toEqual([expect.objectContaining({ attempt_id: mine.id, origin: 'CREATED_HERE' })]);
    });

    it('in one batch: takes over its own tenant\'s, not another\'s, and a provider invoice named twice fails nothing', async () => {
      const mine = await foundFirst('t1', 'x-10');
      await foundFirst('t2', 'x-11');
      const [a, b, c] = await Promise.all(['k-x-10', 'k-x-11', 'k-x-12'].map((k) => ledger.claim(attempt(k))));
      const before = { ...ledger.writes.successes, queries: db.stats.queries };
      const [ia, ib, ic] = await Promise.all([
        ledger.succeed(a!.attempt.id, 't1', [header('x-10'), header('x-12'), header('x-10')]),
        ledger.succeed(b!.attempt.id, 't1', [header('x-11')]),
        // Cannot happen (one provider invoice, two creates), but must not break the batch: the first success has it.
        ledger.succeed(c!.attempt.id, 't1', [header('x-10')]),
      ]);
      expect(ledger.writes.successes.batches - before.batches).toBe(1);
      expect(ledger.writes.successes.fallbacks - before.fallbacks).toBe(0);
      expect(ia!.map((i) => [i.providerInvoiceId, i.origin])).toEqual([['x-10', 'CREATED_HERE'], ['x-12', 'CREATED_HERE']]);
      expect(ia![0]!.id).toBe(mine.id);
      expect(ib).toEqual([]);
      expect(ic!.map((i) => i.id)).toEqual([mine.id]);
      expect(await rowsOf('x-10', 'x-11', 'x-12')).toEqual([
        expect.objectContaining({ id: mine.id, tenant_id: 't1', origin: 'CREATED_HERE', attempt_id: a!.attempt.id }),
        expect.objectContaining({ tenant_id: 't2', origin: 'EXTERNAL', attempt_id: null }),
        expect.objectContaining({ tenant_id: 't1', origin: 'CREATED_HERE', attempt_id: a!.attempt.id }),
      ]);
      expect(await ledger.getAttempt(a!.attempt.id)).toMatchObject({ state: 'succeeded', providerInvoiceIds: ['x-10', 'x-12'] });
    });

    it('a write that lost the insert race on the (tenant, provider, id) constraint is written again, and takes the row over', async () => {
      const found = await foundFirst('t1', 'x-20');
      let raced = 0;
      // As PostgreSQL reports it when the EXTERNAL row is inserted between this insert's conflict check and its index entries.
      const racing: Database = Object.assign(Object.create(db) as Database, {
        transaction: <T>(fn: Parameters<Database['transaction']>[0]): Promise<T> => {
          if (raced++ === 0) return Promise.reject(Object.assign(new Error('duplicate key value violates unique constraint "invoices_provider_id"'), { code: '23505', constraint: 'invoices_provider_id' }));
          return db.transaction(fn) as Promise<T>;
        },
      });
      const { attempt: a } = await ledger.claim(attempt('k-x-20'));
      const [created] = await new Ledger(racing).succeed(a.id, 't1', [header('x-20')]);
      expect(raced).toBe(2);
      expect(created).toMatchObject({ id: found.id, origin: 'CREATED_HERE' });
      expect(await rowsOf('x-20')).toEqual([expect.objectContaining({ origin: 'CREATED_HERE', attempt_id: a.id })]);
    });
  });

  describe('group commit: writes that arrive together share one statement', () => {
    it('claims: one statement for the batch; a key claimed twice in it is fresh once, and an old key is found', async () => {
      await ledger.claim(attempt('k-gc-old'));
      const before = { queries: db.stats.queries, batches: ledger.writes.claims.batches };
      const claimed = await Promise.all([
        ledger.claim(attempt('k-gc-1')),
        ledger.claim(attempt('k-gc-2')),
        ledger.claim(attempt('k-gc-1', 'fp-other')),
        ledger.claim(attempt('k-gc-old')),
      ]);
      expect(ledger.writes.claims.batches - before.batches).toBe(1);
      // The insert, then one look-up for each claim whose key was already there.
      expect(db.stats.queries - before.queries).toBe(3);
      expect(claimed.map((c) => c.fresh)).toEqual([true, true, false, false]);
      expect(claimed[2]!.attempt.id).toBe(claimed[0]!.attempt.id);
      expect(claimed[2]!.attempt.inputFingerprint).toBe('fp-1');
      expect(new Set(claimed.map((c) => c.attempt.id)).size).toBe(3);
    });

    it('successes: one statement records every invoice, exactly, and closes every attempt', async () => {
      const [a, b, c] = await Promise.all(['k-gs-a', 'k-gs-b', 'k-gs-c'].map((k) => ledger.claim(attempt(k))));
      const before = { queries: db.stats.queries, batches: ledger.writes.successes.batches };
      const [ia, ib, ic] = await Promise.all([
        ledger.succeed(a!.attempt.id, 't1', [header('g-1'), header('g-2')]),
        ledger.succeed(b!.attempt.id, 't1', [header('g-3')]),
        ledger.succeed(c!.attempt.id, 't1', []),
      ]);
      expect(ledger.writes.successes.batches - before.batches).toBe(1);
      expect(db.stats.queries - before.queries).toBe(1);
      expect(ia!.map((i) => i.providerInvoiceId)).toEqual(['g-1', 'g-2']);
      expect(ia![1]!.total.amount.toFixed()).toBe('115.12');
      expect(ib!.map((i) => i.providerInvoiceId)).toEqual(['g-3']);
      expect(ic).toEqual([]);
      expect(await ledger.getAttempt(a!.attempt.id)).toMatchObject({ state: 'succeeded', providerInvoiceIds: ['g-1', 'g-2'], leaseExpiresAt: null });
      expect(await ledger.getAttempt(c!.attempt.id)).toMatchObject({ state: 'succeeded', providerInvoiceIds: [] });
      expect((await ledger.invoicesOfAttempt(a!.attempt.id)).map((i) => i.id)).toEqual(ia!.map((i) => i.id));
    });

    it('successes in one batch for one attempt, or of an invoice already recorded, keep one record each', async () => {
      const { attempt: a } = await ledger.claim(attempt('k-gs-same'));
      const [first] = await ledger.succeed(a.id, 't1', [header('g-10')]);
      const batches = ledger.writes.successes.batches;
      const [replay, late] = await Promise.all([
        ledger.succeed(a.id, 't1', [header('g-10')]),
        ledger.succeed(a.id, 't1', [header('g-11'), header('g-10')]),
      ]);
      expect(ledger.writes.successes.batches - batches).toBe(1);
      expect(replay!.map((i) => i.id)).toEqual([first!.id]);
      expect(late!.map((i) => i.providerInvoiceId)).toEqual(['g-11', 'g-10']);
      expect(late![1]!.id).toBe(first!.id);
      expect(await ledger.getAttempt(a.id)).toMatchObject({ state: 'succeeded', providerInvoiceIds: ['g-10', 'g-11'] });
      expect(await db.query("SELECT id FROM invoices WHERE provider_invoice_id IN ('g-10', 'g-11')")).toHaveLength(2);
    });

    /**
     * A ledger on `db` whose first batch statement runs, then loses its answer (a connection reset after the commit,
     * say), with `meanwhile` done before the loss is reported.
     */
    const losingFirstBatch = (meanwhile: () => Promise<void> = async () => undefined) => {
      const state = { lost: false };
      const lossy: Database = Object.assign(Object.create(db) as Database, {
        query: async <T>(text: string, params?: unknown[]): Promise<T[]> => {
          const rows = await db.query<T>(text, params);
          if (!state.lost && text.includes('unnest')) {
            state.lost = true;
            await meanwhile();
            throw new Error('connection reset');
          }
          return rows;
        },
      });
      return { ledger: new Ledger(lossy), state };
    };

    it("a batch of claims whose answer is lost after it committed still gives each claim its own fresh attempt", async () => {
      const lossy = losingFirstBatch();
      const claimed = await Promise.all([lossy.ledger.claim(attempt('k-lost-1')), lossy.ledger.claim(attempt('k-lost-2'))]);
      expect(lossy.state.lost).toBe(true);
      expect(claimed.map((c) => c.fresh)).toEqual([true, true]);
      expect(claimed.map((c) => c.attempt.idempotencyKey)).toEqual(['k-lost-1', 'k-lost-2']);
    });

    it('a claim whose lost batch was taken over meanwhile (its lease ran out) is not fresh: it resumes, never creates', async () => {
      // While the answer is on its way, another replica's retry takes over one of the expired attempts.
      const lossy = losingFirstBatch(async () => {
        const taken = (await ledger.findAttempt('t1', 'k-late-taken'))!;
        expect(await ledger.retake(taken.id, ['pending'], 30_000)).toMatchObject({ tries: 2 });
      });
      const expired = (key: string) => ({ ...attempt(key), leaseMs: -1000 });
      const [kept, taken] = await Promise.all([lossy.ledger.claim(expired('k-late-kept')), lossy.ledger.claim(expired('k-late-taken'))]);
      expect(lossy.state.lost).toBe(true);
      expect(kept!.fresh).toBe(true);
      expect(taken!.fresh).toBe(false);
      expect(await ledger.getAttempt(taken!.attempt.id)).toMatchObject({ state: 'pending', tries: 2 });
    });

    it('a write that breaks its batch fails alone: the others are written one by one', async () => {
      const { attempt: a } = await ledger.claim(attempt('k-gs-good'));
      const before = { ...ledger.writes.successes };
      const [good, bad] = await Promise.allSettled([
        ledger.succeed(a.id, 't1', [header('g-20')]),
        // Not a uuid: the batch's statement fails on it, and so does its own write.
        ledger.succeed('not-an-attempt', 't1', [header('g-21')]),
      ]);
      expect(ledger.writes.successes.batches - before.batches).toBe(1);
      expect(ledger.writes.successes.fallbacks - before.fallbacks).toBe(1);
      expect(good).toMatchObject({ status: 'fulfilled' });
      expect(bad.status).toBe('rejected');
      expect(await ledger.getAttempt(a.id)).toMatchObject({ state: 'succeeded', providerInvoiceIds: ['g-20'] });
      expect(await db.query("SELECT id FROM invoices WHERE provider_invoice_id = 'g-21'")).toHaveLength(0);
    });
  });
});
