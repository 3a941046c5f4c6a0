import { stringify as losslessStringify } from 'lossless-json';
import { Agent, request, FormData, type Dispatcher } from 'undici';
import { storable, unstorableText } from '../../domain/text';
import { providerRequestDuration, statusClass } from '../../telemetry/metrics';
import { failedStatus, inSpan, routeTemplate, SpanKind } from '../../telemetry/tracing';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  /** Parsed JSON when the body is JSON, else undefined. */
  json: unknown;
  text: string;
}

export type TransportFailure = 'timeout' | 'unreachable' | 'reset' | 'malformed';

/** The request never produced a readable HTTP response: the provider may or may not have acted. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: TransportFailure,
    message: string,
    /** Set when the status line arrived but the body could not be read or parsed. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface HttpClientOptions {
  baseUrl: string;
  /** Sent with every request (auth, language). Never logged. */
  headers: () => Record<string, string> | Promise<Record<string, string>>;
  /** Per request: time to response headers and between body chunks. */
  timeoutMs?: number;
  /**
   * Per request, from start to the last body byte: bounds an answer that trickles in under `timeoutMs` per chunk.
   * Default three times `timeoutMs`.
   */
  totalTimeoutMs?: number;
  dispatcher?: Dispatcher;
  /** The provider's code, for the request's span and metrics (`unknown` when unset). */
  provider?: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  /** Serialised by `toJsonText`: a LosslessNumber goes out as a JSON number with its exact text. */
  json?: unknown;
  form?: FormData;
  /** Sent as application/x-www-form-urlencoded (OAuth token requests, RFC 6749 §4.1.3 and §6). */
  urlencoded?: Record<string, string>;
  headers?: Record<string, string>;
}

/**
 * The literal segments of the five providers' API paths (their documented routes, as the emulators serve them):
 * every other segment of a request path is an id in its span name and metric label, so that no id, including one a
 * client chose, becomes a series of its own.
 */
export const API_PATH_WORDS: ReadonlySet<string> = new Set([
  // Salla, Exsited, Commerce
  'admin', 'api', 'orders', 'invoices', 'pdf', 'payments', 'me',
  // Salesforce
  'services', 'data', 'query', 'sobjects', 'describe', 'composite', 'commerce', 'fulfillment', 'fulfillment-orders', 'actions', 'create-invoice', 'create-multiple-invoices',
  'Invoice', 'InvoiceLine', 'Organization', 'OrderSummary', 'FulfillmentOrder',
  // Zuora
  'object-query', 'order-line-items', 'fulfillments', 'invoice-items', 'credit-memo-items', 'credit-memos', 'creditmemos', 'taxation-items', 'files', 'items',
  // token endpoints
  'oauth', 'oauth2', 'token',
]);

/** One pooled keep-alive agent for all providers: sockets are reused across requests. */
const sharedAgent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

/**
 * A thin typed wrapper over undici's `request`: JSON in and out, timeouts, and every transport failure as a
 * TransportError. It does not retry and does not judge statuses: each provider's data source does that.
 */
export class HttpClient {
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: HttpClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** One exchange (never retried here), in a client span and timed by provider, method, route template and outcome. */
  async request(method: Dispatcher.HttpMethod, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const url = new URL(this.base + path);
    const route = routeTemplate(url.pathname, API_PATH_WORDS);
    const provider = this.options.provider ?? 'unknown';
    const started = performance.now();
    let outcome = 'error';
    try {
      return await inSpan(
        `${method} ${route}`,
        { 'http.request.method': method, 'url.template': route, 'server.address': url.hostname, 'invoicing.provider': provider },
        async (span) => {
          const res = await this.exchange(method, url, opts);
          outcome = statusClass(res.status);
          span.setAttribute('http.response.status_code', res.status);
          if (res.status >= 400) failedStatus(span, res.status);
          return res;
        },
        SpanKind.CLIENT,
      );
    } catch (err) {
      if (err instanceof TransportError) outcome = err.kind;
      throw err;
    } finally {
      providerRequestDuration.observe({ provider, method, route, outcome }, (performance.now() - started) / 1000);
    }
  }

  private async exchange(method: Dispatcher.HttpMethod, url: URL, opts: RequestOptions): Promise<HttpResponse> {
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...(await this.options.headers()), ...opts.headers };
    let body: string | FormData | undefined;
    if (opts.json !== undefined) {
      body = toJsonText(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.form) {
      body = opts.form;
    } else if (opts.urlencoded) {
      body = new URLSearchParams(opts.urlencoded).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }

    const signal = AbortSignal.timeout(this.options.totalTimeoutMs ?? this.timeoutMs * 3);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        headers,
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal,
        dispatcher: this.options.dispatcher ?? sharedAgent,
      });
    } catch (err) {
      throw toTransportError(signal.aborted ? signal.reason : err);
    }

    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw toTransportError(signal.aborted ? signal.reason : err, res.statusCode);
    }
    // A provider's words reach the ledger (an error's message is kept with the attempt): keep them storable.
    if (unstorableText(text)) text = storable(text);
    const headersOut: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) headersOut[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;

    let json: unknown;
    const type = headersOut['content-type'] ?? '';
    if (text.length > 0 && (type.includes('json') || /^\s*[[{]/.test(text))) {
      try {
        json = JSON.parse(text, storableText);
      } catch {
        throw new TransportError('malformed', `unparseable JSON body (HTTP ${res.statusCode})`, res.statusCode);
      }
    }
    return { status: res.statusCode, headers: headersOut, json, text };
  }
}

/**
 * One form-encoded POST to a whole URL (an OAuth token endpoint, RFC 6749 §4.4 and §6) with the deadlines of every
 * other provider request. Called once per token renewal; transport failures are TransportErrors for the caller to map.
 */
export function postForm(url: string, form: Record<string, string>, timeoutMs: number, provider?: string): Promise<HttpResponse> {
  return new HttpClient({ baseUrl: url, timeoutMs, headers: () => ({}), provider }).request('POST', '', { urlencoded: form });
}

/**
 * The JSON text of a request body, called once per request with a `json` body; one walk of the value, like
 * JSON.stringify, whose output it equals for ordinary values. A LosslessNumber (lossless-json) is written as its own
 * text, so an exact decimal can go out as a JSON number without passing through a float.
 */
export function toJsonText(value: unknown): string | undefined {
  return losslessStringify(value);
}

/**
 * A provider's text is stored in the ledger and answered to clients: U+0000 cannot be stored in PostgreSQL, and a
 * lone surrogate has no UTF-8 form. Both become U+FFFD, as a UTF-8 decoder shows a bad byte, rather than failing the
 * write of an invoice the provider did create. Called by JSON.parse for every value of an answer.
 */
function storableText(_key: string, value: unknown): unknown {
  return typeof value === 'string' && unstorableText(value) ? storable(value) : value;
}

function toTransportError(err: unknown, status?: number): TransportError {
  const e = err as { code?: string; name?: string; message?: string };
  const code = e?.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || e?.name === 'TimeoutError') {
    return new TransportError('timeout', `timed out (${e?.name === 'TimeoutError' ? 'total deadline' : code || e?.name})`, status);
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new TransportError('unreachable', `unreachable (${code})`, status);
  }
  return new TransportError('reset', `connection failed (${code || e?.message || 'unknown'})`, status);
}

export { FormData };

/** Reads a `Retry-After` header (seconds or HTTP date) as whole seconds, or null. */
export function retryAfterSeconds(value: string | undefined, now: Date = new Date()): number | null {
  if (!value) return null;
  const n = Number(value);
  if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
