import 'reflect-metadata';
import type { ApolloServer } from '@apollo/server';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import pino from 'pino';
import { createApp, type App } from '../../src/server/app';
import type { Context } from '../../src/server/context';
import type { Database } from '../../src/ledger/database';
import { ProviderRegistry } from '../../src/providers/registry';
import { SallaProvider } from '../../src/providers/salla/salla.provider';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';
import { openTestDatabase } from './store';

/**
 * The subgraph as a test sees it: a real ledger store, the Salla sandbox emulator on a loopback port, the real
 * data source speaking HTTP to it, and the Apollo server (listening only when a test asks).
 */
export interface Harness {
  app: App;
  db: Database;
  salla: SallaEmulator;
  sallaProvider: SallaProvider;
  /** Runs an operation through Apollo (executeOperation) with a fresh request context; throws on a transport-level failure. */
  execute<TData, TVars extends Record<string, unknown>>(
    doc: TypedDocumentNode<TData, TVars>,
    variables?: TVars,
  ): Promise<{ data?: TData | null; errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }> }>;
  close(): Promise<void>;
}

export async function startHarness(options: { sallaToken?: string } = {}): Promise<Harness> {
  const db = await openTestDatabase();
  const salla = new SallaEmulator();
  await salla.start(0);
  const sallaProvider = new SallaProvider({ baseUrl: salla.baseUrl, accessToken: options.sallaToken ?? SALLA_SANDBOX_TOKEN, timeoutMs: 2_000 });
  const app = await createApp({ db, providers: new ProviderRegistry([sallaProvider]), logger: pino({ level: 'silent' }), production: false });
  const apollo: ApolloServer<Context> = app.apollo;
  return {
    app,
    db,
    salla,
    sallaProvider,
    async execute(doc, variables) {
      const res = await apollo.executeOperation({ query: doc, variables }, { contextValue: app.contextFor() });
      if (res.body.kind !== 'single') throw new Error('incremental delivery not expected');
      // Through JSON, as a client receives it (scalars such as DateTime become strings).
      return JSON.parse(JSON.stringify(res.body.singleResult));
    },
    async close() {
      await app.stop();
      await salla.stop();
      await db.close();
    },
  };
}

/** A minimal one-page PDF, enough for Salla's `%PDF-` check. */
export const TINY_PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
