import { ApolloServer, HeaderMap, type HTTPGraphQLRequest } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError } from 'graphql';
import { excerpt } from '../domain/text';
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { buildFederatedSchema } from '../graphql/federated-schema';
import { createInvoiceLoaders } from '../invoices/invoice.loaders';
import { InvoiceService } from '../invoices/invoice.service';
import type { Database } from '../ledger/database';
import { InvoiceList } from '../ledger/invoice-list';
import { Ledger } from '../ledger/ledger';
import type { ProviderRegistry } from '../providers/registry';
import { tenantProvidersOf, type TenantProviders } from '../connections/tenant-providers';
import type { ProviderCode } from '../domain/invoice';
import { DEFAULT_FRESHNESS_MS, InvoiceRefresher, type RefreshQueue } from '../sync/invoice-refresher';
import { MAX_WEBHOOK_BYTES, type WebhookIntake } from '../events/webhook-intake';
import { createAuthenticator, DEFAULT_TENANT, requireScope, rootFieldsOf, type Caller, type JwtConfig } from './auth';
import { HTTP_TIMEOUTS, type HttpTimeouts } from './http-timeouts';
import { DEFAULT_REQUEST_LIMITS, KnownOperationTypesRule, requestGuard, type RequestLimits } from './request-guard';
import type { Context } from './context';
import { MetricsEndpoint, type MetricsSources } from './metrics-endpoint';
import { telemetryPlugin } from './telemetry-plugin';
import { webhookDeliveries } from '../telemetry/metrics';
import { failedStatus, inRequestSpan, inSpan, untraced } from '../telemetry/tracing';
import type { Span } from '@opentelemetry/api';

/** Large enough for a 10 MB PDF sent as base64 to Salla, small enough to refuse a flood. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The longest error message answered; longer ones (quoting a client's value) are cut. */
const MAX_MESSAGE = 1_000;

const INTERNAL = '{"errors":[{"message":"Internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}';

/** The longest document graphql-js will parse; a router's `_entities` call carries its size in variables, not tokens. */
export const MAX_TOKENS = 3000;


export { DEFAULT_TENANT } from './auth';

export interface AppDeps {
  db: Database;
  /** Who acts for whom: tenants' connections and the configured accounts; a registry alone acts for every tenant. */
  providers: TenantProviders | ProviderRegistry;
  /** Where a connection goes when connectProvider names no base URL (the configured one, or the sandbox's). */
  connectionBaseUrls?: Partial<Record<ProviderCode, string>>;
  logger: Logger;
  production: boolean;
  /** Set: federated traces (ftv1) for the router's usage reports. Unset: no tracing, nothing sent to Apollo. */
  graphos?: { key: string; graphRef: string } | null;
  /** When set, the forwarded bearer token is verified and scopes the request (see auth.ts). */
  jwt?: JwtConfig | null;
  /** When set, requests without it in `router-authorization` are refused before any GraphQL work. */
  routerSecret?: string | null;
  /** How long a running attempt keeps its idempotency key (ATTEMPT_LEASE_MS); the service's default otherwise. */
  attemptLeaseMs?: number;
  /** Benchmarks only: the same resolvers without batching or caching, as the baseline. */
  naiveLoaders?: boolean;
  /** NODE_ENV=development: stack traces in error responses. */
  development?: boolean;
  /** Work one request may cause; DEFAULT_REQUEST_LIMITS otherwise. */
  limits?: RequestLimits;
  /** The HTTP server's timeouts; HTTP_TIMEOUTS otherwise. */
  httpTimeouts?: HttpTimeouts;
  /** How old status and kpis may be before a read refreshes them in the background (INVOICE_FRESHNESS_MS); default 60 s. */
  freshnessMs?: number;
  /** How long a failed refresh waits before the next try; tests shorten it. Default: the freshness window, at least 5 s. */
  refreshHoldMs?: number;
  /**
   * The job queue the background refreshes run on (`invoice-refresh` jobs, any replica's worker); absent (tests, the
   * bench): they run in-process.
   */
  refreshJobs?: RefreshQueue | null;
  /** POST /webhooks/<provider>; absent: every webhook path answers 404. */
  webhooks?: WebhookIntake | null;
  /** When set, `GET /metrics` answers only `Authorization: Bearer <it>` (METRICS_TOKEN). */
  metricsToken?: string | null;
  /** How long stopping waits for in-flight requests before it closes their connections (SHUTDOWN_TIMEOUT_MS). Default 10 s. */
  shutdownTimeoutMs?: number;
  /** The job queue's counts for `GET /metrics`; absent: no job gauges. */
  jobCounts?: MetricsSources['jobCounts'];
  webhookBacklog?: MetricsSources['webhookBacklog'];
  /** A server already listening (it answered `/health` and `/ready` while the rest started); a new one otherwise. */
  httpServer?: Server;
}

