import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { SALLA_BENCH_ORDERS } from './fixtures';
import { load, warm, type LoadResult } from './load';
import type { SutRequest, SutUrls } from './sut';
import { webhookBurst } from './webhooks';
import { describeStartup, measureStartups } from './startup-memory';

/**
 * `npm run bench`: bounded loads with autocannon on loopback against the system under test (bench/sut.ts, in its
 * own process), every scenario side by side with its baseline in the same run. BENCH_SECONDS (default 5) per
 * measurement; BENCH_DATABASE_URL (default DATABASE_URL, else the local PostgreSQL) for the PostgreSQL create
 * scenario. Rewrites the figures in BENCHMARKS.md.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** BENCH_ONLY=c (or "a,b") runs some scenarios and prints them without touching BENCHMARKS.md. */
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null;
const runs = (scenario: 'a' | 'b' | 'c' | 'd' | 'e' | 'f') => !ONLY || ONLY.has(scenario);
/** Invoices in the ledger that scenario (d) pages through (BENCH_LIST_INVOICES, default a million). */
const LIST_INVOICES = Number(process.env.BENCH_LIST_INVOICES ?? 1_000_000);
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Row {
  scenario: string;
  variant: string;
  result: LoadResult;
  upstream: string;
  calls?: number;
}
const rows: Row[] = [];
const notes: string[] = [];
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

class Sut {
  private constructor(private readonly child: ChildProcess, readonly urls: SutUrls) {}

  static async start(env: Record<string, string>): Promise<Sut> {
    // BENCH_CPU_PROF=dir writes a V8 CPU profile of the system under test there, for finding where time goes.
    const execArgv = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    // The system under test runs as a deployment does, NODE_ENV=production (its apps are made with production: true),
    // unless BENCH_NODE_ENV says otherwise (BENCH_NODE_ENV= for none): outside production graphql-js checks every
    // type test for a second copy of itself (its instanceOf was 3-5% of (a)'s stored page) and the gateways check more.
    const nodeEnv = process.env.BENCH_NODE_ENV ?? 'production';
    const child = fork(join(__dirname, 'sut.js'), { env: { ...process.env, NODE_ENV: nodeEnv, ...env }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const urls = await new Promise<SutUrls>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`system under test exited with ${code}`)));
      child.on('message', (m: { type: string; urls?: SutUrls }) => m.type === 'ready' && resolve(m.urls!));
    });
    return new Sut(child, urls);
  }

  /** CPU seconds the system under test's process has used (user + system), from /proc; null where there is none. */
  cpuSeconds(): number | null {
    try {
      // Fields 14 and 15 of /proc/<pid>/stat, after the command name in parentheses: utime and stime in clock ticks.
      const fields = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return null;
    }
  }

  /** Sends a request to the system under test and resolves with its answer of that type. */
  private ask<T>(request: SutRequest & { type: 'counters' | 'ledgerLoad' | 'forget' }): Promise<T> {
    return new Promise((resolve) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== request.type) return;
        this.child.off('message', onMessage);
        resolve(m as T);
      };
      this.child.on('message', onMessage);
      this.child.send(request);
    });
  }

  counters(store: 'pglite' | 'postgres' | 'list' = 'pglite'): Promise<{ providerCalls: number; ledgerQueries: number }> {
    return this.ask({ type: 'counters', store });
  }

  /** Waits until no request is still running in the system (counters unchanged for a while). */
  async settle(store: 'pglite' | 'postgres' | 'list' = 'pglite'): Promise<void> {
    let last = await this.counters(store);
    for (;;) {
      await sleep(250);
      const now = await this.counters(store);
      if (now.providerCalls === last.providerCalls && now.ledgerQueries === last.ledgerQueries) return;
      last = now;
    }
  }

  /** The upstream cost of one request, counted exactly on a quiet system. */
  async countOne(url: string, body: string, store: 'pglite' | 'postgres' | 'list' = 'pglite'): Promise<{ provider: number; ledger: number }> {
    await this.settle(store);
    const before = await this.counters(store);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const json = (await res.json()) as { errors?: unknown[]; data?: { createInvoice?: { userErrors: unknown[] } } };
    if (json.errors || json.data?.createInvoice?.userErrors.length) throw new Error(`bench request failed: ${JSON.stringify(json).slice(0, 500)}`);
    const after = await this.counters(store);
    return { provider: after.providerCalls - before.providerCalls, ledger: after.ledgerQueries - before.ledgerQueries };
  }

  /** The ledger alone doing what creates write, in the system under test (see ledgerLoad in sut.ts). */
  ledgerLoad(store: 'pglite' | 'postgres', seconds: number, writers = 10): Promise<{ perSecond: number; batchSize: number }> {
    return this.ask({ type: 'ledgerLoad', store, seconds, writers });
  }

  /** Makes the ledger forget what it keeps of invoice details, as for invoices recorded before it kept them. */
  async forget(): Promise<void> {
    await this.ask({ type: 'forget' });
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'stop' } satisfies SutRequest);
    await exited;
  }
}

