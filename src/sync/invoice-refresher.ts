import type { Logger } from 'pino';
import { ProviderError } from '../domain/errors';
import type { Invoice, ProviderCode, ProviderInvoiceRef } from '../domain/invoice';
import type { Ledger } from '../ledger/ledger';
import type { ProviderRegistry } from '../providers/registry';
import { ChangesNotApplied, readAndStore } from './change-applier';

/** INVOICE_FRESHNESS_MS's default, as CONTRACT.md gives it. */
export const DEFAULT_FRESHNESS_MS = 60_000;

export interface RefresherOptions {
  /** How old status and kpis may be before a read refreshes them (INVOICE_FRESHNESS_MS). */
  freshnessMs: number;
  /**
   * How long a replica holds an invoice it refreshes; a failed refresh is retried no sooner (default: the
   * freshness window, at least 5 s), so an outage costs one provider call per invoice per window, not per read.
   */
  holdMs?: number;
  logger?: Logger;
}

/** What the refresher has done since start, for tests and the benchmark. */
export interface RefresherStats {
  /** Invoices read from their provider and stored. */
  refreshed: number;
  /** Invoices whose read failed; their stored values were kept. */
  failed: number;
  /** Stale invoices another replica or an earlier refresh already held. */
  skipped: number;
}

/**
 * Stale-while-revalidate for status and kpis: a read older than the freshness window is answered with what the
 * ledger stores, and the invoice is read again from its provider in the background. Refreshes are deduplicated
 * within the process (one per invoice at a time, stale invoices of one tick read as one batch per provider) and
 * across replicas (the ledger's refresh hold). A refresh that fails keeps the stored values and logs why.
 */
export class InvoiceRefresher {
  private readonly queued = new Map<string, Invoice>();
  private readonly inFlight = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private scheduled: NodeJS.Immediate | null = null;
  private closed = false;
  readonly stats: RefresherStats = { refreshed: 0, failed: 0, skipped: 0 };
  readonly freshnessMs: number;
  private readonly holdMs: number;

  constructor(
    private readonly ledger: Ledger,
    private readonly providers: ProviderRegistry,
    private readonly options: RefresherOptions,
  ) {
    this.freshnessMs = options.freshnessMs;
    this.holdMs = options.holdMs ?? Math.max(options.freshnessMs, 5_000);
  }

  /** Whether the invoice's status and kpis are older than the freshness window. Pure. */
  isStale(invoice: Pick<Invoice, 'syncedAt' | 'createdAt'>, now = Date.now()): boolean {
    return now - (invoice.syncedAt ?? invoice.createdAt).getTime() > this.freshnessMs;
  }

  /**
   * Called whenever a query reads an invoice's status or kpis. Costs nothing when they are fresh; else the invoice
   * joins the next background batch (one ledger write to hold it, one provider read, one ledger write to store it).
   */
  touch(invoice: Invoice): void {
    if (this.closed || !this.isStale(invoice) || this.inFlight.has(invoice.id) || this.queued.has(invoice.id)) return;
    if (!this.providers.has(invoice.provider)) return;
    this.queued.set(invoice.id, invoice);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Resolves when every refresh begun so far has ended: tests, the benchmark and shutdown wait on it. */
  async idle(): Promise<void> {
    while (this.scheduled || this.running.size > 0) {
      if (this.scheduled) await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([...this.running]);
    }
  }

  /** Takes no new refreshes and waits for the running ones; called once at shutdown. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private flush(): void {
    this.scheduled = null;
    const batch = [...this.queued.values()];
    this.queued.clear();
    for (const i of batch) this.inFlight.add(i.id);
    const run = this.refresh(batch)
      .catch((err: unknown) => this.options.logger?.warn({ err, invoices: batch.length }, 'invoice refresh failed; stored status and kpis kept'))
      .finally(() => {
        for (const i of batch) this.inFlight.delete(i.id);
        this.running.delete(run);
      });
    this.running.add(run);
  }

  private async refresh(batch: Invoice[]): Promise<void> {
    const held = await this.ledger.holdForRefresh(
      batch.map((i) => i.id),
      this.freshnessMs,
      this.holdMs,
    );
    this.stats.skipped += batch.length - held.length;
    const byProvider = new Map<ProviderCode, ProviderInvoiceRef[]>();
    for (const h of held) {
      const code = h.provider as ProviderCode;
      byProvider.set(code, [...(byProvider.get(code) ?? []), { provider: code, providerInvoiceId: h.providerInvoiceId, orderId: h.orderId }]);
    }
    await Promise.all(
      [...byProvider].map(async ([code, refs]) => {
        try {
          this.stats.refreshed += await readAndStore(this.ledger, this.providers.get(code), refs);
        } catch (err) {
          if (!(err instanceof ChangesNotApplied)) throw err;
          this.stats.refreshed += err.stored;
          this.stats.failed += err.failures.length;
          const first = err.failures[0]!;
          const reason = first instanceof ProviderError ? first.userErrors[0]?.code : undefined;
          this.options.logger?.warn(
            { provider: code, failed: err.failures.length, of: refs.length, code: reason, reason: first.message },
            'could not refresh invoices from the provider; their stored status and kpis are kept',
          );
        }
      }),
    );
  }
}
