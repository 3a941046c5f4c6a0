import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Database } from '../../src/ledger/database';
import { openDatabase } from '../../src/ledger/open';
import { CommerceEmulator } from '../../src/sandbox/commerce/commerce.emulator';
import { COMMERCE_SANDBOX_TOKEN } from '../../src/sandbox/commerce/commerce.seed';
import { ExsitedEmulator } from '../../src/sandbox/exsited/exsited.emulator';
import { EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/exsited/exsited.seed';
import { SalesforceEmulator } from '../../src/sandbox/salesforce/salesforce.emulator';
import { SALESFORCE_SANDBOX_TOKEN } from '../../src/sandbox/salesforce/salesforce.seed';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';
import type { ProviderEmulator } from '../../src/sandbox/shared/provider-emulator';
import { ZuoraEmulator } from '../../src/sandbox/zuora/zuora.emulator';
import { ZUORA_SANDBOX_CLIENT_ID, ZUORA_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/zuora/zuora.seed';
import { dropTestSchema, storeName } from '../support/store';
import { spawnTs, type TsChild } from '../support/ts-child';

/**
 * Crash safety with a real process: the subgraph runs in a child process against emulators in this one, a create is
 * held at the emulator after (or before) the provider acted, and the child is killed with SIGKILL right there, so
 * the ledger never hears the answer. A new process (or `npm run reconcile`) must repair the attempt by reading the
 * provider, never by creating again. The ledger is this run's store: a PGlite folder on disk (which survives
 * SIGKILL: its committed writes are in the files) or a schema of its own on DATABASE_URL.
 */

// A beforeAll starts two child processes and waits for their repairs, each wait up to waitForLog's 60 s (SWC
// compiles every source uncached in each child): the hooks and tests get room for all of them.
jest.setTimeout(240_000);

// A short lease and frequent passes, so that the sweep after a restart does not wait a minute for the dead lease.
const LEASE_MS = 1500;
const TIMING = { ATTEMPT_LEASE_MS: String(LEASE_MS), PROVIDER_TIMEOUT_MS: '1000', RECONCILE_INTERVAL_MS: '200' };

interface Emulators {
  salla: SallaEmulator;
  salesforce: SalesforceEmulator;
  zuora: ZuoraEmulator;
  exsited: ExsitedEmulator;
  commerce: CommerceEmulator;
}

/** One create held at an emulator: `reached` once the request is there (after the handler ran, for 'after'). */
interface Hold {
  stage: 'before' | 'after';
  reached: Promise<void>;
  release(): void;
}

type Code = 'SALLA' | 'SALESFORCE' | 'ZUORA' | 'EXSITED' | 'COMMERCE';

interface Case {
  code: Code;
  /** How the provider is read after a crash, as the README says. */
  by: string;
  emulator(e: Emulators): ProviderEmulator;
  /** The provider's create request (its POST path). */
  create: RegExp;
  input: Record<string, unknown>;
  /** The documents the emulator holds: what "created" means at this provider. */
  documents(e: Emulators): string[];
}

const CASES: Case[] = [
  // DATA: the number sent is what a lookup finds at Salla (a URL or FILE invoice is never adopted from the order).
  {
    code: 'SALLA',
    by: 'by the invoice number sent, on the order',
    emulator: (e) => e.salla,
    create: /\/orders\/invoices$/,
    input: { salla: { orderId: '1818813486', dataType: 'DATA', invoiceNumber: 'CRASH-1', subTotal: '100', total: '115', shippingCost: '0', cashOnDeliveryCost: '0' } },
    documents: (e) => e.salla.invoices().map((i) => String(i.id)),
  },
  { code: 'SALESFORCE', by: "by the fulfillment order's InvoiceId", emulator: (e) => e.salesforce, create: /\/actions\/create-invoice$/, input: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXFIA2' } }, documents: (e) => e.salesforce.invoices().map((i) => i.id) },
  {
    code: 'ZUORA',
    by: 'by Idempotency-Key',
    emulator: (e) => e.zuora,
    create: /^\/v1\/fulfillments$/,
    input: { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70301', quantity: '3', fulfillmentDate: '2024-05-01' }] } },
    documents: (e) => e.zuora.documents().map((d) => d.id),
  },
  { code: 'EXSITED', by: 'by client-chosen id', emulator: (e) => e.exsited, create: /\/orders\/[^/]+\/invoices$/, input: { exsited: { orderId: 'ORD-7K2M4P' } }, documents: (e) => e.exsited.invoices().map((i) => i.id) },
  { code: 'COMMERCE', by: 'by order', emulator: (e) => e.commerce, create: /\/invoices$/, input: { commerce: { orderId: '69ab24db449866373d5e3e35' } }, documents: (e) => e.commerce.invoices().map((i) => i.id) },
];

/** Emulators with a trap on each create: `hold` arms it for the next create request (once). */
async function startEmulators(): Promise<{ emulators: Emulators; hold(c: Case, stage: Hold['stage']): Hold; env: Record<string, string>; stop(): Promise<void> }> {
  const emulators: Emulators = { salla: new SallaEmulator(), salesforce: new SalesforceEmulator(), zuora: new ZuoraEmulator(), exsited: new ExsitedEmulator(), commerce: new CommerceEmulator() };
  const armed = new Map<ProviderEmulator, { create: RegExp; hold: Hold; reached(): void; released: Promise<void> }>();
  for (const emulator of Object.values(emulators) as ProviderEmulator[]) {
    await emulator.start(0);
    // Innermost middleware: runs after the emulator's own (auth, Zuora's Idempotency-Key store), around the handler.
    emulator.server.use(async (req, next) => {
      const trap = armed.get(emulator);
      if (!trap || req.method !== 'POST' || !trap.create.test(req.path)) return next();
      armed.delete(emulator);
      if (trap.hold.stage === 'before') {
        trap.reached();
        await trap.released;
        return { status: 503, body: { error: 'never handled' } };
      }
      const answer = await next();
      trap.reached();
      await trap.released;
      return answer;
    });
  }
  return {
    emulators,
    hold(c, stage) {
      let reached!: () => void;
      let release!: () => void;
      const hold: Hold = { stage, reached: new Promise((r) => (reached = r)), release: () => release() };
      armed.set(c.emulator(emulators), { create: c.create, hold, reached, released: new Promise((r) => (release = r)) });
      return hold;
    },
    env: {
      SALLA_BASE_URL: emulators.salla.baseUrl,
      SALLA_ACCESS_TOKEN: SALLA_SANDBOX_TOKEN,
      SALESFORCE_INSTANCE_URL: emulators.salesforce.baseUrl,
      SALESFORCE_ACCESS_TOKEN: SALESFORCE_SANDBOX_TOKEN,
      ZUORA_BASE_URL: emulators.zuora.baseUrl,
      ZUORA_CLIENT_ID: ZUORA_SANDBOX_CLIENT_ID,
      ZUORA_CLIENT_SECRET: ZUORA_SANDBOX_CLIENT_SECRET,
      EXSITED_BASE_URL: emulators.exsited.baseUrl,
      EXSITED_CLIENT_ID: EXSITED_SANDBOX_CLIENT_ID,
      EXSITED_CLIENT_SECRET: EXSITED_SANDBOX_CLIENT_SECRET,
      COMMERCE_BASE_URL: emulators.commerce.baseUrl,
      COMMERCE_ACCESS_TOKEN: COMMERCE_SANDBOX_TOKEN,
      COMMERCE_CURRENCY: 'USD',
    },
    stop: async () => {
      await Promise.all(Object.values(emulators).map((e: ProviderEmulator) => e.stop()));
    },
  };
}

/** This run's ledger store, as configuration for the child and as a Database for this process to inspect. */
function testStore(name: string): { env: Record<string, string>; open(): Promise<Database>; drop(): Promise<void> } {
  const url = process.env.DATABASE_URL;
  if (url) {
    const schema = `crash_${name}_${Date.now().toString(36)}`;
    return { env: { DATABASE_URL: url, DATABASE_SCHEMA: schema }, open: () => openDatabase({ databaseUrl: url, schema, dataDir: '' }), drop: () => dropTestSchema(schema) };
  }
  const dir = mkdtempSync(path.join(tmpdir(), `crash-${name}-`));
  return {
    env: { PGLITE_DATA_DIR: dir },
    // Only while no child runs: one process owns a PGlite folder.
    open: () => openDatabase({ dataDir: dir }),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function inspect<T>(store: ReturnType<typeof testStore>, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await store.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

interface AttemptRow {
  idempotency_key: string;
  state: string;
  disposition: string | null;
  tries: number;
  invoices: string[];
}

/** Every attempt with the ids of its recorded invoices. */
const attempts = (db: Database) =>
  db.query<AttemptRow>(
    `SELECT a.idempotency_key, a.state, a.disposition, a.tries, COALESCE(array_agg(i.id::text) FILTER (WHERE i.id IS NOT NULL), '{}') AS invoices
       FROM invoice_attempts a LEFT JOIN invoices i ON i.attempt_id = a.id
      GROUP BY a.id ORDER BY a.idempotency_key`,
  );

/** Starts the subgraph in a child process and resolves once it listens. */
async function startSubgraph(env: Record<string, string>): Promise<{ child: TsChild; url: string }> {
  const child = spawnTs('src/server/main.ts', { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...TIMING, ...env });
  const ready = await child.waitForLog((l) => l.msg === 'invoicing subgraph ready');
  return { child, url: String(ready.url) };
}

async function kill(child: TsChild): Promise<void> {
  child.proc.kill('SIGKILL');
  expect((await child.exited).signal).toBe('SIGKILL');
}

/** Graceful stop (SIGTERM, as an orchestrator does), so that the store can be inspected. */
async function stop(child: TsChild): Promise<void> {
  child.proc.kill('SIGTERM');
  await child.exited;
}

const CREATE = 'mutation ($i: CreateInvoiceInput!, $k: String) { createInvoice(input: $i, idempotencyKey: $k) { invoice { id providerInvoiceId } userErrors { code message } } }';

interface Created {
  invoice: { id: string; providerInvoiceId: string } | null;
  userErrors: Array<{ code: string; message: string }>;
}

async function createInvoice(url: string, input: Record<string, unknown>, key: string): Promise<Created> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: CREATE, variables: { i: input, k: key } }) });
  const body = (await res.json()) as { data?: { createInvoice: Created }; errors?: unknown };
  if (!body.data) throw new Error(`createInvoice failed: ${JSON.stringify(body.errors)}`);
  return body.data.createInvoice;
}

const creates = (e: Emulators, c: Case) => c.emulator(e).server.calls.filter((call) => call.method === 'POST' && c.create.test(call.path));
const keyOf = (c: Case) => `crash-${c.code.toLowerCase()}`;

/**
 * Starts the subgraph, sends each case's create (with its key), holds each at its emulator at `stage`, and kills the
 * process there with SIGKILL. Returns the holds, still holding: `release` lets the emulators finish, to a dead client.
 */
async function crashWhileHeld(emu: Awaited<ReturnType<typeof startEmulators>>, env: Record<string, string>, cases: Case[], stage: Hold['stage']): Promise<Hold[]> {
  const first = await startSubgraph(env);
  const holds = cases.map((c) => emu.hold(c, stage));
  // The requests never get an answer: the process serving them dies.
  for (const c of cases) void createInvoice(first.url, c.input, keyOf(c)).catch(() => undefined);
  await Promise.all(holds.map((h) => h.reached));
  await kill(first.child);
  return holds;
}

describe(`SIGKILL between the provider's success and the ledger's commit (${storeName()})`, () => {
  const store = testStore('acted');
  let emu: Awaited<ReturnType<typeof startEmulators>>;
  let afterKill: AttemptRow[];
  let restarted: { child: TsChild; url: string };
  const postsBeforeRestart = new Map<Code, number>();
  const documentsAtKill = new Map<Code, string[]>();
  const retries = new Map<Code, Created>();
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    emu = await startEmulators();
    const env = { ...emu.env, ...store.env };
    const holds = await crashWhileHeld(emu, env, CASES, 'after');
    for (const c of CASES) documentsAtKill.set(c.code, c.documents(emu.emulators));
    // The providers finish the requests they received (Zuora stores its answer under the key), to a dead client.
    for (const h of holds) h.release();
    await new Promise((r) => setTimeout(r, 100));
    for (const c of CASES) postsBeforeRestart.set(c.code, creates(emu.emulators, c).length);
    afterKill = await inspect(store, attempts);

    const started = Date.now();
    restarted = await startSubgraph(env);
    figures.readyMs = Date.now() - started;
    await Promise.all(CASES.map((c) => restarted.child.waitForLog((l) => l.msg === 'stale attempt settled' && l.provider === c.code)));
    figures.repairedMs = Date.now() - started;
  });

  afterAll(async () => {
    if (restarted?.child.proc.exitCode === null) await stop(restarted.child);
    await emu?.stop();
    await store.drop();
    process.stdout.write(`crash repair (${storeName()}): restarted process listening after ${figures.readyMs} ms, all five repaired ${figures.repairedMs} ms after the restart began (lease ${LEASE_MS} ms)\n`);
  });

  it.each(CASES)('$code: the provider created the invoice, and the killed process left the attempt pending with no invoice', (c) => {
    expect(documentsAtKill.get(c.code)).toHaveLength(1);
    expect(afterKill.find((a) => a.idempotency_key === keyOf(c))).toMatchObject({ state: 'pending', invoices: [] });
  });

  it.each(CASES)('$code: the restarted process repaired the attempt $by, creating nothing', (c) => {
    const settled = restarted.child.logs.find((l) => l.msg === 'stale attempt settled' && l.provider === c.code);
    expect(settled).toMatchObject({ outcome: 'repaired' });
    expect(c.documents(emu.emulators)).toEqual(documentsAtKill.get(c.code));
    const after = creates(emu.emulators, c).slice(postsBeforeRestart.get(c.code));
    // Zuora's repair looks the attempt's externalIds up first and finds the invoice, so it sends no create either.
    expect(after).toEqual([]);
  });

  it.each(CASES)('$code: a retry with the same key returns the invoice and sends no create', async (c) => {
    const posts = creates(emu.emulators, c).length;
    const answer = await createInvoice(restarted.url, c.input, keyOf(c));
    retries.set(c.code, answer);
    expect(answer.userErrors).toEqual([]);
    expect(c.documents(emu.emulators)).toEqual([answer.invoice!.providerInvoiceId]);
    expect(creates(emu.emulators, c)).toHaveLength(posts);
  });

  it('the ledger holds every attempt succeeded, taken over once, with the invoice the retry returned', async () => {
    await stop(restarted.child);
    const rows = await inspect(store, attempts);
    expect(rows).toEqual(
      CASES.map((c) => ({ idempotency_key: keyOf(c), state: 'succeeded', disposition: null, tries: 2, invoices: [retries.get(c.code)!.invoice!.id] })).sort((a, b) =>
        a.idempotency_key.localeCompare(b.idempotency_key),
      ),
    );
  });
});

