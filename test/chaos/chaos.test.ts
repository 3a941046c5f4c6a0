import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { salesforceBenchOrders, sallaBenchStore, FIRST_BENCH_ORDER } from '../../bench/fixtures';
import { InvoiceReconciler, type ReconcileSummary } from '../../src/invoices/invoice.reconciler';
import { Ledger } from '../../src/ledger/ledger';
import { providerInvoiceIdOf } from '../../src/providers/zuora/zuora.mapper';
import { CommerceEmulator } from '../../src/sandbox/commerce/commerce.emulator';
import { COMMERCE_SANDBOX_FAILING_ORDER_ID, COMMERCE_SANDBOX_ORDERS, COMMERCE_SANDBOX_TOKEN } from '../../src/sandbox/commerce/commerce.seed';
import { ExsitedEmulator } from '../../src/sandbox/exsited/exsited.emulator';
import { EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET, EXSITED_SANDBOX_ORDERS } from '../../src/sandbox/exsited/exsited.seed';
import { SalesforceEmulator } from '../../src/sandbox/salesforce/salesforce.emulator';
import { SALESFORCE_SANDBOX_ORDER_SUMMARIES, SALESFORCE_SANDBOX_TOKEN } from '../../src/sandbox/salesforce/salesforce.seed';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';
import type { Fault } from '../../src/sandbox/shared/emulator-server';
import type { ProviderEmulator } from '../../src/sandbox/shared/provider-emulator';
import { ZuoraEmulator } from '../../src/sandbox/zuora/zuora.emulator';
import { ZUORA_SANDBOX_CLIENT_ID, ZUORA_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/zuora/zuora.seed';
import { createApp, type App } from '../../src/server/app';
import { loadConfig } from '../../src/server/config';
import { startProviders, type StartedProviders } from '../../src/server/providers';
import { openTestDatabase, storeName } from '../support/store';

/**
 * `npm run test:chaos`: a bounded mixed load (creates, retries with the same key, concurrent duplicates, lazy
 * reads) against two replicas sharing one ledger, while every provider's emulator fails at random: latency past
 * the timeout, 5xx, 429, resets, truncated and malformed bodies, success-shaped failures, and answers lost after
 * the provider acted. Then the faults stop, clients finish their retries, and the invariants are checked.
 * CHAOS_SECONDS (default 40) bounds the load; CHAOS_SEED makes a run reproducible.
 */
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 40);
const CLIENTS = 12;
const FAULT_RATE = 0.3;
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);

/** Mulberry32: a small seeded generator, so a failing run can be replayed with its CHAOS_SEED. */
function rng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

type Code = 'SALLA' | 'SALESFORCE' | 'ZUORA' | 'EXSITED' | 'COMMERCE';

/** Faults every provider can suffer, plus its own success-shaped failure. */
function faultsFor(successShaped: Fault): Fault[] {
  return [
    { delayMs: 30 }, // slow but fine
    { delayMs: 1_500 }, // past the 1 s provider timeout: the client cannot know whether a write happened
    { status: 503, body: { message: 'Service Unavailable' } },
    { status: 500, body: 'Internal Server Error' },
    { status: 429, headers: { 'retry-after': '1' }, body: { message: 'Too Many Requests' } },
    { reset: true },
    { status: 200, body: '<html><body>upstream proxy error</body></html>' },
    { status: 200, body: '{"data": {"id": ', headers: { 'content-type': 'application/json' } },
    { truncate: true, status: 200, body: { data: { id: 1 } } },
    // The provider acted; its answer was lost on the way back.
    { afterHandler: true, reset: true },
    { afterHandler: true, status: 502, body: 'Bad Gateway' },
    { afterHandler: true, truncate: true },
    successShaped,
  ];
}

const SUCCESS_SHAPED: Record<Code, Fault> = {
  SALLA: { status: 200, body: { status: 200, success: false, error: { code: 'error', message: 'Something went wrong' } } },
  SALESFORCE: { status: 200, body: [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'An unexpected error occurred.' }] },
  ZUORA: { status: 200, body: { success: false, processId: 'CHAOS', reasons: [{ code: 50000000, message: 'Internal error' }] } },
  EXSITED: { status: 200, body: { errors: [{ code: 'INTERNAL', message: 'Something went wrong' }] } },
  COMMERCE: { status: 200, body: { success: false, message: 'Something went wrong' } },
};

