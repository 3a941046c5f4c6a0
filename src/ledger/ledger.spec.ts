import { money } from '../domain/money';
import type { InvoiceHeader } from '../domain/invoice';
import type { Database } from './database';
import { Ledger } from './ledger';
import { migrate } from './migrate';
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
    expect(rows.map((r) => r.name)).toEqual(['0001_attempts_and_invoices', '0002_invoices_by_provider_id', '0003_one_record_per_provider_invoice', '0004_shared_tokens', '0005_invoice_read_model', '0006_invoices_by_status_due', '0007_provider_events_and_sync']);
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
