import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { salesforceBenchOrders, sallaBenchStore, FIRST_BENCH_ORDER } from '../../bench/fixtures';
import { InvoiceReconciler, type ReconcileSummary } from '../../src/invoices/invoice.reconciler';
import { Ledger } from '../../src/ledger/ledger';
import { DatabaseTokenStore } from '../../src/ledger/shared-tokens';
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
 * CHAOS_SECONDS (default 40) bounds the load. CHAOS_SEED seeds the random choices (fault kinds and request mix), but
 * timing still varies (which request an emulator's fault falls on, which reads run, what the replicas interleave), so a
 * run is not replayed exactly: a failing seed is a lead, not a reproduction.
 */
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 40);
const CLIENTS = 12;
const FAULT_RATE = 0.3;
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);

/** Mulberry32: a small seeded generator. */
function rng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
// Two generators: the clients' choices no longer shift with how many requests the emulators happened to see, and
// the reverse. Still not a replay: async timing decides which request draws which number.
const random = rng(seed);
const faultRandom = rng(seed ^ 0x5bd1e995);
const pick = <T>(xs: readonly T[], from: () => number = random): T => xs[Math.floor(from() * xs.length)]!;

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
const SALLA_ORDERS = 5_000;
const SALESFORCE_ORDERS = 2_000;