interface Emulators {
  SALLA: SallaEmulator;
  SALESFORCE: SalesforceEmulator;
  ZUORA: ZuoraEmulator;
  EXSITED: ExsitedEmulator;
  COMMERCE: CommerceEmulator;
}

/** The provider's invoice ids as the ledger spells them, straight from the emulator's state. */
function providerInvoiceIds(e: Emulators): Record<Code, string[]> {
  return {
    SALLA: e.SALLA.invoices().map((i) => String(i.id)),
    SALESFORCE: e.SALESFORCE.invoices().map((i) => i.id),
    ZUORA: e.ZUORA.documents().map((d) => providerInvoiceIdOf({ kind: d.kind, id: d.id })),
    EXSITED: e.EXSITED.invoices().map((i) => i.id),
    COMMERCE: e.COMMERCE.invoices().map((i) => i.id),
  };
}

interface Outcome {
  status: number;
  body?: { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  transport?: string;
}

const CREATE = `mutation ($input: CreateInvoiceInput!, $key: String) { createInvoice(input: $input, idempotencyKey: $key) {
  invoices { id provider providerInvoiceId total { amount currencyCode } } userErrors { code message field } } }`;
const READ = '{ invoice(id: "ID") { id provider lines { quantity total { amount } } taxes { amount { amount } } kpis { outstanding { amount } } } }';
const RETRY_CODES = new Set(['PROVIDER_UNAVAILABLE', 'RATE_LIMITED', 'IN_PROGRESS']);

describe(`chaos: a mixed load while every provider fails at random (${storeName()}, seed ${seed})`, () => {
  const logger = pino({ level: 'silent' });
  const emulators: Emulators = {
    SALLA: new SallaEmulator({ stores: [sallaBenchStore(5_000)], rateLimitPerMinute: 1e9 }),
    SALESFORCE: new SalesforceEmulator({ orderSummaries: [...SALESFORCE_SANDBOX_ORDER_SUMMARIES, ...salesforceBenchOrders(2_000)], apiRequestLimit: 1e9 }),
    ZUORA: new ZuoraEmulator({ rateLimitPerMinute: 1e9 }),
    EXSITED: new ExsitedEmulator(),
    COMMERCE: new CommerceEmulator(),
  };
  const replicas: Array<{ app: App; url: string; providers: StartedProviders }> = [];
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  const before = {} as Record<Code, Set<string>>;

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    await Promise.all(Object.values(emulators).map((e: ProviderEmulator) => e.start(0)));
    for (const [code, ids] of Object.entries(providerInvoiceIds(emulators))) before[code as Code] = new Set(ids);
    db = await openTestDatabase();
    const env = {
      PROVIDER_TIMEOUT_MS: '1000',
      SALLA_BASE_URL: emulators.SALLA.baseUrl,
      SALLA_ACCESS_TOKEN: SALLA_SANDBOX_TOKEN,
      SALESFORCE_INSTANCE_URL: emulators.SALESFORCE.baseUrl,
      SALESFORCE_ACCESS_TOKEN: SALESFORCE_SANDBOX_TOKEN,
      ZUORA_BASE_URL: emulators.ZUORA.baseUrl,
      ZUORA_CLIENT_ID: ZUORA_SANDBOX_CLIENT_ID,
      ZUORA_CLIENT_SECRET: ZUORA_SANDBOX_CLIENT_SECRET,
      EXSITED_BASE_URL: emulators.EXSITED.baseUrl,
      EXSITED_CLIENT_ID: EXSITED_SANDBOX_CLIENT_ID,
      EXSITED_CLIENT_SECRET: EXSITED_SANDBOX_CLIENT_SECRET,
      COMMERCE_BASE_URL: emulators.COMMERCE.baseUrl,
      COMMERCE_ACCESS_TOKEN: COMMERCE_SANDBOX_TOKEN,
      COMMERCE_CURRENCY: 'USD',
    };
    // Two replicas: each with its own provider clients (token caches, breakers), one shared ledger.
    for (let i = 0; i < 2; i++) {
      const providers = await startProviders(loadConfig(env), logger);
      const app = await createApp({ db, providers: providers.registry, logger, production: true });
      replicas.push({ app, providers, url: await app.listen(0, '127.0.0.1') });
    }
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    for (const r of replicas) {
      await r.app.stop();
      await r.providers.stop();
    }
    await db?.close();
    await Promise.all(Object.values(emulators).map((e: ProviderEmulator) => e.stop()));
  });

