import 'reflect-metadata';
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
  stop(): Promise<void>;
}

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
  });
  const url = await app.listen(config.port, config.host);
  logger.info({ url, sandboxes: providers.sandboxes }, 'invoicing subgraph ready');
  // After listening, in the background: repairs what a killed predecessor (or replica) left open, never delaying
  // the start; a failed pass is logged and the next one tries again.
  // Only providers at a configured base URL: a fresh sandbox would "verify" the absence of anything done before.
  const reconciler = new InvoiceReconciler(new Ledger(db), providers.reconcilable, app.invoices, { logger }).start(config.attempts.reconcileIntervalMs);
  return {
    url,
    sandboxes: providers.sandboxes,
    emulators: providers.emulators,
    db,
    reconciler,
    stop: async () => {
      await reconciler.stop();
      await app.stop();
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