/** The same page through each gateway, each with the load alone on the system. */
const GATEWAY_VARIANTS = [
  ['DataLoader (product), @apollo/gateway', 'gatewayBatched'],
  ['naive baseline, @apollo/gateway', 'gatewayNaive'],
  ['DataLoader, Hive Gateway (Rust planner), deduplication off (like for like)', 'gatewayHive'],
  ['DataLoader, Hive Gateway (Rust planner), deduplication on (as deployed)', 'gatewayHiveDeduplicated'],
] as const;

/**
 * BENCH_A_VIA (comma-separated; default: the four gateways) picks the ways to (a)'s stored page that are measured:
 * gatewayBatched, gatewayNaive, gatewayHive, gatewayHiveDeduplicated, and `subgraph`: the invoicing part of both pages
 * (the `_entities` query over the page's 50 Order representations that a gateway sends) straight to the subgraph, to
 * tell the gateway's cost from the subgraph's. The header-only baseline through @apollo/gateway is measured with any
 * gateway (BENCH_A_VIA=subgraph alone measures the subgraph only, e.g. for a CPU profile of it).
 */
const A_VIA = new Set((process.env.BENCH_A_VIA ?? GATEWAY_VARIANTS.map(([, g]) => g).join(',')).split(',').map((s) => s.trim()));

/**
 * BENCH_A_ROUNDS (default 1): (a)'s stored page through @apollo/gateway and its baseline, and (with BENCH_A_VIA
 * subgraph) the two straight to the subgraph, are measured in that many interleaved rounds (stored, baseline, stored,
 * ...; SECONDS per page in all), so that a drift in the machine's load (another process) hits both pages alike.
 */
const A_ROUNDS = Math.max(1, Number(process.env.BENCH_A_ROUNDS ?? 1));

/**
 * Two loads in A_ROUNDS interleaved rounds, SECONDS each in all; their means, each with the system under test's CPU
 * time per answered request (which another process's load on the machine changes less than it changes throughput).
 */
async function interleaved(sut: Sut, a: { url: string; body: string }, b: { url: string; body: string }): Promise<[LoadResult, LoadResult]> {
  const runs: [LoadResult[], LoadResult[]] = [[], []];
  const cpu = [0, 0];
  for (let i = 0; i < A_ROUNDS; i++) {
    for (const [j, o] of [a, b].entries()) {
      const before = sut.cpuSeconds();
      const r = await load({ ...o, durationSec: SECONDS / A_ROUNDS });
      const after = sut.cpuSeconds();
      runs[j]!.push(r);
      if (before !== null && after !== null) cpu[j]! += after - before;
    }
  }
  const [ra, rb] = [mean(runs[0]), mean(runs[1])];
  cpuMsPerRequest.set(ra, (1000 * cpu[0]!) / Math.max(1, ra.requests));
  cpuMsPerRequest.set(rb, (1000 * cpu[1]!) / Math.max(1, rb.requests));
  return [ra, rb];
}
/** The system under test's CPU milliseconds per answered request of loads measured by `interleaved`. */
const cpuMsPerRequest = new Map<LoadResult, number>();

/** The invoice fields of (a)'s stored page, and of its baseline without lines, taxes or KPIs. */
const STORED_INVOICE_FIELDS =
  'number total { amount currencyCode } lines { description quantity total { amount } } taxes { ratePercent amount { amount } } kpis { outstanding { amount } paid { amount } }';
const HEADER_INVOICE_FIELDS = 'number total { amount currencyCode }';

/** An answer's size: bytes of its body, every field of every object in `data` and the scalar (leaf) values among them. */
async function answerSize(url: string, body: string): Promise<{ bytes: number; fields: number; leaves: number }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  let fields = 0;
  let leaves = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const x of Object.values(v)) {
        fields++;
        if (x === null || typeof x !== 'object') leaves++;
        else walk(x);
      }
    }
  };
  walk((JSON.parse(text) as { data?: unknown }).data);
  return { bytes: Buffer.byteLength(text), fields, leaves };
}

