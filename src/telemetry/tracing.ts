import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context as TraceContext, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

/**
 * Spans through the OpenTelemetry API only: without an SDK registered (OTEL_* unset, see startTracing) every call
 * here is the API's no-op, a few object allocations. Nothing in this folder imports the rest of the service.
 */
const tracer = trace.getTracer('invoicing-subgraph');

export { SpanKind };

/**
 * Runs fn in a new span, child of the active one, and ends it: an error thrown is recorded on the span and rethrown.
 * Called around every provider call, HTTP exchange and ledger query; costs nothing measurable when tracing is off.
 */
export function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL, links?: Link[]): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes, links }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Marks a span failed with what kind of failure it was, never its message: a database's message quotes the value it
 * refused, a provider's may quote the request. `error.type` is the error's code where it has one (a SQLSTATE, a
 * transport failure's kind), else its class.
 */
export function failed(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const code = (err as { code?: unknown; kind?: unknown } | null)?.code ?? (err as { kind?: unknown } | null)?.kind;
  const type = typeof code === 'string' && code.length <= 64 ? code : err instanceof Error && err.name ? err.name : 'Error';
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/** Marks a span failed by an HTTP status (a server span on 5xx, a client span on 4xx and 5xx, as the conventions say). */
export function failedStatus(span: Span, status: number): void {
  if (!span.isRecording()) return;
  span.setAttribute('error.type', String(status));
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * Runs fn as the root of a trace of its own (a job, a reconciliation pass, a batch that serves many requests),
 * linked to the spans that caused it, and ends it.
 */
export function inRootSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, links?: SpanContext[]): Promise<T> {
  return context.with(ROOT_CONTEXT, () => inSpan(name, attributes, fn, SpanKind.INTERNAL, links?.map((ctx) => ({ context: ctx }))));
}

/** Runs fn with tracing suppressed (probes and scrapes: a trace each would be noise). */
export function untraced<T>(fn: () => T): T {
  return context.with(suppressTracing(context.active()), fn);
}

/** The active span's context where one records; for links from work done later on its behalf. */
export function activeSpanContext(): SpanContext | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span.spanContext() : undefined;
}

/**
 * Starts the span of one HTTP request to the service, continuing the trace the router sent (W3C `traceparent`),
 * and runs fn inside it: the spans and log lines of everything the request does belong to it.
 */
export function inRequestSpan<T>(headers: Readonly<Record<string, string | string[] | undefined>>, name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent: TraceContext = propagation.extract(context.active(), headers);
  return context.with(parent, () => inSpan(name, attributes, fn, SpanKind.SERVER));
}

/** The active span, when one records (tracing on, inside a request or job); undefined otherwise. */
export function activeSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/** The ids of the active trace for a log line (`trace_id`, `span_id`, as OpenTelemetry's log bridge names them). */
export function traceFields(): { trace_id: string; span_id: string } | Record<string, never> {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && ctx.traceId !== '00000000000000000000000000000000' ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
}

/**
 * A request path with its ids replaced by `{id}`, for a span name or a metric label whose cardinality must stay
 * bounded: every segment that is not one of `words` (the literal segments of the provider's API paths) or an API
 * version (`v1`, `v62.0`) is an id, whatever it looks like; a client-chosen id such as `ORD-XKMPQ` included.
 * Query strings are dropped. Pure.
 */
export function routeTemplate(path: string, words: ReadonlySet<string>): string {
  const bare = path.split('?')[0]!;
  return bare
    .split('/')
    .map((seg) => (seg === '' || words.has(seg) || /^v\d{1,3}(\.\d{1,2})?$/.test(seg) ? seg : '{id}'))
    .join('/');
}
