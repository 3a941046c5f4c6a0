import { money } from '../domain/money';
import type { InvoiceDetails, InvoiceHeader } from '../domain/invoice';
import { openDatabase } from '../ledger/open';
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
    db = await openDatabase({ dataDir: 'memory://' });
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
