import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ProviderError, userError, type UserError } from '../domain/errors';
import type { ProviderCode } from '../domain/invoice';
import type { InvoiceProvider } from '../providers/provider';
import type { ProviderRegistry } from '../providers/registry';
import type { ConnectionKeys } from './connection-keys';
import type { ConnectionStore, StoredConnection } from './connection-store';
import type { ConnectionCredentials } from './credentials';

/** Builds a provider for a connection's credentials; `connectionId` names its tokens in the shared store. No I/O. */
export type ConnectionBuilder = (credentials: ConnectionCredentials, connectionId: string) => InvoiceProvider;

/** A connection as the tenant sees it (Query.providerConnections): never its credentials. */
export interface ConnectionView {
  provider: ProviderCode;
  status: StoredConnection['status'];
  /** TENANT: made with connectProvider; DEPLOYMENT: the environment's account, the default of a single-tenant deployment. */
  source: 'TENANT' | 'DEPLOYMENT';
  accountId: string | null;
  accountName: string | null;
  connectedAt: Date | null;
  expiresAt: Date | null;
  lastError: string | null;
}

/**
 * The provider acting for a tenant, or why there is none (PROVIDER_NOT_CONNECTED). `account` names the provider account
 * it reaches, for recording on attempts: `deployment`, or `account:<the provider's id of it>` for a tenant's connection
 * (null where the provider named none).
 */
export type Resolved = { provider: InvoiceProvider; connectionId: string | null; account: string | null } | { refusal: UserError };

export interface TenantProvidersOptions {
  /**
   * Who the environment-configured providers act for when a tenant has no connection of its own: every tenant (a
   * single-tenant deployment, CONNECTIONS_KEY unset, as before connections), or only `defaultTenant` (a deployment
   * that keeps connections: a tenant never acts through an account it did not connect).
   */
  defaultsServe: 'every-tenant' | 'default-tenant';
  /** The tenant of unauthenticated requests; null when tokens are verified (no caller is then the default tenant). */
  defaultTenant: string | null;
  /** How long a replica trusts what it read of a connection before reading it again (default 2 s): how soon a disconnect elsewhere takes effect here. */
  cacheMs?: number;
  logger?: Logger;
}

/** What attempts sent through the environment-configured account record as their account. */
const DEPLOYMENT_ACCOUNT = 'deployment';

/** How often at most an account's webhook secrets are read again to check a delivery no cached secret verifies. */
const FRESH_READ_MS = 500;
/** Provider accounts whose webhook secrets are kept. */
const MAX_CACHED_ACCOUNTS = 10_000;

/** Methods that call the provider with the connection's credentials: a refusal there marks the connection. */
const ACCOUNT_CALLS = new Set(['create', 'findCreated', 'loadDetails', 'invoicesOfOrders', 'readUnknown', 'changedSince', 'identify']);

/**
 * Which provider account acts for which tenant: the tenant's own connection (connectProvider, sealed in the ledger's
 * database) or the deployment's default. Every create, read, refresh, sync and repair asks it with the tenant that
 * owns the work. Built providers are kept per connection (their tokens and breakers live in them); a connection is read
 * again at most every `cacheMs`. A provider that refuses a connection's credentials (PROVIDER_UNAUTHORIZED) turns that
 * connection, and only it, NEEDS_REAUTHORIZATION.
 */
export class TenantProviders {
  private resolved = new Map<string, { at: number; connection: StoredConnection | null }>();
  private built = new Map<string, InvoiceProvider>();
  /** The connection id whose provider is built, by tenant and provider. */
  private liveIds = new Map<string, string>();
  /** The webhook secrets of each provider account's tenants, as read at `at`, oldest first (a bounded LRU). */
  private secrets = new Map<string, { at: number; secrets: Array<{ tenantId: string; secret: string }> }>();
  /** Reads of an account's secrets under way: concurrent deliveries naming it share one. */
  private reading = new Map<string, Promise<Array<{ tenantId: string; secret: string }>>>();
  private readonly cacheMs: number;

  constructor(
    /** The environment-configured providers (or their sandboxes). */
    readonly defaults: ProviderRegistry,
    private readonly connections: { store: ConnectionStore; keys: ConnectionKeys; build: ConnectionBuilder } | null,
    private readonly options: TenantProvidersOptions,
  ) {
    this.cacheMs = options.cacheMs ?? 2_000;
  }

