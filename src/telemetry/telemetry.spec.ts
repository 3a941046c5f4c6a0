import { metricsExporterOf, tracesExporterOf } from './sdk';
import { operationOf } from './statements';
import { routeTemplate, traceFields } from './tracing';
import { otelNameOf, statusClass } from './metrics';

describe('routeTemplate', () => {
  const words = new Set(['admin', 'orders', 'invoices', 'services', 'data', 'sobjects', 'Invoice', 'query', 'items', 'api', 'payments', 'fulfillments']);
  it.each([
    ['/admin/v2/orders/invoices/1371877152', '/admin/v2/orders/invoices/{id}'],
    ['/services/data/v62.0/sobjects/Invoice/3ttDn000000A1b2IAC', '/services/data/v62.0/sobjects/Invoice/{id}'],
    ['/v1/invoices/8a8aa1b0917c7f7001918e3c3c6b0c1f/items', '/v1/invoices/{id}/items'],
    ['/api/v3/invoices/INV-000123/payments', '/api/v3/invoices/{id}/payments'],
    // Ids a client chose, letters only, or shaped like a version: ids all the same.
    ['/api/v3/orders/abcdef/invoices', '/api/v3/orders/{id}/invoices'],
    ['/api/v3/orders/ORD-XKMPQ/invoices', '/api/v3/orders/{id}/invoices'],
    ['/api/v3/orders/v1234567/invoices', '/api/v3/orders/{id}/invoices'],
    ['/services/data/v62.0/query?q=SELECT+Id+FROM+Invoice', '/services/data/v62.0/query'],
    ['/v1/fulfillments', '/v1/fulfillments'],
    ['', ''],
  ])('%s → %s', (path, template) => expect(routeTemplate(path, words)).toBe(template));

  it('stays bounded for hostile paths: 10,000 distinct ids give one template', () => {
    const templates = new Set(Array.from({ length: 10_000 }, (_, i) => routeTemplate(`/orders/${'z'.repeat(i % 50)}x/items/\u0000${i}`, words)));
    expect([...templates]).toEqual(['/orders/{id}/items/{id}']);
  });
});

describe('tracesExporterOf (the standard OTEL_* variables; nothing exported when unset)', () => {
  it.each([
    [{}, null],
    [{ OTEL_SERVICE_NAME: 'invoicing' }, null],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, 'otlp'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, 'otlp'],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, 'otlp'],
    [{ OTEL_TRACES_EXPORTER: 'console' }, 'console'],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, null],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, null],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '   ' }, null],
  ])('%j → %s', (env, kind) => expect(tracesExporterOf(env as NodeJS.ProcessEnv)).toBe(kind));
});

describe('operationOf (a ledger statement\u2019s label)', () => {
  it.each([
    ['SELECT 1', 'SELECT'],
    ['  with x AS (SELECT 1) SELECT * FROM x', 'WITH'],
    ['INSERT INTO invoices …', 'INSERT'],
    ['\n\tupdate invoice_attempts SET', 'UPDATE'],
    ['VACUUM', 'OTHER'],
    ['', 'OTHER'],
    [`${'x'.repeat(100_000)}`, 'OTHER'],
  ])('%s → %s', (text, op) => expect(operationOf(text)).toBe(op));
});

describe('statusClass', () => {
  it.each([
    [200, '2xx'],
    [429, '4xx'],
    [503, '5xx'],
    [99, 'other'],
    [600, 'other'],
  ])('%d → %s', (status, label) => expect(statusClass(status)).toBe(label));
});

it('traceFields is empty outside a recording span', () => {
  expect(traceFields()).toEqual({});
});

describe('metricsExporterOf', () => {
  it.each([
    [{}, null],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, 'otlp'],
    [{ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318/v1/metrics' }, 'otlp'],
    [{ OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, null],
    [{ OTEL_METRICS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, null],
    [{ OTEL_METRICS_EXPORTER: 'console' }, 'console'],
    [{ OTEL_SDK_DISABLED: 'TRUE', OTEL_METRICS_EXPORTER: 'otlp' }, null],
  ])('%j → %s', (env, kind) => expect(metricsExporterOf(env as NodeJS.ProcessEnv)).toBe(kind));
});

describe('otelNameOf', () => {
  it.each([
    ['invoicing_provider_call_duration_seconds', 'invoicing.provider.call.duration'],
    ['invoicing_webhook_deliveries_total', 'invoicing.webhook.deliveries'],
    ['invoicing_attempts_open', 'invoicing.attempts.open'],
  ])('%s → %s', (prom, otel) => expect(otelNameOf(prom)).toBe(otel));
});
