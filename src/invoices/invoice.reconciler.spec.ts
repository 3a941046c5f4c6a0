import { ProviderError, userError } from '../domain/errors';
import { fingerprint } from '../domain/fingerprint';
import { Decimal } from '../domain/money';
import type { Database } from '../ledger/database';
import { Ledger } from '../ledger/ledger';
import { ProviderRegistry } from '../providers/registry';
import { details, RecordingProvider, type FakeInput } from '../../test/support/recording-provider';
import { openTestDatabase, storeName } from '../../test/support/store';
import { InvoiceReconciler } from './invoice.reconciler';
import { InvoiceService, type CreateInvoiceCommand } from './invoice.service';
import { lookupInputOf } from './recorded-input';

describe(`InvoiceReconciler (${storeName()})`, () => {
  let db: Database;
  let ledger: Ledger;
  let provider: RecordingProvider;
  let service: InvoiceService;
  let reconciler: InvoiceReconciler;
  let n = 0;

  /** An attempt as a killed process leaves it: recorded as the service records it, its lease `leaseMs` from now (negative: run out). */
  const orphan = async (tenantId: string, leaseMs = -1000) => {
    const input: FakeInput = { orderId: `rec-order-${++n}`, amount: '42.00' };
    const { attempt } = await ledger.claim({ tenantId, idempotencyKey: `rec-key-${n}`, provider: 'SALLA', orderId: input.orderId, inputFingerprint: fingerprint({ provider: 'SALLA', input }), input, leaseMs });
    return { attempt, input };
  };
  const retry = (tenantId: string, key: string, input: FakeInput): CreateInvoiceCommand => ({ tenantId, provider: 'SALLA', branch: 'salla', input, recordedInput: input, idempotencyKey: key });

  beforeAll(async () => {
    db = await openTestDatabase();
    ledger = new Ledger(db);
  });
  afterAll(() => db.close());
  beforeEach(async () => {
    // Each test sees only its own stale attempts.
    await db.query(`UPDATE invoice_attempts SET state = 'failed', disposition = 'final' WHERE state IN ('pending', 'unknown')`);
    provider = new RecordingProvider();
    const registry = new ProviderRegistry([provider]);
    service = new InvoiceService(ledger, registry, { leaseMs: 5_000, pollMs: 5 });
    reconciler = new InvoiceReconciler(ledger, registry, service);
  });

  it('records what the provider created for a dead attempt, in every tenant, without creating; a retry replays it', async () => {
    const a = await orphan('tenant-a');
    const b = await orphan('tenant-b');
    // The provider acted for both before their processes died.
    provider.existing.push(details('rec-a', a.input), details('rec-b', b.input));

    expect(await reconciler.runOnce()).toEqual({ examined: 2, repaired: 2, released: 0, stillUnknown: 0, skipped: 0, errors: 0 });
    expect(provider.creates).toHaveLength(0);
    expect((await ledger.getAttempt(a.attempt.id))!.state).toBe('succeeded');
    expect((await ledger.invoicesOfAttempt(b.attempt.id)).map((i) => [i.tenantId, i.providerInvoiceId])).toEqual([['tenant-b', 'rec-b']]);

    const replay = await service.create(retry('tenant-a', a.attempt.idempotencyKey, a.input));
    expect(replay.invoices.map((i) => i.providerInvoiceId)).toEqual(['rec-a']);
    expect(provider.creates).toHaveLength(0);
    expect(provider.finds).toHaveLength(2);
  });

  it('releases an attempt the provider verifiably never acted on, and the retry with its key creates exactly once', async () => {
    const { attempt, input } = await orphan('tenant-a');

    expect(await reconciler.runOnce()).toMatchObject({ examined: 1, released: 1, repaired: 0 });
    expect(provider.creates).toHaveLength(0);
    expect(await ledger.getAttempt(attempt.id)).toMatchObject({ state: 'failed', disposition: 'retryable' });

    const first = await service.create(retry('tenant-a', attempt.idempotencyKey, input));
    const again = await service.create(retry('tenant-a', attempt.idempotencyKey, input));
    expect(first.userErrors).toEqual([]);
    expect(again.invoices.map((i) => i.id)).toEqual(first.invoices.map((i) => i.id));
    expect(provider.creates).toHaveLength(1);
  });

  it('leaves an attempt unknown while the provider cannot be asked, and repairs it on a later pass', async () => {
    const { attempt, input } = await orphan('tenant-a');
    provider.findFailures.push(new ProviderError([userError('PROVIDER_UNAVAILABLE', 'down')], 'retryable', 'http:503'));

    expect(await reconciler.runOnce()).toMatchObject({ examined: 1, stillUnknown: 1 });
    expect(await ledger.getAttempt(attempt.id)).toMatchObject({ state: 'unknown' });

    provider.existing.push(details('rec-later', input));
    expect(await reconciler.runOnce()).toMatchObject({ examined: 1, repaired: 1 });
    expect((await ledger.invoicesOfAttempt(attempt.id)).map((i) => i.providerInvoiceId)).toEqual(['rec-later']);
    expect(provider.creates).toHaveLength(0);
  });

  it('leaves alone an attempt whose lease still runs (its process may be calling the provider) and one within the grace period', async () => {
    const live = await orphan('tenant-a', 60_000);
    await orphan('tenant-a', -1000);

    const patient = new InvoiceReconciler(ledger, new ProviderRegistry([provider]), service, { graceMs: 60_000 });
    expect(await patient.runOnce()).toMatchObject({ examined: 0 });
    expect(await reconciler.runOnce()).toMatchObject({ examined: 1, released: 1 });
    expect((await ledger.getAttempt(live.attempt.id))!.state).toBe('pending');
    expect(provider.finds).toHaveLength(1);
  });

  it('does not take an invoice another attempt already recorded: it only matches, so the attempt is released', async () => {
    const earlier = await orphan('tenant-a');
    provider.existing.push(details('rec-shared', earlier.input));
    await reconciler.runOnce();
    // A second attempt for the same order dies; the provider's only invoice of that order is the first attempt's.
    const { attempt } = await ledger.claim({ tenantId: 'tenant-a', idempotencyKey: 'rec-second', provider: 'SALLA', orderId: earlier.input.orderId, inputFingerprint: 'fp-second', input: earlier.input, leaseMs: -1000 });

    expect(await reconciler.runOnce()).toMatchObject({ examined: 1, released: 1 });
    expect(await ledger.invoicesOfAttempt(attempt.id)).toEqual([]);
  });

  it('settles each attempt once when replicas reconcile at the same time', async () => {
    const orphans = await Promise.all(Array.from({ length: 6 }, () => orphan('tenant-a')));
    for (const o of orphans) provider.existing.push(details(`rec-race-${o.attempt.id}`, o.input));
    const other = new InvoiceReconciler(ledger, new ProviderRegistry([provider]), service);

    const [x, y] = await Promise.all([reconciler.runOnce(), other.runOnce()]);
    expect(x.repaired + y.repaired).toBe(6);
    expect(provider.finds).toHaveLength(6);
    for (const o of orphans) expect(await ledger.invoicesOfAttempt(o.attempt.id)).toHaveLength(1);
  });

  it("leaves an attempt older than its provider's lookup window to a person: no retake, no lookup, and a retry sends nothing", async () => {
    const windowed = Object.assign(new RecordingProvider(), { lookupWindowMs: 60_000 });
    const registry = new ProviderRegistry([windowed]);
    const svc = new InvoiceService(ledger, registry, { leaseMs: 5_000, pollMs: 5 });
    const { attempt, input } = await orphan('tenant-a');
    await db.query(`UPDATE invoice_attempts SET created_at = now() - interval '2 minutes' WHERE id = $1`, [attempt.id]);
    const summary = await new InvoiceReconciler(ledger, registry, svc).runOnce();
    expect(summary).toMatchObject({ examined: 1, stillUnknown: 1, repaired: 0, released: 0 });
    const answer = await svc.create(retry('tenant-a', attempt.idempotencyKey, input));
    expect(answer.userErrors).toEqual([expect.objectContaining({ code: 'NEEDS_MANUAL_SETTLEMENT', message: expect.stringContaining('left for a person') })]);
    expect(windowed.finds).toHaveLength(0);
    expect(windowed.creates).toHaveLength(0);
    expect(await ledger.getAttempt(attempt.id)).toMatchObject({ state: 'pending', tries: 1 });
  });

  it("one attempt's failed ledger write is counted as an error, and the pass still settles the others", async () => {
    const broken = await orphan('tenant-a');
    const fine = await orphan('tenant-a');
    provider.existing.push(details(`fine-${fine.input.orderId}`, fine.input));
    const flaky = Object.create(ledger) as Ledger;
    flaky.retake = (id, from, leaseMs) => (id === broken.attempt.id ? Promise.reject(new Error('connection lost')) : ledger.retake(id, from, leaseMs));
    const summary = await new InvoiceReconciler(flaky, new ProviderRegistry([provider]), service).runOnce();
    expect(summary).toMatchObject({ examined: 2, errors: 1, repaired: 1 });
    expect(await ledger.getAttempt(fine.attempt.id)).toMatchObject({ state: 'succeeded' });
  });

  it('skips attempts of a provider not configured here, leaving them as they are', async () => {
    const { attempt } = await ledger.claim({ tenantId: 'tenant-a', idempotencyKey: 'rec-zuora', provider: 'ZUORA', orderId: 'x', inputFingerprint: 'fp-z', input: { fulfillments: [] }, leaseMs: -1000 });
    expect(await reconciler.runOnce()).toMatchObject({ examined: 1, skipped: 1 });
    expect((await ledger.getAttempt(attempt.id))!.state).toBe('pending');
  });
});

describe('lookupInputOf', () => {
  it('restores exact amounts and leaves out a Salla FILE, which was recorded as its hash', () => {
    const input = lookupInputOf('SALLA', { orderId: '389701957', type: 'tax_invoice', dataType: 'file', pdf: 'ab12', invoiceNumber: null, subTotal: '90.50', total: null }) as Record<string, unknown>;
    expect(input).toMatchObject({ orderId: '389701957', type: 'tax_invoice', dataType: 'file', pdf: null, total: null, invoiceNumber: null });
    expect((input.subTotal as Decimal).equals(new Decimal('90.5'))).toBe(true);
  });

  it("restores a Zuora fulfillment's quantity as a decimal", () => {
    const input = lookupInputOf('ZUORA', { fulfillments: [{ orderLineItemId: 'x', quantity: '3' }], processingOptions: { runBilling: true } }) as { fulfillments: Array<{ quantity: Decimal }> };
    expect(input.fulfillments[0]!.quantity.toFixed(0)).toBe('3');
  });

  it('refuses recorded JSON that is not an object', () => {
    expect(() => lookupInputOf('COMMERCE', 'x')).toThrow(/not an object/);
  });
});
