import 'reflect-metadata';
import type { ApolloServer } from '@apollo/server';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import pino from 'pino';
import { createApp, type App } from '../../src/server/app';
import type { Context } from '../../src/server/context';
import type { Database } from '../../src/ledger/database';
import type { CommerceEmulator } from '../../src/sandbox/commerce/commerce.emulator';
import type { ExsitedEmulator } from '../../src/sandbox/exsited/exsited.emulator';
import type { SalesforceEmulator } from '../../src/sandbox/salesforce/salesforce.emulator';
import type { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import type { ZuoraEmulator } from '../../src/sandbox/zuora/zuora.emulator';
import { loadConfig } from '../../src/server/config';
import { startProviders, type StartedProviders } from '../../src/server/providers';
import { openTestDatabase } from './store';

/**
 * The subgraph as a test sees it: a real ledger store, every provider's sandbox emulator on a loopback port (as
 * `npm start` wires them), the real data sources speaking HTTP to them, and the Apollo server (listening only
 * when a test asks).
 */
export interface Harness {
  app: App;
  db: Database;
  providers: StartedProviders;
  salla: SallaEmulator;
  salesforce: SalesforceEmulator;
  commerce: CommerceEmulator;
  exsited: ExsitedEmulator;
  zuora: ZuoraEmulator;
  /** Runs an operation through Apollo (executeOperation) with a fresh request context; throws on a transport-level failure. */
  execute<TData, TVars extends Record<string, unknown>>(
    doc: TypedDocumentNode<TData, TVars>,
    variables?: TVars,
  ): Promise<{ data?: TData | null; errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }> }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** INVOICE_FRESHNESS_MS; the default (60 s) otherwise. */
  freshnessMs?: number;
  /** How long a failed background refresh waits before the next try. */
  refreshHoldMs?: number;
  /** Receives the app's log lines (as pino objects); silent otherwise. */
  logs?: Array<Record<string, unknown>>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = await openTestDatabase();
  const logs = options.logs;
  const logger = logs ? pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }) : pino({ level: 'silent' });
  const providers = await startProviders(loadConfig({ PROVIDER_TIMEOUT_MS: '2000' }), logger);
  const app = await createApp({
    db,
    providers: providers.registry,
    logger,
    production: false,
    freshnessMs: options.freshnessMs,
    refreshHoldMs: options.refreshHoldMs,
  });
  const apollo: ApolloServer<Context> = app.apollo;
  return {
    app,
    db,
    providers,
    salla: providers.emulators.SALLA as SallaEmulator,
    salesforce: providers.emulators.SALESFORCE as SalesforceEmulator,
    commerce: providers.emulators.COMMERCE as CommerceEmulator,
    exsited: providers.emulators.EXSITED as ExsitedEmulator,
    zuora: providers.emulators.ZUORA as ZuoraEmulator,
    async execute(doc, variables) {
      const res = await apollo.executeOperation({ query: doc, variables }, { contextValue: app.contextFor() });
      if (res.body.kind !== 'single') throw new Error('incremental delivery not expected');
      // Through JSON, as a client receives it (scalars such as DateTime become strings).
      return JSON.parse(JSON.stringify(res.body.singleResult));
    },
    async close() {
      await app.stop();
      await providers.stop();
      await db.close();
    },
  };
}

/** A minimal one-page PDF, enough for Salla's `%PDF-` check. */
export const TINY_PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
