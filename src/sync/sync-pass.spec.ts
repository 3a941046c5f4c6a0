import { money } from '../domain/money';
import type { InvoiceDetails, ProviderInvoiceRef } from '../domain/invoice';
import { openDatabase } from '../ledger/open';
import type { Database } from '../ledger/database';
import { Ledger } from '../ledger/ledger';
import { SyncStore } from '../ledger/sync-store';
import type { InvoiceProvider } from '../providers/provider';
import { ProviderRegistry } from '../providers/registry';
import { ChangeApplier } from './change-applier';
import { SyncPass } from './sync-pass';

/** A provider with a change feed, reading what it is asked and remembering it. */
function feedProvider(changed: () => string[]) {
  const reads: string[][] = [];
  const asked: Date[] = [];
  const details = (ref: ProviderInvoiceRef, status: 'ISSUED' | 'PAID'): InvoiceDetails => ({
    header: { provider: 'SALESFORCE', providerInvoiceId: ref.providerInvoiceId, orderId: ref.orderId, number: null, kind: 'INVOICE', status, issueDate: '2026-11-01', dueDate: null, subtotal: null, taxTotal: null, currencyCode: 'USD', total: money('10.00', 'USD'), documentUrl: null },
    lines: [],
    taxes: [],
    kpis: { outstanding: null, paid: null, overdue: null, lastPaymentDate: null, creditApplied: null },
  });
  const provider = {
    code: 'SALESFORCE',
    validate: () => [],
    orderIdOf: () => '',
    create: async () => [],
    findCreated: async () => [],
    contentFinal: () => true,
    loadDetails: async (refs: readonly ProviderInvoiceRef[]) => {
      reads.push(refs.map((r) => r.providerInvoiceId));
      return refs.map((r) => details(r, 'PAID'));
    },
    changedSince: async (since: Date) => {
      asked.push(since);
      return { providerInvoiceIds: changed(), until: new Date('2026-12-01T12:00:00Z') };
    },
  } as unknown as InvoiceProvider;
  return { provider, reads, asked, details };
}

describe('SyncPass with a change feed', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ dataDir: 'memory://' });
    const store = new SyncStore(db);
    // Three known invoices of the provider (recorded as found, which needs no attempt).
    const found = ['a', 'b', 'c'].map((id) => ({
      tenantId: 't1',
      readAt: new Date('2026-11-01T00:00:00Z'),
      record: { header: { provider: 'SALESFORCE' as const, providerInvoiceId: id, orderId: `o-${id}`, number: null, kind: 'INVOICE' as const, status: 'ISSUED' as const, issueDate: '2026-11-01', dueDate: null, subtotal: null, taxTotal: null, currencyCode: 'USD', total: money('10.00', 'USD'), documentUrl: null }, content: null, kpis: null },
    }));
    expect(await store.recordExternal(found)).toHaveLength(3);
  });
  afterAll(() => db.close());

  it('walks every unsettled invoice once to take its mark, then reads only the known invoices the feed names', async () => {
    let changed: string[] = [];
    const { provider, reads, asked } = feedProvider(() => changed);
    const store = new SyncStore(db);
    const registry = new ProviderRegistry([provider]);
    const pass = new SyncPass(store, new ChangeApplier(new Ledger(db), store, registry), registry);
    const first = await pass.run('SALESFORCE');
    expect(first).toMatchObject({ refreshed: 3, complete: true });
    expect(reads).toEqual([['a', 'b', 'c']]);
    expect(asked).toEqual([]);
    const mark = (await store.position<{ since: string }>('SALESFORCE')).position!.since;
    expect(mark).toBeDefined();

    // The feed names one known invoice and one nobody knows: only the known one is read.
    changed = ['b', 'not-ours'];
    reads.length = 0;
    const second = await pass.run('SALESFORCE');
    expect(second).toMatchObject({ refreshed: 1, complete: true });
    expect(reads).toEqual([['b']]);
    expect(asked).toEqual([new Date(mark)]);
    // The next mark is the feed's high-water mark less the clock margin (a minute).
    expect((await store.position<{ since: string }>('SALESFORCE')).position!.since).toBe('2026-12-01T11:59:00.000Z');

    // Nothing changed: one feed query, no read.
    changed = [];
    reads.length = 0;
    await pass.run('SALESFORCE');
    expect(reads).toEqual([]);
  });

  it('records an unknown invoice the feed names on a known order as EXTERNAL for its tenant, once; one on an order no tenant has for none', async () => {
    const changed = ['a', 'theirs', 'stranger'];
    const { provider, reads, details } = feedProvider(() => changed);
    const unknownReads: string[][] = [];
    const orders: Record<string, string> = { theirs: 'o-a', stranger: 'o-nobody' };
    (provider as { readUnknown?: InvoiceProvider['readUnknown'] }).readUnknown = async (ids) => {
      unknownReads.push([...ids]);
      return ids.map((id) => details({ provider: 'SALESFORCE', providerInvoiceId: id, orderId: orders[id]! }, 'ISSUED'));
    };
    const store = new SyncStore(db);
    const registry = new ProviderRegistry([provider]);
    const pass = new SyncPass(store, new ChangeApplier(new Ledger(db), store, registry), registry);
    expect((await store.position<{ since: string }>('SALESFORCE')).position?.since).toBeDefined();

    const first = await pass.run('SALESFORCE');
    expect(first).toMatchObject({ refreshed: 1, found: 1, complete: true });
    expect(reads).toEqual([['a']]);
    expect(unknownReads).toEqual([['theirs', 'stranger']]);
    const rows = await db.query<{ tenant_id: string; origin: string; order_id: string }>("SELECT tenant_id, origin, order_id FROM invoices WHERE provider_invoice_id IN ('theirs', 'stranger')");
    expect(rows).toEqual([{ tenant_id: 't1', origin: 'EXTERNAL', order_id: 'o-a' }]);

    // Named again (inside the clock margin): 'theirs' is known now and read again; nothing is recorded twice.
    reads.length = 0;
    unknownReads.length = 0;
    const second = await pass.run('SALESFORCE');
    expect(second).toMatchObject({ found: 0, complete: true });
    expect(reads).toEqual([['a', 'theirs']]);
    expect(unknownReads).toEqual([['stranger']]);
    expect(await db.query("SELECT 1 FROM invoices WHERE provider_invoice_id IN ('theirs', 'stranger')")).toHaveLength(1);
  });
});
