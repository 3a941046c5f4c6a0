import type { Logger } from 'pino';
import { recordOf, type InvoiceDetails, type InvoiceRecord, type ProviderCode, type ProviderInvoiceRef } from '../domain/invoice';
import type { ProviderChange } from '../domain/provider-change';
import type { Ledger } from '../ledger/ledger';
import type { SyncStore } from '../ledger/sync-store';
import type { InvoiceProvider } from '../providers/provider';
import type { ProviderRegistry } from '../providers/registry';

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
 * does not know are recorded as EXTERNAL for the one tenant whose order it is.
 */
export class ChangeApplier {
  constructor(
    private readonly ledger: Ledger,
    private readonly store: SyncStore,
    private readonly providers: ProviderRegistry,
    private readonly logger?: Logger,
  ) {}

  /**
   * Applies changes, per provider. Cost per provider: one ledger query for the known invoices; then, where the provider
   * lists an order's invoices, its listing per named known order, else one read per named known invoice; then two
   * ledger writes. Throws ChangesNotApplied after storing what it could when a provider read failed.
   */
  async apply(changes: readonly ProviderChange[]): Promise<ApplyResult> {
    const byProvider = new Map<ProviderCode, ProviderChange[]>();
    for (const c of changes) byProvider.set(c.provider, [...(byProvider.get(c.provider) ?? []), c]);
    const total: ApplyResult = { refreshed: 0, found: 0, ambiguous: 0 };
    const failures: ChangesNotApplied[] = [];
    for (const [code, list] of byProvider) {
      if (!this.providers.has(code)) continue;
      try {
        const r = await this.applyAt(this.providers.get(code), list);
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
   * Lists the orders' invoices at the provider and stores them: known ones read again, unknown ones recorded as
   * EXTERNAL for the order's one tenant. Orders the ledger does not know are skipped (they are no tenant's). Used by
   * the sync pass's discovery too.
   */
  async discover(provider: InvoiceProvider, orderIds: readonly string[], owners?: Map<string, string[]>): Promise<ApplyResult> {
    const known = owners ?? (await this.store.ownersOf(provider.code, orderIds));
    const orders = orderIds.filter((id) => known.has(id));
    const result: ApplyResult = { refreshed: 0, found: 0, ambiguous: 0 };
    if (orders.length === 0 || !provider.invoicesOfOrders) return result;
    const listed: Array<InvoiceDetails[] | Error> = await provider.invoicesOfOrders(orders).catch((err: Error) => orders.map(() => err));
    const readAt = new Date();
    const failures: Error[] = [];
    const reads: InvoiceDetails[] = [];
    const found: Array<{ tenantId: string; record: InvoiceRecord; readAt: Date }> = [];
    listed.forEach((invoices, i) => {
      if (invoices instanceof Error) return void failures.push(invoices);
      const tenants = known.get(orders[i]!)!;
      for (const d of invoices) {
        reads.push(d);
        if (tenants.length === 1) found.push({ tenantId: tenants[0]!, record: recordOf(d, provider.contentFinal(d.header)), readAt });
      }
    });
    result.refreshed = await this.ledger.recordReads(reads.map((d) => ({ record: recordOf(d, provider.contentFinal(d.header)), readAt })));
    const recorded = await this.store.recordExternal(found);
    result.found = recorded.length;
    // What is on an order several tenants share, and is none of theirs yet, is recorded for nobody.
    const ambiguousOrders = orders.filter((id) => known.get(id)!.length > 1);
    if (ambiguousOrders.length > 0) {
      const mine = new Set((await this.store.known(provider.code, [], ambiguousOrders)).map((k) => k.providerInvoiceId));
      result.ambiguous = reads.filter((d) => ambiguousOrders.includes(d.header.orderId) && !mine.has(d.header.providerInvoiceId)).length;
      if (result.ambiguous > 0) this.logger?.warn({ provider: provider.code, invoices: result.ambiguous, orders: ambiguousOrders.length }, 'invoices found on orders several tenants have invoiced: recorded for none');
    }
    if (result.found > 0) this.logger?.info({ provider: provider.code, found: result.found }, 'invoices made at the provider recorded (origin EXTERNAL)');
    if (failures.length > 0) throw new ChangesNotApplied(provider.code, failures);
    return result;
  }

  /** Reads known invoices again and stores what was read; throws ChangesNotApplied when some reads failed. */
  refresh(provider: InvoiceProvider, refs: readonly ProviderInvoiceRef[]): Promise<number> {
    return readAndStore(this.ledger, provider, refs);
  }

  private async applyAt(provider: InvoiceProvider, changes: readonly ProviderChange[]): Promise<ApplyResult> {
    const orderIds = [...new Set(changes.map((c) => c.orderId).filter((id): id is string => id !== null))];
    const invoiceIds = [...new Set(changes.map((c) => c.providerInvoiceId).filter((id): id is string => id !== null))];
    if (provider.invoicesOfOrders && orderIds.length > 0) {
      // Listing the order reads its known invoices and finds new ones at once. Invoices named without an order are read.
      const result = await this.discover(provider, orderIds);
      const loose = invoiceIds.length > 0 ? (await this.store.known(provider.code, invoiceIds, [])).filter((k) => !orderIds.includes(k.orderId)) : [];
      result.refreshed += await this.refresh(provider, loose);
      return result;
    }
    const known = await this.store.known(provider.code, invoiceIds, orderIds);
    return { refreshed: await this.refresh(provider, known), found: 0, ambiguous: 0 };
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
