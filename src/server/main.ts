import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { InvoiceReconciler, type RunningReconciler } from '../invoices/invoice.reconciler';
import { Ledger } from '../ledger/ledger';
import { DatabaseTokenStore } from '../ledger/shared-tokens';
import { openDatabase } from '../ledger/open';
import { createServer, type Server } from 'node:http';
import { createApp, listenOn, startingHandler } from './app';
import { loadConfigOrExit, type Config } from './config';
import { createLogger, logFormatOf } from './logger';
import { startTelemetry } from '../telemetry/sdk';
import type { Meter } from '@opentelemetry/api';
import { PROVIDER_WEBHOOKS, startProviders, type StartedProviders } from './providers';
import type { Database } from '../ledger/database';
import { EventLog } from '../ledger/event-log';
import { SyncStore } from '../ledger/sync-store';
import { JobQueue } from '../jobs/job-queue';
import { WebhookIntake } from '../events/webhook-intake';
import { ChangeApplier } from '../sync/change-applier';
import { SyncPass } from '../sync/sync-pass';
import { DrainWaker, startSyncJobs } from '../sync/sync-jobs';
import { PROVIDER_CODES, type ProviderCode } from '../domain/invoice';
import { TenantProviders } from '../connections/tenant-providers';
import { deliveredCredentials } from '../connections/credentials';
import { ConnectionStore } from '../connections/connection-store';
import { ConnectionKeys } from '../connections/connection-keys';
import { DEFAULT_TENANT } from './auth';
import type { InvoiceRefresher } from '../sync/invoice-refresher';

export interface RunningServer {
  url: string;
  /** Base URLs of the sandbox emulators started for unconfigured providers. */
  sandboxes: StartedProviders['sandboxes'];
  /** The emulators themselves, for tests that count what reached them. */
  emulators: StartedProviders['emulators'];
  /** The ledger store, for tests that count its queries. */
  db: Database;
  /** The background reconciliation (at start, then every RECONCILE_INTERVAL_MS). */
  reconciler: RunningReconciler;
  /** The job queue (pg-boss) this replica works on: webhook processing, sync passes, refreshes, reconciler passes. */
  jobs: JobQueue;
  /** The background refreshes of stale status and kpis (their reads are `invoice-refresh` jobs); tests wait on `idle()`. */
  refresher: InvoiceRefresher;
  /** The webhook secrets in force, by provider (a sandboxed provider's is generated at start). */
  webhookSecrets: Partial<Record<ProviderCode, string>>;
  /**
   * The graceful stop (SIGTERM): `/ready` turns 503 at once, new connections are refused, in-flight requests (a
   * create's provider call and ledger write included) finish within SHUTDOWN_TIMEOUT_MS, running jobs within what
   * is left of it (else another replica retries them), then connections, the job queue and the ledger are closed.
   * Resolves `true` when everything finished in time, `false` when something had to be cut.
   */
  stop(): Promise<boolean>;
}

/** The queue of the reconciler's passes after the first (JobQueue.defineChain). */
const RECONCILE_QUEUE = 'reconcile-pass';

/** Starts everything `npm start` starts, from a checked configuration; the end-to-end tests call it too. */
export async function startServer(config: Config, logger: Logger, options: { meter?: Meter | null } = {}): Promise<RunningServer> {
  // Listening first: probes get `/health` 200 and `/ready` 503 while the ledger opens and migrates (seconds on a
  // large embedded store), instead of a refused connection that a liveness probe would take for a dead process.
  const http = createServer(config.http);
  http.on('request', startingHandler);
  const listening = await listenOn(http, config.port, config.host);
  logger.info({ url: listening }, 'listening: /health answers, /ready says 503 until the ledger and providers are up');
  // What startBehind has opened, closed in reverse when a later step fails.
  const opened: Array<() => Promise<unknown>> = [];
  try {
    return await startBehind(http, config, logger, options.meter ?? null, opened);
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    await new Promise((resolve) => http.close(resolve));
    throw err;
  }
}