describe(`chaos: a mixed load while every provider fails at random (${storeName()}, seed ${seed})`, () => {
  const logger = pino({ level: 'silent' });
  const emulators: Emulators = {
    SALLA: new SallaEmulator({ stores: [sallaBenchStore(SALLA_ORDERS)], rateLimitPerMinute: 1e9 }),
    SALESFORCE: new SalesforceEmulator({ orderSummaries: [...SALESFORCE_SANDBOX_ORDER_SUMMARIES, ...salesforceBenchOrders(SALESFORCE_ORDERS)], apiRequestLimit: 1e9 }),
    ZUORA: new ZuoraEmulator({ rateLimitPerMinute: 1e9 }),
    EXSITED: new ExsitedEmulator(),
    COMMERCE: new CommerceEmulator(),
  };
  const replicas: Array<{ app: App; url: string; providers: StartedProviders }> = [];
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  const before = {} as Record<Code, Set<string>>;
  /** Creates that reached a Salla or Salesforce handler for an order already invoiced there: see the assertion. */
  const repeatedCreates: string[] = [];

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    await Promise.all(Object.values(emulators).map((e: ProviderEmulator) => e.start(0)));
    // Innermost middleware (after the emulator's own auth and limits, around the handler), so it sees exactly the
    // creates the handler ran for, faults after the handler included. Counted here, not in the call logs, which the
    // sampler clears to keep memory flat. Salla and Salesforce invoice an order once and each key has an order of its
    // own, so their handler refusing a create as already invoiced means we sent a second create for a key whose
    // first one had acted: the unsafe retry, which those two providers turn into a refusal instead of a duplicate
    // (a provider without that rule would have billed twice). Their writes are never repeated by design, unlike
    // Zuora's (same Idempotency-Key) and Exsited's (same chosen id), and Commerce's orders are shared between keys.
    const watch = (code: 'SALLA' | 'SALESFORCE', create: RegExp, ownOrder: (req: { path: string; body: unknown }) => boolean) =>
      emulators[code].server.use(async (req, next) => {
        const answer = await next();
        if (req.method === 'POST' && create.test(req.path) && answer.status >= 400 && answer.status < 500 && ownOrder(req)) {
          repeatedCreates.push(`${code} POST ${req.path} ${JSON.stringify(req.body)?.slice(0, 120)}: ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 200)}`);
        }
        return answer;
      });
    // Only orders that one key alone was given: Salla's store holds SALLA_ORDERS, Salesforce's list wraps after its own.
    watch('SALLA', /\/orders\/invoices$/, (req) => Number((req.body as { order_id?: unknown } | undefined)?.order_id) < FIRST_BENCH_ORDER + SALLA_ORDERS);
    watch('SALESFORCE', /\/actions\/create-invoice$/, () => nextSalesforce <= SALESFORCE_ORDERS);
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
    // Two replicas as `npm start` makes them: each with its own provider clients (breakers, token caches), one
    // shared ledger, where they also share the OAuth tokens.
    for (let i = 0; i < 2; i++) {
      const providers = await startProviders(loadConfig(env), logger, { sharedTokens: new DatabaseTokenStore(db) });
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
  const salesforceFos = salesforceBenchOrders(SALESFORCE_ORDERS).map((o) => o.fulfillmentOrders[0]!.id);
  const zuoraLines = ['0102', '0201', '0202', '0301', '0302', '0401', '0402', '0501', '0502', '0601', '0602'].map((n) => `8ad0887e8a0f4f2c018a10a1d6e7${n}`);
  const inputs: Record<Code, () => Record<string, unknown>> = {
    // DATA, with a number of its own: what a lookup after a lost answer can match at Salla. A URL or FILE invoice is
    // never adopted from the order (the store issues its own, and Salla shows no link), so a lost answer leaves it open.
    SALLA: () => {
      const orderId = String(nextSalla++);
      return { salla: { orderId, dataType: 'DATA', invoiceNumber: `CHAOS-${orderId}`, subTotal: '100', total: '115', shippingCost: '0', cashOnDeliveryCost: '0' } };
    },
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
    /**
     * Every distinct settled answer: `invoices:<ids>` or `refused:<codes>` (a final refusal: userErrors with a code
     * other than the retry codes). Answers asking for a retry, or our server unreachable, settle nothing.
     */
    answers: string[];
    final: boolean;
    /** Creates for this key still waiting for their answer (a concurrent duplicate can outlive the final answer). */
    inFlight: number;
    /** The latest answer, for the report when a request never settles. */
    last?: unknown;
  }
  /**
   * Requests still open or with a create in flight. A request leaves once it is final and nothing is in flight for it,
   * after its answers are checked, so the test's own bookkeeping stays bounded and the heap samples measure the
   * system under test (and the emulators' documents), not a list of every request sent.
   */
  const live = new Map<string, Request>();
  const violations: string[] = [];
  /** The latest invoice ids, for reads: bounded for the same reason. */
  const created: string[] = [];
  const RECENT_INVOICES = 1_000;
  const counts = { requests: 0, creates: 0, reads: 0, retries: 0, duplicates: 0, userErrors: new Map<string, number>() };

  /** One answer per key: invoices in one answer and a final refusal in another, or two invoice sets, is a violation. */
  function checkAnswers(r: Request): void {
    const invoiceSets = r.answers.filter((a) => a.startsWith('invoices:'));
    const refusals = r.answers.filter((a) => a.startsWith('refused:'));
    if (invoiceSets.length > 1 || (invoiceSets.length > 0 && refusals.length > 0)) {
      violations.push(`key ${r.key} (${JSON.stringify(r.input)}) got different answers: ${r.answers.join(' | ')}`);
    }
  }

  function settle(r: Request, answer: string): void {
    if (!r.answers.includes(answer)) r.answers.push(answer);
    r.final = true;
  }

  async function create(r: Request): Promise<void> {
    counts.creates++;
    r.inFlight++;
    try {
      await send(r);
    } finally {
      r.inFlight--;
      if (r.final && r.inFlight === 0 && live.delete(r.key)) checkAnswers(r);
    }
  }

  async function send(r: Request): Promise<void> {
    const out = await post(CREATE, { input: r.input, key: r.key });
    if (out.status === 0) return; // our server unreachable or too slow: the caller retries with the key
    if (out.status !== 200 || out.body?.errors) {
      violations.push(`create ${r.key}: HTTP ${out.status} ${JSON.stringify(out.body).slice(0, 300)}`);
      r.final = true;
      return;
    }
    const payload = out.body!.data.createInvoice as { invoices: Array<{ id: string }>; userErrors: Array<{ code: string; field?: string[] }> };
    r.last = payload.userErrors;
    for (const e of payload.userErrors) {
      const name = `${e.field?.[0] ?? '-'}:${e.code}`;
      counts.userErrors.set(name, (counts.userErrors.get(name) ?? 0) + 1);
    }
    if (payload.invoices.length > 0) {
      const ids = payload.invoices.map((i) => i.id);
      settle(r, `invoices:${[...ids].sort().join(',')}`);
      created.push(...ids);
      if (created.length > RECENT_INVOICES) created.splice(0, created.length - RECENT_INVOICES);
    } else if (!payload.userErrors.some((e) => RETRY_CODES.has(e.code))) {
      settle(r, `refused:${payload.userErrors.map((e) => e.code).sort().join(',')}`);
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
      const open = [...live.values()].filter((r) => !r.final);
      const roll = random();
      if (roll < 0.25 && open.length > 0) {
        counts.retries++;
        await create(pick(open));
      } else if (roll < 0.7) {
        const r: Request = { key: randomUUID(), input: inputs[pick(CODES)](), answers: [], final: false, inFlight: 0 };
        counts.requests++;
        live.set(r.key, r);
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
        emulators[code].server.setChaos(() => (faultRandom() < FAULT_RATE ? pick(faults, faultRandom) : undefined));
      }
      const started = Date.now();
      const heap: number[] = [];
      const sampler = setInterval(() => {
        // The emulators' call logs would grow with the load; nothing here relies on them.
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
      const open = () => [...live.values()].filter((r) => !r.final);
      for (;;) {
        await reconcile();
        if (Date.now() > settleBy || open().length === 0) break;
        await Promise.all(open().map((r) => create(r)));
        if (open().length > 0) await new Promise((r) => setTimeout(r, 1_000));
      }

      const summary = {
        seed,
        seconds: SECONDS,
        ...counts,
        userErrors: Object.fromEntries(counts.userErrors),
        reconciled,
        heapMb: heap.map((h) => Math.round(h)),
      };
      process.stdout.write(`chaos summary: ${JSON.stringify(summary)}\n`);

      expect(violations).toEqual([]);
      expect(unhandled.map(String)).toEqual([]);
      expect(open().map((r) => ({ key: r.key, input: r.input, last: r.last }))).toEqual([]);
      // Every request settled and was checked as it left (checkAnswers): none is left over unchecked.
      expect(live.size).toBe(0);
      expect(reconciled.errors).toBe(0);

      // Every attempt ended succeeded or failed: none is left pending or unknown.
      const states = await db.query<{ state: string; n: string }>('SELECT state, count(*)::text AS n FROM invoice_attempts GROUP BY state');
      expect(states.filter((s) => s.state !== 'succeeded' && s.state !== 'failed')).toEqual([]);

      // Catches a second create for a key at Salla or Salesforce, which their one-invoice-per-order rule refuses, so
      // that neither the documents below nor (when no caller saw the first invoice) the answers would show it.
      expect(repeatedCreates).toEqual([]);

      // The provider's documents and the ledger's invoices are the same set. Catches a second document from a
      // repeated create where the provider accepts one (Zuora under a new Idempotency-Key, Exsited under a new id)
      // and a document the ledger never recorded (lost, or hidden behind a refusal of the retry). A duplicate that a
      // provider refused shows in the answers instead (checkAnswers: invoices and ALREADY_INVOICED for one key).
      const ledger = await db.query<{ provider: string; provider_invoice_id: string }>('SELECT provider, provider_invoice_id FROM invoices');
      const atProviders = providerInvoiceIds(emulators);
      for (const code of CODES) {
        const fresh = atProviders[code].filter((id) => !before[code].has(id)).sort();
        const recorded = ledger.filter((r) => r.provider === code).map((r) => r.provider_invoice_id).sort();
        // Said as what is missing on each side, so a failure names the provider and the documents at once.
        const unrecorded = fresh.filter((id) => !recorded.includes(id));
        const unknownToProvider = recorded.filter((id) => !fresh.includes(id));
        expect({ code, unrecorded, unknownToProvider, recorded: recorded.length }).toEqual({ code, unrecorded: [], unknownToProvider: [], recorded: fresh.length });
      }
      expect(ledger.length).toBeGreaterThan(50);

      // Memory: after the first samples, the heap after a full GC does not keep growing with the load. The test keeps
      // only open requests and recent ids, so what grows is the system and the emulators' documents: about 6 MB over
      // a 40 s run here (~1,000 creates, paced by the faults' delays more than by the CPU). 32 MB leaves room for a
      // busier run and still fails on a leak of a few tens of kB per request.
      const settled = heap.slice(1);
      expect(settled.length).toBeGreaterThanOrEqual(5);
      expect(Math.max(...settled) - settled[0]!).toBeLessThan(32);
    },
    (SECONDS + 120) * 1000,
  );
});