export interface App {
  apollo: ApolloServer<Context>;
  http: Server;
  invoices: InvoiceService;
  /** Background refreshes of stale status and kpis; tests wait on `idle()`. */
  refresher: InvoiceRefresher;
  /** Builds a request's context: fresh loaders, so nothing is cached across requests or tenants. */
  contextFor(caller?: Caller): Context;
  listen(port: number, host?: string): Promise<string>;
  /** GET /metrics; `bindMeter` adds its gauges to OTLP export. */
  metrics: MetricsEndpoint;
  /** Called once everything the server needs is up: `GET /ready` answers 200 from then on, until `drain`. */
  markReady(): void;
  /** The first step of a shutdown: `GET /ready` answers 503 and every answer closes its connection. */
  drain(): void;
  /**
   * Stops taking connections and waits for in-flight requests up to `shutdownTimeoutMs`, then closes their
   * connections and gives the work already under way (a provider's answer on its way to the ledger) up to
   * CUT_WORK_GRACE_MS more to finish, so that nothing it writes meets a closed ledger. Resolves `true` when every
   * request was answered in time.
   */
  stop(): Promise<boolean>;
}

/** Assembles schema, services and the HTTP server. Called once at start and by tests; the caller owns db and providers. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { schema } = await buildFederatedSchema();
  const ledger = new Ledger(deps.db);
  const tenants = tenantProvidersOf(deps.providers);
  const invoices = new InvoiceService(ledger, tenants, { logger: deps.logger, leaseMs: deps.attemptLeaseMs });
  const refresher = new InvoiceRefresher(ledger, tenants, { freshnessMs: deps.freshnessMs ?? DEFAULT_FRESHNESS_MS, holdMs: deps.refreshHoldMs, logger: deps.logger });
  if (deps.refreshJobs) await refresher.useJobs(deps.refreshJobs);
  const invoiceList = new InvoiceList(deps.db);
  const authenticate = createAuthenticator(deps.jwt ?? null);
  const contextFor = (caller: Caller = { tenantId: DEFAULT_TENANT, scopes: null }): Context => ({
    tenantId: caller.tenantId,
    caller,
    invoices,
    refresher,
    invoiceList,
    connections: { tenants, baseUrls: deps.connectionBaseUrls ?? {}, allowLoopbackHttp: !deps.production },
    loaders: createInvoiceLoaders(ledger, tenants, caller.tenantId, { naive: deps.naiveLoaders, logger: deps.logger }),
  });

  const http = deps.httpServer ?? createServer(deps.httpTimeouts ?? HTTP_TIMEOUTS);
  // starting → ready → draining; only `ready` answers 200 at /ready.
  let phase: 'starting' | 'ready' | 'draining' = 'starting';
  const metrics = new MetricsEndpoint({ db: deps.db, ledger, providers: tenants.defaults, jobCounts: deps.jobCounts, webhookBacklog: deps.webhookBacklog, ready: () => phase === 'ready' });
  // Static limits, checked during validation before anything runs. The deepest real query (a federated order page
  // down to a line's tax amount) has depth 7. Tokens are limited by graphql-js's own parser (parseOptions), and cost
  // by the request guard, which also sees the sizes of lists sent in variables.
  const armor = new ApolloArmor({
    maxDepth: { n: 12 },
    maxAliases: { n: 15 },
    maxDirectives: { n: 50 },
    // armor's token limit parses the document again in a hook, where a syntax error became an HTTP 500.
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    // Suggestions are removed from every message in production (formatError), enum values included.
    blockFieldSuggestion: { enabled: false },
  }).protect();
  const apollo = new ApolloServer<Context>({
    schema,
    validationRules: [...armor.validationRules, KnownOperationTypesRule],
    parseOptions: { maxTokens: MAX_TOKENS },
    allowBatchedHttpRequests: false,
    // Stack traces carry file paths; they reach clients (through every gateway) only in development.
    includeStacktraceInErrorResponses: deps.development ?? false,
    // main.ts owns SIGTERM/SIGINT: Apollo's own handlers raced its shutdown and the process never exited.
    stopOnTerminationSignals: false,
    introspection: !deps.production,
    apollo: deps.graphos ?? undefined,
    plugins: [
      ...armor.plugins,
      // On stop: no new connections, idle ones closed, in-flight requests given SHUTDOWN_TIMEOUT_MS, then cut.
      ApolloServerPluginDrainHttpServer({ httpServer: http, stopGracePeriodMillis: deps.shutdownTimeoutMs ?? 10_000 }),
      telemetryPlugin<Context>(),
      // A subgraph reports usage through the router, from the traces it returns; it never reports on its own.
      ApolloServerPluginUsageReportingDisabled(),
      deps.graphos ? ApolloServerPluginInlineTrace({ includeErrors: { masked: true } }) : ApolloServerPluginInlineTraceDisabled(),
      // Scopes gate whole operations, before any resolver runs.
      {
        requestDidStart: async () => ({
          didResolveOperation: async ({ contextValue, operation, document }) =>
            requireScope(contextValue.caller, operation?.operation ?? 'query', operation ? rootFieldsOf(operation, document) : []),
        }),
      },
      requestGuard(schema, deps.limits ?? DEFAULT_REQUEST_LIMITS),
      // Production serves the gateway only: no Sandbox, no landing page.
      ...(deps.production ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
    formatError(formatted, error) {
      const original = unwrapResolverError(error);
      const status = original instanceof GraphQLError ? (original.extensions?.http as { status?: number } | undefined)?.status : undefined;
      let out = formatted;
      // A refusal of the request that Apollo raised without a code (a persisted query whose hash does not match) is
      // the client's mistake: keep its message, give it a code.
      if (status !== undefined && status >= 400 && status < 500 && (out.extensions?.code === 'INTERNAL_SERVER_ERROR' || out.extensions?.code === undefined)) {
        out = { ...out, extensions: { ...out.extensions, code: 'BAD_REQUEST' } };
      }
      // graphql-js stops coercing variables after 50 errors with an error of its own that names no variable.
      if (out.message.startsWith('Too many errors processing variables')) out = { ...out, extensions: { ...out.extensions, code: 'BAD_USER_INPUT' } };
      const code = out.extensions?.code;
      // Internal failures reach the caller as a code only; the detail goes to the log.
      if (code === 'INTERNAL_SERVER_ERROR' || code === undefined) {
        deps.logger.error({ err: original, path: formatted.path }, 'internal error');
        return { ...out, message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      }
      // graphql-js suggests names of fields, arguments, types and enum values ("Did you mean …?"): in production they
      // would describe the schema to someone who may not introspect it.
      if (deps.production && out.message.includes('Did you mean')) out = { ...out, message: withoutSuggestions(out.message) };
      // graphql-js quotes the value it refuses; a message must not grow with what a client sent.
      if (out.message.length > MAX_MESSAGE) out = { ...out, message: `${excerpt(out.message, MAX_MESSAGE)}…` };
      return out;
    },
    logger: deps.logger,
  });
  await apollo.start();
  // Every request's work, until it ends: stopping waits for it before the ledger may close.
  const inFlight = new Set<Promise<void>>();
  // Nothing a request does may reject unhandled: Node would end the process.
  http.on('request', (req, res) => {
    const work = handle(req, res)
      .catch((err) => {
        deps.logger.error({ err }, 'request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(INTERNAL);
      })
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A request target such as `//[` is no URL: the client's mistake (it ended the process when parsing threw).
    const url = URL.canParse(req.url ?? '/', 'http://localhost') ? new URL(req.url ?? '/', 'http://localhost') : null;
    if (!url) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"message":"The request target is not a valid URL path.","extensions":{"code":"BAD_REQUEST"}}]}');
      return;
    }
    // While draining, every answer ends its connection: a client's keep-alive must not hold the process open.
    if (phase === 'draining') res.setHeader('connection', 'close');
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    // Probes and scrapes come every few seconds: a trace each would be noise.
    if (url.pathname === '/ready') {
      await untraced(() => answerReady(res));
      return;
    }
    // Prometheus scrapes it directly, not through the router: guarded by its own token, if any.
    if (url.pathname === '/metrics') {
      await untraced(() => answerMetrics(req, res));
      return;
    }
    // Providers call this path, not the router: it is verified by the provider's signature instead.
    if (url.pathname.startsWith('/webhooks/')) {
      const slug = url.pathname.slice('/webhooks/'.length);
      await inRequestSpan(req.headers, `${req.method ?? 'POST'} /webhooks/{provider}`, serverAttributes(req, url, '/webhooks/{provider}'), async (span) => {
        await receiveWebhook(req, res, slug);
        answered(span, res);
      });
      return;
    }
    if (deps.routerSecret && !sameSecret(req.headers['router-authorization'], deps.routerSecret)) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"errors":[{"message":"This subgraph only answers its gateway: the router-authorization header is missing or wrong.","extensions":{"code":"UNAUTHENTICATED"}}]}');
      return;
    }
    if (url.pathname !== '/graphql' && url.pathname !== '/') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found; the GraphQL endpoint is /graphql"}');
      return;
    }
    // The HTTP server span, and inside it the operation's span (named by the telemetry plugin once it is known).
    await inRequestSpan(req.headers, `${req.method ?? 'POST'} /graphql`, serverAttributes(req, url, '/graphql'), async (span) => {
      await inSpan('graphql', {}, () => serveGraphql(req, res, url));
      answered(span, res);
    });
  }

  let ledgerCheck: Promise<boolean> | null = null;
  let ledgerFailures = 0;

  async function answerReady(res: ServerResponse): Promise<void> {
    const answer = (status: number, body: Record<string, unknown>) => void res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    if (phase !== 'ready') return answer(503, { status: phase });
    // Migrations ran before the server was made; what is left to know is whether the ledger answers now. One check
    // at a time, shared by concurrent probes; 503 only after two failed in a row, so that one slow answer under load
    // (PGlite's single connection, a busy pool) does not take a busy replica out of rotation.
    ledgerCheck ??= Promise.race([
      deps.db.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), READY_QUERY_TIMEOUT_MS).unref()),
    ]).finally(() => (ledgerCheck = null));
    const answers = await ledgerCheck;
    ledgerFailures = answers ? 0 : ledgerFailures + 1;
    if (ledgerFailures >= 2) return answer(503, { status: 'ledger_unavailable' });
    answer(200, { status: 'ready' });
  }

  async function answerMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'GET' }).end('{"error":"method_not_allowed"}');
      return;
    }
    if (deps.metricsToken && !sameSecret(bearerOf(req.headers.authorization), deps.metricsToken)) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end('{"error":"unauthorized","message":"GET /metrics needs Authorization: Bearer <METRICS_TOKEN>"}');
      return;
    }
    const text = await metrics.text();
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text);
  }

  async function serveGraphql(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      const body = await readBody(req);
      const headers = new HeaderMap();
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      const request: HTTPGraphQLRequest = { method: req.method?.toUpperCase() ?? 'GET', headers, search: url.search, body };
      const authorization = req.headers.authorization;
      const response = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest: request, context: async () => contextFor(await authenticate(authorization)) });
      for (const [k, v] of response.headers) res.setHeader(k, v);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === 'complete') {
        res.end(response.body.string);
        return;
      }
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    } catch (err) {
      if (err instanceof BodyError) {
        // The client's mistake, not ours: no error-level line, and the connection is kept only if the body was read.
        deps.logger.debug({ status: err.status, reason: err.message }, 'request refused');
        res.writeHead(err.status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: err.message, extensions: { code: 'BAD_REQUEST' } }] }));
        return;
      }
      if (clientWentAway(req, err)) {
        deps.logger.debug({ reason: (err as Error).message }, 'client closed the connection before the answer');
        return;
      }
      deps.logger.error({ err }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(INTERNAL);
    }
  }

  async function receiveWebhook(req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    const intake = deps.webhooks;
    if (!intake || !intake.accepts(slug)) {
      req.resume();
      webhookDeliveries.inc({ provider: 'unknown', result: 'not_found' });
      return answer(404, { error: 'not_found', message: 'no webhooks are configured at this path' });
    }
    if (req.method !== 'POST') {
      req.resume();
      webhookDeliveries.inc({ provider: slug.toLowerCase(), result: 'method_not_allowed' });
      return answer(405, { error: 'method_not_allowed', message: 'webhook deliveries are POSTed' }, { allow: 'POST' });
    }
    let raw: Buffer;
    try {
      raw = await readRaw(req, MAX_WEBHOOK_BYTES);
    } catch (err) {
      if (err instanceof BodyError) {
        webhookDeliveries.inc({ provider: slug.toLowerCase(), result: webhookResult(err.status, {}) });
        return answer(err.status, { error: 'bad_request', message: err.message });
      }
      throw err;
    }
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const result = await intake.receive(slug, raw, headers).catch((err: Error) => {
      // Not recorded: a 503 asks the provider to deliver it again later.
      deps.logger.error({ err, provider: slug }, 'webhook delivery could not be recorded');
      return { status: 503, body: { error: 'unavailable', message: 'the delivery could not be recorded; deliver it again later' } };
    });
    webhookDeliveries.inc({ provider: slug.toLowerCase(), result: webhookResult(result.status, result.body) });
    answer(result.status, result.body);
  }

  return {
    apollo,
    http,
    invoices,
    refresher,
    contextFor,
    metrics,
    listen: (port, host = '0.0.0.0') => listenOn(http, port, host),
    markReady: () => {
      if (phase === 'starting') phase = 'ready';
    },
    drain: () => {
      phase = 'draining';
    },
    stop: async () => {
      phase = 'draining';
      const deadline = Date.now() + (deps.shutdownTimeoutMs ?? 10_000);
      // Apollo's drain: no new connections, idle ones closed, in-flight requests until the deadline, then sockets cut.
      await apollo.stop();
      if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
      const answeredInTime = inFlight.size === 0 || Date.now() < deadline;
      if (inFlight.size > 0) {
        deps.logger.warn({ requests: inFlight.size }, 'requests still running at SHUTDOWN_TIMEOUT_MS: their connections were closed; waiting briefly for their work to reach the ledger');
        await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, CUT_WORK_GRACE_MS).unref())]);
      }
      await refresher.close();
      return answeredInTime && inFlight.size === 0;
    },
  };
}

/**
 * Listens on `port` (0: any free one), unless already listening; resolves with the GraphQL URL a client on this
 * machine uses. Called once per server.
 */
