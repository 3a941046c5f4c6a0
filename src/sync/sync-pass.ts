import type { Logger } from 'pino';
import type { ProviderCode } from '../domain/invoice';
import type { SyncStore } from '../ledger/sync-store';
import type { ProviderRegistry } from '../providers/registry';
import { ChangesNotApplied, type ChangeApplier } from './change-applier';

/** Invoices (or orders) read per provider call batch; each batch is one ledger page. */
export const SYNC_PAGE = 50;

/** Where a provider's pass got to, kept in the ledger so that a pass cut short (a crash, a budget) resumes there. */
interface SyncPosition {
  /** Discovery's last order id, or the refresh's last invoice seq; null: from the start. */
  after: string | null;
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
 * at it, reading known invoices again and recording those made elsewhere (EXTERNAL); otherwise it reads again every
 * known invoice that can still change (not PAID or VOID). Batches of SYNC_PAGE; the provider's rate limit is
 * respected by its own client (ProviderResilience waits out a 429's Retry-After). A batch whose reads fail is
 * counted and skipped; the next pass reads it again.
 */
export class SyncPass {
  constructor(
    private readonly store: SyncStore,
    private readonly applier: ChangeApplier,
    private readonly providers: ProviderRegistry,
    private readonly options: { logger?: Logger; maxPages?: number } = {},
  ) {}

  /** Runs (or resumes) the provider's pass. Cost: one ledger page and one provider batch per SYNC_PAGE, up to maxPages. */
  async run(code: ProviderCode): Promise<PassResult> {
    const provider = this.providers.get(code);
    const result: PassResult = { provider: code, refreshed: 0, found: 0, failed: 0, complete: false };
    let { position } = await this.store.position<SyncPosition>(code);
    let after = position?.after ?? null;
    const maxPages = this.options.maxPages ?? 200;
    for (let page = 0; page < maxPages; page++) {
      let next: string | null;
      try {
        if (provider.invoicesOfOrders) {
          const orders = await this.store.orders(code, after, SYNC_PAGE);
          next = orders.at(-1)?.orderId ?? null;
          if (next !== null) {
            const r = await this.applier.discover(provider, orders.map((o) => o.orderId), new Map(orders.map((o) => [o.orderId, o.tenants])));
            result.refreshed += r.refreshed;
            result.found += r.found;
          }
        } else {
          const invoices = await this.store.unsettled(code, after, SYNC_PAGE);
          next = invoices.at(-1)?.seq ?? null;
          if (next !== null) result.refreshed += await this.applier.refresh(provider, invoices);
        }
      } catch (err) {
        if (!(err instanceof ChangesNotApplied)) throw err;
        result.failed += err.failures.length;
        this.options.logger?.warn({ provider: code, failed: err.failures.length, reason: err.failures[0]?.message }, 'sync: reads failed; the next pass tries again');
        // The batch is passed over: the position moves on so one bad invoice cannot stop the pass.
        next = await this.nextAfter(code, provider.invoicesOfOrders !== undefined, after);
      }
      if (next === null) {
        result.complete = true;
        after = null;
        break;
      }
      after = next;
      position = { after };
      await this.store.savePosition(code, position, false);
    }
    await this.store.savePosition(code, { after }, result.complete);
    return result;
  }

  /** The position after the page starting at `after` (used when that page's reads failed). */
  private async nextAfter(code: ProviderCode, byOrder: boolean, after: string | null): Promise<string | null> {
    return byOrder ? ((await this.store.orders(code, after, SYNC_PAGE)).at(-1)?.orderId ?? null) : ((await this.store.unsettled(code, after, SYNC_PAGE)).at(-1)?.seq ?? null);
  }
}