  /**
   * The same connections with other defaults (the reconciler's: only providers at a configured base URL, since a
   * fresh sandbox knows nothing of an earlier run), sharing what this one built and read.
   */
  withDefaults(defaults: ProviderRegistry): TenantProviders {
    const view = new TenantProviders(defaults, this.connections, this.options);
    view.resolved = this.resolved;
    view.built = this.built;
    view.liveIds = this.liveIds;
    view.secrets = this.secrets;
    view.reading = this.reading;
    return view;
  }

  /** Whether tenants' own connections are kept (CONNECTIONS_KEY is set). */
  get enabled(): boolean {
    return this.connections !== null;
  }

  /** The provider acting for the tenant. Costs nothing when cached, one ledger read otherwise. */
  async of(tenantId: string, code: ProviderCode): Promise<Resolved> {
    const connection = await this.connectionOf(tenantId, code);
    if (connection && connection.status !== 'DISCONNECTED') {
      if (connection.status === 'NEEDS_REAUTHORIZATION') {
        return { refusal: notConnected(code, `The connection to ${code} needs reauthorization (${connection.lastError ?? 'the provider refused its credentials'}): connect it again with connectProvider.`) };
      }
      return { provider: this.providerFor(connection), connectionId: connection.id, account: connection.accountId === null ? null : `account:${connection.accountId}` };
    }
    if (this.servesByDefault(tenantId) && this.defaults.has(code)) return { provider: this.defaults.get(code), connectionId: null, account: DEPLOYMENT_ACCOUNT };
    // A single-tenant deployment says what it always said: the operator configures its providers.
    if (!this.enabled) return { refusal: notConnected(code, `This service has no connection to ${code}: an operator must configure it before invoices can be created or read there.`) };
    return { refusal: notConnected(code, `This tenant has no connection to ${code}: connect one with connectProvider.`) };
  }

  /** The status of the tenant's own connection to the provider, or null when it never connected (cached like `of`). */
  async statusOf(tenantId: string, code: ProviderCode): Promise<StoredConnection['status'] | null> {
    return (await this.connectionOf(tenantId, code))?.status ?? null;
  }

  /** The provider acting for the tenant, or null (callers that skip what they cannot reach: refresh, sync, repair). */
  async providerOf(tenantId: string, code: ProviderCode): Promise<InvoiceProvider | null> {
    const r = await this.of(tenantId, code);
    return 'provider' in r ? r.provider : null;
  }

  /** Whether a provider could act for anyone here: configured by default, or connectable. Pure. */
  mayServe(code: ProviderCode): boolean {
    return this.defaults.has(code) || this.enabled;
  }

  /**
   * Checks the credentials against the provider (its `identify`, one or two calls) and, when it accepts them, stores
   * them sealed as the tenant's connection, replacing any earlier one. Returns the stored connection or the userErrors.
   */
  async connect(tenantId: string, credentials: ConnectionCredentials, field: string[]): Promise<{ connection: ConnectionView } | { userErrors: UserError[] }> {
    if (!this.connections) return { userErrors: [notConfigured(field)] };
    const { store, keys, build } = this.connections;
    const code = credentials.provider;
    const id = randomUUID();
    const probe = build(credentials, id);
    let account: { accountId: string | null; accountName: string | null } = { accountId: null, accountName: null };
    try {
      if (probe.identify) account = await probe.identify();
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      const first = err.userErrors[0];
      const refused = first?.code === 'PROVIDER_UNAUTHORIZED' || first?.code === 'ORDER_NOT_FOUND';
      return {
        userErrors: [
          refused
            ? userError('CREDENTIALS_REFUSED', `${code} refused these credentials; nothing was stored.`, field, { providerCode: first?.providerCode ?? null, providerMessage: first?.providerMessage ?? null })
            : { ...(first ?? userError('PROVIDER_UNAVAILABLE', `${code} could not be asked.`)), field, message: `${code} could not check these credentials (${first?.message ?? 'it failed'}); nothing was stored, try again.` },
        ],
      };
    } finally {
      await probe.close?.();
    }
    // The probe is closed and the connection's provider built anew from what was stored; tokens the probe renewed are
    // in the shared store under the connection's id already.
    const stored = await store.put({
      id,
      tenantId,
      provider: code,
      accountId: account.accountId ?? null,
      accountName: account.accountName,
      expiresAt: expiryOf(credentials),
      seal: (id) => ({ sealed: keys.seal(JSON.stringify(credentials), bindingOf(tenantId, code, id)), keyId: keys.currentId }),
    });
    this.forget(tenantId, code);
    this.options.logger?.info({ tenantId, provider: code, connection: stored.id, accountId: stored.accountId }, 'provider connected');
    return { connection: viewOf(stored) };
  }

