import type { Logger } from 'pino';
import { ProviderError } from '../domain/errors';
import type { Invoice, ProviderCode, ProviderInvoiceRef } from '../domain/invoice';
import type { JobQueue } from '../jobs/job-queue';
import type { Ledger } from '../ledger/ledger';
import type { ProviderRegistry } from '../providers/registry';
import { tenantProvidersOf, type TenantProviders } from '../connections/tenant-providers';
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

/** The queue of refreshes when a job queue is given: one job per provider batch, data `{ refs }`, run by any replica. */
export const REFRESH_QUEUE = 'invoice-refresh';
/** The most invoices one refresh job reads (a provider batch is split above it): job data stays small. */
export const REFS_PER_JOB = 100;

/** What the refresher needs of the job queue (JobQueue); tests may give a stand-in. */
export type RefreshQueue = Pick<JobQueue, 'define' | 'send' | 'finished'>;

export interface RefreshJobOptions {
  /** Refresh jobs this replica runs at once (default 3). */
  concurrency?: number;
  /** How long `idle()` waits for a job this replica queued to end wherever it runs (default 10 s); past it, it stops waiting. */
  waitMs?: number;
}

/** The data of a refresh job: invoices of one provider. */
interface RefreshJobData {
  refs: ProviderInvoiceRef[];
  /** Whose invoices they are: read through that tenant's connection. Absent in jobs queued before connections. */
  tenantId?: string;
}

/** How often the ends of jobs this replica queued (and did not run itself) are looked up while `idle()` may wait on them. */
const JOB_POLL_MS = 250;

/** The tenant of refresh jobs queued before they named one (every request was then the default tenant's, or shared one account). */
const DEFAULT_TENANT_ID = 'default';

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
 *
 * With a job queue (`useJobs`, as `npm start` runs it), the hold is still taken by the replica that served the read,
 * but the provider read and the ledger write run as `invoice-refresh` jobs (one per provider batch), on whichever
 * replica's worker takes them: a refresh then survives the death of the replica that asked for it (pg-boss retries it
 * elsewhere once its heartbeat stops), and is counted by state with the other jobs. Without one (tests, the bench),
 * the read runs in-process.
 */
export class InvoiceRefresher {
  private readonly queued = new Map<string, Invoice>();
  private readonly inFlight = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private scheduled: NodeJS.Immediate | null = null;
  private closed = false;
  private jobs: RefreshQueue | null = null;
  private jobWaitMs = 10_000;
  /** Jobs this replica queued and `idle()` waits on, by id: settled by the local handler, or found ended by the poll. */
  private readonly awaited = new Map<string, { done: () => void; since: number }>();
  private polling: NodeJS.Timeout | null = null;
  readonly stats: RefresherStats = { refreshed: 0, failed: 0, skipped: 0 };
  readonly freshnessMs: number;
  private readonly holdMs: number;
  private readonly providers: TenantProviders;

  constructor(
    private readonly ledger: Ledger,
    providers: TenantProviders | ProviderRegistry,
    private readonly options: RefresherOptions,
  ) {
    this.providers = tenantProvidersOf(providers);
    this.freshnessMs = options.freshnessMs;
    this.holdMs = options.holdMs ?? Math.max(options.freshnessMs, 5_000);
  }

