import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sallaBenchStore, FIRST_BENCH_ORDER } from '../../bench/fixtures';
import { openDatabase } from '../../src/ledger/open';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';
import { dropTestSchema, storeName } from '../support/store';
import { spawnTs, type TsChild } from '../support/ts-child';

/**
 * Probes and a graceful stop with a real process, as an orchestrator sees them: `/ready` answers 503 from the
 * moment the process listens until the ledger and providers are up, 200 while serving, and 503 again from SIGTERM;
 * a SIGTERM in the middle of a load of creates fails none of the requests sent before the process stopped
 * listening, leaves no attempt open and no invoice unrecorded, and the process exits 0.
 */

jest.setTimeout(180_000);

/** Each create is held this long at Salla, so that creates are in flight when SIGTERM arrives. */
let createLatencyMs = 300;
/** The child keeps listening this long after SIGTERM, answering 503 at /ready (SHUTDOWN_DELAY_MS). */
const DELAY_MS = 1_500;
const WORKERS = 8;

interface Sent {
  started: number;
  ended: number;
  status: number | null;
  error: string | null;
  invoiceId: string | null;
  userErrors: unknown[];
}

/** One request on a connection of its own (no keep-alive), so that each says for itself whether it was taken. */
function send(url: string, method: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { 'content-type': 'application/json', connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const CREATE = 'mutation ($o: ID!, $k: String) { createInvoice(input: { salla: { orderId: $o, dataType: URL, url: "https://x.example/i.pdf" } }, idempotencyKey: $k) { invoice { id } userErrors { code message } } }';

describe(`readiness and a graceful drain under load, in a real process (${storeName()})`, () => {
  let salla: SallaEmulator;
  let child: TsChild | undefined;
  const schema = `drain_${Date.now().toString(36)}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'drain-'));
  const storeEnv: Record<string, string> = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: dir };

  beforeAll(async () => {
    salla = new SallaEmulator({ stores: [sallaBenchStore(2_000)], rateLimitPerMinute: 1e9 });
    await salla.start(0);
    salla.server.use(async (req, next) => {
      if (req.method === 'POST' && /\/orders\/invoices$/.test(req.path)) await new Promise((r) => setTimeout(r, createLatencyMs));
      return next();
    });
  });
  afterAll(async () => {
    if (child && child.proc.exitCode === null) child.proc.kill('SIGKILL');
    await salla?.stop();
    await dropTestSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /ready 503 while starting, 200 when up, 503 while draining; finishes every in-flight create and exits 0', async () => {
    child = spawnTs('src/server/main.ts', {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SALLA_BASE_URL: salla.baseUrl,
      SALLA_ACCESS_TOKEN: SALLA_SANDBOX_TOKEN,
      SYNC_INTERVAL_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '15000',
      SHUTDOWN_DELAY_MS: String(DELAY_MS),
      ...storeEnv,
    });
    const listening = await child.waitForLog((l) => String(l.msg).startsWith('listening'));
    const url = String(listening.url);
    const ready = new URL('/ready', url).href;

    // 1. Start: 503 until the ledger and providers are up, then 200; /health answers all along.
    const starting: Array<{ status: number; body: string }> = [];
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const r = await send(ready, 'GET');
      starting.push({ status: r.status, body: r.text });
      if (r.status === 200) break;
      expect((await send(new URL('/health', url).href, 'GET')).status).toBe(200);
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(starting[0]).toEqual({ status: 503, body: '{"status":"starting"}' });
    expect(starting[starting.length - 1]).toEqual({ status: 200, body: '{"status":"ready"}' });
    expect(starting.every((r) => r.status === 503 || r.status === 200)).toBe(true);
    // `npm start` ends its output with the three things to try: the Sandbox, one create, one read.
    for (let i = 0; i < 50 && !child.text().includes('3. List the invoices'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(child.text()).toMatch(/Invoicing subgraph: http:\/\/127\.0\.0\.1:\d+\/graphql[\s\S]*1\. Open http\S+ in a browser: Apollo Sandbox[\s\S]*2\. Create a Salla invoice[\s\S]*curl -s http\S+ -H 'content-type: application\/json' -d '\{"query":"mutation[\s\S]*3\. List the invoices:\s+curl -s http\S+ .*invoices\(first: 5\)/);

    // 2. Load: WORKERS clients creating invoices back to back, each on a fresh order.
    const sent: Sent[] = [];
    let next = FIRST_BENCH_ORDER;
    let stopLoad = false;
    const worker = async () => {
      while (!stopLoad) {
        const orderId = String(next++);
        const s: Sent = { started: Date.now(), ended: 0, status: null, error: null, invoiceId: null, userErrors: [] };
        sent.push(s);
        try {
          const r = await send(url, 'POST', JSON.stringify({ query: CREATE, variables: { o: orderId, k: `drain-${orderId}` } }));
          s.status = r.status;
          const payload = (JSON.parse(r.text) as { data?: { createInvoice?: { invoice: { id: string } | null; userErrors: unknown[] } } }).data?.createInvoice;
          s.invoiceId = payload?.invoice?.id ?? null;
          s.userErrors = payload?.userErrors ?? [];
        } catch (err) {
          s.error = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        }
        s.ended = Date.now();
        if (s.error) await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Staggered over one create's latency: workers started together stay in lockstep, and a close that falls just
    // after a batch began would find nothing begun over 100 ms before it still in flight.
    const load = Promise.all(Array.from({ length: WORKERS }, (_, i) => new Promise((r) => setTimeout(r, (i * createLatencyMs) / WORKERS)).then(worker)));
    await new Promise((r) => setTimeout(r, 1_200));

    // 3. SIGTERM in the middle of it.
    const exited = child.exited;
    const sigterm = Date.now();
    child.proc.kill('SIGTERM');
    await child.waitForLog((l) => String(l.msg).startsWith('draining'), 5_000);
    const draining: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await send(ready, 'GET').catch(() => null);
      if (r) {
        draining.push(r.status);
        expect(JSON.parse(r.text)).toEqual({ status: 'draining' });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // When the child stopped listening, by its own log line.
    const closed = Number((await child.waitForLog((l) => String(l.msg).startsWith('stopped listening'), 10_000)).time);
    expect(closed - sigterm).toBeGreaterThanOrEqual(DELAY_MS - 100);
    const { code, signal } = await exited;
    stopLoad = true;
    await load;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(draining.length).toBeGreaterThanOrEqual(3);
    expect(draining.every((s) => s === 503)).toBe(true);

    // Every request sent while the process still listened was answered, with its invoice.
    const taken = sent.filter((s) => s.started < closed - 100);
    const inFlightAtSigterm = sent.filter((s) => s.started < sigterm && s.ended > sigterm);
    const inFlightAtClose = sent.filter((s) => s.started < closed - 100 && s.ended > closed);
    expect(inFlightAtSigterm.length).toBeGreaterThanOrEqual(WORKERS - 1);
    expect(inFlightAtClose.length).toBeGreaterThanOrEqual(1);
    const failed = taken.filter((s) => s.status !== 200 || s.invoiceId === null || s.userErrors.length > 0);
    expect(failed).toEqual([]);
    // What came after the listener closed was refused at the door, never half-served.
    const late = sent.filter((s) => s.started > closed + 500);
    expect(late.every((s) => s.error === 'ECONNREFUSED')).toBe(true);
    expect(child.logs.some((l) => l.msg === 'stopped')).toBe(true);
    expect(child.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);

    // Nothing left open: every attempt succeeded with one invoice, as many as Salla made. A request that reached the
    // socket in the instant the listener closed may have been served without its answer getting back (the client's
    // retry with its key replays it): at most those few attempts are more than the answers.
    const answered = sent.filter((s) => s.invoiceId !== null);
    const atTheDoor = sent.filter((s) => s.invoiceId === null && Math.abs(s.started - closed) < 150).length;
    const db = await openDatabase(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL, schema, dataDir: '' } : { dataDir: dir });
    let succeeded = 0;
    try {
      const states = await db.query<{ state: string; n: string }>('SELECT state, count(*) AS n FROM invoice_attempts GROUP BY state');
      expect(states.map((r) => r.state)).toEqual(['succeeded']);
      succeeded = Number(states[0]!.n);
      const invoices = await db.query<{ n: string }>('SELECT count(*) AS n FROM invoices');
      expect(Number(invoices[0]!.n)).toBe(succeeded);
    } finally {
      await db.close();
    }
    expect(succeeded).toBeGreaterThanOrEqual(answered.length);
    expect(succeeded - answered.length).toBeLessThanOrEqual(atTheDoor);
    expect(salla.invoices().length).toBe(succeeded);
  });
});

describe(`a create still running at SHUTDOWN_TIMEOUT_MS (${storeName()})`, () => {
  let salla: SallaEmulator;
  const dir = mkdtempSync(path.join(tmpdir(), 'cut-'));
  const schema = `cut_${Date.now().toString(36)}`;
  const storeEnv: Record<string, string> = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: dir };
  afterAll(async () => {
    await salla?.stop();
    await dropTestSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  it('has its connection closed at the deadline, yet what Salla made is recorded before the ledger closes, and the process exits 0', async () => {
    salla = new SallaEmulator({ stores: [sallaBenchStore(10)], rateLimitPerMinute: 1e9 });
    await salla.start(0);
    salla.server.use(async (req, next) => {
      if (req.method === 'POST' && /\/orders\/invoices$/.test(req.path)) await new Promise((r) => setTimeout(r, 1_500));
      return next();
    });
    const cut = spawnTs('src/server/main.ts', { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SALLA_BASE_URL: salla.baseUrl, SALLA_ACCESS_TOKEN: SALLA_SANDBOX_TOKEN, SYNC_INTERVAL_MS: '0', SHUTDOWN_TIMEOUT_MS: '300', ...storeEnv });
    try {
      const url = String((await cut.waitForLog((l) => l.msg === 'invoicing subgraph ready')).url);
      const answer = send(url, 'POST', JSON.stringify({ query: CREATE, variables: { o: String(FIRST_BENCH_ORDER), k: 'cut-1' } })).catch((err: NodeJS.ErrnoException) => err.code ?? err.message);
      await new Promise((r) => setTimeout(r, 400));
      cut.proc.kill('SIGTERM');
      expect(await cut.exited).toEqual({ code: 0, signal: null });
      // The client lost its answer (the deadline closed the connection) …
      expect(await answer).toBe('ECONNRESET');
      expect(cut.logs.some((l) => l.msg === 'in-flight requests were cut at SHUTDOWN_TIMEOUT_MS')).toBe(true);
      // … but nothing met a closed ledger, and the attempt is settled with Salla's invoice: a retry with its key replays it.
      expect(cut.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      if (cut.proc.exitCode === null) cut.proc.kill('SIGKILL');
    }
    expect(salla.invoices()).toHaveLength(1);
    const db = await openDatabase(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL, schema, dataDir: '' } : { dataDir: dir });
    try {
      const rows = await db.query<{ state: string; invoices: string }>("SELECT a.state, (SELECT count(*) FROM invoices i WHERE i.attempt_id = a.id) AS invoices FROM invoice_attempts a WHERE a.idempotency_key = 'cut-1'");
      expect(rows.map((r) => [r.state, Number(r.invoices)])).toEqual([['succeeded', 1]]);
    } finally {
      await db.close();
    }
  });
});

describe('OpenTelemetry over OTLP, configured by the standard variables alone', () => {
  it('exports the spans of a request to OTEL_EXPORTER_OTLP_ENDPOINT, named by OTEL_SERVICE_NAME, continuing the caller\u2019s traceparent, and flushes them on SIGTERM', async () => {
    const { createServer } = await import('node:http');
    const received: Array<{ path: string; body: any }> = [];
    const collector = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8').on('data', (c: string) => (text += c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: JSON.parse(text) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const port = (collector.address() as { port: number }).port;
    const otlp = spawnTs('src/server/main.ts', {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      PGLITE_DATA_DIR: 'memory://',
      SYNC_INTERVAL_MS: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_SERVICE_NAME: 'invoicing-under-test',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    });
    try {
      const url = String((await otlp.waitForLog((l) => l.msg === 'invoicing subgraph ready')).url);
      expect(otlp.logs.some((l) => l.msg === 'OpenTelemetry export on' && l.traces === 'otlp' && l.metrics === 'otlp')).toBe(true);
      const trace = '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a';
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${trace}-0102030405060708-01` },
        body: JSON.stringify({ query: 'query Probe { invoices(first: 1) { edges { cursor } } }' }),
      });
      expect(res.status).toBe(200);
      // One periodic export (every second here) while the server runs, with its gauges; the last one at SIGTERM.
      await new Promise((r) => setTimeout(r, 1_500));
      otlp.proc.kill('SIGTERM');
      expect((await otlp.exited).code).toBe(0);
    } finally {
      if (otlp.proc.exitCode === null) otlp.proc.kill('SIGKILL');
      await new Promise((r) => collector.close(r));
    }
    const batches = received.filter((r) => r.path === '/v1/traces');
    expect(batches.length).toBeGreaterThanOrEqual(1);
    const resourceSpans = batches.flatMap((b) => b.body.resourceSpans as any[]);
    const service = resourceSpans[0].resource.attributes.find((a: any) => a.key === 'service.name');
    expect(service.value.stringValue).toBe('invoicing-under-test');
    const spans = resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s: any) => s.spans as any[]));
    const server = spans.find((s) => s.name === 'POST /graphql' && s.traceId === '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a');
    expect(server).toBeDefined();
    expect(server.parentSpanId).toBe('0102030405060708');
    const root = spans.find((s) => s.name === 'query Probe');
    expect(root.traceId).toBe(server.traceId);
    expect(root.parentSpanId).toBe(server.spanId);
    expect(spans.some((s) => s.traceId === root.traceId && s.parentSpanId === root.spanId && /ledger$/.test(s.name))).toBe(true);

    // The metrics /metrics serves, exported too: the request's histogram and the server's gauges.
    const exported = received.filter((r) => r.path === '/v1/metrics').flatMap((b) => (b.body.resourceMetrics as any[]).flatMap((r) => r.scopeMetrics.flatMap((s: any) => s.metrics as any[])));
    const names = new Set(exported.map((m) => m.name as string));
    for (const name of ['invoicing.graphql.request.duration', 'invoicing.ledger.query.duration', 'invoicing.attempts.open', 'invoicing.provider.circuit.state', 'invoicing.ready']) expect([...names]).toContain(name);
    const request = exported.find((m) => m.name === 'invoicing.graphql.request.duration');
    expect(request.unit).toBe('s');
    expect(request.histogram.dataPoints.some((p: any) => p.attributes.some((a: any) => a.key === 'operation' && a.value.stringValue === 'query invoices'))).toBe(true);
  });
});