export function listenOn(http: Server, port: number, host = '0.0.0.0'): Promise<string> {
  const urlOf = () => {
    const addr = http.address();
    const actual = typeof addr === 'object' && addr ? addr.port : port;
    return `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${actual}/graphql`;
  };
  if (http.listening) return Promise.resolve(urlOf());
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve(urlOf());
    });
  });
}

/**
 * What a server answers before the service behind it is up: `/health` 200 (the process lives), `/ready` and
 * everything else 503 with `Retry-After: 1`. Removed once the app takes the server over.
 */
export function startingHandler(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const path = URL.canParse(req.url ?? '/', 'http://localhost') ? new URL(req.url ?? '/', 'http://localhost').pathname : '';
  if (path === '/health') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  if (path === '/ready') return void res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"status":"starting"}');
  res
    .writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' })
    .end('{"errors":[{"message":"The subgraph is starting; try again in a moment.","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}');
}

/** The HTTP server span's attributes (OpenTelemetry's HTTP conventions); never the query string. */
function serverAttributes(req: IncomingMessage, url: URL, route: string): Record<string, string> {
  return { 'http.request.method': req.method ?? '', 'http.route': route, 'url.path': url.pathname.slice(0, 200), 'url.scheme': 'http' };
}

/** Records the answer's status on the server span, failed on a 5xx as the conventions say. */
function answered(span: Span, res: ServerResponse): void {
  span.setAttribute('http.response.status_code', res.statusCode);
  if (res.statusCode >= 500) failedStatus(span, res.statusCode);
}

