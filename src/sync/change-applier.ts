import type { Logger } from 'pino';
import { recordOf, type InvoiceDetails, type InvoiceRecord, type ProviderCode, type ProviderInvoiceRef } from '../domain/invoice';
import type { ProviderChange } from '../domain/provider-change';
import type { Ledger } from '../ledger/ledger';
import type { KnownInvoice, SyncStore } from '../ledger/sync-store';
import type { InvoiceProvider } from '../providers/provider';
import type { ProviderRegistry } from '../providers/registry';
import { tenantProvidersOf, type TenantProviders } from '../connections/tenant-providers';

/**
 * The account a change was seen at: a tenant's connection (`tenantId`), or the deployment's account (tenant null).
 * Only what is read there is recorded there: an invoice found through one tenant's connection is never another's.
 */
export interface ChangeSource {
  tenantId: string | null;
  provider: InvoiceProvider;
}

/** Unknown invoices read per readUnknown call (then recorded before the next page is read). */
const UNKNOWN_PAGE = 100;

/** What applying a batch of changes did. */
export interface ApplyResult {
  /** Known invoices read again and stored (status, kpis, and lines and taxes once final). */
  refreshed: number;
  /** Invoices found at the provider and recorded with origin EXTERNAL. */
  found: number;
  /** Found invoices of an order several tenants have invoices of: recorded for none (whose would it be?). */
  ambiguous: number;
}

/** Reads from the provider failed; what could be read was stored (`stored` invoices). The job that asked is retried. */
export class ChangesNotApplied extends Error {
  constructor(
    readonly provider: ProviderCode,
    readonly failures: Error[],
    readonly stored = 0,
  ) {
    super(`${failures.length} read(s) at ${provider} failed: ${failures[0]?.message ?? ''}`);
    this.name = 'ChangesNotApplied';
  }
}

/**
 * Brings the ledger up to date with what changed at the providers, from any source (a webhook delivery, a sync
 * pass). Nothing of an event's payload is trusted or applied: the invoices it names, or its order's, are read again
 * from the provider, and a read older than the stored one never overwrites it (Ledger.recordReads). So a delivery
 * that comes twice, or after a newer one, leaves the latest state. Invoices found on a known order that the ledger
 * does not know, listed on a known order or named by an event and read with its order (readUnknown), are recorded as
 * EXTERNAL for the one tenant whose order it is.
 */
export class ChangeApplier {
  private readonly providers: TenantProviders;

  constructor(
    private readonly ledger: Ledger,
    private readonly store: SyncStore,
    providers: TenantProviders | ProviderRegistry,
    private readonly logger?: Logger,
  ) {
    this.providers = tenantProvidersOf(providers);
  }

