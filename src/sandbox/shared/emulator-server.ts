import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';

/**
 * A small HTTP server for provider emulators: a router, JSON and raw bodies, a request log and fault injection.
 * Provider-agnostic: each emulator supplies its routes, middleware (auth, rate limits) and error shapes.
 */

export type Query = Record<string, string | string[]>;

export interface EmulatorRequest {
  readonly method: string;
  /** The pathname as sent (percent-encoding kept), without the query string. */
  readonly path: string;
  /** Values of the route's `:params`, URI-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The query string; a repeated name gives an array. */
  readonly query: Query;
  /** Lower-cased names, as node gives them. */
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  /** The parsed JSON body; undefined when the body is empty, not JSON or malformed (then `jsonError` is set). */
  readonly body: unknown;
  readonly jsonError?: Error;
  /** Scratch space that middleware fills for the handlers (e.g. the authenticated account). */
  readonly locals: Record<string, unknown>;
  /** One header's value; the first one when it was sent several times. */
  header(name: string): string | undefined;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string | number | readonly string[]>;
  /** A Buffer or string is sent as it is; any other defined value as JSON; undefined sends no body. */
  body?: unknown;
}

export type RouteHandler = (req: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;

/** Wraps everything after it: call `next()` to go on, or return a response of its own to stop here. */
export type Middleware = (req: EmulatorRequest, next: () => Promise<EmulatorResponse>) => EmulatorResponse | Promise<EmulatorResponse>;

/** The provider's own shapes for the framework's failures. Each has a generic default. */
export interface EmulatorHooks {
  /** No route has this method and path. Runs inside the middleware, so an emulator's auth and headers apply. */
  notFound?(req: EmulatorRequest): EmulatorResponse | Promise<EmulatorResponse>;
  /**
   * A JSON content type with a body that does not parse. Return a response to send it, or undefined to run the
   * route's handler with `body` undefined (what frameworks that ignore a malformed body do).
   */
  badJson?(req: EmulatorRequest, error: Error): EmulatorResponse | undefined | Promise<EmulatorResponse | undefined>;
  /** A handler threw. The server keeps running. */
  internalError?(req: EmulatorRequest, error: unknown): EmulatorResponse;
}

export interface EmulatorServerOptions extends EmulatorHooks {
  /** Larger request bodies are refused with 413 before any handler runs. Default 20 MiB. */
  maxBodyBytes?: number;
}

/** A failure to stage for the next matching request(s), applied before middleware and handlers. */
export interface Fault {
  method?: string;
  /** A string matches that path and everything below it (`/a` matches `/a` and `/a/b`, not `/ab`). */
  path?: string | RegExp;
  /** Default 500 when the fault answers (it has headers or a body, or `afterHandler`). */
  status?: number;
  headers?: Record<string, string | number | readonly string[]>;
  /** A string is sent raw; anything else as JSON. */
  body?: unknown;
  /** Wait this long first. A fault with only a delay then runs the real handler. */
  delayMs?: number;
  /** Destroy the socket instead of answering: the client sees a connection reset. */
  reset?: boolean;
  /**
   * Run the middleware and handler first, then discard their answer and apply the fault: the provider acted
   * but its answer was lost on the way back (the case that makes a client's retry dangerous).
   */
  afterHandler?: boolean;
  /**
   * Send the status line, headers and the first half of the body (the fault's, or with `afterHandler` the real
   * answer), then cut the connection: the client sees a truncated body.
   */
  truncate?: boolean;
  /** How many matching requests it applies to; default 1, Infinity for all. */
  times?: number;
}

/**
 * Picks a fault (or none) for each request that no staged fault matches: the chaos run's source of random
 * failures. Called once per request, before any handler.
 */
export type ChaosPicker = (method: string, path: string) => Fault | undefined;

export interface RecordedCall {
  method: string;
  path: string;
  query: Query;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, else the raw bytes, else undefined for an empty body. */
  body: unknown;
  /** The status sent, or 0 when the socket was reset or closed before an answer. */
  status: number;
  at: Date;
}

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
}

interface StagedFault extends Fault {
  remaining: number;
}

const DEFAULT_MAX_BODY = 20 * 1024 * 1024;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

class BodyTooLargeError extends Error {}

export class EmulatorServer {
  /** Every request answered (or reset) since the last `resetCalls()`, in the order they finished. */
  readonly calls: RecordedCall[] = [];

