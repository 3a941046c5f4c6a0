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
    expect(rows.map((r) => r.name)).toEqual(['0001_attempts_and_invoices', '0002_invoices_by_provider_id', '0003_one_record_per_provider_invoice']);
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
});