async function federatedPage(sut: Sut): Promise<void> {
  const { page } = sut.urls;
  for (const [provider, label] of [['SALESFORCE', 'Salesforce (batch reads)'], ['SALLA', 'Salla (one read per invoice)']] as const) {
    const scenario = `(a) federated page of ${page} ${label} orders with invoices, lines, taxes, KPIs, through a gateway`;
    const body = JSON.stringify({ query: `{ orders(provider: "${provider}", first: ${page}) { id number invoices { ${STORED_INVOICE_FIELDS} } } }` });
    // The first read of details the ledger does not hold yet (invoices recorded before it kept them) goes to the
    // provider; from then on they are stored, and every load below reads them from the ledger.
    await sut.forget();
    const first = await sut.countOne(sut.urls.gatewayBatched, body);
    notes.push(`(a) ${provider}: the first read of the page, before the ledger holds the details: ${first.provider} provider calls, ${first.ledger} ledger queries; every later read: stored.`);
    // The baseline of the stored page: the same orders and invoice headers, without lines, taxes or KPIs.
    const headerOnly = JSON.stringify({ query: `{ orders(provider: "${provider}", first: ${page}) { id number invoices { ${HEADER_INVOICE_FIELDS} } } }` });
    const paired = A_ROUNDS > 1 && A_VIA.has('gatewayBatched');
    let headerResult: LoadResult | null = null;
    for (const [variant, gateway] of GATEWAY_VARIANTS) {
      if (!A_VIA.has(gateway)) continue;
      const url = sut.urls[gateway];
      const one = await sut.countOne(url, body);
      await warm({ url, body });
      if (paired && gateway === 'gatewayBatched') await warm({ url, body: headerOnly });
      await sut.settle();
      const before = await sut.counters();
      let result: LoadResult;
      if (paired && gateway === 'gatewayBatched') [result, headerResult] = await interleaved(sut, { url, body }, { url, body: headerOnly });
      else result = await load({ url, body, durationSec: SECONDS });
      await sut.settle();
      const after = await sut.counters();
      // Under load, a gateway that shares identical fetches in flight makes fewer upstream calls than one request alone.
      // Counted per request sent: those unanswered when the load stopped were still served. Interleaved with the
      // baseline (BENCH_A_ROUNDS), the count covers both pages' requests (each costs one ledger query).
      const sent = result.sent + (paired && gateway === 'gatewayBatched' ? headerResult!.sent : 0);
      const perRequest = (n: number) => fmt(n / Math.max(1, sent), 2);
      rows.push({
        scenario,
        variant: `${provider}: ${variant}`,
        result,
        upstream:
          `${one.provider} provider calls, ${one.ledger} ledger queries; under load, per request: ${perRequest(after.providerCalls - before.providerCalls)} provider calls, ` +
          `${perRequest(after.ledgerQueries - before.ledgerQueries)} ledger queries`,
        calls: one.provider,
      });
    }
    if (GATEWAY_VARIANTS.some(([, g]) => A_VIA.has(g))) {
      const lazyFree = await sut.countOne(sut.urls.gatewayBatched, headerOnly);
      if (!headerResult) {
        await warm({ url: sut.urls.gatewayBatched, body: headerOnly });
        headerResult = await load({ url: sut.urls.gatewayBatched, body: headerOnly, durationSec: SECONDS });
      }
      rows.push({
        scenario,
        variant: `${provider}: the same page without lines, taxes or KPIs (baseline), @apollo/gateway`,
        result: headerResult,
        upstream: `${lazyFree.provider} provider calls, ${lazyFree.ledger} ledger queries`,
        calls: lazyFree.provider,
      });
    }

    // The invoicing subgraph's part of both pages, as a gateway asks for it: one `_entities` over the page's orders.
    const ids = await fetch(sut.urls.gatewayBatched, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ orders(provider: "${provider}", first: ${page}) { id } }` }) })
      .then((r) => r.json() as Promise<{ data: { orders: Array<{ id: string }> } }>)
      .then((j) => j.data.orders.map((o) => o.id));
    const entitiesOf = (fields: string) =>
      JSON.stringify({
        query: `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Order { invoices { ${fields} } } } }`,
        variables: { representations: ids.map((id) => ({ __typename: 'Order', id })) },
      });
    const pages = [
      ['stored page', 'gateway', sut.urls.gatewayBatched, body],
      ['header-only page', 'gateway', sut.urls.gatewayBatched, headerOnly],
      ['stored page', 'subgraph', sut.urls.subgraph, entitiesOf(STORED_INVOICE_FIELDS)],
      ['header-only page', 'subgraph', sut.urls.subgraph, entitiesOf(HEADER_INVOICE_FIELDS)],
    ] as const;
    const sizes = new Map<string, { bytes: number; fields: number; leaves: number }>();
    for (const [name, via, url, b] of pages) sizes.set(`${name} ${via}`, await answerSize(url, b));
    for (const via of ['gateway', 'subgraph'] as const) {
      const [st, ho] = [sizes.get(`stored page ${via}`)!, sizes.get(`header-only page ${via}`)!];
      notes.push(
        `(a) ${provider}, answer sizes ${via === 'gateway' ? 'through @apollo/gateway (the client\'s answer)' : 'of the invoicing subgraph (its `_entities` answer)'}: ` +
          `stored page ${fmt(st.bytes)} bytes, ${fmt(st.fields)} fields (${fmt(st.leaves)} scalars); header-only ${fmt(ho.bytes)} bytes, ${fmt(ho.fields)} fields (${fmt(ho.leaves)} scalars): ` +
          `${(st.bytes / ho.bytes).toFixed(2)}× the bytes, ${(st.fields / ho.fields).toFixed(2)}× the fields.`,
      );
    }
    if (A_VIA.has('subgraph')) {
      const direct = pages.filter(([, via]) => via === 'subgraph');
      const ones: Array<{ provider: number; ledger: number }> = [];
      for (const [, , url, b] of direct) {
        ones.push(await sut.countOne(url, b));
        await warm({ url, body: b });
      }
      await sut.settle();
      const results = await interleaved(sut, { url: direct[0]![2], body: direct[0]![3] }, { url: direct[1]![2], body: direct[1]![3] });
      direct.forEach(([name], i) =>
        rows.push({
          scenario,
          variant: `${provider}: ${name}, straight to the invoicing subgraph (the gateway's \`_entities\`)`,
          result: results[i]!,
          upstream: `${ones[i]!.provider} provider calls, ${ones[i]!.ledger} ledger queries`,
          calls: ones[i]!.provider,
        }),
      );
    }
    const size = (k: string) => sizes.get(k)!;
    for (const r of rows.filter((x) => x.variant.startsWith(`${provider}: `))) {
      const key = r.variant.includes('straight to') ? (r.variant.includes('header-only') ? 'header-only page subgraph' : 'stored page subgraph') : r.variant.includes('without lines') ? 'header-only page gateway' : 'stored page gateway';
      sizeOf.set(r, size(key));
    }
  }
}