  /**
   * Registers the tenant as the owner of the provider's account `accountId` whose credentials the provider will deliver
   * itself (Salla's app.store.authorize when the merchant installs the app): NEEDS_REAUTHORIZATION until they come.
   */
  async expectAccount(tenantId: string, code: ProviderCode, accountId: string, field: string[]): Promise<{ connection: ConnectionView } | { userErrors: UserError[] }> {
    if (!this.connections) return { userErrors: [notConfigured(field)] };
    const stored = await this.connections.store.expect(randomUUID(), tenantId, code, accountId, `awaiting ${code}'s authorization of account ${accountId} (the merchant installs the app)`);
    this.forget(tenantId, code);
    return { connection: viewOf(stored) };
  }

  /**
   * Stores credentials the provider delivered for its account `accountId` (a verified app.store.authorize) as the
   * connection of every tenant that owns that account (expected, connected before, or refused since), without
   * asking the provider again; the same tokens again (a redelivery) change nothing. Returns the tenants it connected.
   */
  async authorizeAccount(code: ProviderCode, accountId: string, credentials: ConnectionCredentials, accountName: string | null): Promise<string[]> {
    if (!this.connections) return [];
    const { store, keys } = this.connections;
    const owners = await store.byAccount(code, accountId);
    const touched: string[] = [];
    for (const owner of owners) {
      // A redelivery of the same event must not set a chain back to a refresh token already spent (Salla would revoke it).
      if (owner.sealed && sameCredentials(keys.open(owner.sealed, bindingOf(owner.tenantId, code, owner.id)), credentials)) continue;
      touched.push(owner.tenantId);
      await store.put({
        id: randomUUID(),
        tenantId: owner.tenantId,
        provider: code,
        accountId,
        accountName: accountName ?? owner.accountName,
        expiresAt: expiryOf(credentials),
        seal: (id) => ({ sealed: keys.seal(JSON.stringify(credentials), bindingOf(owner.tenantId, code, id)), keyId: keys.currentId }),
      });
      this.forget(owner.tenantId, code);
      this.options.logger?.info({ tenantId: owner.tenantId, provider: code, accountId }, 'provider authorized the account: connected');
    }
    return touched;
  }

  /** Marks every live connection to the provider's account as NEEDS_REAUTHORIZATION (the merchant uninstalled the app). */
  async accountRevoked(code: ProviderCode, accountId: string, reason: string): Promise<string[]> {
    if (!this.connections) return [];
    const owners = await this.connections.store.byAccount(code, accountId);
    for (const o of owners) {
      await this.connections.store.refused(o.id, reason);
      this.forget(o.tenantId, code);
    }
    return owners.filter((o) => o.status === 'CONNECTED').map((o) => o.tenantId);
  }

  /** Erases the tenant's credentials for the provider; its invoices stay in the ledger. Returns the connection, or null if none. */
  async disconnect(tenantId: string, code: ProviderCode): Promise<ConnectionView | null> {
    if (!this.connections) return null;
    const gone = await this.connections.store.disconnect(tenantId, code);
    this.forget(tenantId, code);
    if (gone) this.options.logger?.info({ tenantId, provider: code, connection: gone.id }, 'provider disconnected');
    return gone && viewOf(gone);
  }

  /** The tenant's connections, and the deployment's accounts that act for it where it has none of its own. One read. */
  async list(tenantId: string): Promise<ConnectionView[]> {
    const own = this.connections ? (await this.connections.store.list(tenantId)).map(viewOf) : [];
    const mine = new Set(own.filter((c) => c.status !== 'DISCONNECTED').map((c) => c.provider));
    const defaults: ConnectionView[] = this.servesByDefault(tenantId)
      ? this.defaults
          .codes()
          .filter((code) => !mine.has(code))
          .map((provider) => ({ provider, status: 'CONNECTED', source: 'DEPLOYMENT', accountId: null, accountName: null, connectedAt: null, expiresAt: null, lastError: null }))
      : [];
    return [...own.filter((c) => !(c.status === 'DISCONNECTED' && defaults.some((d) => d.provider === c.provider))), ...defaults].sort((a, b) => a.provider.localeCompare(b.provider));
  }

  /**
   * The tenants acting through a provider's accounts, each with its provider: every CONNECTED connection, and the
   * default account (tenant null: whoever owns the work) where there is one. Called by each sync pass; one read.
   */
  async everyAccount(code: ProviderCode): Promise<Array<{ tenantId: string | null; connectionId: string | null; provider: InvoiceProvider }>> {
    const own = this.connections ? await this.connections.store.connectedTo(code) : [];
    return [
      ...(this.defaults.has(code) ? [{ tenantId: null, connectionId: null, provider: this.defaults.get(code) }] : []),
      ...own.map((c) => ({ tenantId: c.tenantId, connectionId: c.id, provider: this.providerFor(c) })),
    ];
  }

