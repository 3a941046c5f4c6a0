import { Writable } from 'node:stream';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { SpanKind } from '@opentelemetry/api';
import { loadConfig } from '../../src/server/config';
import { createLogger } from '../../src/server/logger';
import { startServer, type RunningServer } from '../../src/server/main';
import { dropTestSchema, storeName } from '../support/store';

/**
 * What an operator sees of a running server, over HTTP: the spans a create and a federated read leave (collected
 * in-process by the OpenTelemetry SDK, as an OTLP exporter would receive them), the trace id in the request's log
 * lines, the Prometheus metrics' names and labels, and the readiness probe.
 */

// The SDK as `npm start` registers it when OTEL_* asks, with an in-memory exporter in place of OTLP.
const exporter = new InMemorySpanExporter();
const tracer = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
tracer.register();

const METRICS_TOKEN = 'metrics-token-0123456789';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = (spanId: string) => `00-${TRACE_ID}-${spanId}-01`;

const CREATE = `mutation CreateForOrder($orderId: ID!) { createInvoice(input: { salla: { orderId: $orderId, dataType: URL, url: "https://x.example/inv.pdf" } }) {
  invoice { id providerInvoiceId status } userErrors { code message } } }`;
const ORDER = 'query OrderInvoices($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id invoices { id status lines { description } taxes { ratePercent } } } } }';