/** The answer size of each (a) row's page. */
const sizeOf = new Map<Row, { bytes: number; fields: number; leaves: number }>();

async function entities(sut: Sut): Promise<void> {
  const ids = sut.urls.invoiceIds;
  const reps = Array.from({ length: 100 }, (_, i) => ({ __typename: 'Invoice', id: ids[i % ids.length]! }));
  const body = JSON.stringify({
    query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { id providerInvoiceId number kind status total { amount currencyCode } createdAt } } }',
    variables: { r: reps },
  });
  const variants = [
    ['invoicing subgraph (type-graphql)', sut.urls.subgraph],
    ['minimal SDL-first @apollo/subgraph', sut.urls.sdlFirst],
  ] as const;
  const one = new Map<string, { provider: number; ledger: number }>();
  for (const [variant, url] of variants) {
    one.set(variant, await sut.countOne(url, body));
    await warm({ url, body });
  }
  // Interleaved rounds (A, B, A, B), so that a drift in the machine's load during the run hits both variants alike.
  const ROUNDS = 2;
  const rounds = new Map<string, LoadResult[]>(variants.map(([v]) => [v, []]));
  const singles = new Map<string, LoadResult[]>(variants.map(([v]) => [v, []]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const [variant, url] of variants) {
      rounds.get(variant)!.push(await load({ url, body, durationSec: SECONDS / ROUNDS }));
      singles.get(variant)!.push(await load({ url, body, durationSec: Math.max(2, SECONDS / 4), connections: 1 }));
    }
  }
  for (const [variant] of variants) {
    const result = mean(rounds.get(variant)!);
    const single = mean(singles.get(variant)!);
    const cost = one.get(variant)!;
    rows.push({ scenario: '(b) `_entities` with 100 Invoice representations, straight to the subgraph', variant, result, upstream: `${cost.provider} provider calls, ${cost.ledger} ledger query` });
    notes.push(`(b) ${variant}, one connection: p50 ${single.p50} ms, p99 ${single.p99} ms, ${fmt(single.rps)} req/s (mean of ${ROUNDS} interleaved rounds).`);
  }
}

