import type { Logger } from 'pino';
import type { ProviderCode } from '../domain/invoice';
import type { Attempt, Ledger } from '../ledger/ledger';
import type { ProviderRegistry } from '../providers/registry';
import { tenantProvidersOf, type TenantProviders } from '../connections/tenant-providers';
import { sameAccount, type InvoiceService } from './invoice.service';
import { lookupInputOf } from './recorded-input';
import { reconciliationResults } from '../telemetry/metrics';
import { inRootSpan } from '../telemetry/tracing';

/** What one reconciliation pass did, attempt by attempt. */
export interface ReconcileSummary {
  /** Stale attempts the pass found. */
  examined: number;
  /** The provider had the attempt's invoices: now recorded, the attempt succeeded. */
  repaired: number;
  /** The provider verifiably had nothing: failed-retryable, so a retry with the key creates. */
  released: number;
  /** The provider could not be asked: unknown, for the next pass or retry. */
  stillUnknown: number;
  /** Taken by someone else first (a client retry, another replica), or of a provider not configured here. */
  skipped: number;
  /** Broken invariants (an unreadable recorded input, a ledger failure); logged with the attempt id. */
  errors: number;
}

export interface ReconcilerOptions {
  /** How long after its lease ran out (or it became unknown) an attempt is left alone. Default 0. */
  graceMs?: number;
  /** Attempts read per ledger query. Default 100. */
  pageSize?: number;
  /** Attempts settled at once. Default 4. */
  concurrency?: number;
  logger?: Logger;
}

type Outcome = 'repaired' | 'released' | 'stillUnknown' | 'skipped' | 'errors';

/** The metric's label of each outcome. */
const RESULT_LABEL: Record<Outcome, string> = { repaired: 'repaired', released: 'released', stillUnknown: 'still_unknown', skipped: 'skipped', errors: 'error' };

export interface RunningReconciler {
  /** Resolves once the first pass (the one at start) has finished; never rejects. */
  readonly firstPass: Promise<ReconcileSummary | null>;
  /** Stops the timer, lets the running pass finish its attempts in hand, and waits for it. */
  stop(): Promise<void>;
}

/**
 * Repairs what a killed process left between a provider's success and the ledger's commit: for each stale attempt
 * (unknown, or pending with a dead owner), across tenants, it takes the attempt over with the ledger's
 * compare-and-set (so replicas and client retries racing never handle one twice), asks the provider what the
 * attempt created, and records it; a verified absence releases the attempt to its client's retry. It never
 * creates: `InvoiceService.settle` has no path to `provider.create`.
 */
export class InvoiceReconciler {
  private stopping = false;
  /** Attempts already reported as out of reach: a pass every minute would otherwise repeat the warning forever. */
  private readonly reported = new Set<string>();

  private readonly providers: TenantProviders;

  /** `providers`: the tenants' connections, with as defaults only the providers at a configured base URL. */
  constructor(
    private readonly ledger: Ledger,
    providers: TenantProviders | ProviderRegistry,
    private readonly service: InvoiceService,
    private readonly options: ReconcilerOptions = {},
  ) {
    this.providers = tenantProvidersOf(providers);
  }

  /**
   * One pass over every stale attempt. Called at start and on a timer (`start`) and by `npm run reconcile`.
   * Costs one ledger query per page, and per attempt a retake, the provider's lookup and one ledger write.
   */
  runOnce(): Promise<ReconcileSummary> {
    return inRootSpan('reconciliation pass', {}, async (span) => {
      const summary = await this.pass();
      span.setAttributes({ 'invoicing.reconcile.examined': summary.examined, 'invoicing.reconcile.repaired': summary.repaired });
      return summary;
    });
  }

