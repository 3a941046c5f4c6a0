import { EMPTY_KPIS, type InvoiceDetails, type ProviderCode, type ProviderInvoiceRef } from '../domain/invoice';
import { money } from '../domain/money';
import type { Database } from '../ledger/database';
import { Ledger } from '../ledger/ledger';
import type { InvoiceProvider } from '../providers/provider';
import { ProviderRegistry } from '../providers/registry';
import { openTestDatabase } from '../../test/support/store';
import { createInvoiceLoaders } from './invoice.loaders';

/** Records the batches it is asked for, like dataloader's own tests record loadCalls. */
class BatchRecorder implements InvoiceProvider<unknown> {
  batches: string[][] = [];
  constructor(readonly code: ProviderCode) {}
  validate() {
    return [];
  }
  orderIdOf() {
    return '';
  }
  async create(): Promise<InvoiceDetails[]> {
    throw new Error('not used');
  }
  async findCreated(): Promise<InvoiceDetails[]> {
    return [];
  }
  contentFinal() {
    return false;
  }
  async loadDetails(refs: readonly ProviderInvoiceRef[]) {
    this.batches.push(refs.map((r) => r.providerInvoiceId));
    return refs.map((r) => (r.providerInvoiceId === 'missing' ? new Error('not found') : details(this.code, r.providerInvoiceId)));
  }
}

const details = (provider: ProviderCode, id: string): InvoiceDetails => ({
  header: {
    provider,
    providerInvoiceId: id,
    orderId: 'o',
    number: id,
    kind: 'INVOICE',
    status: 'ISSUED',
    issueDate: null,
    dueDate: null,
    currencyCode: 'SAR',
    subtotal: null,
    taxTotal: null,
    total: money('1', 'SAR'),
    documentUrl: null,
  },
  lines: [],
  taxes: [],
  kpis: EMPTY_KPIS,
});

const ref = (provider: ProviderCode, providerInvoiceId: string): ProviderInvoiceRef => ({ provider, providerInvoiceId, orderId: 'o' });

describe('invoice loaders', () => {
  let db: Database;
  let salla: BatchRecorder;
  let zuora: BatchRecorder;
  let registry: ProviderRegistry;

  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db.close());
  beforeEach(() => {
    salla = new BatchRecorder('SALLA');
    zuora = new BatchRecorder('ZUORA');
    registry = new ProviderRegistry([salla, zuora]);
  });

  it('batches a tick of detail loads into one call per provider, deduplicated, in key order', async () => {
    const loaders = createInvoiceLoaders(new Ledger(db), registry, 't');
    const loads = [ref('SALLA', '1'), ref('ZUORA', 'a'), ref('SALLA', '2'), ref('SALLA', '1'), ref('ZUORA', 'b')].map((r) => loaders.details.load(r));
    const out = await Promise.all(loads);
    expect(salla.batches).toEqual([['1', '2']]);
    expect(zuora.batches).toEqual([['a', 'b']]);
    expect(out.map((d) => d.header.providerInvoiceId)).toEqual(['1', 'a', '2', '1', 'b']);
  });

  it('caches per request: the same invoice asked again later costs nothing', async () => {
    const loaders = createInvoiceLoaders(new Ledger(db), registry, 't');
    await loaders.details.load(ref('SALLA', '1'));
    await loaders.details.load(ref('SALLA', '1'));
    expect(salla.batches).toEqual([['1']]);
  });

  it('fails only the slot of an invoice that could not be read, and of a provider not connected (PROVIDER_NOT_CONNECTED)', async () => {
    const loaders = createInvoiceLoaders(new Ledger(db), registry, 't');
    const [ok, missing, unknown] = await Promise.allSettled([
      loaders.details.load(ref('SALLA', '1')),
      loaders.details.load(ref('SALLA', 'missing')),
      loaders.details.load(ref('EXSITED', 'x')),
    ]);
    expect(ok.status).toBe('fulfilled');
    expect(missing).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: 'not found' }) });
    expect(unknown).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ userErrors: [expect.objectContaining({ code: 'PROVIDER_NOT_CONNECTED' })] }) });
  });

  it('naive mode (the benchmark baseline) makes one call per load', async () => {
    const loaders = createInvoiceLoaders(new Ledger(db), registry, 't', { naive: true });
    await Promise.all([ref('SALLA', '1'), ref('SALLA', '2'), ref('SALLA', '1')].map((r) => loaders.details.load(r)));
    expect(salla.batches).toEqual([['1'], ['2'], ['1']]);
  });

  it('ledger loads of a tick cost one query, whatever the number of ids or orders', async () => {
    const loaders = createInvoiceLoaders(new Ledger(db), registry, 't');
    const before = db.stats.queries;
    await Promise.all([...Array.from({ length: 100 }, (_, i) => loaders.invoiceById.load(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`))]);
    await Promise.all(Array.from({ length: 50 }, (_, i) => loaders.invoicesByOrderId.load(`order-${i}`)));
    expect(db.stats.queries - before).toBe(2);
  });
});