/** The mean of several rounds' figures (latency percentiles too: an approximation, stated where it is shown). */
function mean(results: LoadResult[]): LoadResult {
  const avg = (f: (r: LoadResult) => number) => results.reduce((s, r) => s + f(r), 0) / results.length;
  return {
    requests: avg((r) => r.requests) * results.length,
    sent: avg((r) => r.sent) * results.length,
    rps: avg((r) => r.rps),
    p50: Math.round(avg((r) => r.p50)),
    p99: Math.round(avg((r) => r.p99)),
    errors: avg((r) => r.errors) * results.length,
    non2xx: avg((r) => r.non2xx) * results.length,
  };
}

async function creates(sut: Sut, nextOrder: { n: number }): Promise<void> {
  const scenario = '(c) `createInvoice` (Salla URL invoice: POST, then the invoice and its order read back), emulator answering at once';
  const emulatorBody = () => JSON.stringify({ order_id: nextOrder.n++, type: 'tax_invoice', data_type: 'url', url: 'https://files.example.com/b.pdf' });
  // The emulator's loads are the fastest and would use up the store's orders: each stops at a share of them.
  const amount = Math.floor(SALLA_BENCH_ORDERS / 4);
  const alone = await load({ url: sut.urls.emulatorCreate, body: emulatorBody, durationSec: SECONDS, amount, headers: { authorization: 'Bearer salla-sandbox-token', 'accept-language': 'en' } });
  rows.push({ scenario, variant: 'Salla emulator alone (its POST only)', result: alone, upstream: '-' });
  // What one of our creates asks of Salla: the POST and the read-back GET (Salla's create answer has no amounts).
  const invoicesPath = new URL(sut.urls.emulatorCreate).pathname;
  const pair = await load({
    url: sut.urls.emulatorCreate,
    body: emulatorBody,
    durationSec: SECONDS,
    amount: amount * 2,
    headers: { authorization: 'Bearer salla-sandbox-token', 'accept-language': 'en' },
    thenGet: (answer) => {
      const id = (JSON.parse(answer) as { data?: { id?: number } }).data?.id;
      if (id === undefined) throw new Error(`the emulator's create answered without an invoice: ${answer.slice(0, 300)}`);
      return `${invoicesPath}/${id}`;
    },
  });
  rows.push({ scenario, variant: 'Salla emulator alone, POST + read-back GET (rate per pair; latency per HTTP request)', result: pair, upstream: '-' });

  // The parts of a create measured alone, to show where its time goes: GraphQL with no resolver and no I/O, and the
  // ledger writing what creates write with no GraphQL and no provider.
  const floorBody = JSON.stringify({ query: '{ __typename }' });
  await warm({ url: sut.urls.subgraph, body: floorBody });
  const floor = await load({ url: sut.urls.subgraph, body: floorBody, durationSec: SECONDS });
  rows.push({ scenario, variant: 'part alone: the subgraph answering `{ __typename }` (Apollo Server, no resolver, no I/O)', result: floor, upstream: '-' });

  const body = () =>
    JSON.stringify({
      query: 'mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { id total { amount } } userErrors { code } } }',
      variables: { i: { salla: { orderId: String(nextOrder.n++), dataType: 'URL', url: 'https://files.example.com/b.pdf' } } },
    });
  const stores: Array<['pglite' | 'postgres', string, string | null]> = [
    ['pglite', 'embedded PGlite', sut.urls.subgraph],
    ['postgres', 'PostgreSQL', sut.urls.subgraphPostgres],
  ];
  for (const [store, name, url] of stores) {
    if (!url) continue;
    const one = await sut.countOne(url, body(), store);
    await sut.settle(store);
    const result = await load({ url, body, durationSec: SECONDS });
    rows.push({ scenario, variant: `invoicing subgraph, ${name}`, result, upstream: `${one.provider} Salla calls, ${one.ledger} ledger queries` });
    const ledger = await sut.ledgerLoad(store, SECONDS);
    rows.push({
      scenario,
      variant: `part alone: the ledger, ${name}, writing what creates write (claim + success), 10 writers`,
      result: { requests: 0, sent: 0, rps: ledger.perSecond, p50: NaN, p99: NaN, errors: 0, non2xx: 0 },
      upstream: `${ledger.batchSize.toFixed(1)} writes per statement (group commit)`,
    });
  }
}

/**
 * (d) Admin list pages (`Query.invoices`) on PostgreSQL holding LIST_INVOICES invoices (half of them the bench
 * tenant's), straight to the subgraph: each page alone on one connection for its latency percentiles (the target is
 * about one page's answer), then on ten for throughput.
 */
