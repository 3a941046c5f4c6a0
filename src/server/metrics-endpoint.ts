import { Registry } from 'prom-client';
import type { Database } from '../ledger/database';
import type { Ledger } from '../ledger/ledger';
import type { ProviderRegistry } from '../providers/registry';
import { processRegistry, serverGauges } from '../telemetry/metrics';

/** What a scrape reads of the running server besides the process's own counters. */
export interface MetricsSources {
  db: Database;
  ledger: Ledger;
  providers: ProviderRegistry;
  /** The job queue's counts by queue and state (JobQueue.counts); absent when no queue runs here. */
  jobCounts?: () => Promise<Array<{ name: string; queued: number; active: number; failed: number; deferred: number }>>;
  ready: () => boolean;
}

const CIRCUIT_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;

/**
 * `GET /metrics`: the process's counters and histograms, and gauges read from this server when scraped (circuits,
 * open attempts, jobs, the ledger's pool). Cost per scrape: one ledger query on the open-attempts index and one
 * count per job queue; scrapes that overlap share one reading.
 */
export class MetricsEndpoint {
  private readonly register = new Registry();
  private readonly gauges = serverGauges(this.register);
  private reading: Promise<string> | null = null;

  constructor(private readonly sources: MetricsSources) {}

  readonly contentType = processRegistry.contentType;

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    this.reading ??= this.read().finally(() => (this.reading = null));
    return this.reading;
  }

  private async read(): Promise<string> {
    const { providers, ledger, db, jobCounts } = this.sources;
    const g = this.gauges;
    g.ready.set(this.sources.ready() ? 1 : 0);
    const windows: Record<string, number> = {};
    for (const code of providers.codes()) {
      const provider = providers.get(code);
      if (provider.lookupWindowMs !== undefined) windows[code] = provider.lookupWindowMs;
      const health = provider.health?.();
      if (!health) continue;
      for (const state of CIRCUIT_STATES) g.circuit.set({ provider: code, state: state.replace('-', '_') }, health.circuit === state ? 1 : 0);
      g.rateLimitedSeconds.set({ provider: code }, health.rateLimitedForSeconds);
    }
    const [attempts, jobs] = await Promise.all([ledger.openAttemptCounts(windows), jobCounts ? jobCounts() : Promise.resolve([])]);
    // Every provider and state is written, zeros included, so that a settled attempt's series goes to 0, not stale.
    g.attemptsOpen.reset();
    g.attemptsManual.reset();
    for (const code of providers.codes()) {
      for (const state of ['pending', 'unknown'] as const) g.attemptsOpen.set({ provider: code, state }, 0);
      g.attemptsManual.set({ provider: code }, 0);
    }
    const manual = new Map<string, number>();
    for (const a of attempts) {
      g.attemptsOpen.set({ provider: a.provider, state: a.state }, a.open);
      manual.set(a.provider, (manual.get(a.provider) ?? 0) + a.manual);
    }
    for (const [provider, n] of manual) g.attemptsManual.set({ provider }, n);
    for (const q of jobs) {
      for (const state of ['queued', 'active', 'failed', 'deferred'] as const) g.jobs.set({ queue: q.name, state }, q[state]);
    }
    const pool = db.poolStats?.() ?? { total: 1, idle: 1, waiting: 0 };
    for (const state of ['total', 'idle', 'waiting'] as const) g.pool.set({ state }, pool[state]);
    return (await processRegistry.metrics()) + '\n' + (await this.register.metrics());
  }
}
