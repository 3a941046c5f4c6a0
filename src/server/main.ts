import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { InvoiceReconciler, type RunningReconciler } from '../invoices/invoice.reconciler';
import { Ledger } from '../ledger/ledger';
import { DatabaseTokenStore } from '../ledger/shared-tokens';
import { openDatabase } from '../ledger/open';
import { createApp } from './app';
import { loadConfigOrExit, type Config } from './config';
import { createLogger } from './logger';
import { startProviders, type StartedProviders } from './providers';
import type { Database } from '../ledger/database';
import { EventLog } from '../ledger/event-log';
import { SyncStore } from '../ledger/sync-store';
import { JobQueue } from '../jobs/job-queue';
import { WebhookIntake } from '../events/webhook-intake';
import { ChangeApplier } from '../sync/change-applier';
import { SyncPass } from '../sync/sync-pass';
import { DrainWaker, startSyncJobs } from '../sync/sync-jobs';
import type { ProviderCode } from '../domain/invoice';

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
  /** The job queue (pg-boss) this replica works on: webhook processing and sync passes. */
  jobs: JobQueue;
  /** The webhook secrets in force, by provider (a sandboxed provider's is generated at start). */
  webhookSecrets: Partial<Record<ProviderCode, string>>;
  stop(): Promise<void>;
}

/** The queue of the reconciler's passes after the first (JobQueue.defineChain). */
const RECONCILE_QUEUE = 'reconcile-pass';

/** Starts everything `npm start` starts, from a checked configuration; the end-to-end tests call it too. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  if (!config.store.databaseUrl && config.store.dataDir !== 'memory://') mkdirSync(config.store.dataDir, { recursive: true });
  const db = await openDatabase(config.store);
  logger.info({ store: db.kind, dataDir: db.kind === 'pglite' ? config.store.dataDir : undefined }, 'ledger ready');
  const providers = await startProviders(config, logger, { sharedTokens: new DatabaseTokenStore(db, logger) });
  if (config.production) {
    // Either one alone leaves the subgraph open to whoever reaches its port.
    if (!config.routerSecret) logger.warn('ROUTER_SECRET is not set: any client that reaches this port is served, not only the gateway');
    if (!config.jwt) logger.warn('JWT verification is not configured (JWT_ISSUER, JWT_AUDIENCE and a key): every caller is the default tenant with every scope');
  }
  const jobs = await JobQueue.open(db, {
    logger,
    connectionString: config.store.databaseUrl,
    schema: config.store.schema ? `${config.store.schema}_jobs` : undefined,
    heartbeatSeconds: config.jobHeartbeatSeconds,
  });
  const ledger = new Ledger(db);
  const events = new EventLog(db);
  const syncStore = new SyncStore(db);
  const applier = new ChangeApplier(ledger, syncStore, providers.registry, logger);
  // A sandboxed provider's emulator is ours: it signs its deliveries with a secret made here, unless one is configured.
  const webhookSecrets: Partial<Record<ProviderCode, string>> = { ...config.webhookSecrets };
  for (const code of Object.keys(providers.emulators) as ProviderCode[]) {
    if (providers.registry.has(code) && providers.registry.get(code).webhooks) webhookSecrets[code] ??= randomBytes(32).toString('base64url');
  }
  const waker = new DrainWaker(jobs, logger);
  const webhooks = new WebhookIntake(providers.registry, events, {
    secrets: webhookSecrets,
    logger,
    wake: (provider) => waker.wake(provider),
  });
  await startSyncJobs(jobs, { events, applier, pass: new SyncPass(syncStore, applier, providers.registry, { logger }), providers: providers.registry }, { intervalMs: config.syncIntervalMs, logger });
  const app = await createApp({
    db,
    providers: providers.registry,
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
  });
  const url = await app.listen(config.port, config.host);
  const origin = new URL(url).origin;
  for (const [code, emulator] of Object.entries(providers.emulators) as Array<[ProviderCode, StartedProviders['emulators'][ProviderCode]]>) {
    const secret = webhookSecrets[code];
    if (secret) emulator?.configureWebhook?.({ url: `${origin}/webhooks/${code.toLowerCase()}`, secret });
  }
  logger.info({ url, sandboxes: providers.sandboxes }, 'invoicing subgraph ready');
  // After listening, in the background: repairs what a killed predecessor (or replica) left open, never delaying
  // the start; a failed pass is logged and the next one tries again.
  // Only providers at a configured base URL: a fresh sandbox would "verify" the absence of anything done before.
  const repairs = new InvoiceReconciler(ledger, providers.reconcilable, app.invoices, { logger });
  // The pass at start is this replica's own (it repairs what its predecessor left); the later ones are one job chain
  // across all replicas (RECONCILE_INTERVAL_MS apart), not one timer per replica.
  const reconciler = repairs.start(0);
  if (config.attempts.reconcileIntervalMs > 0) {
    await jobs.defineChain(RECONCILE_QUEUE, ['ledger'], config.attempts.reconcileIntervalMs, async () => void (await repairs.runOnce()));
  }
  return {
    url,
    sandboxes: providers.sandboxes,
    emulators: providers.emulators,
    db,
    reconciler,
    jobs,
    webhookSecrets,
    stop: async () => {
      await reconciler.stop();
      await app.stop();
      await waker.idle();
      await jobs.stop();
      await providers.stop();
      await db.close();
    },
  };
}

/** `npm start`. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
  const explore = config.production ? '' : '  Open it in a browser to explore the schema (Apollo Sandbox).\n';
  process.stdout.write(`\n  Invoicing subgraph: ${server.url}\n${explore}\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
