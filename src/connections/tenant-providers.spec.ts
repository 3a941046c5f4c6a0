import { randomBytes } from 'node:crypto';
import { ProviderError, userError } from '../domain/errors';
import type { Database } from '../ledger/database';
import type { InvoiceProvider } from '../providers/provider';
import { ProviderRegistry } from '../providers/registry';
import { openTestDatabase } from '../../test/support/store';
import { RecordingProvider } from '../../test/support/recording-provider';
import { ConnectionKeys } from './connection-keys';
import { ConnectionStore } from './connection-store';
import type { ConnectionCredentials } from './credentials';
import { TenantProviders } from './tenant-providers';

const SALLA = (accessToken: string): ConnectionCredentials => ({ provider: 'SALLA', baseUrl: 'https://api.salla.dev/admin/v2', accessToken });

/** A provider built for a connection: identifies as the store its token names, and may be told to refuse. */
class ConnectedFake extends RecordingProvider {
  refuse = false;
  constructor(readonly token: string) {
    super();
  }
  async identify() {
    if (this.token === 'bad') throw new ProviderError([userError('PROVIDER_UNAUTHORIZED', 'refused', null, { providerMessage: 'invalid token' })], 'final', 'http:401');
    return { accountId: `store-of-${this.token}`, accountName: `Store ${this.token}` };
  }
  override async create(input: { orderId: string; amount: string }) {
    if (this.refuse) throw new ProviderError([userError('PROVIDER_UNAUTHORIZED', 'revoked', null, { providerMessage: 'token revoked' })], 'final', 'http:401');
    return super.create(input);
  }
}

