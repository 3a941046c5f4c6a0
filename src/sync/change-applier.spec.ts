import { money } from '../domain/money';
import type { InvoiceDetails, InvoiceHeader, ProviderInvoiceRef } from '../domain/invoice';
import { openTestDatabase } from '../../test/support/store';
import type { Database } from '../ledger/database';
import { Ledger } from '../ledger/ledger';
import { SyncStore } from '../ledger/sync-store';
import type { InvoiceProvider } from '../providers/provider';
import { ProviderRegistry } from '../providers/registry';
import { ChangeApplier, ChangesNotApplied } from './change-applier';

const header = (providerInvoiceId: string, orderId: string, status: InvoiceHeader['status'] = 'ISSUED'): InvoiceHeader => ({
  provider: 'SALLA', providerInvoiceId, orderId, number: providerInvoiceId, kind: 'INVOICE', status, issueDate: '2026-11-01', dueDate: null,
  subtotal: null, taxTotal: null, currencyCode: 'SAR', total: money('115.00', 'SAR'), documentUrl: null,
});
const details = (h: InvoiceHeader): InvoiceDetails => ({ header: h, lines: [], taxes: [], kpis: { outstanding: null, paid: null, overdue: null, lastPaymentDate: null, creditApplied: null } });

/** A provider whose orders hold the invoices given, one failing order aside. */
function listingProvider(orders: Record<string, InvoiceHeader[]>, failing = new Set<string>()) {
  const listed: string[][] = [];
  const provider = {
    code: 'SALLA',
    contentFinal: () => true,
    loadDetails: async () => [],
    invoicesOfOrders: async (ids: readonly string[]) => {
      listed.push([...ids]);
      return ids.map((id) => (failing.has(id) ? new Error(`order ${id} unreadable`) : (orders[id] ?? []).map(details)));
    },
  } as unknown as InvoiceProvider;
  return { provider, listed };
}

describe('ChangeApplier: invoices found on known orders', () => {
  let db: Database;
  let store: SyncStore;
  beforeAll(async () => {
    db = await openTestDatabase();
    store = new SyncStore(db);
    // Tenant t1 knows order 1; t1 and t2 both know order 2 (a shared account); nobody knows order 3.
    const known = [
      { tenantId: 't1', h: header('ours-1', '1') },
      { tenantId: 't1', h: header('ours-2a', '2') },
      { tenantId: 't2', h: header('ours-2b', '2') },
    ];
    await store.recordExternal(known.map((k) => ({ tenantId: k.tenantId, record: { header: k.h, content: null, kpis: null }, readAt: new Date('2026-11-01T00:00:00Z') })));
  });
  afterAll(() => db.close());

  const tenantsOf = async (id: string) => (await db.query<{ tenant_id: string; origin: string; status: string }>('SELECT tenant_id, origin, status FROM invoices WHERE provider_invoice_id = $1', [id]));

  it("records a new invoice of an order one tenant knows for that tenant, refreshes the known ones, and never records one for an order it does not know or several tenants share", async () => {
    const { provider, listed } = listingProvider({
      '1': [header('ours-1', '1', 'PAID'), header('store-1', '1')],
      '2': [header('ours-2a', '2'), header('ours-2b', '2'), header('store-2', '2')],
      '3': [header('store-3', '3')],
    });
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([provider]));
    const changes = ['1', '2', '3', '1'].map((orderId) => ({ provider: 'SALLA' as const, event: 'order.updated', orderId, providerInvoiceId: null }));
    const result = await applier.apply(changes);
    // Read again: ours-1, ours-2a and ours-2b (a found invoice is recorded, not refreshed).
    expect(result).toEqual({ refreshed: 3, found: 1, ambiguous: 1 });
    // Order 3 is nobody's: not even listed. Order 1 named twice: listed once.
    expect(listed).toEqual([['1', '2']]);
    expect(await tenantsOf('store-1')).toEqual([{ tenant_id: 't1', origin: 'EXTERNAL', status: 'ISSUED' }]);
    expect(await tenantsOf('store-2')).toEqual([]);
    expect(await tenantsOf('store-3')).toEqual([]);
    expect((await tenantsOf('ours-1'))[0]!.status).toBe('PAID');
    // Applied again: nothing is recorded twice.
    expect((await applier.apply(changes)).found).toBe(0);
    expect(await tenantsOf('store-1')).toHaveLength(1);
  });

  it('stores what it could read when an order cannot be listed, and says the rest failed (the job is retried)', async () => {
    const { provider } = listingProvider({ '1': [header('ours-1', '1', 'VOID'), header('store-1', '1')] }, new Set(['2']));
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([provider]));
    await expect(applier.apply([{ provider: 'SALLA', event: 'x', orderId: '1', providerInvoiceId: null }, { provider: 'SALLA', event: 'x', orderId: '2', providerInvoiceId: null }])).rejects.toBeInstanceOf(ChangesNotApplied);
    expect((await tenantsOf('ours-1'))[0]!.status).toBe('VOID');
  });
});