/**
 * After SHUTDOWN_TIMEOUT_MS cut a request's connection, how long its work may still run (a provider call answering,
 * the ledger write after it) before the ledger closes under it; what is still open then is the reconciler's.
 */
const CUT_WORK_GRACE_MS = 5_000;

/** How long `GET /ready` waits for the ledger's answer before it counts a failure: under a probe's usual 2 s timeout. */
const READY_QUERY_TIMEOUT_MS = 1_500;

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return m ? m[1]!.trim() : undefined;
}

/** The result label of a webhook answer, from a closed set. */
function webhookResult(status: number, body: Record<string, unknown>): string {
  if (status === 200) return body.duplicate ? 'duplicate' : body.ignored ? 'ignored' : 'received';
  return ({ 400: 'bad_request', 401: 'unauthorized', 404: 'not_found', 405: 'method_not_allowed', 413: 'too_large', 503: 'unavailable' } as Record<number, string>)[status] ?? 'other';
}

/** Removes graphql-js's "Did you mean …?" suggestions from a message. */
export function withoutSuggestions(message: string): string {
  return message.replace(/\s*Did you mean [^?]*\?/g, '');
}

/** Constant-time comparison, on hashes so that the lengths match and leak nothing. */
function sameSecret(presented: string | string[] | undefined, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parsing is cheap per byte but not per value: 14 MiB of `[[],[],…]` took a second to parse and two to walk. A 16 MiB
 * body may be one PDF in base64 (no comma, no bracket), but never needs more values than this; the largest real
 * request (1,000 representations) holds about 5,000.
 */
const MAX_JSON_VALUES = 250_000;

/** Whether the body holds at least `limit` commas and opening brackets (a bound on its JSON values), in one pass. */
function jsonValuesAtLeast(body: Buffer, limit: number): boolean {
  let n = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if ((b === 0x2c || b === 0x5b || b === 0x7b) && ++n >= limit) return true;
  }
  return false;
}

/** Refuses a body that is not UTF-8 instead of reading it with U+FFFD in place of the bad bytes (RFC 8259 §8.1). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The client aborted or reset the connection: nothing went wrong here, and nobody is left to answer. */
function clientWentAway(req: IncomingMessage, err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return req.destroyed || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error | null)?.message === 'aborted';
}

/** The raw body, up to `limit` bytes (413 beyond, before reading it when the length is declared). */
async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyError(413, `request body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyError(413, `request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads a request body up to MAX_BODY_BYTES; JSON bodies are parsed, anything else is passed on as text. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  const body = await readRaw(req, MAX_BODY_BYTES);
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new BodyError(400, 'request body is not valid UTF-8');
  }
  if (!(req.headers['content-type'] ?? '').includes('json')) return text;
  if (jsonValuesAtLeast(body, MAX_JSON_VALUES)) throw new BodyError(400, `request body holds more than ${MAX_JSON_VALUES} JSON values`);
  try {
    return text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    throw new BodyError(400, 'request body is not valid JSON');
  }
}