  /**
   * Applies changes, per provider. Cost per provider: one ledger query for the known invoices; then, where the provider
   * lists an order's invoices, its listing per named known order, else one read per named known invoice; then two
   * ledger writes; and where the provider reads unknown invoices (readUnknown), its reads of the distinct named ones
   * the ledger does not know, one ledger query for their orders' owners and one write. Throws ChangesNotApplied after
   * storing what it could when a provider read failed.
   */
  async apply(changes: readonly ProviderChange[], source?: ChangeSource | null): Promise<ApplyResult> {
    const byProvider = new Map<ProviderCode, ProviderChange[]>();
    for (const c of changes) byProvider.set(c.provider, [...(byProvider.get(c.provider) ?? []), c]);
    const total: ApplyResult = { refreshed: 0, found: 0, ambiguous: 0 };
    const failures: ChangesNotApplied[] = [];
    for (const [code, list] of byProvider) {
      if (!this.providers.mayServe(code)) continue;
      // A webhook's changes are seen at the deployment's account, when it has one; its known invoices are read through their tenants' own.
      // null: seen at no account that can still be asked (a tenant's, since disconnected): known invoices only.
      const at = source !== undefined ? source : this.providers.defaults.has(code) ? { tenantId: null, provider: this.providers.defaults.get(code) } : null;
      try {
        const r = await this.applyAt(code, list, at);
        total.refreshed += r.refreshed;
        total.found += r.found;
        total.ambiguous += r.ambiguous;
      } catch (err) {
        if (!(err instanceof ChangesNotApplied)) throw err;
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0]!;
    return total;
  }

  /**
   * Where a delivery verified with a tenant's own secret was seen: that tenant's connection to the provider; 'waiting'
   * while that connection needs reauthorization (the delivery should wait for it); null when the tenant has none any
   * more (then only its known invoices are read, through their owners' accounts). Costs what TenantProviders.of costs.
   */
  async seenBy(tenantId: string, code: ProviderCode): Promise<ChangeSource | 'waiting' | null> {
    const r = await this.providers.of(tenantId, code);
    if ('provider' in r && r.connectionId !== null) return { tenantId, provider: r.provider };
    return (await this.providers.statusOf(tenantId, code)) === 'NEEDS_REAUTHORIZATION' ? 'waiting' : null;
  }

  /**
   * Lists the orders' invoices at the provider and stores them: known ones read again, unknown ones recorded as
   * EXTERNAL for the order's one tenant. Orders the ledger does not know are skipped (they are no tenant's). Used by
   * the sync pass's discovery too.
   */
  async discover(code: ProviderCode, orderIds: readonly string[], owners?: Map<string, string[]>): Promise<ApplyResult> {
    const known = owners ?? (await this.store.ownersOf(code, orderIds));
    const result: ApplyResult = { refreshed: 0, found: 0, ambiguous: 0 };
    const failures: Error[] = [];
    // Each order is listed through the account of each tenant that has it: tenants sharing the deployment's account
    // list it once, a tenant with its own connection through that connection.
    const groups = new Map<InvoiceProvider, { orders: string[]; own: boolean; tenants: Set<string> }>();
    for (const orderId of orderIds) {
      for (const tenantId of known.get(orderId) ?? []) {
        const r = await this.providers.of(tenantId, code);
        if (!('provider' in r) || !r.provider.invoicesOfOrders) continue;
        const g = groups.get(r.provider) ?? groups.set(r.provider, { orders: [], own: r.connectionId !== null, tenants: new Set() }).get(r.provider)!;
        if (!g.orders.includes(orderId)) g.orders.push(orderId);
        g.tenants.add(tenantId);
      }
    }
    for (const [provider, g] of groups) {
      const listed: Array<InvoiceDetails[] | Error> = await provider.invoicesOfOrders!(g.orders).catch((err: Error) => g.orders.map(() => err));
      const readAt = new Date();
      const reads: Array<{ details: InvoiceDetails; orderId: string }> = [];
      listed.forEach((invoices, i) => {
        if (invoices instanceof Error) return void failures.push(invoices);
        for (const details of invoices) reads.push({ details, orderId: g.orders[i]! });
      });
      result.refreshed += await this.ledger.recordReads(reads.map(({ details: d }) => ({ record: recordOf(d, provider.contentFinal(d.header)), readAt })));
      // Found through one tenant's connection: that tenant's alone. Through the shared account: the order's one owner.
      const owning = g.own ? new Map(g.orders.map((o) => [o, [...g.tenants]])) : known;
      const r = await this.recordFound(provider, reads, owning, readAt);
      result.found += r.found;
      result.ambiguous += r.ambiguous;
    }
    if (failures.length > 0) throw new ChangesNotApplied(code, failures);
    return result;
  }

  /**
   * Invoices a change named by id that the ledger does not know, read with their order where the provider can
   * (readUnknown), and recorded as EXTERNAL as discover records them: for the order's one tenant, for none on an order
   * several tenants have invoiced, and not at all on an order no tenant has. Cost per page of 100 distinct ids: the
   * provider's reads of them, one ledger query for their orders' owners, one write. Throws ChangesNotApplied after recording what it could
   * when some reads failed.
   *
   * Real Zuora sends Invoice Posted for the invoices our own POST /v1/fulfillments bills too (Salla invoice.created
   * likewise). One read here before that create's success is stored (Ledger.succeed) is recorded EXTERNAL; the
   * success then takes that row over (origin CREATED_HERE, its attempt, same id), so it is still one record, and ours.
   */
  private async discoverNamed(source: ChangeSource, providerInvoiceIds: readonly string[]): Promise<ApplyResult> {
    const { provider } = source;
    const ids = [...new Set(providerInvoiceIds)];
    const result: ApplyResult = { refreshed: 0, found: 0, ambiguous: 0 };
    if (!provider.readUnknown) return result;
    const failures: Error[] = [];
    // A page at a time (a drain holds up to 500 deliveries of up to 100 invoices each), each recorded before the next.
    for (let i = 0; i < ids.length; i += UNKNOWN_PAGE) {
      const page = ids.slice(i, i + UNKNOWN_PAGE);
      const read: Array<InvoiceDetails | null | Error> = await provider.readUnknown(page).catch((err: Error) => page.map(() => err));
      const readAt = new Date();
      failures.push(...read.filter((r): r is Error => r instanceof Error));
      const reads = read.filter((r): r is InvoiceDetails => r !== null && !(r instanceof Error)).map((details) => ({ details, orderId: details.header.orderId }));
      if (reads.length === 0) continue;
      const owners = await this.ownersAt(source, await this.store.ownersOf(provider.code, [...new Set(reads.map((r) => r.orderId))]));
      const r = await this.recordFound(provider, reads, owners, readAt);
      result.found += r.found;
      result.ambiguous += r.ambiguous;
    }
    if (failures.length > 0) throw new ChangesNotApplied(provider.code, failures);
    return result;
  }

  /**
   * Records what was read on orders the ledger knows as EXTERNAL for the order's one tenant (what is recorded already,
   * ours or found before, is left alone); what is on an order several tenants have invoiced, and none of theirs yet,
   * is counted and recorded for nobody (whose would it be?), and what is on an order no tenant has is skipped.
   */
  private async recordFound(
    provider: InvoiceProvider,
    reads: ReadonlyArray<{ details: InvoiceDetails; orderId: string }>,
    owners: Map<string, string[]>,
    readAt: Date,
  ): Promise<{ found: number; ambiguous: number }> {
    const found: Array<{ tenantId: string; record: InvoiceRecord; readAt: Date }> = [];
    for (const { details: d, orderId } of reads) {
      const tenants = owners.get(orderId);
      if (tenants?.length === 1) found.push({ tenantId: tenants[0]!, record: recordOf(d, provider.contentFinal(d.header)), readAt });
    }
    const result = { found: (await this.store.recordExternal(found)).length, ambiguous: 0 };
    const ambiguousOrders = [...new Set(reads.map((r) => r.orderId).filter((id) => (owners.get(id)?.length ?? 0) > 1))];
    if (ambiguousOrders.length > 0) {
      const mine = new Set((await this.store.known(provider.code, [], ambiguousOrders)).map((k) => k.providerInvoiceId));
      result.ambiguous = reads.filter((r) => ambiguousOrders.includes(r.orderId) && !mine.has(r.details.header.providerInvoiceId)).length;
      if (result.ambiguous > 0) this.logger?.warn({ provider: provider.code, invoices: result.ambiguous, orders: ambiguousOrders.length }, 'invoices found on orders several tenants have invoiced: recorded for none');
    }
    if (result.found > 0) this.logger?.info({ provider: provider.code, found: result.found }, 'invoices made at the provider recorded (origin EXTERNAL)');
    return result;
  }

  /**
   * Reads known invoices again, each through its tenant's account, and stores what was read; invoices of a tenant
   * with no working connection are left as stored. Throws ChangesNotApplied when some reads failed.
   */
  async refresh(code: ProviderCode, known: readonly KnownInvoice[]): Promise<number> {
    const byProvider = new Map<InvoiceProvider, ProviderInvoiceRef[]>();
    for (const k of known) {
      const provider = await this.providers.providerOf(k.tenantId, code);
      if (provider) (byProvider.get(provider) ?? byProvider.set(provider, []).get(provider)!).push({ provider: code, providerInvoiceId: k.providerInvoiceId, orderId: k.orderId });
    }
    let stored = 0;
    const failures: Error[] = [];
    for (const [provider, refs] of byProvider) {
      try {
        stored += await readAndStore(this.ledger, provider, refs);
      } catch (err) {
        if (!(err instanceof ChangesNotApplied)) throw err;
        stored += err.stored;
        failures.push(...err.failures);
      }
    }
    if (failures.length > 0) throw new ChangesNotApplied(code, failures, stored);
    return stored;
  }

  /** The provider acting for some tenant that owns one of the orders (what the provider's API can do is the same for all). */
  private async anyProviderOf(code: ProviderCode, orderIds: readonly string[]): Promise<InvoiceProvider | null> {
    for (const tenants of (await this.store.ownersOf(code, orderIds)).values()) {
      for (const t of tenants) {
        const p = await this.providers.providerOf(t, code);
        if (p) return p;
      }
    }
    return null;
  }

  /** Of the orders' owners, those the source's account acts for: its tenant, or the tenants the deployment's account serves. */
  private async ownersAt(source: ChangeSource, owners: Map<string, string[]>): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const [orderId, tenants] of owners) {
      const mine: string[] = [];
      for (const t of tenants) {
        if (source.tenantId !== null ? t === source.tenantId : (await this.providers.of(t, source.provider.code).then((r) => 'provider' in r && r.connectionId === null))) mine.push(t);
      }
      if (mine.length > 0) out.set(orderId, mine);
    }
    return out;
  }

  /**
   * One provider's changes: the named orders listed (discover) where the provider can, the named known invoices read
   * again, and the named invoices the ledger does not know read where the provider can (discoverNamed). A failed read
   * does not stop the others: ChangesNotApplied is thrown after all of them.
   */
  private async applyAt(code: ProviderCode, changes: readonly ProviderChange[], source: ChangeSource | null): Promise<ApplyResult> {
    const orderIds = [...new Set(changes.map((c) => c.orderId).filter((id): id is string => id !== null))];
    const invoiceIds = [...new Set(changes.map((c) => c.providerInvoiceId).filter((id): id is string => id !== null))];
    const result: ApplyResult = { refreshed: 0, found: 0, ambiguous: 0 };
    const failures: Error[] = [];
    let stored = 0;
    const step = async (run: () => Promise<ApplyResult>) => {
      try {
        const r = await run();
        result.refreshed += r.refreshed;
        result.found += r.found;
        result.ambiguous += r.ambiguous;
      } catch (err) {
        if (!(err instanceof ChangesNotApplied)) throw err;
        failures.push(...err.failures);
        stored += err.stored;
      }
    };
    // Whether the provider's API lists an order's invoices: asked of the source's provider, or of an owner's.
    const sample = orderIds.length === 0 ? null : (source?.provider ?? (await this.anyProviderOf(code, orderIds)));
    const listsOrders = Boolean(sample?.invoicesOfOrders) && orderIds.length > 0;
    // Seen at one tenant's account, a change is that tenant's to apply: another tenant's invoices and orders it names are
    // not read on its word (a tenant signing its own callouts could otherwise spend another's rate limit).
    // Listing the order reads its known invoices and finds new ones at once. Invoices named without an order are read.
    if (listsOrders) {
      const owners = source?.tenantId != null ? await this.ownersAt(source, await this.store.ownersOf(code, orderIds)) : undefined;
      await step(() => this.discover(code, orderIds, owners));
    }
    const recorded = await this.store.known(code, invoiceIds, listsOrders ? [] : orderIds);
    const known = source?.tenantId != null ? recorded.filter((k) => k.tenantId === source.tenantId) : recorded;
    const again = listsOrders ? known.filter((k) => !orderIds.includes(k.orderId)) : known;
    await step(async () => ({ refreshed: await this.refresh(code, again), found: 0, ambiguous: 0 }));
    // A named invoice the ledger does not know may be one made at the provider outside the subgraph (Zuora's Invoice
    // Posted): read where the change was seen, and recorded only for a tenant that account acts for.
    const knownIds = new Set(recorded.map((k) => k.providerInvoiceId));
    if (source) await step(() => this.discoverNamed(source, invoiceIds.filter((id) => !knownIds.has(id))));
    if (failures.length > 0) throw new ChangesNotApplied(code, failures, stored + result.refreshed);
    return result;
  }
}

/**
 * Reads invoices from their provider (one loadDetails batch) and stores what was read, lines and taxes once final;
 * returns how many it stored, or throws ChangesNotApplied (carrying that count) when some reads failed. Shared by the
 * sync and the background refresher. Cost: the provider's batch read and one ledger statement.
 */
export async function readAndStore(ledger: Ledger, provider: InvoiceProvider, refs: readonly ProviderInvoiceRef[]): Promise<number> {
  if (refs.length === 0) return 0;
  const loaded: Array<InvoiceDetails | Error> = await provider.loadDetails(refs).catch((err: Error) => refs.map(() => err));
  const readAt = new Date();
  const failures = loaded.filter((r): r is Error => r instanceof Error);
  const reads = loaded.filter((r): r is InvoiceDetails => !(r instanceof Error)).map((d) => ({ record: recordOf(d, provider.contentFinal(d.header)), readAt }));
  const stored = await ledger.recordReads(reads);
  if (failures.length > 0) throw new ChangesNotApplied(provider.code, failures, stored);
  return stored;
}