  async function post(query: string, variables: Record<string, unknown> = {}): Promise<Outcome> {
    try {
      const res = await fetch(pick(replicas).url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(30_000),
      });
      return { status: res.status, body: (await res.json()) as Outcome['body'] };
    } catch (err) {
      return { status: 0, transport: String(err) };
    }
  }

  // Inputs per provider: fresh orders where the sandbox can hold many, the seed's few elsewhere (refusals are fine).
  let nextSalla = FIRST_BENCH_ORDER;
  let nextSalesforce = 0;
  const salesforceFos = salesforceBenchOrders(2_000).map((o) => o.fulfillmentOrders[0]!.id);
  const zuoraLines = ['0102', '0201', '0202', '0301', '0302', '0401', '0402', '0501', '0502', '0601', '0602'].map((n) => `8ad0887e8a0f4f2c018a10a1d6e7${n}`);
  const inputs: Record<Code, () => Record<string, unknown>> = {
    SALLA: () => ({ salla: { orderId: String(nextSalla++), dataType: 'URL', url: 'https://files.example.com/chaos.pdf' } }),
    SALESFORCE: () => ({ salesforce: { fulfillmentOrderId: salesforceFos[nextSalesforce++ % salesforceFos.length] } }),
    ZUORA: () => ({ zuora: { fulfillments: [{ orderLineItemId: pick(zuoraLines), quantity: '1', fulfillmentDate: '2024-05-01' }] } }),
    EXSITED: () => ({ exsited: { orderId: pick(EXSITED_SANDBOX_ORDERS).id } }),
    // The seed's always-failing order would keep the Commerce breaker open for good: faults come from the chaos.
    COMMERCE: () => ({ commerce: { orderId: pick(COMMERCE_SANDBOX_ORDERS.filter((o) => o.id !== COMMERCE_SANDBOX_FAILING_ORDER_ID)).id } }),
  };
  const CODES = Object.keys(inputs) as Code[];

  interface Request {
    key: string;
    input: Record<string, unknown>;
    /** Invoice ids from every answer that had them: all must agree. */
    answers: string[][];
    final: boolean;
    /** The latest answer, for the report when a request never settles. */
    last?: unknown;
  }
  const requests: Request[] = [];
  const violations: string[] = [];
  const created: string[] = [];
  const counts = { creates: 0, reads: 0, retries: 0, duplicates: 0, userErrors: new Map<string, number>() };

  async function create(r: Request): Promise<void> {
    counts.creates++;
    const out = await post(CREATE, { input: r.input, key: r.key });
    if (out.status === 0) return; // our server unreachable or too slow: the caller retries with the key
    if (out.status !== 200 || out.body?.errors) {
      violations.push(`create ${r.key}: HTTP ${out.status} ${JSON.stringify(out.body).slice(0, 300)}`);
      r.final = true;
      return;
    }
    const payload = out.body!.data.createInvoice as { invoices: Array<{ id: string }>; userErrors: Array<{ code: string }> };
    r.last = payload.userErrors;
    for (const e of payload.userErrors as Array<{ code: string; field?: string[] }>) {
      const name = `${e.field?.[0] ?? "-"}:${e.code}`;
      counts.userErrors.set(name, (counts.userErrors.get(name) ?? 0) + 1);
    }
    if (payload.invoices.length > 0) {
      r.answers.push(payload.invoices.map((i) => i.id));
      created.push(...payload.invoices.map((i) => i.id));
      r.final = true;
    } else if (!payload.userErrors.some((e) => RETRY_CODES.has(e.code))) {
      r.final = true;
    }
  }

  async function read(): Promise<void> {
    if (created.length === 0) return;
    counts.reads++;
    const out = await post(READ.replace('ID', pick(created)));
    if (out.status === 0) return;
    const internal = out.body?.errors?.filter((e) => !e.extensions?.code || e.extensions.code === 'INTERNAL_SERVER_ERROR') ?? [];
    if (out.status !== 200 || internal.length > 0) violations.push(`read: HTTP ${out.status} ${JSON.stringify(out.body).slice(0, 300)}`);
  }

  async function client(until: number): Promise<void> {
    while (Date.now() < until) {
      const open = requests.filter((r) => !r.final);
      const roll = random();
      if (roll < 0.25 && open.length > 0) {
        counts.retries++;
        await create(pick(open));
      } else if (roll < 0.7) {
        const r: Request = { key: randomUUID(), input: inputs[pick(CODES)](), answers: [], final: false };
        requests.push(r);
        if (random() < 0.2) {
          // The same request sent twice at once (a double click, a retrying proxy), to both replicas at random.
          counts.duplicates++;
          await Promise.all([create(r), create(r)]);
        } else {
          await create(r);
        }
      } else {
        await read();
      }
    }
  }

  const heapMb = () => {
    (global as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };

  it(
    'never duplicates or loses an invoice, ends every attempt in a known state, and keeps memory flat',
    async () => {
      expect((global as { gc?: () => void }).gc).toBeDefined(); // npm run test:chaos runs node with --expose-gc
      for (const code of CODES) {
        const faults = faultsFor(SUCCESS_SHAPED[code]);
        emulators[code].server.setChaos(() => (random() < FAULT_RATE ? pick(faults) : undefined));
      }
      const started = Date.now();
      const heap: number[] = [];
      const sampler = setInterval(() => {
        // The emulators' call logs are the only thing here meant to grow with the load.
        for (const e of Object.values(emulators) as ProviderEmulator[]) e.server.resetCalls();
        heap.push(heapMb());
      }, (SECONDS * 1000) / 8);
      await Promise.all(Array.from({ length: CLIENTS }, () => client(started + SECONDS * 1000)));
      clearInterval(sampler);

      // The weather clears. The reconciler (as on every replica, on its timer) settles what it can by asking the
      // providers, and every caller retries its open requests with the same key, until all settle. An open breaker
      // half-opens after its cool-down (30 s): retries keep coming until then, as a caller's would.
      for (const e of Object.values(emulators) as ProviderEmulator[]) e.server.clearFaults();
      const reconciler = new InvoiceReconciler(new Ledger(db), replicas[0]!.providers.registry, replicas[0]!.app.invoices, { logger });
      const reconciled: ReconcileSummary = { examined: 0, repaired: 0, released: 0, stillUnknown: 0, skipped: 0, errors: 0 };
      const reconcile = async () => {
        const pass = await reconciler.runOnce();
        for (const k of Object.keys(reconciled) as Array<keyof ReconcileSummary>) reconciled[k] += pass[k];
      };
      const settleBy = Date.now() + 60_000;
      for (;;) {
        await reconcile();
        if (Date.now() > settleBy || !requests.some((r) => !r.final)) break;
        await Promise.all(requests.filter((r) => !r.final).map((r) => create(r)));
        if (requests.some((r) => !r.final)) await new Promise((r) => setTimeout(r, 1_000));
      }

      const summary = {
        seed,
        seconds: SECONDS,
        requests: requests.length,
        ...counts,
        userErrors: Object.fromEntries(counts.userErrors),
        reconciled,
        heapMb: heap.map((h) => Math.round(h)),
      };
      process.stdout.write(`chaos summary: ${JSON.stringify(summary)}\n`);

      expect(violations).toEqual([]);
      expect(unhandled.map(String)).toEqual([]);
      expect(requests.filter((r) => !r.final).map((r) => ({ key: r.key, input: r.input, last: r.last }))).toEqual([]);
      expect(reconciled.errors).toBe(0);

      // Every attempt ended succeeded or failed: none is left pending or unknown.
      const states = await db.query<{ state: string; n: string }>('SELECT state, count(*)::text AS n FROM invoice_attempts GROUP BY state');
      expect(states.filter((s) => s.state !== 'succeeded' && s.state !== 'failed')).toEqual([]);

      // One answer per key: every caller of a key saw the same invoices.
      for (const r of requests) expect(new Set(r.answers.map((a) => a.join(','))).size).toBeLessThanOrEqual(1);

      // The provider's documents and the ledger's invoices are the same set: no duplicate, no lost record.
      const ledger = await db.query<{ provider: string; provider_invoice_id: string }>('SELECT provider, provider_invoice_id FROM invoices');
      const atProviders = providerInvoiceIds(emulators);
      for (const code of CODES) {
        const fresh = atProviders[code].filter((id) => !before[code].has(id)).sort();
        const recorded = ledger.filter((r) => r.provider === code).map((r) => r.provider_invoice_id).sort();
        expect({ code, ids: recorded }).toEqual({ code, ids: fresh });
      }
      expect(ledger.length).toBeGreaterThan(50);

      // Memory: after the first samples, the heap after a full GC does not keep growing with the load.
      const settled = heap.slice(1);
      expect(settled.length).toBeGreaterThanOrEqual(5);
      expect(Math.max(...settled) - settled[0]!).toBeLessThan(64);
    },
    (SECONDS + 120) * 1000,
  );
});