describe(`operability: traces, logs, metrics and readiness (${storeName()})`, () => {
  let server: RunningServer;
  const lines: Array<Record<string, unknown>> = [];
  const schema = `ops_${Date.now().toString(36)}`;
  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
  };
  const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }) => {
    const res = await fetch(new URL('/metrics', server.url), { headers });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) => spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
  const descendantsOf = (spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] => childrenOf(spans, parent).flatMap((c) => [c, ...descendantsOf(spans, c)]);
  /** Spans end after the answer is written (the server span last): wait for the one named. */
  const requestSpan = async (traceId: string, name: string, kind = SpanKind.INTERNAL): Promise<ReadableSpan> => {
    for (let i = 0; i < 100; i++) {
      const found = spansOf(traceId).find((s) => s.kind === kind && s.name === name);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no span ${name}; saw ${spansOf(traceId).map((s) => s.name).join(', ')}`);
  };
  /** The group-commit batches that wrote for a span: traces of their own, linked to it. */
  const batchesFor = (span: ReadableSpan) =>
    exporter.getFinishedSpans().filter((s) => s.name.startsWith('group commit ') && s.links.some((l) => l.context.spanId === span.spanContext().spanId));

  beforeAll(async () => {
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', METRICS_TOKEN, INVOICE_FRESHNESS_MS: '86400000', SYNC_INTERVAL_MS: '0', ...store }),
      createLogger('debug', sink),
    );
  });
  afterAll(async () => {
    await server?.stop();
    await dropTestSchema(schema);
    await tracer.shutdown();
  });

  it('a create leaves one trace continuing the router\u2019s: the operation, its provider calls with their HTTP exchanges, its ledger statements', async () => {
    const routerSpan = 'a1b2c3d4e5f60718';
    const res = await post({ query: CREATE, variables: { orderId: '1371877152' } }, { traceparent: traceparent(routerSpan) });
    expect(res.status).toBe(200);
    expect(res.body.data.createInvoice.userErrors).toEqual([]);

    // The HTTP server span continues the router's trace; the operation's span runs inside it.
    const server = await requestSpan(TRACE_ID, 'POST /graphql', SpanKind.SERVER);
    expect(server.parentSpanContext?.spanId).toBe(routerSpan);
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/graphql', 'url.path': '/graphql', 'http.response.status_code': 200 });
    const root = await requestSpan(TRACE_ID, 'mutation CreateForOrder');
    expect(root.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(root.attributes).toMatchObject({ 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'CreateForOrder', 'invoicing.graphql.outcome': 'ok' });
    const spans = spansOf(TRACE_ID);
    const below = descendantsOf(spans, root);

    // Salla's create (a write) and its read-backs (reads), each wrapping its HTTP exchange.
    const write = childrenOf(spans, root).find((s) => s.name === 'Salla write')!;
    expect(write.attributes).toMatchObject({ 'invoicing.provider': 'SALLA', 'invoicing.call.kind': 'write', 'invoicing.circuit.state': 'closed', 'invoicing.retries': 0, 'invoicing.call.outcome': 'ok' });
    const [post_] = childrenOf(spans, write);
    expect(post_!.kind).toBe(SpanKind.CLIENT);
    expect(post_!.name).toBe('POST /admin/v2/orders/invoices');
    expect(post_!.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.template': '/admin/v2/orders/invoices', 'invoicing.provider': 'SALLA' });
    expect([200, 201]).toContain(post_!.attributes['http.response.status_code']);
    const reads = below.filter((s) => s.name === 'Salla read');
    expect(reads.length).toBeGreaterThanOrEqual(1);
    const gets = reads.flatMap((r) => childrenOf(spans, r)).map((s) => s.name).sort();
    expect(gets).toEqual(expect.arrayContaining(['GET /admin/v2/orders/invoices/{id}', 'GET /admin/v2/orders/{id}']));
    // No id of any kind in a span name: route templates only.
    for (const s of below) expect(s.name).not.toMatch(/\d{5,}/);

    // The ledger's writes are group-committed (one statement for many requests): each batch is a trace of its own,
    // linked to the operation it wrote for, its statements inside it.
    const all = exporter.getFinishedSpans();
    const batches = batchesFor(root);
    expect(batches.map((b) => b.name).sort()).toEqual(['group commit attempt_claim', 'group commit attempt_success']);
    const statementsOf = (b: ReadableSpan) => descendantsOf(all.filter((s) => s.spanContext().traceId === b.spanContext().traceId), b);
    const claim = statementsOf(batches.find((b) => b.name === 'group commit attempt_claim')!);
    const success = statementsOf(batches.find((b) => b.name === 'group commit attempt_success')!);
    expect(claim.map((s) => String(s.attributes['db.query.text']))).toEqual([expect.stringMatching(/^INSERT INTO invoice_attempts/)]);
    expect(success.some((s) => /INSERT INTO invoices/.test(String(s.attributes['db.query.text'])))).toBe(true);
    const ledger = [...claim, ...success, ...below.filter((s) => s.attributes['db.system.name'] === 'postgresql')];
    expect(ledger.every((s) => s.kind === SpanKind.CLIENT && s.attributes['db.system.name'] === 'postgresql')).toBe(true);
    // Statements are our own text with placeholders: no value of the request (the order id, the URL) is in them.
    for (const s of ledger) expect(String(s.attributes['db.query.text'])).not.toMatch(/1371877152|x\.example/);
    // Ordered as they ran: the claim before Salla's write, the success after it.
    const startOf = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];
    expect(startOf(claim[0]!)).toBeLessThan(startOf(write));
    expect(startOf(success[0]!)).toBeGreaterThan(startOf(write));
  });

  it('a create answered with userErrors names their codes on its span', async () => {
    const trace = 'aaaabbbbccccdddd0000111122223333';
    const res = await post({ query: CREATE, variables: { orderId: '1371877152' } }, { traceparent: `00-${trace}-1111222233334444-01` });
    expect(res.status).toBe(200);
    const codes: string[] = res.body.data.createInvoice.userErrors.map((e: { code: string }) => e.code);
    expect(codes.length).toBeGreaterThan(0);
    const root = await requestSpan(trace, 'mutation CreateForOrder');
    expect(root.attributes['invoicing.graphql.outcome']).toBe('user_error');
    expect(root.attributes['invoicing.user_error.codes']).toEqual([...new Set(codes)].sort());
  });

  it('a federated read (the router\u2019s _entities call) is one trace: the operation and the ledger reads its loaders batch', async () => {
    const trace = '0123456789abcdef0123456789abcdef';
    const routerSpan = '00f067aa0ba902b7';
    const res = await post({ query: ORDER, variables: { r: [{ __typename: 'Order', id: '1371877152' }, { __typename: 'Order', id: '389701957' }] } }, { traceparent: `00-${trace}-${routerSpan}-01` });
    expect(res.status).toBe(200);
    expect(res.body.data._entities[0].invoices).toHaveLength(1);
    const server = await requestSpan(trace, 'POST /graphql', SpanKind.SERVER);
    expect(server.parentSpanContext?.spanId).toBe(routerSpan);
    const root = await requestSpan(trace, 'query OrderInvoices');
    expect(root.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    const below = descendantsOf(spansOf(trace), root);
    // Stored lines and taxes of a final Salla invoice: ledger reads only, no provider call.
    expect(below.filter((s) => s.attributes['invoicing.provider'] !== undefined)).toEqual([]);
    const reads = below.filter((s) => s.attributes['db.operation.name'] === 'SELECT' || s.attributes['db.operation.name'] === 'WITH');
    expect(reads.length).toBeGreaterThanOrEqual(1);
    // Two orders in one call are read with one statement (DataLoader), not one per order.
    expect(reads.filter((s) => /order_id/.test(String(s.attributes['db.query.text']))).length).toBe(1);
  });

  it('log lines written inside a request carry its trace id', async () => {
    const trace = 'feedfacefeedfacefeedfacefeedface';
    // A forged webhook delivery is logged (warn) while its request is being handled.
    const res = await fetch(new URL('/webhooks/salla', server.url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-salla-signature': 'f'.repeat(64), traceparent: `00-${trace}-2222333344445555-01` }, body: '{"event":"order.updated","data":{"id":1}}' });
    expect(res.status).toBe(401);
    const line = lines.find((l) => l.msg === 'webhook delivery refused: its signature does not match the secret' && l.trace_id === trace);
    expect(line).toBeDefined();
    expect(line!.span_id).toMatch(/^[0-9a-f]{16}$/);
    // And lines outside any request carry none.
    expect(lines.find((l) => l.msg === 'ledger ready')!.trace_id).toBeUndefined();
  });

  it('GET /metrics serves Prometheus text behind METRICS_TOKEN, with bounded labels', async () => {
    expect((await scrape({})).status).toBe(401);
    expect((await scrape({ authorization: 'Bearer wrong-token-0000000000' })).status).toBe(401);
    // A request refused before execution counts too.
    expect((await post({ query: '{ nope' })).status).toBe(400);
    const { status, type, text } = await scrape();
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);

    const sample = (name: string, labels: Record<string, string>) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(sample('invoicing_graphql_request_duration_seconds_count', { operation: 'mutation createInvoice', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample('invoicing_graphql_request_duration_seconds_count', { operation: 'mutation createInvoice', outcome: 'user_error' })).toBeGreaterThanOrEqual(1);
    expect(sample('invoicing_graphql_request_duration_seconds_count', { operation: 'query _entities', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample('invoicing_graphql_request_duration_seconds_count', { operation: 'invalid', outcome: 'refused' })).toBeGreaterThanOrEqual(1);
    expect(sample('invoicing_provider_request_duration_seconds_count', { provider: 'SALLA', method: 'POST', route: '/admin/v2/orders/invoices', outcome: '2xx' })).toBeGreaterThanOrEqual(1);
    expect(sample('invoicing_provider_request_duration_seconds_count', { provider: 'SALLA', method: 'GET', route: '/admin/v2/orders/{id}', outcome: '2xx' })).toBeGreaterThanOrEqual(1);
    expect(sample('invoicing_provider_call_duration_seconds_count', { provider: 'SALLA', kind: 'write', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample('invoicing_provider_circuit_state', { provider: 'SALLA', state: 'closed' })).toBe(1);
    expect(sample('invoicing_provider_circuit_state', { provider: 'ZUORA', state: 'open' })).toBe(0);
    expect(sample('invoicing_provider_rate_limited_seconds', { provider: 'SALLA' })).toBe(0);
    expect(sample('invoicing_attempts_open', { provider: 'SALLA', state: 'unknown' })).toBe(0);
    expect(sample('invoicing_attempts_needing_manual_settlement', { provider: 'ZUORA' })).toBe(0);
    expect(sample('invoicing_ledger_query_duration_seconds_count', { store: storeName(), operation: 'SELECT' })).toBeGreaterThan(0);
    expect(sample('invoicing_ledger_group_commit_batch_size_count', { write: 'attempt_claim' })).toBeGreaterThanOrEqual(2);
    expect(sample('invoicing_ledger_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(sample('invoicing_ledger_pool_connections', { state: 'waiting' })).toBe(0);
    expect(sample('invoicing_jobs', { queue: 'provider-events', state: 'failed' })).toBe(0);
    expect(sample('invoicing_webhook_deliveries_unprocessed', { provider: 'ZUORA', state: 'parked' })).toBe(0);
    expect(sample('invoicing_webhook_deliveries_total', { provider: 'salla', result: 'unauthorized' })).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^invoicing_ready 1$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);

    // Cardinality: no label value is an id (a long number, a UUID, a Salesforce or Zuora record id).
    const values = [...text.matchAll(/="([^"]*)"/g)].map((m) => m[1]!);
    expect(values.length).toBeGreaterThan(100);
    for (const v of values) expect(v).not.toMatch(/\d{6,}|[0-9a-f]{8}-[0-9a-f]{4}|[0-9a-f]{24,}/i);
  });

  it('probes and scrapes leave no trace', async () => {
    const before = exporter.getFinishedSpans().length;
    expect((await fetch(new URL('/ready', server.url))).status).toBe(200);
    expect((await scrape()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(exporter.getFinishedSpans().slice(before).map((s) => s.name)).toEqual([]);
  });

  it('GET /ready answers 200 while the ledger answers, with no router header needed', async () => {
    const res = await fetch(new URL('/ready', server.url));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