  private readonly routes: Route[] = [];
  private readonly controlRoutes: Route[] = [];
  private readonly middleware: Middleware[] = [];
  private faults: StagedFault[] = [];
  private readonly maxBodyBytes: number;
  private readonly hooks: EmulatorHooks;
  private server?: Server;
  private origin?: string;
  /** Pending fault delays, so that `stop()` does not wait for them. */
  private readonly sleepers = new Set<() => void>();

  constructor(options: EmulatorServerOptions = {}) {
    const { maxBodyBytes, ...hooks } = options;
    this.maxBodyBytes = maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.hooks = hooks;
  }

  /** Registers a handler for a method and a path pattern such as `/orders/:orderId/invoices`. First match wins. */
  route(method: string, pattern: string, handler: RouteHandler): this {
    this.routes.push({ method: method.toUpperCase(), segments: splitPath(pattern), handler });
    return this;
  }

  get(pattern: string, handler: RouteHandler): this {
    return this.route('GET', pattern, handler);
  }

  post(pattern: string, handler: RouteHandler): this {
    return this.route('POST', pattern, handler);
  }

  put(pattern: string, handler: RouteHandler): this {
    return this.route('PUT', pattern, handler);
  }

  patch(pattern: string, handler: RouteHandler): this {
    return this.route('PATCH', pattern, handler);
  }

  delete(pattern: string, handler: RouteHandler): this {
    return this.route('DELETE', pattern, handler);
  }

  /**
   * Registers a route outside the emulated API (the sandbox's own controls, e.g. `/_sandbox/...`): it runs before
   * staged faults, chaos and middleware (no provider auth, no rate limit) and is not logged in `calls`, so that
   * tests counting the provider's calls are not disturbed by the setup they do. First match wins.
   */
  control(method: string, pattern: string, handler: RouteHandler): this {
    this.controlRoutes.push({ method: method.toUpperCase(), segments: splitPath(pattern), handler });
    return this;
  }

  /** Adds middleware around routing; the first added is the outermost. */
  use(middleware: Middleware): this {
    this.middleware.push(middleware);
    return this;
  }