describe('ChangeApplier: invoices named by an event that the ledger does not know (Zuora Invoice Posted)', () => {
  let db: Database;
  let store: SyncStore;
  const zuora = (providerInvoiceId: string, orderId: string): InvoiceHeader => ({ ...header(providerInvoiceId, orderId), provider: 'ZUORA', currencyCode: 'USD', total: money('64.50', 'USD') });
  beforeAll(async () => {
    db = await openTestDatabase();
    store = new SyncStore(db);
    // Tenant t1 has invoiced O-1; t1 and t2 both O-2 (a shared account); nobody O-3.
    const known = [
      { tenantId: 't1', h: zuora('z-ours-1', 'O-1') },
      { tenantId: 't1', h: zuora('z-ours-2a', 'O-2') },
      { tenantId: 't2', h: zuora('z-ours-2b', 'O-2') },
    ];
    await store.recordExternal(known.map((k) => ({ tenantId: k.tenantId, record: { header: k.h, content: null, kpis: null }, readAt: new Date('2026-11-01T00:00:00Z') })));
  });
  afterAll(() => db.close());

  /** A provider that reads unknown invoices as the documents given (null: on no order), one failing id aside. */
  function readingProvider(documents: Record<string, InvoiceHeader | null>, failing = new Set<string>()) {
    const asked: string[][] = [];
    const loaded: string[][] = [];
    const provider = {
      code: 'ZUORA',
      contentFinal: () => true,
      loadDetails: async (refs: readonly ProviderInvoiceRef[]) => {
        loaded.push(refs.map((r) => r.providerInvoiceId));
        return refs.map((r) => details({ ...zuora(r.providerInvoiceId, r.orderId), status: 'PAID' }));
      },
      readUnknown: async (ids: readonly string[]) => {
        asked.push([...ids]);
        return ids.map((id) => (failing.has(id) ? new Error(`invoice ${id} unreadable`) : documents[id] === null ? null : details(documents[id] ?? zuora(id, 'O-404'))));
      },
    } as unknown as InvoiceProvider;
    return { provider, asked, loaded };
  }
  const posted = (...ids: string[]) => ids.map((providerInvoiceId) => ({ provider: 'ZUORA' as const, event: 'InvoicePosted', orderId: null, providerInvoiceId }));
  const rowsOf = (id: string) => db.query<{ tenant_id: string; origin: string; order_id: string; attempt_id: string | null }>('SELECT tenant_id, origin, order_id, attempt_id FROM invoices WHERE provider_invoice_id = $1', [id]);

  it('records an unknown invoice on an order one tenant has invoiced as EXTERNAL for that tenant, once, and reads known ones as before', async () => {
    const { provider, asked, loaded } = readingProvider({ 'z-out-1': zuora('z-out-1', 'O-1') });
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([provider]));
    // Named twice in one batch, with a known invoice: read once, the known one refreshed through loadDetails.
    expect(await applier.apply(posted('z-out-1', 'z-ours-1', 'z-out-1'))).toEqual({ refreshed: 1, found: 1, ambiguous: 0 });
    expect(asked).toEqual([['z-out-1']]);
    expect(loaded).toEqual([['z-ours-1']]);
    expect(await rowsOf('z-out-1')).toEqual([{ tenant_id: 't1', origin: 'EXTERNAL', order_id: 'O-1', attempt_id: null }]);
    // Redelivered: known now, so read again as a known invoice, never recorded twice.
    expect(await applier.apply(posted('z-out-1'))).toEqual({ refreshed: 1, found: 0, ambiguous: 0 });
    expect(asked).toHaveLength(1);
    expect(await rowsOf('z-out-1')).toHaveLength(1);
  });

  it('records nothing for an invoice on an order nobody has invoiced, on one two tenants have, or on no order', async () => {
    const { provider, asked } = readingProvider({ 'z-out-3': zuora('z-out-3', 'O-3'), 'z-out-2': zuora('z-out-2', 'O-2'), 'z-bill-run': null });
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([provider]));
    expect(await applier.apply(posted('z-out-3', 'z-out-2', 'z-bill-run'))).toEqual({ refreshed: 0, found: 0, ambiguous: 1 });
    expect(asked).toEqual([['z-out-3', 'z-out-2', 'z-bill-run']]);
    for (const id of ['z-out-3', 'z-out-2', 'z-bill-run']) expect(await rowsOf(id)).toEqual([]);
    // Asked again (a retry, a redelivery): still nobody's.
    expect((await applier.apply(posted('z-out-2'))).found).toBe(0);
    expect(await rowsOf('z-out-2')).toEqual([]);
  });

  it('says the changes were not applied when a read fails (the job is retried), after recording what it could read', async () => {
    const { provider } = readingProvider({ 'z-out-4': zuora('z-out-4', 'O-1'), 'z-out-5': zuora('z-out-5', 'O-1') }, new Set(['z-out-5']));
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([provider]));
    const failed = applier.apply(posted('z-out-4', 'z-out-5'));
    await expect(failed).rejects.toBeInstanceOf(ChangesNotApplied);
    await expect(failed).rejects.toMatchObject({ provider: 'ZUORA', failures: [expect.objectContaining({ message: 'invoice z-out-5 unreadable' })] });
    expect(await rowsOf('z-out-4')).toEqual([{ tenant_id: 't1', origin: 'EXTERNAL', order_id: 'O-1', attempt_id: null }]);
    expect(await rowsOf('z-out-5')).toEqual([]);
    // The retry reads only what is still unknown, and records it once.
    const retry = readingProvider({ 'z-out-5': zuora('z-out-5', 'O-1') });
    expect(await new ChangeApplier(new Ledger(db), store, new ProviderRegistry([retry.provider])).apply(posted('z-out-4', 'z-out-5'))).toEqual({ refreshed: 1, found: 1, ambiguous: 0 });
    expect(retry.asked).toEqual([['z-out-5']]);
    expect(await rowsOf('z-out-5')).toHaveLength(1);
  });

  it('reads unknown invoices 100 at a time, each named once', async () => {
    const { provider, asked } = readingProvider({});
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([provider]));
    const ids = Array.from({ length: 150 }, (_, i) => `z-many-${i}`);
    expect(await applier.apply(posted(...ids, ...ids))).toEqual({ refreshed: 0, found: 0, ambiguous: 0 });
    expect(asked.map((page) => page.length)).toEqual([100, 50]);
    expect(new Set(asked.flat()).size).toBe(150);
  });

  it("seen at one tenant's own account (a callout its secret verified), an unknown invoice is read there and recorded for that tenant alone, even on an order another tenant has too", async () => {
    const deployment = readingProvider({});
    const own = readingProvider({ 'z-own-2': zuora('z-own-2', 'O-2'), 'z-own-3': zuora('z-own-3', 'O-3') });
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([deployment.provider]));
    expect(await applier.apply(posted('z-own-2', 'z-own-3'), { tenantId: 't2', provider: own.provider })).toEqual({ refreshed: 0, found: 1, ambiguous: 0 });
    expect(own.asked).toEqual([['z-own-2', 'z-own-3']]);
    expect(deployment.asked).toEqual([]);
    expect(await rowsOf('z-own-2')).toEqual([{ tenant_id: 't2', origin: 'EXTERNAL', order_id: 'O-2', attempt_id: null }]);
    // O-3 is no order of t2's: nothing.
    expect(await rowsOf('z-own-3')).toEqual([]);
  });

  it("seen at one tenant's account, another tenant's known invoice it names is not read (nor recorded again)", async () => {
    const own = readingProvider({});
    const accounts = readingProvider({});
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([accounts.provider]));
    // z-ours-2b is t2's; t1's callout names it with its own. Known invoices are read through their tenant's account.
    expect(await applier.apply(posted('z-ours-2b', 'z-ours-1'), { tenantId: 't1', provider: own.provider })).toEqual({ refreshed: 1, found: 0, ambiguous: 0 });
    expect(accounts.loaded).toEqual([['z-ours-1']]);
    expect(own.asked).toEqual([]);
  });

  it('seen at no account that can still be asked (null: the tenant disconnected since), only known invoices are read', async () => {
    const { provider, asked, loaded } = readingProvider({ 'z-gone-1': zuora('z-gone-1', 'O-1') });
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([provider]));
    expect(await applier.apply(posted('z-gone-1', 'z-ours-1'), null)).toEqual({ refreshed: 1, found: 0, ambiguous: 0 });
    expect(asked).toEqual([]);
    expect(loaded).toEqual([['z-ours-1']]);
    expect(await rowsOf('z-gone-1')).toEqual([]);
  });

  it('a provider that cannot read unknown invoices drops them, as before', async () => {
    const { provider } = readingProvider({ 'z-out-6': zuora('z-out-6', 'O-1') });
    delete (provider as { readUnknown?: unknown }).readUnknown;
    const applier = new ChangeApplier(new Ledger(db), store, new ProviderRegistry([provider]));
    expect(await applier.apply(posted('z-out-6'))).toEqual({ refreshed: 0, found: 0, ambiguous: 0 });
    expect(await rowsOf('z-out-6')).toEqual([]);
  });
});