  /**
   * The webhook secrets (Zuora's webhookSecret) of the live connections (not DISCONNECTED) to the provider's account
   * `accountId`, by tenant: who may have signed a delivery that names that account. Cached like connections (cacheMs);
   * `fresh` (no cached secret verified a delivery) reads again unless the last read is under FRESH_READ_MS old.
   * Concurrent reads of one account are shared. A read costs one indexed query and an unsealing per connection.
   */
  async webhookSecretsOf(code: ProviderCode, accountId: string, fresh = false): Promise<Array<{ tenantId: string; secret: string }>> {
    if (!this.connections) return [];
    const key = `${code}\u0000${accountId}`;
    const cached = this.secrets.get(key);
    const age = cached ? Date.now() - cached.at : Infinity;
    // A fresh read is granted at most every FRESH_READ_MS per account: forged deliveries naming it cost HMACs, not reads.
    if (cached && (fresh ? age < FRESH_READ_MS : age < this.cacheMs)) return cached.secrets;
    const under = this.reading.get(key);
    if (under) return under;
    const read = this.readWebhookSecrets(code, accountId).finally(() => this.reading.delete(key));
    this.reading.set(key, read);
    const secrets = await read;
    this.secrets.delete(key);
    // Bounded: accounts named by forged headers push out the least recently read, not every entry.
    while (this.secrets.size >= MAX_CACHED_ACCOUNTS) this.secrets.delete(this.secrets.keys().next().value!);
    this.secrets.set(key, { at: Date.now(), secrets });
    return secrets;
  }

  /** One indexed read of the account's connections, each unsealed: the secrets of those that hold one. */
  private async readWebhookSecrets(code: ProviderCode, accountId: string): Promise<Array<{ tenantId: string; secret: string }>> {
    const { store, keys } = this.connections!;
    const secrets: Array<{ tenantId: string; secret: string }> = [];
    for (const c of await store.byAccount(code, accountId)) {
      // A connection that needs reauthorization keeps its callouts: the provider refused its API credentials, not them.
      if (!c.sealed) continue;
      let credentials: ConnectionCredentials;
      try {
        credentials = JSON.parse(keys.open(c.sealed, bindingOf(c.tenantId, c.provider, c.id))) as ConnectionCredentials;
      } catch (err) {
        // One row sealed under a key this process does not hold must not refuse every other tenant of the account.
        this.options.logger?.warn({ err, tenantId: c.tenantId, provider: code, connection: c.id }, 'a connection could not be opened; its webhooks are refused');
        continue;
      }
      if (credentials.provider === 'ZUORA' && credentials.webhookSecret) secrets.push({ tenantId: c.tenantId, secret: credentials.webhookSecret });
    }
    return secrets;
  }

  /** Seals again, under the current key, up to `limit` connections sealed under an older key it holds. Returns how many. */
  async resealStale(limit = 100): Promise<number> {
    if (!this.connections) return 0;
    const { store, keys } = this.connections;
    let done = 0;
    for (const c of await store.sealedUnder(keys.previousIds, limit)) {
      const binding = bindingOf(c.tenantId, c.provider, c.id);
      if (await store.reseal(c.id, c.sealed!, keys.seal(keys.open(c.sealed!, binding), binding), keys.currentId)) done += 1;
    }
    return done;
  }

  /** Releases every connection's provider; called once at shutdown (the defaults are the caller's). */
  async close(): Promise<void> {
    await Promise.all([...this.built.values()].map((p) => p.close?.()));
    this.built.clear();
  }

  private servesByDefault(tenantId: string): boolean {
    return this.options.defaultsServe === 'every-tenant' || (this.options.defaultTenant !== null && tenantId === this.options.defaultTenant);
  }

  private async connectionOf(tenantId: string, code: ProviderCode): Promise<StoredConnection | null> {
    if (!this.connections) return null;
    const key = `${tenantId}\u0000${code}`;
    const cached = this.resolved.get(key);
    if (cached && Date.now() - cached.at < this.cacheMs) return cached.connection;
    const connection = await this.connections.store.get(tenantId, code);
    this.resolved.set(key, { at: Date.now(), connection });
    return connection;
  }

  private forget(tenantId: string, code: ProviderCode): void {
    this.resolved.delete(`${tenantId}\u0000${code}`);
    // Which account the tenant was connected to is not known here: the provider's cached secrets go.
    for (const key of this.secrets.keys()) if (key.startsWith(`${code}\u0000`)) this.secrets.delete(key);
  }