async function listPages(sut: Sut): Promise<void> {
  const url = sut.urls.subgraphList;
  if (!url) return;
  const fields = 'edges { cursor } nodes { id number status issueDate dueDate total { amount currencyCode } } pageInfo { hasNextPage endCursor }';
  const pageOf = (args: string, count = false) => JSON.stringify({ query: `{ invoices(${args}) { ${fields}${count ? ' totalCount' : ''} } }` });
  const unpaid = 'filter: { provider: [SALLA], status: [ISSUED, PARTIALLY_PAID] }, orderBy: { field: ISSUE_DATE, direction: DESC }, first: 50';
  // A cursor 20 pages into the unpaid Salla invoices, found by walking there.
  let after: string | null = null;
  for (let i = 0; i < 20; i++) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: pageOf(`${unpaid}${after ? `, after: "${after}"` : ''}`) });
    const json = (await res.json()) as { data?: { invoices: { pageInfo: { endCursor: string | null } } }; errors?: unknown };
    if (!json.data) throw new Error(`(d) page walk failed: ${JSON.stringify(json).slice(0, 500)}`);
    after = json.data.invoices.pageInfo.endCursor;
  }
  const pages: Array<[string, string]> = [
    ['unpaid invoices of one provider, newest first (first page)', pageOf(unpaid)],
    ['the same, 20 pages in (after a cursor)', pageOf(`${unpaid}, after: "${after}"`)],
    ['the same with totalCount', pageOf(unpaid, true)],
    ['overdue invoices, soonest due first', pageOf('filter: { overdue: true }, orderBy: { field: DUE_DATE, direction: ASC }, first: 50')],
    ['one currency issued in 2025, largest total first', pageOf('filter: { currencyCode: ["EUR"], issuedFrom: "2025-01-01", issuedTo: "2025-12-31" }, orderBy: { field: TOTAL, direction: DESC }, first: 50')],
    ['credit notes, oldest first (backward: last 50)', pageOf('filter: { kind: [CREDIT_NOTE] }, orderBy: { field: CREATED_AT, direction: DESC }, last: 50')],
    ['no filter, newest first, with totalCount (counts half the ledger)', pageOf('first: 50', true)],
  ];
  const scenario = `(d) \`invoices\` page of 50 on PostgreSQL holding ${fmt(LIST_INVOICES)} invoices (${fmt(LIST_INVOICES / 2)} of them the tenant's), straight to the subgraph`;
  for (const [variant, body] of pages) {
    const one = await sut.countOne(url, body, 'list');
    await warm({ url, body });
    const single = await load({ url, body, durationSec: Math.max(2, SECONDS / 2), connections: 1 });
    const many = await load({ url, body, durationSec: Math.max(2, SECONDS / 2) });
    rows.push({ scenario, variant: `${variant}, one connection`, result: single, upstream: `${one.provider} provider calls, ${one.ledger} ledger queries` });
    rows.push({ scenario, variant: `${variant}, 10 connections`, result: many, upstream: `${one.provider} provider calls, ${one.ledger} ledger queries` });
  }
}

/** (e) a burst of signed Salla webhook deliveries against a subgraph process (see webhooks.ts). */
async function webhooks(pg: boolean): Promise<void> {
  const stores: Array<[string, string | null]> = [['embedded PGlite', null], ...(pg ? ([['PostgreSQL', PG_URL]] as Array<[string, string]>) : [])];
  for (const [name, url] of stores) {
    const r = await webhookBurst(undefined, url);
    const scenario = `(e) ${fmt(r.deliveries)} signed Salla webhook deliveries (${fmt(r.redelivered)} redelivered, ${fmt(r.reordered)} out of order) to POST /webhooks/salla, 10 connections`;
    rows.push({ scenario, variant: `${name}: each delivery verified and recorded`, result: r.burst, upstream: '0 provider calls in the answer; the drain job reads each order once' });
    notes.push(
      `(e) ${name}: webhook deliveries answered at p50 ${r.burst.p50} ms, p99 ${r.burst.p99} ms (target < 50); every invoice read PAID ${fmt(r.drainMs)} ms after the last delivery; ` +
        `a sandbox payment to \`status: PAID\` through Salla's own signed webhook: ${r.paymentToPaidMs.map((m) => fmt(m)).join(', ')} ms (target < 2,000).`,
    );
  }
}

async function postgresReachable(): Promise<boolean> {
  const pool = new Pool({ connectionString: PG_URL, max: 1, connectionTimeoutMillis: 2000 });
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await pool.end();
  }
}

