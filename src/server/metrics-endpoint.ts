import type { Meter, ObservableGauge } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import type { Database } from '../ledger/database';
import type { Ledger } from '../ledger/ledger';
import type { ProviderRegistry } from '../providers/registry';
import { GAUGE_NAMES, otelNameOf, processRegistry, serverGauges, type ServerGauges } from '../telemetry/metrics';

/** What a scrape reads of the running server besides the process's own counters. */
export interface MetricsSources {
  db: Database;
  ledger: Ledger;
  providers: ProviderRegistry;
  /** The job queue's counts by queue and state (JobQueue.counts); absent when no queue runs here. */
  jobCounts?: () => Promise<Array<{ name: string; queued: number; active: number; failed: number; deferred: number }>>;
  /** Unprocessed webhook deliveries by provider and state (EventLog.counts); absent when webhooks are not recorded here. */
  webhookBacklog?: () => Promise<Array<{ provider: string; state: 'due' | 'retrying' | 'parked'; count: number }>>;
  ready: () => boolean;
}

const CIRCUIT_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;

type GaugeName = keyof ServerGauges;
/** One reading of the server's gauges: every series with its value. */
type Reading = Array<{ gauge: GaugeName; labels: Record<string, string>; value: number }>;

/**
 * `GET /metrics`: the process's counters and histograms, and gauges read from this server when scraped (circuits,
 * open attempts, jobs, the webhook backlog, the ledger's pool). Cost per scrape: one ledger query on the open-attempts
 * index, one on the unprocessed-events index and one count per job queue; scrapes that overlap share one reading. The same reading feeds OTLP export once bound.
 */
export class MetricsEndpoint {
  private readonly register = new Registry();
  private readonly gauges = serverGauges(this.register);
  private reading: Promise<Reading> | null = null;

  constructor(private readonly sources: MetricsSources) {}

  readonly contentType = processRegistry.contentType;

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    // A ledger that does not answer must not cost the scrape its process metrics, when they matter most.
    const reading = await this.read().catch(() => [] as Reading);
    for (const g of Object.values(this.gauges)) g.reset();
    for (const r of reading) this.gauges[r.gauge].set(r.labels, r.value);
    return (await processRegistry.metrics()) + '\n' + (await this.register.metrics());
  }

  /** Reports the same gauges on an OpenTelemetry meter, read at each export (OTLP). Called once, at start. */
  bindMeter(meter: Meter): void {
    const observables = Object.fromEntries(
      (Object.keys(this.gauges) as GaugeName[]).map((name) => [name, meter.createObservableGauge(otelNameOf(GAUGE_NAMES[name]))]),
    ) as Record<GaugeName, ObservableGauge>;
    meter.addBatchObservableCallback(async (result) => {
      // The last export, at shutdown, comes after the ledger closed: its gauges are left out, the counters still go.
      const reading = await this.read().catch(() => []);
      for (const r of reading) result.observe(observables[r.gauge], r.value, r.labels);
    }, Object.values(observables));
  }

  private read(): Promise<Reading> {
    this.reading ??= this.readNow().finally(() => (this.reading = null));
    return this.reading;
  }

  private async readNow(): Promise<Reading> {
    const { providers, ledger, db, jobCounts, webhookBacklog } = this.sources;
    const out: Reading = [];
    const put = (gauge: GaugeName, labels: Record<string, string>, value: number) => out.push({ gauge, labels, value });
    put('ready', {}, this.sources.ready() ? 1 : 0);
    const windows: Record<string, number> = {};
    for (const code of providers.codes()) {
      const provider = providers.get(code);
      if (provider.lookupWindowMs !== undefined) windows[code] = provider.lookupWindowMs;
      const health = provider.health?.();
      if (!health) continue;
      for (const state of CIRCUIT_STATES) put('circuit', { provider: code, state: state.replace('-', '_') }, health.circuit === state ? 1 : 0);
      put('rateLimitedSeconds', { provider: code }, health.rateLimitedForSeconds);
    }
    const [attempts, jobs, backlog] = await Promise.all([ledger.openAttemptCounts(windows), jobCounts ? jobCounts() : Promise.resolve([]), webhookBacklog ? webhookBacklog() : Promise.resolve([])]);
    // Every provider and state is written, zeros included, so that a settled attempt's series goes to 0, not stale.
    const open = new Map<string, number>();
    const manual = new Map<string, number>();
    for (const a of attempts) {
      open.set(`${a.provider}\u0000${a.state}`, a.open);
      manual.set(a.provider, (manual.get(a.provider) ?? 0) + a.manual);
    }
    const codes = new Set<string>([...providers.codes(), ...attempts.map((a) => a.provider)]);
    for (const code of codes) {
      for (const state of ['pending', 'unknown'] as const) put('attemptsOpen', { provider: code, state }, open.get(`${code}\u0000${state}`) ?? 0);
      put('attemptsManual', { provider: code }, manual.get(code) ?? 0);
    }
    for (const q of jobs) {
      for (const state of ['queued', 'active', 'failed', 'deferred'] as const) put('jobs', { queue: q.name, state }, q[state]);
    }
    // Zeros for every provider and state seen, so that a drained backlog's series goes to 0.
    const backlogOf = new Map(backlog.map((b) => [`${b.provider}\u0000${b.state}`, b.count]));
    if (webhookBacklog) {
      for (const code of new Set([...providers.codes(), ...backlog.map((b) => b.provider)])) {
        for (const state of ['due', 'retrying', 'parked'] as const) put('webhookBacklog', { provider: code, state }, backlogOf.get(`${code}\u0000${state}`) ?? 0);
      }
    }
    const pool = db.poolStats?.() ?? { total: 1, idle: 1, waiting: 0 };
    for (const state of ['total', 'idle', 'waiting'] as const) put('pool', { state }, pool[state]);
    return out;
  }
}