async function startBehind(http: Server, config: Config, logger: Logger, meter: Meter | null, opened: Array<() => Promise<unknown>>): Promise<RunningServer> {
  if (!config.store.databaseUrl && config.store.dataDir !== 'memory://') mkdirSync(config.store.dataDir, { recursive: true });
  const db = await openDatabase(config.store);
  opened.push(() => db.close());
  logger.info({ store: db.kind, dataDir: db.kind === 'pglite' ? config.store.dataDir : undefined }, 'ledger ready');
  const providers = await startProviders(config, logger, { sharedTokens: new DatabaseTokenStore(db, logger) });
  opened.push(() => providers.stop());
  if (config.production) {
    // Either one alone leaves the subgraph open to whoever reaches its port.
    if (!config.routerSecret) logger.warn('ROUTER_SECRET is not set: any client that reaches this port is served, not only the gateway');
    if (!config.metricsToken) logger.info('METRICS_TOKEN is not set: GET /metrics answers whoever reaches this port (it names providers, circuits and counts, no ids)');
    if (!config.jwt) logger.warn('JWT verification is not configured (JWT_ISSUER, JWT_AUDIENCE and a key): every caller is the default tenant with every scope');
  }
  const jobs = await JobQueue.open(db, {
    logger,
    connectionString: config.store.databaseUrl,
    schema: config.store.schema ? `${config.store.schema}_jobs` : undefined,
    heartbeatSeconds: config.jobHeartbeatSeconds,
  });
  opened.push(() => jobs.stop());
  const ledger = new Ledger(db);
  const events = new EventLog(db);
  const syncStore = new SyncStore(db);
  // Who acts for whom: each tenant's own connections (CONNECTIONS_KEY set), else the configured accounts for everyone.
  const tenants = new TenantProviders(
    providers.registry,
    config.connections ? { store: new ConnectionStore(db), keys: new ConnectionKeys(config.connections.key, config.connections.previous), build: providers.buildConnection } : null,
    // With tokens verified, no caller is the default tenant: a token whose tenant claim says "default" gets no account of the deployment's.
    { defaultsServe: config.connections ? 'default-tenant' : 'every-tenant', defaultTenant: config.jwt ? null : DEFAULT_TENANT, logger },
  );
  opened.push(() => tenants.close());
  const applier = new ChangeApplier(ledger, syncStore, tenants, logger);
  // A sandboxed provider's emulator is ours: it signs its deliveries with a secret made here, unless one is configured.
  const webhookSecrets: Partial<Record<ProviderCode, string>> = { ...config.webhookSecrets };
  for (const code of Object.keys(providers.emulators) as ProviderCode[]) {
    if (PROVIDER_WEBHOOKS[code]) webhookSecrets[code] ??= randomBytes(32).toString('base64url');
  }
  const waker = new DrainWaker(jobs, logger);
  const webhooks = new WebhookIntake(PROVIDER_WEBHOOKS, events, {
    secrets: webhookSecrets,
    logger,
    wake: (provider) => waker.wake(provider),
    // A store's tokens delivered by the provider (Salla's app.store.authorize) become its tenants' connection.
    onAccountEvent: async (code, event) =>
      event.kind === 'revoked'
        ? (await tenants.accountRevoked(code, event.accountId, event.reason)).length
        : (await tenants.authorizeAccount(code, event.accountId, deliveredCredentials(code, providers.baseUrls[code] ?? '', event), null)).length,
    // A Zuora tenant's callouts (X-Zuora-Tenant-Id) are verified with the webhookSecret of the tenants connected to it.
    ...(tenants.enabled ? { accountSecrets: (code: ProviderCode, accountId: string, fresh: boolean) => tenants.webhookSecretsOf(code, accountId, fresh) } : {}),
  });
  // With connections, any provider may have tenants' accounts to poll; without, only the configured ones.
  const codes = tenants.enabled ? PROVIDER_CODES.filter((c) => tenants.mayServe(c)) : providers.registry.codes();
  await startSyncJobs(jobs, { events, applier, pass: new SyncPass(syncStore, applier, tenants, { logger }), codes, webhooks: PROVIDER_WEBHOOKS }, { intervalMs: config.syncIntervalMs, logger });
  const app = await createApp({
    db,
    providers: tenants,
    connectionBaseUrls: providers.baseUrls,
    logger,
    production: config.production,
    development: config.development,
    limits: config.limits,
    httpTimeouts: config.http,
    graphos: config.graphos,
    routerSecret: config.routerSecret,
    jwt: config.jwt,
    attemptLeaseMs: config.attempts.leaseMs,
    freshnessMs: config.freshnessMs,
    webhooks,
    refreshJobs: jobs,
    metricsToken: config.metricsToken,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    jobCounts: () => jobs.counts(),
    webhookBacklog: () => events.counts(),
    httpServer: http,
  });
  opened.push(() => app.stop());
  http.off('request', startingHandler);
  if (meter) app.metrics.bindMeter(meter);
  const url = await app.listen(config.port, config.host);
  const origin = new URL(url).origin;
  for (const [code, emulator] of Object.entries(providers.emulators) as Array<[ProviderCode, StartedProviders['emulators'][ProviderCode]]>) {
    const secret = webhookSecrets[code];
    if (secret) emulator?.configureWebhook?.({ url: `${origin}/webhooks/${code.toLowerCase()}`, secret });
  }
  app.markReady();
  logger.info({ url, sandboxes: providers.sandboxes }, 'invoicing subgraph ready');
  // After listening, in the background: repairs what a killed predecessor (or replica) left open, never delaying
  // the start; a failed pass is logged and the next one tries again.
  // Only providers at a configured base URL: a fresh sandbox would "verify" the absence of anything done before.
  const repairs = new InvoiceReconciler(ledger, tenants.withDefaults(providers.reconcilable), app.invoices, { logger });
  // Connections sealed under CONNECTIONS_KEY_PREVIOUS are sealed again under CONNECTIONS_KEY, in the background.
  void resealAll(tenants, logger);
  // The pass at start is this replica's own (it repairs what its predecessor left); the later ones are one job chain
  // across all replicas (RECONCILE_INTERVAL_MS apart), not one timer per replica.
  const reconciler = repairs.start(0);
  if (config.attempts.reconcileIntervalMs > 0) {
    await jobs.defineChain(RECONCILE_QUEUE, ['ledger'], config.attempts.reconcileIntervalMs, async () => void (await repairs.runOnce()));
  }
  let stopping: Promise<boolean> | undefined;
  return {
    url,
    sandboxes: providers.sandboxes,
    emulators: providers.emulators,
    db,
    reconciler,
    jobs,
    refresher: app.refresher,
    webhookSecrets,
    stop: () => (stopping ??= stopAll()),
  };

  async function stopAll(): Promise<boolean> {
    app.drain();
    // No new jobs here from now on: this replica's running ones finish while the requests drain.
    await jobs.pause();
    // Still listening, answering 503 at /ready, while load balancers take this replica out (SHUTDOWN_DELAY_MS).
    if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
    const deadline = Date.now() + config.shutdownTimeoutMs;
    logger.info({ timeoutMs: config.shutdownTimeoutMs }, 'stopped listening; in-flight requests finish');
    const [, inTime] = await Promise.all([reconciler.stop(), app.stop()]);
    await waker.idle();
    // A job still running past the deadline is let go: its heartbeat stops and another replica retries it.
    await jobs.stop(Math.max(1_000, deadline - Date.now()));
    await providers.stop();
    await db.close();
    return inTime;
  }
}

