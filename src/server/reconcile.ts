import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { InvoiceReconciler, type ReconcileSummary } from '../invoices/invoice.reconciler';
import { InvoiceService } from '../invoices/invoice.service';
import { Ledger } from '../ledger/ledger';
import { DatabaseTokenStore } from '../ledger/shared-tokens';
import { openDatabase } from '../ledger/open';
import type { ProviderCode } from '../domain/invoice';
import { loadConfigOrExit, type Config } from './config';
import { createLogger } from './logger';
import { startProviders } from './providers';

export interface ReconcileReport {
  summary: ReconcileSummary;
  /** Providers left out: no base URL is configured, and a fresh sandbox emulator knows nothing of earlier runs. */
  notReconciled: ProviderCode[];
}

/**
 * One reconciliation pass over the configured store and the providers whose base URL is configured, as `npm start`
 * would reach them. Called by `npm run reconcile`; costs what `InvoiceReconciler.runOnce` costs.
 */
export async function reconcile(config: Config, logger: Logger): Promise<ReconcileReport> {
  if (!config.store.databaseUrl && config.store.dataDir !== 'memory://') mkdirSync(config.store.dataDir, { recursive: true });
  const db = await openDatabase(config.store);
  const providers = await startProviders(config, logger, { sharedTokens: new DatabaseTokenStore(db, logger) });
  try {
    const notReconciled = Object.keys(providers.sandboxes) as ProviderCode[];
    // Attempts of a sandboxed provider are skipped, not released: "absent" from a fresh emulator proves nothing.
    const reachable = providers.reconcilable;
    const ledger = new Ledger(db);
    const service = new InvoiceService(ledger, reachable, { logger, leaseMs: config.attempts.leaseMs });
    const summary = await new InvoiceReconciler(ledger, reachable, service, { logger }).runOnce();
    return { summary, notReconciled };
  } finally {
    await providers.stop();
    await db.close();
  }
}

/** The report as the operator reads it. */
export function formatReport({ summary, notReconciled }: ReconcileReport): string {
  const lines = [
    `Reconciliation: ${summary.examined} stale attempt(s) (unknown, or pending past their lease)`,
    `  repaired       ${summary.repaired}  the provider had the invoices: recorded, the attempt succeeded`,
    `  released       ${summary.released}  the provider verifiably had nothing: a retry with the same key creates`,
    `  still unknown  ${summary.stillUnknown}  the provider could not be asked: run again later`,
    `  skipped        ${summary.skipped}  taken by a retry or another replica, or of a provider left out`,
    `  errors         ${summary.errors}  see the log`,
  ];
  if (notReconciled.length > 0) {
    lines.push(
      `Left out: ${notReconciled.join(', ')}: no base URL is configured, and a fresh sandbox emulator knows nothing of earlier runs.`,
      'Set <PROVIDER>_BASE_URL (and its credentials) to reconcile against the provider the attempts were sent to.',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `npm run reconcile`: exits 1 when an attempt could not be handled (errors), else 0. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  // Logs to stderr, so that stdout is the report alone.
  const report = await reconcile(config, createLogger(config.logLevel, pino.destination(2)));
  process.stdout.write(formatReport(report));
  process.exitCode = report.summary.errors > 0 ? 1 : 0;
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`reconciliation failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
