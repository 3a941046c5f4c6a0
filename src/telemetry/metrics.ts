import type { Meter } from '@opentelemetry/api';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's metrics (prom-client), served at `GET /metrics` in Prometheus's text format. Every label takes its
 * values from a closed set (provider codes, operation names of the schema, route templates, outcome words), never an
 * id, a tenant or a client's operation name, so the series stay bounded. Counters and histograms live for the
 * process; gauges that describe a running server (circuits, attempts, jobs, pool) are read when scraped (see
 * server/metrics-endpoint.ts).
 */
export const processRegistry = new Registry();

// Node's own: CPU, memory, GC, handles, and event-loop lag (mean, p50, p90, p99) sampled every 10 ms.
collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });

/** What binds each counter and histogram to an OpenTelemetry meter once one exists (OTLP export, see sdk.ts). */
const binders: Array<(meter: Meter) => void> = [];

/**
 * The OpenTelemetry name of a Prometheus one: dots for underscores, without the unit suffix the unit says
 * (`invoicing_provider_call_duration_seconds` → `invoicing.provider.call.duration`, unit `s`). Pure.
 */
export function otelNameOf(promName: string): string {
  return promName.replace(/_(seconds|total)$/, '').replace(/_/g, '.');
}

/** From then on every counter and histogram is also recorded on `meter` (exported over OTLP). Called once, at start. */
export function bindMeter(meter: Meter): void {
  for (const bind of binders) bind(meter);
}

type Labels<L extends string> = Partial<Record<L, string>>;

/** A histogram served at /metrics and, once bound, recorded on the OpenTelemetry meter too. */
function histogram<L extends string>(config: { name: string; help: string; labelNames: readonly L[]; buckets: number[] }) {
  const prom = new Histogram({ ...config, registers: [processRegistry] });
  let otel: ReturnType<Meter['createHistogram']> | undefined;
  binders.push((meter) => {
    otel = meter.createHistogram(otelNameOf(config.name), { description: config.help, unit: config.name.endsWith('_seconds') ? 's' : '1', advice: { explicitBucketBoundaries: config.buckets } });
  });
  return {
    observe(labels: Labels<L>, value: number): void {
      prom.observe(labels, value);
      otel?.record(value, labels);
    },
  };
}

/** A counter served at /metrics and, once bound, added to on the OpenTelemetry meter too. */
function counter<L extends string>(config: { name: string; help: string; labelNames: readonly L[] }) {
  const prom = new Counter({ ...config, registers: [processRegistry] });
  let otel: ReturnType<Meter['createCounter']> | undefined;
  binders.push((meter) => {
    otel = meter.createCounter(otelNameOf(config.name), { description: config.help });
  });
  return {
    inc(labels: Labels<L>, value = 1): void {
      prom.inc(labels, value);
      otel?.add(value, labels);
    },
  };
}

