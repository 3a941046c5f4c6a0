import type { Logger } from 'pino';
import type { ProviderCode } from '../domain/invoice';
import type { SyncStore } from '../ledger/sync-store';
import type { ProviderRegistry } from '../providers/registry';
import { ChangesNotApplied, type ChangeApplier, type ChangeSource } from './change-applier';
import type { InvoiceProvider } from '../providers/provider';
import { tenantProvidersOf, type TenantProviders } from '../connections/tenant-providers';

/**
 * How far back of the provider's high-water mark the next pass asks from: a change committed at the provider just
 * before the mark but visible only after it (a long transaction, clock skew) is then still seen. Reading an invoice
 * twice costs a read; missing one costs a stale status.
 */
const CLOCK_MARGIN_MS = 60_000;

/** Invoices (or orders) read per provider call batch; each batch is one ledger page. */
export const SYNC_PAGE = 50;

/** Where a provider's pass got to, kept in the ledger so that a pass cut short (a crash, a budget) resumes there. */
interface SyncPosition {
  /** Discovery's last order id, or the refresh's last invoice seq; null: from the start. */
  after: string | null;
  /** With changedSince: the provider's high-water mark of the last pass (ISO time). */
  since?: string;
}

/** What one pass did. */
export interface PassResult {
  provider: ProviderCode;
  refreshed: number;
  found: number;
  failed: number;
  /** Whether the pass reached the end (else it stopped at its budget and the next pass continues). */
  complete: boolean;
}

/**
 * One polling pass over a provider: the safety net beside webhooks and the only source of news for providers without
 * them. Where the provider lists an order's invoices (invoicesOfOrders), the pass walks every order the ledger knows
 * at it, reading known invoices again and recording those made elsewhere (EXTERNAL); where it has a change feed
 * (changedSince), it asks what changed since the last pass, reads the known invoices among that again and records
 * the unknown ones made on a known order (readUnknown); otherwise it
 * reads again every known invoice that can still change (not PAID or VOID). Batches of SYNC_PAGE; the provider's rate limit is
 * respected by its own client (ProviderResilience waits out a 429's Retry-After). A batch whose reads fail is
 * counted and skipped; the next pass reads it again.
 */
export class SyncPass {
  private readonly providers: TenantProviders;

  constructor(
    private readonly store: SyncStore,
    private readonly applier: ChangeApplier,
    providers: TenantProviders | ProviderRegistry,
    private readonly options: { logger?: Logger; maxPages?: number } = {},
  ) {
    this.providers = tenantProvidersOf(providers);
  }

  /**
   * Runs (or resumes) the provider's pass, over every account at it: the ledger's walk serves them all (each invoice
   * is read through its tenant's account), and a change feed is asked per account, each with its own mark.
   * Cost: one ledger page and one provider batch per SYNC_PAGE, up to maxPages; one feed query per account.
   */
  async run(code: ProviderCode): Promise<PassResult> {
    const result: PassResult = { provider: code, refreshed: 0, found: 0, failed: 0, complete: false };
    const accounts = await this.providers.everyAccount(code);
    const sample = accounts[0]?.provider;
    if (!sample) {
      result.complete = true;
      return result;
    }
    if (!sample.changedSince) return this.walk(code, sample, result);
    let complete = true;
    for (const account of accounts) {
      // The deployment's account keeps the provider's position; each connection a position of its own.
      const key = account.connectionId ? `${code} ${account.connectionId}` : code;
      const { position } = await this.store.position<SyncPosition>(key);
      const at = { tenantId: account.tenantId, provider: account.provider };
      if (position?.since) await this.changedOnly(key, at, position.since, result);
      else if (account.connectionId === null) await this.walk(code, sample, result);
      // A new connection's invoices are all made after it: its feed starts now.
      else await this.store.savePosition(key, { after: null, since: new Date(Date.now() - CLOCK_MARGIN_MS).toISOString() }, true);
      complete &&= result.complete;
      result.complete = false;
    }
    result.complete = complete;
    return result;
  }

  /** The walk of the ledger's known orders or unsettled invoices at the provider, resumed from its position. */
  private async walk(code: ProviderCode, provider: InvoiceProvider, result: PassResult): Promise<PassResult> {
    const { position } = await this.store.position<SyncPosition>(code);
    // Without a high-water mark yet, the first pass walks every unsettled invoice; the mark is taken before it starts.
    const since = provider.changedSince ? new Date() : null;
    let after = position?.after ?? null;
    const maxPages = this.options.maxPages ?? 200;
    for (let page = 0; page < maxPages; page++) {
      // The page and where the next one starts are read first: a page whose reads fail is passed over (the position
      // moves on, so one bad invoice cannot stop the pass) without reading it from the ledger again.
      const orders = provider.invoicesOfOrders ? await this.store.orders(code, after, SYNC_PAGE) : null;
      const invoices = orders ? null : await this.store.unsettled(code, after, SYNC_PAGE);
      const next = orders ? (orders.at(-1)?.orderId ?? null) : (invoices!.at(-1)?.seq ?? null);
      if (next === null) {
        result.complete = true;
        after = null;
        break;
      }
      try {
        if (orders) {
          const r = await this.applier.discover(code, orders.map((o) => o.orderId), new Map(orders.map((o) => [o.orderId, o.tenants])));
          result.refreshed += r.refreshed;
          result.found += r.found;
        } else {
          result.refreshed += await this.applier.refresh(code, invoices!);
        }
      } catch (err) {
        if (!(err instanceof ChangesNotApplied)) throw err;
        result.failed += err.failures.length;
        this.options.logger?.warn({ provider: code, failed: err.failures.length, reason: err.failures[0]?.message }, 'sync: reads failed; the next pass tries again');
      }
      after = next;
      await this.store.savePosition(code, { after }, false);
    }
    const mark = since && result.complete ? { since: new Date(since.getTime() - CLOCK_MARGIN_MS).toISOString() } : {};
    await this.store.savePosition(code, { after, ...mark }, result.complete);
    return result;
  }

  /**
   * A pass by one account's change feed: one query for what changed, then, a page of SYNC_PAGE ids at a time, the
   * applier's path for named invoices: the known ones read again (through their tenants' accounts), and, where the
   * provider reads unknown ones (readUnknown: Salesforce), those the ledger does not know read at this account with
   * their order and recorded as EXTERNAL for the order's tenant that this account acts for.
   */
  private async changedOnly(key: string, source: ChangeSource, since: string, result: PassResult): Promise<PassResult> {
    const code = source.provider.code;
    const changed = await source.provider.changedSince!(new Date(since));
    for (let i = 0; i < changed.providerInvoiceIds.length; i += SYNC_PAGE) {
      const page = changed.providerInvoiceIds.slice(i, i + SYNC_PAGE);
      try {
        const r = await this.applier.apply(page.map((providerInvoiceId) => ({ provider: code, event: 'changedSince', orderId: null, providerInvoiceId })), source);
        result.refreshed += r.refreshed;
        result.found += r.found;
      } catch (err) {
        if (!(err instanceof ChangesNotApplied)) throw err;
        // The mark does not move past a change that could not be read: the next pass asks for it again.
        result.failed += err.failures.length;
        await this.store.savePosition(key, { after: null, since }, false);
        return result;
      }
    }
    result.complete = true;
    await this.store.savePosition(key, { after: null, since: new Date(changed.until.getTime() - CLOCK_MARGIN_MS).toISOString() }, true);
    return result;
  }
}
