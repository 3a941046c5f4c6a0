import { randomBytes } from 'node:crypto';
import { ProviderError, userError } from '../domain/errors';
import type { Database } from '../ledger/database';
import { Ledger } from '../ledger/ledger';
import { ProviderRegistry } from '../providers/registry';
import { ConnectionKeys } from '../connections/connection-keys';
import { ConnectionStore } from '../connections/connection-store';
import { TenantProviders } from '../connections/tenant-providers';
import { RecordingProvider, type FakeInput } from '../../test/support/recording-provider';
import { openTestDatabase, storeName } from '../../test/support/store';
import { InvoiceReconciler } from './invoice.reconciler';
import { InvoiceService, sameAccount, type CreateInvoiceCommand } from './invoice.service';

/** A store's account: the provider a connection to it builds, identifying as it. */
class Store extends RecordingProvider {
  constructor(readonly storeId: string) {
    super();
  }
  async identify() {
    return { accountId: this.storeId, accountName: null };
  }
}

describe(`an open attempt is settled only in the account it was sent to (${storeName()})`, () => {
  let db: Database;
  let ledger: Ledger;
  const stores = { a: new Store('store-a'), b: new Store('store-b') };
  let tenants: TenantProviders;
  let service: InvoiceService;
  const connect = (token: 'a' | 'b') => tenants.connect('t', { provider: 'SALLA', baseUrl: 'https://api.salla.dev/admin/v2', accessToken: token }, ['input', 'salla']);
  const input: FakeInput = { orderId: 'acct-order-1', amount: '10.00' };
  const cmd: CreateInvoiceCommand = { tenantId: 't', provider: 'SALLA', branch: 'salla', input, recordedInput: input, idempotencyKey: 'acct-key-1' };

  beforeAll(async () => {
    db = await openTestDatabase();
    ledger = new Ledger(db);
    tenants = new TenantProviders(
      new ProviderRegistry([]),
      { store: new ConnectionStore(db), keys: new ConnectionKeys(randomBytes(32)), build: (c) => stores[(c as { accessToken: 'a' | 'b' }).accessToken] },
      { defaultsServe: 'default-tenant', defaultTenant: null, cacheMs: 0 },
    );
    service = new InvoiceService(ledger, tenants, { leaseMs: 50, pollMs: 5 });
  });
  afterAll(() => db.close());

  it('records the account on the attempt; after a reconnect to another store, neither a retry with the key nor the reconciler asks that store; back on the first, it settles', async () => {
    await connect('a');
    // Store A made the invoice and its answer was lost: the attempt is left open (unknown).
    stores.a.failures.push(new ProviderError([userError('PROVIDER_UNAVAILABLE', 'lost')], 'indeterminate', 'transport:reset'));
    stores.a.existing.push((await new RecordingProvider().create(input))[0]!);
    const first = await service.create(cmd);
    expect(first.invoices).toEqual([]);
    const open = (await ledger.findAttempt('t', 'acct-key-1'))!;
    expect(open).toMatchObject({ state: 'unknown', account: 'account:store-a' });

    // The tenant reconnects to store B: the key's retry is told why, and store B is never asked (nor created at).
    await connect('b');
    await new Promise((r) => setTimeout(r, 80));
    const retried = await service.create(cmd);
    expect(retried.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_NOT_CONNECTED', field: ['salla'], message: expect.stringContaining('another SALLA account') })]);
    const reconciler = new InvoiceReconciler(ledger, tenants, service);
    expect(await reconciler.runOnce()).toMatchObject({ examined: 1, skipped: 1, repaired: 0, released: 0 });
    expect([stores.b.creates, stores.b.finds]).toEqual([[], []]);
    expect((await ledger.findAttempt('t', 'acct-key-1'))!.state).toBe('unknown');

    // Store A again: the reconciler finds the invoice there, and the key's retry answers it.
    await connect('a');
    expect(await reconciler.runOnce()).toMatchObject({ examined: 1, repaired: 1 });
    expect((await service.create(cmd)).invoices.map((i) => i.providerInvoiceId)).toEqual([stores.a.existing[0]!.header.providerInvoiceId]);
    expect(stores.a.creates).toHaveLength(1);
  });

  it('an attempt recorded before accounts were (null), or through a provider naming none, is settled as before', () => {
    expect(sameAccount(null, 'account:store-b')).toBe(true);
    expect(sameAccount('account:store-a', null)).toBe(true);
    expect(sameAccount('deployment', 'account:store-a')).toBe(false);
    expect(sameAccount('account:store-a', 'account:store-a')).toBe(true);
  });
});