describe(`SIGKILL before the provider acted (${storeName()})`, () => {
  // Salla and Exsited: absence is verifiable by reading (the order's invoices, the derived invoice id).
  const ABSENT = CASES.filter((c) => c.code === 'SALLA' || c.code === 'EXSITED');
  const store = testStore('absent');
  let emu: Awaited<ReturnType<typeof startEmulators>>;
  let restarted: { child: TsChild; url: string };

  beforeAll(async () => {
    emu = await startEmulators();
    const env = { ...emu.env, ...store.env };
    const holds = await crashWhileHeld(emu, env, ABSENT, 'before');
    // The requests die at the provider's door: the handlers never run.
    for (const h of holds) h.release();
    restarted = await startSubgraph(env);
    await Promise.all(ABSENT.map((c) => restarted.child.waitForLog((l) => l.msg === 'stale attempt settled' && l.provider === c.code)));
  });

  afterAll(async () => {
    if (restarted?.child.proc.exitCode === null) await stop(restarted.child);
    await emu?.stop();
    await store.drop();
  });

  it.each(ABSENT)('$code: the sweep releases the attempt without creating, and the retry with its key creates exactly once', async (c) => {
    expect(restarted.child.logs.find((l) => l.msg === 'stale attempt settled' && l.provider === c.code)).toMatchObject({ outcome: 'released' });
    expect(c.documents(emu.emulators)).toEqual([]);
    const held = creates(emu.emulators, c).length;

    const first = await createInvoice(restarted.url, c.input, keyOf(c));
    const again = await createInvoice(restarted.url, c.input, keyOf(c));
    expect(first.userErrors).toEqual([]);
    expect(again.invoice).toEqual(first.invoice);
    expect(c.documents(emu.emulators)).toEqual([first.invoice!.providerInvoiceId]);
    expect(creates(emu.emulators, c)).toHaveLength(held + 1);
  });
});