  /** Listens on a loopback port (0: any free one) and resolves to the origin, e.g. `http://127.0.0.1:41234`. */
  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error(`emulator already listening at ${this.origin}`);
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    this.server = server;
    this.origin = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${address.port}`;
    return this.origin;
  }

  /** Closes the listener and every open connection, keep-alive ones included; pending fault delays end at once. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.origin = undefined;
    for (const wake of [...this.sleepers]) wake();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** The origin while listening. */
  get url(): string {
    if (!this.origin) throw new Error('emulator is not listening; call start() first');
    return this.origin;
  }

  injectFault(fault: Fault): this {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
    return this;
  }

  /** Clears staged faults and any chaos picker. */
  clearFaults(): void {
    this.faults = [];
    this.chaos = null;
  }

  /** Consults `pick` for every request no staged fault matches, until cleared (null or clearFaults). */
  setChaos(pick: ChaosPicker | null): this {
    this.chaos = pick;
    return this;
  }

  private chaos: ChaosPicker | null = null;

  resetCalls(): void {
    this.calls.length = 0;
    this.generation++;
  }

  /** Calls with this method (any when omitted) whose path is under the prefix or matches the RegExp. */
  countCalls(method?: string, pathPrefixOrRegex?: string | RegExp): number {
    const m = method?.toUpperCase();
    return this.calls.filter((c) => (!m || c.method === m) && pathMatches(c.path, pathPrefixOrRegex)).length;
  }

  /** Bumped by resetCalls(), so that requests begun before a reset are not logged after it. */
  private generation = 0;

  private async handle(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = new Date();
    // A client that goes away mid-answer must not take the process down.
    res.on('error', () => undefined);
    raw.on('error', () => undefined);

    const url = new URL(raw.url ?? '/', 'http://emulator.invalid');
    const method = (raw.method ?? 'GET').toUpperCase();
    // A request still held (a delay fault) when the log is reset belongs to the test before: it is not logged.
    const generation = this.generation;
    const record = (status: number, body: unknown): void => {
      if (generation !== this.generation) return;
      this.calls.push({ method, path: url.pathname, query: toQuery(url.searchParams), headers: raw.headers, body, status, at });
    };

    let rawBody: Buffer;
    try {
      rawBody = await readBody(raw, this.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        // The rest of the body is not read, so the connection cannot be reused.
        const tooLarge = { status: 413, headers: { connection: 'close' }, body: { error: 'payload too large', limitBytes: this.maxBodyBytes } };
        record(413, undefined);
        send(res, tooLarge);
      } else {
        record(0, undefined);
        raw.socket.destroy();
      }
      return;
    }

    const req = buildRequest(method, url, raw.headers, rawBody);
    const recordedBody = req.body !== undefined ? req.body : rawBody.length > 0 ? rawBody : undefined;

    const control = this.matchControl(req);
    if (control) {
      let answer: EmulatorResponse;
      try {
        answer = await control(req);
      } catch (err) {
        answer = { status: 500, body: { error: 'emulator internal error', message: err instanceof Error ? err.message : String(err) } };
      }
      if (!res.destroyed) send(res, answer);
      return;
    }

    let response: EmulatorResponse;
    try {
      const fault = this.takeFault(method, url.pathname);
      if (fault?.delayMs) await this.sleep(fault.delayMs);
      if (res.destroyed || !this.server) {
        record(0, recordedBody);
        return;
      }
      const answers = fault !== undefined && (fault.status !== undefined || fault.body !== undefined || fault.headers !== undefined);
      if (fault?.truncate) {
        response = fault.afterHandler ? await this.runChain(req) : { status: fault.status ?? 200, headers: fault.headers, body: fault.body ?? {} };
        record(0, recordedBody);
        send(res, response, true);
        return;
      }
      if (!fault || (!fault.afterHandler && !fault.reset && !answers)) {
        response = await this.runChain(req);
      } else {
        if (fault.afterHandler) await this.runChain(req).catch(() => undefined);
        if (fault.reset || res.destroyed) {
          record(0, recordedBody);
          raw.socket.destroy();
          return;
        }
        response = answers ? { status: fault.status ?? 500, headers: fault.headers, body: fault.body } : { status: 500 };
      }
    } catch (err) {
      response = this.internalError(req, err);
    }
    if (res.destroyed) {
      record(0, recordedBody);
      return;
    }
    // Recorded before the bytes leave, so a client that has its answer always finds the call in the log.
    record(response.status, recordedBody);
    send(res, response);
  }

  /** The handler of the control route this request names, with its params filled in, if any. */
  private matchControl(req: EmulatorRequest): RouteHandler | undefined {
    const segments = splitPath(req.path);
    for (const route of this.controlRoutes) {
      if (route.method !== req.method) continue;
      const params = matchRoute(route.segments, segments);
      if (!params) continue;
      Object.assign(req.params as Record<string, string>, params);
      return route.handler;
    }
    return undefined;
  }

  private runChain(req: EmulatorRequest): Promise<EmulatorResponse> {
    const dispatch = (i: number): Promise<EmulatorResponse> => {
      const mw = this.middleware[i];
      if (!mw) return this.dispatch(req);
      return Promise.resolve(mw(req, () => dispatch(i + 1)));
    };
    return dispatch(0);
  }

  private async dispatch(req: EmulatorRequest): Promise<EmulatorResponse> {
    const segments = splitPath(req.path);
    for (const route of this.routes) {
      if (route.method !== req.method) continue;
      const params = matchRoute(route.segments, segments);
      if (!params) continue;
      Object.assign(req.params as Record<string, string>, params);
      if (req.jsonError) {
        const answer = this.hooks.badJson
          ? await this.hooks.badJson(req, req.jsonError)
          : { status: 400, body: { error: 'malformed JSON body', message: req.jsonError.message } };
        if (answer) return answer;
      }
      return route.handler(req);
    }
    return this.hooks.notFound ? this.hooks.notFound(req) : { status: 404, body: { error: 'not found', method: req.method, path: req.path } };
  }

  private internalError(req: EmulatorRequest, err: unknown): EmulatorResponse {
    if (this.hooks.internalError) {
      try {
        return this.hooks.internalError(req, err);
      } catch {
        // fall through to the generic answer
      }
    }
    return { status: 500, body: { error: 'emulator internal error', message: err instanceof Error ? err.message : String(err) } };
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const fault = this.faults.find((f) => (!f.method || f.method.toUpperCase() === method) && pathMatches(path, f.path));
    if (!fault) return this.chaos?.(method, path);
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

export interface MultipartFile {
  field: string;
  filename: string;
  mimeType: string;
  data: Buffer;
  /** The file was longer than the `fileSize` limit and `data` holds only its beginning. */
  truncated: boolean;
}

export interface MultipartForm {
  /** Text parts; a repeated name keeps the last value. */
  fields: Record<string, string>;
  /** File parts by field name; a repeated name keeps the last file. */
  files: Record<string, MultipartFile>;
}

/** Parses a `multipart/form-data` body already read into `rawBody`. Rejects on a malformed body. */
export function parseMultipart(req: EmulatorRequest, limits: { fileSize?: number } = {}): Promise<MultipartForm> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: limits.fileSize } });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const form: MultipartForm = { fields: {}, files: {} };
    parser.on('field', (name, value) => {
      form.fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        form.files[name] = {
          field: name,
          filename: info.filename ?? '',
          mimeType: info.mimeType,
          data: Buffer.concat(chunks),
          truncated: stream.truncated === true,
        };
      });
    });
    parser.on('error', (err) => reject(err instanceof Error ? err : new Error(String(err))));
    parser.on('close', () => resolve(form));
    parser.end(req.rawBody);
  });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('aborted', () => reject(new Error('request aborted')));
    req.once('error', reject);
  });
}

function buildRequest(method: string, url: URL, headers: IncomingHttpHeaders, rawBody: Buffer): EmulatorRequest {
  const contentType = headerValue(headers, 'content-type') ?? '';
  let body: unknown;
  let jsonError: Error | undefined;
  if (rawBody.length > 0 && (JSON_TYPE.test(contentType) || contentType === '')) {
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch (err) {
      // Without a content type the body may be anything; only a declared JSON body is "malformed".
      if (contentType !== '') jsonError = err instanceof Error ? err : new Error(String(err));
    }
  }
  return {
    method,
    path: url.pathname,
    params: {},
    query: toQuery(url.searchParams),
    headers,
    rawBody,
    body,
    jsonError,
    locals: {},
    header: (name) => headerValue(headers, name),
  };
}

function send(res: ServerResponse, response: EmulatorResponse, truncate = false): void {
  let payload: Buffer | undefined;
  let contentType: string | undefined;
  const { body } = response;
  if (Buffer.isBuffer(body)) {
    payload = body;
    contentType = 'application/octet-stream';
  } else if (typeof body === 'string') {
    payload = Buffer.from(body, 'utf8');
    contentType = 'text/plain; charset=utf-8';
  } else if (body !== undefined) {
    payload = Buffer.from(JSON.stringify(body), 'utf8');
    contentType = 'application/json; charset=utf-8';
  }
  res.statusCode = response.status;
  if (contentType) res.setHeader('Content-Type', contentType);
  for (const [name, value] of Object.entries(response.headers ?? {})) {
    res.setHeader(name, typeof value === 'number' ? String(value) : (value as string | string[]));
  }
  // An explicit length keeps the connection reusable (no chunked framing to finish).
  res.setHeader('Content-Length', payload?.length ?? 0);
  if (truncate) {
    // The full length is announced, half is sent, and the socket is cut: the client's body read fails. An empty
    // body has no half to send, so its connection is cut before the headers, as a reset.
    if (!payload || payload.length < 2) {
      res.socket?.destroy();
      return;
    }
    res.write(payload.subarray(0, Math.floor(payload.length / 2)), () => res.socket?.destroy());
    return;
  }
  res.end(payload);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function toQuery(params: URLSearchParams): Query {
  const query: Query = {};
  for (const [key, value] of params) {
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchRoute(pattern: string[], path: string[]): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = path[i]!;
    if (want.startsWith(':')) {
      try {
        params[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return undefined; // malformed percent-encoding: no route can mean it
      }
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}

function pathMatches(path: string, filter: string | RegExp | undefined): boolean {
  if (filter === undefined) return true;
  if (filter instanceof RegExp) {
    filter.lastIndex = 0;
    return filter.test(path);
  }
  const prefix = filter.endsWith('/') ? filter.slice(0, -1) : filter;
  return path === prefix || path.startsWith(`${prefix}/`) || prefix === '';
}