describe('TenantProviders', () => {
  let db: Database;
  const built: ConnectedFake[] = [];
  const deployment = new RecordingProvider();
  let tenants: TenantProviders;

  beforeAll(async () => {
    db = await openTestDatabase();
    tenants = new TenantProviders(
      new ProviderRegistry([deployment as InvoiceProvider]),
      {
        store: new ConnectionStore(db),
        keys: new ConnectionKeys(randomBytes(32)),
        build: (c) => {
          const p = new ConnectedFake((c as { accessToken: string }).accessToken);
          built.push(p);
          return p;
        },
      },
      { defaultsServe: 'default-tenant', defaultTenant: 'default', cacheMs: 0 },
    );
  });
  afterAll(async () => db.close());

  it("the deployment's account acts for the default tenant only; others are told to connect", async () => {
    expect(await tenants.of('default', 'SALLA')).toEqual({ provider: deployment, connectionId: null, account: 'deployment' });
    const other = await tenants.of('tenant-x', 'SALLA');
    expect(other).toEqual({ refusal: expect.objectContaining({ code: 'PROVIDER_NOT_CONNECTED' }) });
    expect(await tenants.list('tenant-x')).toEqual([]);
    expect(await tenants.list('default')).toEqual([expect.objectContaining({ provider: 'SALLA', source: 'DEPLOYMENT', status: 'CONNECTED' })]);
  });

  it('stores what the provider accepted, with the account it named; refuses and stores nothing otherwise', async () => {
    const refused = await tenants.connect('tenant-a', SALLA('bad'), ['input', 'salla']);
    expect(refused).toEqual({ userErrors: [expect.objectContaining({ code: 'CREDENTIALS_REFUSED', field: ['input', 'salla'], providerMessage: 'invalid token' })] });
    expect(await tenants.list('tenant-a')).toEqual([]);
    const ok = await tenants.connect('tenant-a', SALLA('token-a'), ['input', 'salla']);
    expect(ok).toEqual({ connection: expect.objectContaining({ provider: 'SALLA', status: 'CONNECTED', accountId: 'store-of-token-a', accountName: 'Store token-a', source: 'TENANT' }) });
    const resolved = await tenants.of('tenant-a', 'SALLA');
    expect('provider' in resolved && (resolved.provider as unknown as ConnectedFake).token).toBe('token-a');
  });

  it('one built provider per connection, replaced on reconnect', async () => {
    const first = await tenants.providerOf('tenant-a', 'SALLA');
    expect(await tenants.providerOf('tenant-a', 'SALLA')).toBe(first);
    await tenants.connect('tenant-a', SALLA('token-a2'), ['input', 'salla']);
    const second = await tenants.providerOf('tenant-a', 'SALLA');
    expect(second).not.toBe(first);
    expect((second as unknown as ConnectedFake).token).toBe('token-a2');
  });

  it("a refusal of a connection's credentials marks that connection alone NEEDS_REAUTHORIZATION", async () => {
    await tenants.connect('tenant-b', SALLA('token-b'), ['input', 'salla']);
    await tenants.connect('tenant-c', SALLA('token-c'), ['input', 'salla']);
    const b = (await tenants.providerOf('tenant-b', 'SALLA'))!;
    built.filter((p) => p.token === 'token-b').forEach((p) => (p.refuse = true));
    await expect(b.create({ orderId: '1', amount: '1' }, { idempotencyKey: 'k' })).rejects.toThrow(ProviderError);
    for (let i = 0; i < 50 && (await tenants.list('tenant-b'))[0]?.status !== 'NEEDS_REAUTHORIZATION'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await tenants.list('tenant-b')).toEqual([expect.objectContaining({ status: 'NEEDS_REAUTHORIZATION', lastError: 'token revoked' })]);
    expect(await tenants.of('tenant-b', 'SALLA')).toEqual({ refusal: expect.objectContaining({ code: 'PROVIDER_NOT_CONNECTED', message: expect.stringMatching(/reauthorization/) }) });
    expect(await tenants.list('tenant-c')).toEqual([expect.objectContaining({ status: 'CONNECTED' })]);
  });

  it('an account the provider authorizes connects the tenants that claimed it; uninstalling marks them', async () => {
    await tenants.expectAccount('tenant-d', 'SALLA', '424242', ['input', 'salla']);
    expect(await tenants.list('tenant-d')).toEqual([expect.objectContaining({ status: 'NEEDS_REAUTHORIZATION', accountId: '424242' })]);
    expect(await tenants.authorizeAccount('SALLA', '999', SALLA('nobody'), null)).toEqual([]);
    expect(await tenants.authorizeAccount('SALLA', '424242', SALLA('token-d'), 'Store D')).toEqual(['tenant-d']);
    expect(await tenants.list('tenant-d')).toEqual([expect.objectContaining({ status: 'CONNECTED', accountName: 'Store D' })]);
    expect(await tenants.accountRevoked('SALLA', '424242', 'the merchant uninstalled the app')).toEqual(['tenant-d']);
    expect(await tenants.list('tenant-d')).toEqual([expect.objectContaining({ status: 'NEEDS_REAUTHORIZATION', lastError: 'the merchant uninstalled the app' })]);
  });

  it('disconnect erases the credentials and the tenant is not connected; the default tenant falls back to the deployment', async () => {
    await tenants.connect('default', SALLA('token-own'), ['input', 'salla']);
    expect((await tenants.of('default', 'SALLA')) as { connectionId: string | null }).toMatchObject({ connectionId: expect.any(String) });
    expect(await tenants.disconnect('default', 'SALLA')).toEqual(expect.objectContaining({ status: 'DISCONNECTED' }));
    expect(await tenants.of('default', 'SALLA')).toEqual({ provider: deployment, connectionId: null, account: 'deployment' });
    await tenants.disconnect('tenant-c', 'SALLA');
    const rows = await db.query<{ sealed: string | null; status: string }>(`SELECT sealed, status FROM provider_connections WHERE tenant_id = 'tenant-c'`);
    expect(rows).toEqual([{ sealed: null, status: 'DISCONNECTED' }]);
    expect(await tenants.of('tenant-c', 'SALLA')).toEqual({ refusal: expect.objectContaining({ code: 'PROVIDER_NOT_CONNECTED' }) });
  });

  it('re-seals connections under a new key, and the old key alone can no longer open them', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const store = new ConnectionStore(db);
    const build = (c: ConnectionCredentials) => new ConnectedFake((c as { accessToken: string }).accessToken);
    const before = new TenantProviders(new ProviderRegistry([]), { store, keys: new ConnectionKeys(oldKey), build }, { defaultsServe: 'default-tenant', defaultTenant: 'default', cacheMs: 0 });
    await before.connect('tenant-rot', SALLA('token-rot'), ['input', 'salla']);
    const after = new TenantProviders(new ProviderRegistry([]), { store, keys: new ConnectionKeys(newKey, oldKey), build }, { defaultsServe: 'default-tenant', defaultTenant: 'default', cacheMs: 0 });
    expect(await after.resealStale()).toBeGreaterThanOrEqual(1);
    expect(await after.resealStale()).toBe(0);
    expect(((await after.providerOf('tenant-rot', 'SALLA')) as unknown as ConnectedFake).token).toBe('token-rot');
    const onlyNew = new TenantProviders(new ProviderRegistry([]), { store, keys: new ConnectionKeys(newKey), build }, { defaultsServe: 'default-tenant', defaultTenant: 'default', cacheMs: 0 });
    expect(((await onlyNew.providerOf('tenant-rot', 'SALLA')) as unknown as ConnectedFake).token).toBe('token-rot');
  });
});