describe(`npm run reconcile after a SIGKILL (${storeName()})`, () => {
  const COMMERCE = CASES.find((c) => c.code === 'COMMERCE')!;
  const store = testStore('command');
  let emu: Awaited<ReturnType<typeof startEmulators>>;

  beforeAll(async () => {
    emu = await startEmulators();
  });
  afterAll(async () => {
    await emu?.stop();
    await store.drop();
  });

  it('repairs the attempt by reading the provider, creates nothing, and says which providers it could not reach', async () => {
    // Only the Commerce API has a base URL: the others would be fresh sandboxes, which prove nothing.
    const env = { COMMERCE_BASE_URL: emu.env.COMMERCE_BASE_URL!, COMMERCE_ACCESS_TOKEN: COMMERCE_SANDBOX_TOKEN, COMMERCE_CURRENCY: 'USD', ...store.env };
    const [hold] = await crashWhileHeld(emu, { ...env, RECONCILE_INTERVAL_MS: '0' }, [COMMERCE], 'after');
    hold!.release();
    // The dead process's lease must run out first: until then its attempt is not stale.
    await new Promise((r) => setTimeout(r, LEASE_MS + 200));
    const posts = creates(emu.emulators, COMMERCE).length;

    const command = spawnTs('src/server/reconcile.ts', { LOG_LEVEL: 'warn', ...TIMING, ...env });
    const { code } = await command.exited;
    expect(code).toBe(0);
    expect(command.text()).toMatch(/repaired +1 /);
    expect(command.text()).toMatch(/released +0 /);
    expect(command.text()).toMatch(/Left out: SALESFORCE, SALLA, ZUORA, EXSITED: no base URL is configured/);
    expect(creates(emu.emulators, COMMERCE)).toHaveLength(posts);

    const rows = await inspect(store, attempts);
    expect(rows).toEqual([expect.objectContaining({ idempotency_key: keyOf(COMMERCE), state: 'succeeded', invoices: [expect.any(String)] })]);
    expect(COMMERCE.documents(emu.emulators)).toHaveLength(1);
  });
});