/** Seconds: a ledger statement takes a millisecond, a provider call up to its timeouts (10 s, tripled for the body). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One GraphQL request: `operation` is its type and first root field (`mutation createInvoice`, `query _entities`). */
export const graphqlRequestDuration = histogram({
  name: 'invoicing_graphql_request_duration_seconds',
  help: 'GraphQL requests by operation (type and root field) and outcome (ok, user_error, error, refused)',
  labelNames: ['operation', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
});

/** One HTTP exchange with a provider: outcome is the status class (`2xx`…) or the transport failure (`timeout`…). */
export const providerRequestDuration = histogram({
  name: 'invoicing_provider_request_duration_seconds',
  help: 'HTTP requests to providers by provider, method, route template and outcome (status class or transport failure)',
  labelNames: ['provider', 'method', 'route', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
});

/** One provider call through its resilience policy (retries included): outcome ok, refused, outage, circuit_open, rate_limited. */
export const providerCallDuration = histogram({
  name: 'invoicing_provider_call_duration_seconds',
  help: 'Provider calls (a read or write with its retries) by provider, kind and outcome',
  labelNames: ['provider', 'kind', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
});

/** Retries a resilience policy sent after a first try failed. */
export const providerRetries = counter({
  name: 'invoicing_provider_retries_total',
  help: 'Requests sent again to a provider after a retryable failure',
  labelNames: ['provider', 'kind'] as const,
});

/** Calls refused locally because the provider asked us to wait (Retry-After), and rate limits met. */
export const rateLimitWaits = counter({
  name: 'invoicing_provider_rate_limit_waits_total',
  help: 'Rate limits: met (the provider answered 429 or its equivalent) and held (a call not sent while the gate was shut)',
  labelNames: ['provider', 'event'] as const,
});

/** One ledger statement; `operation` is its first SQL keyword. */
export const ledgerQueryDuration = histogram({
  name: 'invoicing_ledger_query_duration_seconds',
  help: 'Ledger statements by store and SQL operation',
  labelNames: ['store', 'operation'] as const,
  buckets: LATENCY_BUCKETS,
});

/** Items written per group-commit statement. */
export const groupCommitBatchSize = histogram({
  name: 'invoicing_ledger_group_commit_batch_size',
  help: 'Writes per group-commit statement, by write',
  labelNames: ['write'] as const,
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
});

/** Attempts the reconciler looked at, by what became of them. */
export const reconciliationResults = counter({
  name: 'invoicing_reconciliation_attempts_total',
  help: 'Open attempts the reconciler examined, by result (repaired, released, still_unknown, skipped, error)',
  labelNames: ['result'] as const,
});

/** Invoices the sync brought up to date or found, and reads that failed. */
export const syncResults = counter({
  name: 'invoicing_sync_invoices_total',
  help: 'Invoices handled by webhook drains and sync passes, by provider, source (webhook, poll) and result (refreshed, found, ambiguous, failed)',
  labelNames: ['provider', 'source', 'result'] as const,
});

/** Webhook deliveries by how they were answered. */
export const webhookDeliveries = counter({
  name: 'invoicing_webhook_deliveries_total',
  help: 'Webhook deliveries by provider slug and result (received, duplicate, ignored, unauthorized, bad_request, not_found, unavailable)',
  labelNames: ['provider', 'result'] as const,
});

/** The gauges read from one running server when scraped or exported, by their key. */
export const GAUGE_NAMES = {
  circuit: 'invoicing_provider_circuit_state',
  rateLimitedSeconds: 'invoicing_provider_rate_limited_seconds',
  attemptsOpen: 'invoicing_attempts_open',
  attemptsManual: 'invoicing_attempts_needing_manual_settlement',
  jobs: 'invoicing_jobs',
  webhookBacklog: 'invoicing_webhook_deliveries_unprocessed',
  pool: 'invoicing_ledger_pool_connections',
  ready: 'invoicing_ready',
} as const;

/** Gauges read at scrape time from one running server, on its own registry; MetricsEndpoint fills them. */
export function serverGauges(register: Registry) {
  const gauge = <L extends string>(key: keyof typeof GAUGE_NAMES, help: string, labelNames: readonly L[]) => new Gauge({ name: GAUGE_NAMES[key], help, labelNames, registers: [register] });
  return {
    circuit: gauge('circuit', 'Circuit breaker per provider: 1 for its current state (closed, open, half_open, isolated), 0 for the others', ['provider', 'state']),
    rateLimitedSeconds: gauge('rateLimitedSeconds', 'Seconds until calls to the provider may go again (0: not rate limited)', ['provider']),
    attemptsOpen: gauge('attemptsOpen', 'Attempts not settled, by provider and state (pending: a call may be under way; unknown: the provider may have acted)', ['provider', 'state']),
    attemptsManual: gauge('attemptsManual', "Open attempts past their provider's lookup window: a person must settle them at the provider", ['provider']),
    jobs: gauge('jobs', 'Jobs in the queue (pg-boss) by queue and state (queued includes deferred: those whose start is still to come)', ['queue', 'state']),
    webhookBacklog: gauge('webhookBacklog', 'Webhook deliveries recorded and not yet applied, by provider and state (due: to drain now; retrying: put off after failed reads; parked: failed too often, for a person)', ['provider', 'state']),
    pool: gauge('pool', 'Ledger connections by state (total, idle, waiting: callers waiting for one)', ['state']),
    ready: gauge('ready', '1 while the server accepts traffic (GET /ready answers 200), 0 while starting or draining', []),
  };
}

export type ServerGauges = ReturnType<typeof serverGauges>;

/** The outcome label of a provider request: its status class, or the transport failure's kind. Pure. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}