  /** The built provider of a connection (one per connection id, for its life), watched for refusals. */
  private providerFor(c: StoredConnection): InvoiceProvider {
    const existing = this.built.get(c.id);
    if (existing) return existing;
    const { keys, build, store } = this.connections!;
    const credentials = JSON.parse(keys.open(c.sealed!, bindingOf(c.tenantId, c.provider, c.id))) as ConnectionCredentials;
    const provider = watched(build(credentials, c.id), (err) => {
      const reason = err.userErrors[0]?.providerMessage ?? err.userErrors[0]?.message ?? err.message;
      void store
        .refused(c.id, reason.slice(0, 500))
        .then((changed) => {
          this.forget(c.tenantId, c.provider as ProviderCode);
          if (changed) this.options.logger?.warn({ tenantId: c.tenantId, provider: c.provider, connection: c.id, reason }, 'the provider refused a connection: it needs reauthorization');
        })
        .catch((e: unknown) => this.options.logger?.warn({ err: e, connection: c.id }, 'could not mark a connection as needing reauthorization'));
    });
    // A reconnect replaces the tenant's provider: the one built for the connection it replaced is closed.
    const slot = `${c.tenantId}\u0000${c.provider}`;
    const replaced = this.liveIds.get(slot);
    if (replaced && replaced !== c.id) {
      void this.built.get(replaced)?.close?.();
      this.built.delete(replaced);
    }
    this.liveIds.set(slot, c.id);
    this.built.set(c.id, provider);
    return provider;
  }
}

/** Whether stored credentials (their sealed text opened) are the same tokens as these. */
function sameCredentials(opened: string, credentials: ConnectionCredentials): boolean {
  const stored = JSON.parse(opened) as Partial<Record<string, unknown>>;
  const given = credentials as unknown as Partial<Record<string, unknown>>;
  return stored.accessToken === given.accessToken && stored.refreshToken === given.refreshToken;
}

/** What binds sealed credentials to their row: the same value moved to another tenant's row does not open. */
function bindingOf(tenantId: string, provider: string, id: string): string {
  return `${tenantId}\u0000${provider}\u0000${id}`;
}

/** When the credentials run out unless renewed, where the provider said (Salla's `expires`). */
function expiryOf(credentials: ConnectionCredentials): Date | null {
  return credentials.provider === 'SALLA' && credentials.expiresAt ? new Date(credentials.expiresAt) : null;
}

function notConfigured(field: string[]): UserError {
  return userError('CONNECTIONS_NOT_CONFIGURED', 'This deployment keeps no tenant connections (CONNECTIONS_KEY is unset): its providers are configured by its operator.', field);
}

function notConnected(code: ProviderCode, message: string): UserError {
  return userError('PROVIDER_NOT_CONNECTED', message);
}

function viewOf(c: StoredConnection): ConnectionView {
  return {
    provider: c.provider as ProviderCode,
    status: c.status,
    source: 'TENANT',
    accountId: c.accountId,
    accountName: c.accountName,
    connectedAt: c.connectedAt,
    expiresAt: c.expiresAt,
    lastError: c.lastError,
  };
}

/** Whether a failure is the provider refusing the credentials (not a scope, not an outage). */
function isRefusal(err: unknown): err is ProviderError {
  return err instanceof ProviderError && err.userErrors.some((e) => e.code === 'PROVIDER_UNAUTHORIZED');
}

/** The provider, with every account call reporting a refusal of its credentials to `onRefused` (then rethrown as is). */
function watched(provider: InvoiceProvider, onRefused: (err: ProviderError) => void): InvoiceProvider {
  return new Proxy(provider, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || !ACCOUNT_CALLS.has(String(prop))) return value;
      return async (...args: unknown[]) => {
        try {
          const out = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          // Batch reads answer an Error per slot: one refusal among them is the connection's.
          if (Array.isArray(out)) {
            const refusal = out.find(isRefusal);
            if (refusal) onRefused(refusal);
          }
          return out;
        } catch (err) {
          if (isRefusal(err)) onRefused(err);
          throw err;
        }
      };
    },
  });
}

/** A registry alone acts for every tenant (tests, and the deployments of before connections). */
export function tenantProvidersOf(providers: TenantProviders | ProviderRegistry): TenantProviders {
  return providers instanceof TenantProviders ? providers : new TenantProviders(providers, null, { defaultsServe: 'every-tenant', defaultTenant: '' });
}