describe('TenantProviders.webhookSecretsOf', () => {
  let db: Database;
  let tenants: TenantProviders;
  let store: ConnectionStore;
  const ZUORA = (webhookSecret?: string): ConnectionCredentials => ({ provider: 'ZUORA', baseUrl: 'https://rest.zuora.com', clientId: 'c', clientSecret: 's', ...(webhookSecret ? { webhookSecret } : {}) });
  /** Every Zuora connection here identifies as Zuora tenant 4711. */
  class ZuoraFake extends RecordingProvider {
    async identify() {
      return { accountId: '4711', accountName: null };
    }
  }

  beforeAll(async () => {
    db = await openTestDatabase();
    store = new ConnectionStore(db);
    tenants = new TenantProviders(new ProviderRegistry([]), { store, keys: new ConnectionKeys(randomBytes(32)), build: () => new ZuoraFake() }, { defaultsServe: 'default-tenant', defaultTenant: null, cacheMs: 60_000 });
  });
  afterAll(async () => db.close());

  it("holds the secrets of the account's live connections that gave one, not a disconnected one's; a connect on this replica is seen at once", async () => {
    await tenants.connect('t-1', ZUORA('secret-of-tenant-one-0123'), ['input', 'zuora']);
    await tenants.connect('t-2', ZUORA(), ['input', 'zuora']);
    await tenants.connect('t-3', ZUORA('secret-of-tenant-three-01'), ['input', 'zuora']);
    expect(await tenants.webhookSecretsOf('ZUORA', '4711')).toEqual([
      { tenantId: 't-1', secret: 'secret-of-tenant-one-0123' },
      { tenantId: 't-3', secret: 'secret-of-tenant-three-01' },
    ]);
    await tenants.disconnect('t-3', 'ZUORA');
    expect((await tenants.webhookSecretsOf('ZUORA', '4711')).map((s) => s.tenantId)).toEqual(['t-1']);
    // Refused by the provider (NEEDS_REAUTHORIZATION): its callouts are still its own.
    const [c1] = (await store.byAccount('ZUORA', '4711')).filter((c) => c.tenantId === 't-1');
    await store.refused(c1!.id, 'revoked');
    await tenants.connect('t-2', ZUORA('secret-of-tenant-two-0123'), ['input', 'zuora']);
    expect((await tenants.webhookSecretsOf('ZUORA', '4711')).map((s) => s.tenantId)).toEqual(['t-1', 't-2']);
    expect(await tenants.webhookSecretsOf('ZUORA', '0000')).toEqual([]);
  });

  it('reads the ledger at most once per FRESH_READ_MS however many deliveries ask for fresh secrets, and shares concurrent reads', async () => {
    const reads = jest.spyOn(store, 'byAccount');
    await tenants.webhookSecretsOf('ZUORA', '9999', true);
    await Promise.all(Array.from({ length: 50 }, () => tenants.webhookSecretsOf('ZUORA', '9999', true)));
    expect(reads).toHaveBeenCalledTimes(1);
    await new Promise((r) => setTimeout(r, 550));
    await Promise.all(Array.from({ length: 50 }, () => tenants.webhookSecretsOf('ZUORA', '9998', true)));
    await tenants.webhookSecretsOf('ZUORA', '9999', true);
    expect(reads).toHaveBeenCalledTimes(3);
    reads.mockRestore();
  });
});