  private async pass(): Promise<ReconcileSummary> {
    const summary: ReconcileSummary = { examined: 0, repaired: 0, released: 0, stillUnknown: 0, skipped: 0, errors: 0 };
    const pageSize = this.options.pageSize ?? 100;
    // Keyset by id: an attempt left unknown by this pass is stale again at once and must not be read twice.
    for (let afterId: string | undefined; !this.stopping; ) {
      const page = await this.ledger.staleAttempts({ graceMs: this.options.graceMs, limit: pageSize, afterId });
      summary.examined += page.length;
      const queue = [...page];
      const worker = async () => {
        for (let a = queue.shift(); a && !this.stopping; a = queue.shift()) {
          // One attempt's broken ledger write must not stop the pass, nor leave the other workers unawaited.
          const outcome = await this.settleOne(a).catch((err: unknown): Outcome => {
            this.options.logger?.error({ err, attemptId: a!.id }, 'settling a stale attempt failed');
            return 'errors';
          });
          summary[outcome] += 1;
          reconciliationResults.inc({ result: RESULT_LABEL[outcome] });
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 4, page.length) }, worker));
      if (page.length < pageSize) break;
      afterId = page[page.length - 1]!.id;
    }
    if (summary.examined > 0) this.options.logger?.info({ ...summary }, 'reconciliation pass');
    return summary;
  }

  /**
   * Runs a pass now and then every `intervalMs` (0: only now), in the background: passes never overlap, and a
   * failed pass is logged, never thrown. Called by `startServer` once the server listens.
   */
  start(intervalMs: number): RunningReconciler {
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<ReconcileSummary | null> = Promise.resolve(null);
    const pass = (): Promise<ReconcileSummary | null> => {
      running = this.runOnce().catch((err: unknown) => {
        this.options.logger?.error({ err }, 'reconciliation pass failed');
        return null;
      });
      void running.then(() => {
        if (intervalMs > 0 && !this.stopping) timer = setTimeout(pass, intervalMs).unref();
      });
      return running;
    };
    const firstPass = pass();
    return {
      firstPass,
      stop: async () => {
        this.stopping = true;
        clearTimeout(timer);
        await running;
      },
    };
  }

  private async settleOne(stale: Attempt): Promise<Outcome> {
    const log = this.options.logger?.child({ attemptId: stale.id, tenantId: stale.tenantId, provider: stale.provider });
    // The tenant's own connection, or a provider at a configured base URL (a fresh sandbox knows nothing of an earlier run).
    const resolved = await this.providers.of(stale.tenantId, stale.provider as ProviderCode);
    if (!('provider' in resolved)) {
      if (!this.reported.has(stale.id)) log?.warn('open attempt of a provider this process does not reconcile (a sandbox, or not connected for its tenant): left for a retry with its key, or for a pass where the provider is configured');
      this.reported.add(stale.id);
      return 'skipped';
    }
    // Looked up only in the account it was sent to: another account would say "not created" (or create it again).
    if (!sameAccount(stale.account, resolved.account)) {
      if (!this.reported.has(stale.id)) log?.warn({ sentTo: stale.account, connectedTo: resolved.account }, 'open attempt sent to another account than its tenant is connected to now: left until that account is connected again');
      this.reported.add(stale.id);
      return 'skipped';
    }
    const reached = resolved.provider;
    let input: unknown;
    try {
      input = lookupInputOf(stale.provider, stale.input);
    } catch (err) {
      log?.error({ err }, 'stale attempt with an unreadable recorded input: left as it is');
      return 'errors';
    }
    if (this.service.pastLookupWindow(stale, reached)) {
      log?.warn('open attempt past its provider\'s lookup window: settle it at the provider by hand');
      return 'stillUnknown';
    }
    const taken = await this.ledger.retake(stale.id, [stale.state], this.service.attemptLeaseMs);
    if (!taken) return 'skipped';
    const provider = taken.provider as ProviderCode;
    // The input branch is the provider's name in lower case; it prefixes the field paths of recorded errors.
    const cmd = { tenantId: taken.tenantId, provider, branch: provider.toLowerCase(), input, recordedInput: taken.input, idempotencyKey: taken.idempotencyKey };
    try {
      const outcome = await this.service.settle(taken, cmd, reached);
      log?.info({ outcome }, 'stale attempt settled');
      return outcome === 'unknown' ? 'stillUnknown' : outcome === 'taken' ? 'skipped' : outcome;
    } catch (err) {
      log?.error({ err }, 'settling a stale attempt failed');
      return 'errors';
    }
  }
}