function report(seconds: number): string {
  const by = (v: string) => rows.find((r) => r.variant.startsWith(v));
  const ratio: string[] = [];
  for (const p of ['SALESFORCE', 'SALLA']) {
    const [a, an] = [by(`${p}: DataLoader (product)`), by(`${p}: naive`)];
    if (a && an) {
      ratio.push(
        an.calls! === 0
          ? `(a) ${p}, DataLoader vs naive: no provider call for either (the page is stored; the naive baseline makes one ledger query per order), ${(a.result.rps / an.result.rps).toFixed(2)}× the throughput.`
          : `(a) ${p}, DataLoader vs naive: ${(an.calls! / Math.max(1, a.calls!)).toFixed(1)}× fewer provider calls per page${p === 'SALESFORCE' ? ' (target ≥ 10)' : ''}, ${(a.result.rps / an.result.rps).toFixed(2)}× the throughput.`,
      );
    }
    const bare = by(`${p}: the same page without lines`);
    if (a && bare) {
      ratio.push(
        `(a) ${p}, the page with stored lines, taxes and KPIs vs the same page without them: ${(a.result.rps / bare.result.rps).toFixed(2)}× the throughput (target ≥ 0.8), ${a.calls} provider calls (target 0).`,
      );
    }
    const [direct, directBare] = [by(`${p}: stored page, straight to`), by(`${p}: header-only page, straight to`)];
    if (direct && directBare) {
      ratio.push(`(a) ${p}, the same two pages' invoicing part straight to the subgraph (no gateway): ${(direct.result.rps / directBare.result.rps).toFixed(2)}× the throughput.`);
    }
    for (const [x, y] of [[a, bare], [direct, directBare]] as const) {
      const [cx, cy] = [x && cpuMsPerRequest.get(x.result), y && cpuMsPerRequest.get(y.result)];
      if (cx && cy) {
        ratio.push(
          `(a) ${p}, ${x === a ? 'through @apollo/gateway' : 'straight to the subgraph'}, CPU of the system under test per request: the stored page ${fmt(cx, 1)} ms, ` +
            `the header-only page ${fmt(cy, 1)} ms: ${(cy / cx).toFixed(2)}× (the ratio of throughputs on a CPU-bound process).`,
        );
      }
      const [sx, sy] = [x && sizeOf.get(x), y && sizeOf.get(y)];
      if (!x || !y || !sx || !sy) continue;
      ratio.push(
        `(a) ${p}, ${x === a ? 'through @apollo/gateway' : 'straight to the subgraph'}, per returned field: the stored page ${fmt(x.result.rps * sx.fields)} fields/s ` +
          `(${fmt((x.result.rps * sx.bytes) / 1e6, 2)} MB/s), the header-only page ${fmt(y.result.rps * sy.fields)} fields/s (${fmt((y.result.rps * sy.bytes) / 1e6, 2)} MB/s): ` +
          `${((x.result.rps * sx.fields) / (y.result.rps * sy.fields)).toFixed(2)}× per field, ${((x.result.rps * sx.bytes) / (y.result.rps * sy.bytes)).toFixed(2)}× per byte.`,
      );
    }
    const [off, on] = [by(`${p}: DataLoader, Hive Gateway (Rust planner), deduplication off`), by(`${p}: DataLoader, Hive Gateway (Rust planner), deduplication on`)];
    if (a && off && on) {
      ratio.push(
        `(a) ${p}, Hive Gateway (Rust planner) vs @apollo/gateway over the same subgraph: ${(off.result.rps / a.result.rps).toFixed(2)}× the throughput with deduplication off (like for like), ` +
          `${(on.result.rps / a.result.rps).toFixed(2)}× with it on (as deployed: identical page requests in flight share their subgraph fetches).`,
      );
    }
  }
  const listed = rows.filter((r) => r.scenario.startsWith('(d)') && r.variant.endsWith('one connection'));
  if (listed.length > 0) {
    const filtered = listed.filter((r) => !r.variant.startsWith('no filter'));
    const worst = (f: (r: Row) => number) => Math.max(...filtered.map(f));
    ratio.push(
      `(d) filtered pages of 50 on one connection: p50 at most ${worst((r) => r.result.p50)} ms (target < 20), p99 at most ${worst((r) => r.result.p99)} ms (target < 50), over ${filtered.length} filters and orderings.`,
    );
  }
  const [b, bn] = [by('invoicing subgraph (type'), by('minimal SDL-first')];
  if (b && bn) ratio.push(`(b) invoicing subgraph vs minimal SDL-first: ${(b.result.rps / bn.result.rps).toFixed(2)}× the throughput (target ≥ 0.90).`);
  const [c, ce] = [by('invoicing subgraph, embedded'), by('Salla emulator alone')];
  const cp = by('Salla emulator alone, POST + read-back');
  if (c && ce) {
    ratio.push(
      `(c) embedded-store creates: ${fmt(c.result.rps)}/s (target ≥ 200), the emulator's own creates ${(ce.result.rps / c.result.rps).toFixed(2)}× faster (target ≤ 2)` +
        (cp ? `; against the emulator doing what a create asks of it (POST + GET), ${(cp.result.rps / c.result.rps).toFixed(2)}×.` : '.'),
    );
    const [floor, ledger] = [by('part alone: the subgraph'), by('part alone: the ledger, embedded')];
    if (cp && floor && ledger) {
      // Time per request at saturation (the inverse of a throughput), in microseconds.
      const us = (r: Row) => 1e6 / r.result.rps;
      const parts = us(cp) + us(floor) + us(ledger);
      ratio.push(
        `(c) the 2× target leaves a create ${fmt(2 * us(ce))} µs (twice the emulator's POST); measured alone, its parts take ${fmt(us(cp))} µs (the emulator's POST + GET) + ` +
          `${fmt(us(floor))} µs (GraphQL floor) + ${fmt(us(ledger))} µs (the ledger's writes, PGlite) = ${fmt(parts)} µs before any of our own code runs; a create took ${fmt(us(c))} µs.`,
      );
    }
  }
  const lines = ['| scenario | variant | req/s | p50 ms | p99 ms | upstream per request | errors |', '|---|---|---:|---:|---:|---|---:|'];
  const ms = (v: number) => (Number.isNaN(v) ? '-' : String(v));
  for (const r of rows) lines.push(`| ${r.scenario} | ${r.variant} | ${fmt(r.result.rps)} | ${ms(r.result.p50)} | ${ms(r.result.p99)} | ${r.upstream} | ${r.result.errors + r.result.non2xx} |`);
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${process.platform}/${process.arch}, Node ${process.version}, NODE_ENV=${process.env.BENCH_NODE_ENV ?? 'production'} in the system under test, ${SECONDS} s per load, 10 connections unless noted; ${seconds.toFixed(0)} s in all. Command: \`npm run bench\`.`,
    '',
    ...lines,
    '',
    ...ratio.map((r) => `- ${r}`),
    ...notes.map((n) => `- ${n}`),
  ].join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const schema = `bench_${Date.now().toString(36)}`;
  const pg = await postgresReachable();
  if (!pg) notes.push('PostgreSQL was not reachable: its create scenario was skipped.');
  if (!pg && runs('d')) notes.push('PostgreSQL was not reachable: the list scenario (d) was skipped.');
  // (d)'s ledger is kept between runs (schema bench_list_<size>): seeding a million invoices takes minutes.
  const listEnv: Record<string, string> = pg && runs('d') ? { BENCH_LIST_SCHEMA: `bench_list_${LIST_INVOICES}`, BENCH_LIST_INVOICES: String(LIST_INVOICES) } : {};
  const sut = await Sut.start(pg ? { BENCH_PG_URL: PG_URL, BENCH_PG_SCHEMA: schema, ...listEnv } : {});
  try {
    if (runs('a')) await federatedPage(sut);
    if (runs('b')) await entities(sut);
    if (runs('c')) await creates(sut, { n: sut.urls.firstFreeOrder });
    if (runs('d')) await listPages(sut);
  } finally {
    await sut.stop();
  }
  try {
    if (runs('e')) await webhooks(pg);
    // (f) `npm start` itself, alone on the machine: time to ready and idle memory on each store (startup-memory.ts).
    if (runs('f')) for (const r of await measureStartups(pg ? PG_URL : null)) notes.push(`(f) ${describeStartup(r)}.`);
  } finally {
    if (pg) {
      const pool = new Pool({ connectionString: PG_URL, max: 1 });
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => pool.end());
    }
  }
  const text = report((Date.now() - started) / 1000);
  process.stdout.write(`${text}\n`);
  if (ONLY) return;
  const file = join(process.cwd(), 'BENCHMARKS.md');
  const marked = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/;
  const current = readFileSync(file, 'utf8');
  if (!marked.test(current)) throw new Error('BENCHMARKS.md has no bench markers');
  writeFileSync(file, current.replace(marked, `<!-- bench:start -->\n${text}\n<!-- bench:end -->`));
  process.stdout.write(`\nwritten to ${file}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