/** `npm start`. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const telemetry = startTelemetry(process.env);
  const format = logFormatOf(config.logFormat, process.stdout.isTTY);
  const logger = createLogger(config.logLevel, undefined, format);
  if (telemetry) logger.info({ traces: telemetry.traces, metrics: telemetry.metrics }, 'OpenTelemetry export on');

  // Taken before the start: a SIGTERM while the ledger migrates (a failed startup probe) waits for the start to end,
  // then stops as it would have, instead of killing the process in the middle of a write.
  let server: RunningServer | null = null;
  let signalled: string | null = null;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = signal;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'draining: /ready answers 503, in-flight requests finish');
    // A stop that hangs past its budget (a stuck close) must not keep a rollout waiting for the kubelet's SIGKILL.
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownDelayMs + config.shutdownTimeoutMs + 10_000).unref();
    if (server) void stopAndExit(server);
  };
  const stopAndExit = async (running: RunningServer) => {
    try {
      const inTime = await running.stop();
      // Buffered spans and metrics go out, but a collector that does not answer must not hold the exit.
      await Promise.race([telemetry?.shutdown().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, TELEMETRY_FLUSH_MS).unref())]);
      if (!inTime) logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'in-flight requests were cut at SHUTDOWN_TIMEOUT_MS');
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  server = await startServer(config, logger, { meter: telemetry?.meter });
  if (signalled) return void stopAndExit(server);
  process.stdout.write(startupText(server.url, config.production));
}

/** How long the exit waits for the last spans and metrics to reach the collector. */
const TELEMETRY_FLUSH_MS = 3_000;

/** What `npm start` prints last: where the server is, and three things to try (explore, create, read). Pure. */
export function startupText(url: string, production: boolean): string {
  const create = JSON.stringify({
    query: 'mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input, idempotencyKey: "try-1124455667") { invoice { id number status total { amount currencyCode } } userErrors { code message } } }',
    variables: { input: { salla: { orderId: '1124455667', dataType: 'URL', url: 'https://files.example.com/invoices/1124455667.pdf' } } },
  });
  const read = JSON.stringify({ query: '{ invoices(first: 5) { edges { node { id provider number status origin total { amount currencyCode } } } } }' });
  const curl = (body: string) => `curl -s ${url} -H 'content-type: application/json' -d '${body}'`;
  return [
    '',
    `  Invoicing subgraph: ${url}`,
    '',
    '  Try:',
    production ? `  1. Probe it:  curl -s ${new URL('/ready', url).href}` : `  1. Open ${url} in a browser: Apollo Sandbox, to explore the schema`,
    `  2. Create a Salla invoice in the sandbox:\n     ${curl(create)}`,
    `  3. List the invoices:\n     ${curl(read)}`,
    '',
    '',
  ].join('\n');
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}

/** Seals every connection under the current key, a hundred at a time, logging how many; a failure is logged and left for the next start. */
async function resealAll(tenants: TenantProviders, logger: Logger): Promise<void> {
  try {
    let total = 0;
    for (let n = await tenants.resealStale(); n > 0; n = await tenants.resealStale()) total += n;
    if (total > 0) logger.info({ connections: total }, 'connections sealed again under the current CONNECTIONS_KEY');
  } catch (err) {
    logger.warn({ err }, 'could not seal connections again under the current CONNECTIONS_KEY; the next start tries again');
  }
}
