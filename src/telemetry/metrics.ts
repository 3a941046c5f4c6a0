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

/** Seconds: a ledger statement takes a millisecond, a provider call up to its timeouts (10 s, tripled for the body). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One GraphQL request: `operation` is its type and first root field (`mutation createInvoice`, `query _entities`). */
export const graphqlRequestDuration = new Histogram({
  name: 'invoicing_graphql_request_duration_seconds',
  help: 'GraphQL requests by operation (type and root field) and outcome (ok, user_error, error, refused)',
  labelNames: ['operation', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [processRegistry],
});

/** One HTTP exchange with a provider: outcome is the status class (`2xx`…) or the transport failure (`timeout`…). */
export const providerRequestDuration = new Histogram({
  name: 'invoicing_provider_request_duration_seconds',
  help: 'HTTP requests to providers by provider, method, route template and outcome (status class or transport failure)',
  labelNames: ['provider', 'method', 'route', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [processRegistry],
});

/** One provider call through its resilience policy (retries included): outcome ok, refused, outage, circuit_open, rate_limited. */
export const providerCallDuration = new Histogram({
  name: 'invoicing_provider_call_duration_seconds',
  help: 'Provider calls (a read or write with its retries) by provider, kind and outcome',
  labelNames: ['provider', 'kind', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [processRegistry],
});

/** Retries a resilience policy sent after a first try failed. */
export const providerRetries = new Counter({
  name: 'invoicing_provider_retries_total',
  help: 'Requests sent again to a provider after a retryable failure',
  labelNames: ['provider', 'kind'] as const,
  registers: [processRegistry],
});

/** Calls refused locally because the provider asked us to wait (Retry-After), and rate limits met. */
export const rateLimitWaits = new Counter({
  name: 'invoicing_provider_rate_limit_waits_total',
  help: 'Rate limits: met (the provider answered 429 or its equivalent) and held (a call not sent while the gate was shut)',
  labelNames: ['provider', 'event'] as const,
  registers: [processRegistry],
});

/** One ledger statement; `operation` is its first SQL keyword. */
export const ledgerQueryDuration = new Histogram({
  name: 'invoicing_ledger_query_duration_seconds',
  help: 'Ledger statements by store and SQL operation',
  labelNames: ['store', 'operation'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [processRegistry],
});

/** Items written per group-commit statement. */
export const groupCommitBatchSize = new Histogram({
  name: 'invoicing_ledger_group_commit_batch_size',
  help: 'Writes per group-commit statement, by write',
  labelNames: ['write'] as const,
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
  registers: [processRegistry],
});

/** Attempts the reconciler looked at, by what became of them. */
export const reconciliationResults = new Counter({
  name: 'invoicing_reconciliation_attempts_total',
  help: 'Open attempts the reconciler examined, by result (repaired, released, still_unknown, skipped, error)',
  labelNames: ['result'] as const,
  registers: [processRegistry],
});

/** Invoices the sync brought up to date or found, and reads that failed. */
export const syncResults = new Counter({
  name: 'invoicing_sync_invoices_total',
  help: 'Invoices handled by webhook drains and sync passes, by provider, source (webhook, poll) and result (refreshed, found, ambiguous, failed)',
  labelNames: ['provider', 'source', 'result'] as const,
  registers: [processRegistry],
});

/** Webhook deliveries by how they were answered. */
export const webhookDeliveries = new Counter({
  name: 'invoicing_webhook_deliveries_total',
  help: 'Webhook deliveries by provider slug and result (received, duplicate, ignored, unauthorized, bad_request, not_found, unavailable)',
  labelNames: ['provider', 'result'] as const,
  registers: [processRegistry],
});

/** Gauges read at scrape time from one running server; `collect` fills them. */
export function serverGauges(register: Registry) {
  return {
    circuit: new Gauge({ name: 'invoicing_provider_circuit_state', help: 'Circuit breaker per provider: 1 for its current state (closed, open, half_open, isolated), 0 for the others', labelNames: ['provider', 'state'] as const, registers: [register] }),
    rateLimitedSeconds: new Gauge({ name: 'invoicing_provider_rate_limited_seconds', help: 'Seconds until calls to the provider may go again (0: not rate limited)', labelNames: ['provider'] as const, registers: [register] }),
    attemptsOpen: new Gauge({ name: 'invoicing_attempts_open', help: 'Attempts not settled, by provider and state (pending: a call may be under way; unknown: the provider may have acted)', labelNames: ['provider', 'state'] as const, registers: [register] }),
    attemptsManual: new Gauge({ name: 'invoicing_attempts_needing_manual_settlement', help: "Open attempts past their provider's lookup window: a person must settle them at the provider", labelNames: ['provider'] as const, registers: [register] }),
    jobs: new Gauge({ name: 'invoicing_jobs', help: 'Jobs in the queue (pg-boss) by queue and state', labelNames: ['queue', 'state'] as const, registers: [register] }),
    pool: new Gauge({ name: 'invoicing_ledger_pool_connections', help: 'Ledger connections by state (total, idle, waiting: callers waiting for one)', labelNames: ['state'] as const, registers: [register] }),
    ready: new Gauge({ name: 'invoicing_ready', help: '1 while the server accepts traffic (GET /ready answers 200), 0 while starting or draining', registers: [register] }),
  };
}

export type ServerGauges = ReturnType<typeof serverGauges>;

/** The outcome label of a provider request: its status class, or the transport failure's kind. Pure. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}
