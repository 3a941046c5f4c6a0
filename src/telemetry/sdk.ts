import { metrics, type Meter } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { bindMeter } from './metrics';

// The SDK, its exporters and their protobuf code hold about 22 MB once loaded: they are loaded only when the
// environment asks for telemetry (type-only imports above; `require` below), never by a server that exports nothing.
/* eslint-disable @typescript-eslint/no-require-imports */
const sdkTrace = () => require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
const sdkMetrics = () => require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
const otlpTraces = () => require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
const otlpMetrics = () => require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http');
const resources = () => require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
const conventions = () => require('@opentelemetry/semantic-conventions') as typeof import('@opentelemetry/semantic-conventions');
/* eslint-enable @typescript-eslint/no-require-imports */

/** The running SDK; `shutdown` flushes the spans and metrics still buffered (called once, while draining). */
export interface Telemetry {
  /** The traces exporter in use, or null. */
  readonly traces: string | null;
  /** The metrics exporter in use, or null (Prometheus scrapes /metrics either way). */
  readonly metrics: string | null;
  /** Set when metrics are exported: the server binds its gauges to it. */
  readonly meter: Meter | null;
  shutdown(): Promise<void>;
}

/**
 * Which exporter the standard variables ask for, or null for none
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/): `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none` turn tracing off; `OTEL_TRACES_EXPORTER=console` writes spans to stdout; otherwise an
 * OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns on OTLP over HTTP.
 * Unlike the SDK's own default (OTLP to localhost:4318), nothing is exported when none is set. Pure.
 */
export function tracesExporterOf(env: NodeJS.ProcessEnv): 'otlp' | 'console' | null {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return null;
  const asked = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (asked.includes('none')) return null;
  if (asked.includes('console')) return 'console';
  if (asked.includes('otlp') || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()) return 'otlp';
  return null;
}

/**
 * Which metrics exporter the standard variables ask for, or null: as for traces, with `OTEL_METRICS_EXPORTER` and
 * `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`; `prometheus` asks for nothing more (GET /metrics serves it). Pure.
 */
export function metricsExporterOf(env: NodeJS.ProcessEnv): 'otlp' | 'console' | null {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return null;
  const asked = (env.OTEL_METRICS_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (asked.includes('none')) return null;
  if (asked.includes('console')) return 'console';
  if (asked.includes('otlp') || (asked.length === 0 && (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim()))) return 'otlp';
  return null;
}

/**
 * Starts what the OTEL_* variables ask for (traces, metrics, both or neither: null, nothing registered). Called
 * once by `npm start` before the server starts. Metrics are exported every OTEL_METRIC_EXPORT_INTERVAL ms (default
 * 60000), the same counters, histograms and gauges /metrics serves.
 */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): Telemetry | null {
  const tracing = startTracing(env);
  const kind = metricsExporterOf(env);
  if (!tracing && !kind) return null;
  let provider: import('@opentelemetry/sdk-metrics').MeterProvider | null = null;
  if (kind) {
    const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
    const { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } = sdkMetrics();
    const exporter = kind === 'console' ? new ConsoleMetricExporter() : new (otlpMetrics().OTLPMetricExporter)();
    provider = new MeterProvider({ resource: resourceOf(), readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: Number.isFinite(interval) && interval >= 1_000 ? interval : 60_000 })] });
    metrics.setGlobalMeterProvider(provider);
    bindMeter(provider.getMeter('invoicing-subgraph'));
  }
  return {
    traces: tracing?.exporter ?? null,
    metrics: kind,
    meter: provider?.getMeter('invoicing-subgraph') ?? null,
    shutdown: async () => {
      await Promise.all([tracing?.shutdown(), provider?.shutdown()]);
    },
  };
}

/** The service's resource: its name and version, then what OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and the host say. */
function resourceOf() {
  const { detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes } = resources();
  const { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } = conventions();
  const detected = detectResources({ detectors: [envDetector, hostDetector, processDetector] });
  return resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'invoicing-subgraph', [ATTR_SERVICE_VERSION]: version() }).merge(detected);
}

/**
 * Registers the OpenTelemetry Node SDK's tracer provider (AsyncLocalStorage context, W3C trace-context and baggage
 * propagation) when the environment asks for an exporter; returns null, registering nothing, when it does not.
 * Called once by `npm start` before the server starts. The exporter reads the rest of `OTEL_EXPORTER_OTLP_*` itself
 * (headers, timeout, protocol path); `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the service.
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env, exporterOverride?: SpanExporter): { exporter: string; shutdown(): Promise<void> } | null {
  const kind = exporterOverride ? 'custom' : tracesExporterOf(env);
  if (!kind) return null;
  const { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider } = sdkTrace();
  const exporter = exporterOverride ?? (kind === 'console' ? new ConsoleSpanExporter() : new (otlpTraces().OTLPTraceExporter)());
  const provider = new NodeTracerProvider({ resource: resourceOf(), spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register();
  return { exporter: kind, shutdown: () => provider.shutdown() };
}

/** The package's version, from its package.json (two folders up from the source, three from the build). */
function version(): string {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'invoicing-subgraph' && pkg.version) return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return '0.0.0';
}
