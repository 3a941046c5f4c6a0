import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context as TraceContext, type Span } from '@opentelemetry/api';

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
export function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
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

/** Marks a span failed with the error's class and message (never a provider's body or a statement's values). */
export function failed(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const e = err instanceof Error ? err : new Error(String(err));
  span.setAttribute('error.type', e.name || 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message.slice(0, 200) });
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
 * bounded: a segment with a digit (a record id, a number) or longer than 32 characters is an id, except an API
 * version (`v62.0`, `v1`). Query strings are dropped. Pure.
 */
export function routeTemplate(path: string): string {
  const bare = path.split('?')[0]!;
  return bare
    .split('/')
    .map((seg) => (seg.length > 32 || (/\d/.test(seg) && !/^v\d+(\.\d+)?$/.test(seg)) ? '{id}' : seg))
    .join('/');
}