  /**
   * From now on, refreshes are jobs on `queue` (REFRESH_QUEUE), and this replica's worker runs its share of them,
   * whoever queued them. Called once at start, before the first read.
   */
  async useJobs(queue: RefreshQueue, options: RefreshJobOptions = {}): Promise<void> {
    this.jobWaitMs = options.waitMs ?? this.jobWaitMs;
    await queue.define<RefreshJobData>(REFRESH_QUEUE, {
      // A provider read that fails is not retried by the job (its stored values are kept, logged, and the ledger's
      // hold sets when the next read may try again): a down provider is not hammered. A retry is for a job whose
      // replica died (heartbeat) or whose ledger write failed.
      retryLimit: 2,
      retryDelaySeconds: 5,
      concurrency: options.concurrency ?? 3,
      // The replica that queues a refresh wakes its own worker (send's `wake`); the poll is for takeovers.
      pollingIntervalSeconds: 2,
      handler: async ([job]) => {
        const refs = job!.data.refs ?? [];
        const code = refs[0]?.provider;
        if (code && this.providers.mayServe(code)) await this.readAndCount(job!.data.tenantId ?? DEFAULT_TENANT_ID, code, refs);
        this.jobEnded(job!.id);
      },
    });
    this.jobs = queue;
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
    if (!this.providers.mayServe(invoice.provider)) return;
    this.queued.set(invoice.id, invoice);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /**
   * Resolves when every refresh begun so far has ended: tests, the benchmark and shutdown wait on it. With jobs, that
   * is when the jobs this replica queued have ended wherever they ran (or `waitMs` after they were queued).
   */
  async idle(): Promise<void> {
    while (this.scheduled || this.running.size > 0) {
      if (this.scheduled) await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([...this.running]);
    }
  }

  /** Takes no new refreshes and waits for the running ones; called once at shutdown. */
  async close(): Promise<void> {
    this.closed = true;
    // Queued jobs are durable: another replica, or this store's next start, runs them. A stopping replica takes no
    // new jobs (JobQueue.pause), so it must not wait for them; a handler running here is waited for by jobs.stop().
    for (const id of [...this.awaited.keys()]) this.jobEnded(id);
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
    // One batch per tenant and provider: each tenant's invoices are read through its own connection.
    const batches = new Map<string, { tenantId: string; code: ProviderCode; refs: ProviderInvoiceRef[] }>();
    for (const h of held) {
      const code = h.provider as ProviderCode;
      const key = `${h.tenantId}\u0000${code}`;
      const batch = batches.get(key) ?? batches.set(key, { tenantId: h.tenantId, code, refs: [] }).get(key)!;
      batch.refs.push({ provider: code, providerInvoiceId: h.providerInvoiceId, orderId: h.orderId });
    }
    const jobs = this.jobs;
    if (!jobs) {
      await Promise.all([...batches.values()].map(({ tenantId, code, refs }) => this.readAndCount(tenantId, code, refs)));
      return;
    }
    const sent = await Promise.all(
      [...batches.values()].flatMap(({ tenantId, code, refs }) =>
        chunks(refs, REFS_PER_JOB).map(async (part) => {
          const id = await jobs.send(REFRESH_QUEUE, { refs: part, tenantId } satisfies RefreshJobData, { wake: true }).catch((err: Error) => {
            // Held but not queued: the hold runs out and a later read asks again.
            this.options.logger?.warn({ err, provider: code, invoices: part.length }, 'could not queue an invoice refresh; stored status and kpis kept');
            return null;
          });
          return id ? this.awaitJob(id) : undefined;
        }),
      ),
    );
    await Promise.all(sent);
  }

  /** One provider's batch: read and stored; a failed read is counted and logged, its stored values kept. Other errors throw. */
  private async readAndCount(tenantId: string, code: ProviderCode, refs: ProviderInvoiceRef[]): Promise<void> {
    const provider = await this.providers.providerOf(tenantId, code);
    // No connection for the tenant (disconnected, or needing reauthorization): the stored values stay.
    if (!provider) {
      this.stats.skipped += refs.length;
      return;
    }
    try {
      this.stats.refreshed += await readAndStore(this.ledger, provider, refs);
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
  }

  /** Resolves when the job ends: at once when this replica's handler runs it, else when the poll finds it ended, or after `waitMs`. */
  private awaitJob(id: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.awaited.set(id, { done: resolve, since: Date.now() });
      this.polling ??= setTimeout(() => void this.poll(), JOB_POLL_MS);
    });
  }

  private jobEnded(id: string): void {
    const waiter = this.awaited.get(id);
    if (!waiter) return;
    this.awaited.delete(id);
    waiter.done();
  }

  /** Looks up the jobs awaited for a poll interval or more (those another replica runs); ends the wait past `waitMs`. */
  private async poll(): Promise<void> {
    try {
      const now = Date.now();
      for (const [id, w] of this.awaited) {
        if (now - w.since < this.jobWaitMs) continue;
        this.options.logger?.debug({ job: id, waitMs: this.jobWaitMs }, 'stopped waiting for an invoice refresh job; it still runs');
        this.jobEnded(id);
      }
      const due = [...this.awaited].filter(([, w]) => now - w.since >= JOB_POLL_MS).map(([id]) => id);
      if (due.length > 0 && this.jobs) for (const id of await this.jobs.finished(REFRESH_QUEUE, due)) this.jobEnded(id);
    } catch (err) {
      this.options.logger?.debug({ err }, 'could not look up invoice refresh jobs; looking again');
    } finally {
      this.polling = this.awaited.size > 0 ? setTimeout(() => void this.poll(), JOB_POLL_MS) : null;
    }
  }
}

/** `items` in runs of at most `size`. Pure. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
