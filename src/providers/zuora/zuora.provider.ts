import { createHash } from 'node:crypto';
import { request } from 'undici';
import type { z } from 'zod';
import { ProviderError } from '../../domain/errors';
import type { InvoiceDetails, ProviderInvoiceRef } from '../../domain/invoice';
import { formatAmount } from '../../domain/money';
import type { CreateContext, InvoiceProvider } from '../provider';
import { HttpClient, TransportError, type HttpResponse, type RequestOptions } from '../shared/http-client';
import { ProviderResilience, type ResilienceOptions } from '../shared/resilience';
import { sharedAs, TokenSource, withTokenRetry, type ClientCredentials, type IssuedToken, type SharedTokenStore } from '../shared/token-source';
import { idempotencyWindowPassed, mapZuoraFailure, type ZuoraOperation } from './zuora.errors';
import type { ZuoraCreateInput } from './zuora.input';
import { creditMemoDetails, documentKeyOf, invoiceDetails, orderIdOfLineItem, orderLineItemIdOf, type ZuoraDocumentKey } from './zuora.mapper';
import { validateZuoraInput } from './zuora.rules';
import {
  zuoraCreateResponse,
  zuoraCreditMemo,
  zuoraCreditMemoItems,
  zuoraInvoice,
  zuoraInvoiceItems,
  zuoraOrderLineItem,
  zuoraToken,
  type ZuoraCreateResponse,
  type ZuoraCreditMemo,
  type ZuoraCreditMemoItem,
  type ZuoraInvoice,
  type ZuoraInvoiceItem,
} from './zuora.wire';

export interface ZuoraConfig {
  /** e.g. https://rest.zuora.com or https://rest.apisandbox.zuora.com, or the sandbox emulator's base. */
  baseUrl: string;
  /** An OAuth client (tokens are fetched, shared and refreshed here), or a token obtained elsewhere (never refreshed). */
  credentials: ClientCredentials;
  timeoutMs?: number;
  /** Concurrent reads; Zuora also limits concurrent requests per tenant. */
  readConcurrency?: number;
  /** The clock for token expiry and `overdue`; default the system clock. */
  now?: () => Date;
  /** Breaker, retry and rate-limit settings other than the defaults (see ProviderResilience). */
  resilience?: Omit<ResilienceOptions, 'provider'>;
  /** Where replicas share the token, so that each process does not hold (and refresh) its own. */
  sharedTokens?: SharedTokenStore;
}

/** The minor version whose credit memo items carry `taxationItems` (older ones name them `creditTaxItems`). */
const ZUORA_VERSION = '239.0';
/** Zuora pages document items by at most 40. */
const ITEMS_PAGE_SIZE = 40;
/** Zuora keeps an Idempotency-Key's answer for 24 hours; keys are at most 255 characters. */
const MAX_IDEMPOTENCY_KEY = 255;
/** Resends stop an hour short of Zuora's 24 h, for clock skew between us and Zuora and a request in flight. */
const RESEND_WINDOW_MS = 23 * 60 * 60 * 1000;

interface ReadDocument {
  key: ZuoraDocumentKey;
  document: ZuoraInvoice | ZuoraCreditMemo;
  items: Array<ZuoraInvoiceItem | ZuoraCreditMemoItem>;
}

/**
 * Zuora's v1 API as an InvoiceProvider. Create is POST /v1/fulfillments with billing: one call may bill several
 * invoices (one per account) and credit memos (for returns); each is read back (document + items) and its order found
 * through its first order line item. The Idempotency-Key makes the POST safe to repeat: Zuora answers a key it has
 * seen with the stored response for 24 hours, so a create whose answer was lost is sent again with the same key, and
 * findCreated asks Zuora for that stored answer the same way.
 */
export class ZuoraProvider implements InvoiceProvider<ZuoraCreateInput> {
  readonly code = 'ZUORA' as const;
  readonly lookupWindowMs = RESEND_WINDOW_MS;
  private readonly http: HttpClient;
  private readonly tokens: TokenSource;
  private readonly resilience: ProviderResilience;
  private readonly now: () => Date;

  constructor(config: ZuoraConfig) {
    const timeoutMs = config.timeoutMs ?? 10_000;
    this.now = config.now ?? (() => new Date());
    this.http = new HttpClient({ baseUrl: config.baseUrl, timeoutMs, headers: () => ({ 'zuora-version': ZUORA_VERSION }) });
    const { credentials } = config;
    this.tokens =
      'accessToken' in credentials
        ? TokenSource.fixed(credentials.accessToken)
        : new TokenSource({
            issue: () => issueToken(config.baseUrl, credentials, timeoutMs),
            now: () => this.now().getTime(),
            shared: sharedAs(config.sharedTokens, this.code, config.baseUrl, credentials),
          });
    // Zuora's 429 carries RateLimit-Reset (seconds), so the default cool-down rarely applies.
    this.resilience = new ProviderResilience({ provider: 'Zuora', readConcurrency: config.readConcurrency, ...config.resilience });
  }

  validate(input: ZuoraCreateInput) {
    return validateZuoraInput(input);
  }

  orderIdOf(input: ZuoraCreateInput): string {
    return input.fulfillments[0]?.orderLineItemId ?? '';
  }

  async create(input: ZuoraCreateInput, ctx: CreateContext): Promise<InvoiceDetails[]> {
    const created = await this.post(input, ctx);
    // The documents exist from here on: a failed read must not look like a refused create.
    try {
      return await this.readCreated(created, input);
    } catch (err) {
      if (err instanceof ProviderError) throw new ProviderError(err.userErrors, 'indeterminate', `created ${createdNumbers(created)}, read failed: ${err.cause_}`);
      throw err;
    }
  }

  /**
   * Sends the attempt's POST again with its Idempotency-Key: Zuora answers the stored response when the attempt
   * reached it (so nothing is created twice) and performs it now when it did not, which is the one create the attempt
   * was for. Zuora's refusal (stored or new) proves nothing was created: []; a refused token proves nothing. Keys
   * live 24 hours at Zuora, so an older attempt is not resent: it stays open, for a person to settle in Zuora.
   */
  async findCreated(input: ZuoraCreateInput, ctx: CreateContext): Promise<InvoiceDetails[]> {
    if (ctx.attemptStartedAt && this.now().getTime() - ctx.attemptStartedAt.getTime() > RESEND_WINDOW_MS) throw idempotencyWindowPassed(ctx.attemptStartedAt);
    let created: ZuoraCreateResponse;
    try {
      created = await this.post(input, ctx);
    } catch (err) {
      if (err instanceof ProviderError && err.disposition === 'final' && !err.userErrors.some((e) => e.code === 'PROVIDER_UNAUTHORIZED')) return [];
      throw err;
    }
    return this.readCreated(created, input);
  }

  async loadDetails(refs: readonly ProviderInvoiceRef[]): Promise<Array<InvoiceDetails | Error>> {
    // No batch read at Zuora: one document read and one items read per distinct document, `readConcurrency` at once.
    const reads = new Map<string, Promise<InvoiceDetails>>();
    for (const ref of refs) {
      if (!reads.has(ref.providerInvoiceId)) reads.set(ref.providerInvoiceId, this.readDocument(documentKeyOf(ref.providerInvoiceId)).then((doc) => this.toDetails(doc, ref.orderId)));
    }
    return Promise.all(refs.map((ref) => reads.get(ref.providerInvoiceId)!.catch((err: Error) => err)));
  }

  private post(input: ZuoraCreateInput, ctx: CreateContext): Promise<ZuoraCreateResponse> {
    const key = ctx.idempotencyKey.length <= MAX_IDEMPOTENCY_KEY ? ctx.idempotencyKey : sha256(ctx.idempotencyKey);
    // The same track id on every try of an attempt ties them together in Zuora's logs (<= 64 ASCII, no :;"').
    const headers = { 'idempotency-key': key, 'zuora-track-id': `invoicing-${sha256(ctx.idempotencyKey).slice(0, 32)}` };
    // Repeatable: a repeat with the same Idempotency-Key gets Zuora's stored answer (or 409 while the first runs),
    // so a lost answer or a 5xx is sent once more at once instead of leaving the attempt unknown.
    return this.resilience.write(
      async () => {
        const res = await this.call('create', 'POST', '/v1/fulfillments', { json: toRequestBody(input), headers }, input);
        const parsed = zuoraCreateResponse.safeParse(res.json);
        if (!parsed.success) throw mapZuoraFailure(res, 'create', input);
        return parsed.data;
      },
      { repeatable: true },
    );
  }

  /** Every document the create billed, read back; each one's order is the order of its first order line item. */
  private async readCreated(created: ZuoraCreateResponse, input: ZuoraCreateInput): Promise<InvoiceDetails[]> {
    const keys: ZuoraDocumentKey[] = [
      ...(created.invoiceNumbers ?? []).map((id) => ({ kind: 'invoice' as const, id })),
      ...(created.creditMemoNumbers ?? []).map((id) => ({ kind: 'creditMemo' as const, id })),
    ];
    const docs = await settled(keys.map((key) => this.readDocument(key)));
    const lineItemOf = (doc: ReadDocument) => doc.items.map(orderLineItemIdOf).find((id) => id !== null) ?? this.orderIdOf(input);
    const lineItems = [...new Set(docs.map(lineItemOf))];
    const orders = new Map(await settled(lineItems.map(async (id) => [id, await this.orderOfLineItem(id)] as const)));
    return docs.map((doc) => this.toDetails(doc, orders.get(lineItemOf(doc))!));
  }

  private toDetails(doc: ReadDocument, orderId: string): InvoiceDetails {
    return doc.key.kind === 'invoice'
      ? invoiceDetails(doc.document as ZuoraInvoice, doc.items as ZuoraInvoiceItem[], orderId, this.now().toISOString().slice(0, 10))
      : creditMemoDetails(doc.document as ZuoraCreditMemo, doc.items as ZuoraCreditMemoItem[], orderId);
  }

  /** A document (by id or number) and all its items: two reads, more only past 40 items. */
  private async readDocument(key: ZuoraDocumentKey): Promise<ReadDocument> {
    const path = `/v1/${key.kind === 'invoice' ? 'invoices' : 'creditmemos'}/${encodeURIComponent(key.id)}`;
    const [document, items] = await settled<[ZuoraInvoice | ZuoraCreditMemo, Array<ZuoraInvoiceItem | ZuoraCreditMemoItem>]>([
      key.kind === 'invoice' ? this.read(path, zuoraInvoice) : this.read(path, zuoraCreditMemo),
      key.kind === 'invoice'
        ? this.readPages(`${path}/items`, zuoraInvoiceItems, (page) => page.invoiceItems)
        : this.readPages(`${path}/items`, zuoraCreditMemoItems, (page) => page.items),
    ]);
    return { key, document, items };
  }

  private async orderOfLineItem(orderLineItemId: string): Promise<string> {
    const res = await this.read(`/v1/order-line-items/${encodeURIComponent(orderLineItemId)}`, zuoraOrderLineItem);
    return orderIdOfLineItem(res.orderLineItem);
  }

  private async readPages<P extends { nextPage?: string | null }, T>(path: string, schema: z.ZodType<P>, itemsOf: (page: P) => T[]): Promise<T[]> {
    const all: T[] = [];
    // Zuora's nextPage is a URL of its own; the page number is all that is needed from it.
    for (let page = 1; ; page++) {
      const body = await this.read(path, schema, { page, pageSize: ITEMS_PAGE_SIZE });
      all.push(...itemsOf(body));
      if (!body.nextPage) return all;
    }
  }

  /** One GET, retried on transient failures, parsed into the expected success shape (Zuora fails with HTTP 200 too). */
  private read<T>(path: string, schema: z.ZodType<T>, query?: RequestOptions['query']): Promise<T> {
    return this.resilience.read(async () => {
      const res = await this.call('read', 'GET', path, { query });
      const parsed = schema.safeParse(res.json);
      if (!parsed.success) throw mapZuoraFailure(res, 'read');
      return parsed.data;
    });
  }

  /** Runs one HTTP call with the shared token (once more with a fresh one on 401) and maps error statuses and transport failures. */
  private async call(operation: ZuoraOperation, method: 'GET' | 'POST', path: string, opts: RequestOptions, input?: ZuoraCreateInput): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await withTokenRetry(this.tokens, (token) => this.http.request(method, path, { ...opts, headers: { ...opts.headers, authorization: `Bearer ${token}` } }));
    } catch (err) {
      if (err instanceof TransportError) throw mapZuoraFailure(err, operation, input);
      throw err;
    }
    if (res.status < 200 || res.status >= 300) throw mapZuoraFailure(res, operation, input);
    return res;
  }
}

/** Promise.all that waits for every read before failing, so that no retry outlives the call that started it. */
async function settled<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises as readonly Promise<unknown>[]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const createdNumbers = (created: ZuoraCreateResponse): string => [...(created.invoiceNumbers ?? []), ...(created.creditMemoNumbers ?? [])].join(', ') || 'fulfillments';

/**
 * Zuora's documented body. Quantities are JSON numbers; the rules allow at most 15 significant digits, which a
 * double carries exactly, so the number prints as the decimal the caller gave.
 */
export function toRequestBody(input: ZuoraCreateInput): Record<string, unknown> {
  const { processingOptions: o } = input;
  const billingOptions = omitEmpty({ documentDate: o.documentDate, targetDate: o.targetDate });
  return {
    fulfillments: input.fulfillments.map((f) =>
      omitEmpty({
        orderLineItemId: f.orderLineItemId,
        quantity: Number(formatAmount(f.quantity)),
        fulfillmentDate: f.fulfillmentDate,
        billTargetDate: f.billTargetDate,
        fulfillmentType: f.fulfillmentType,
        state: f.state,
        externalId: f.externalId,
        trackingNumber: f.trackingNumber,
        carrier: f.carrier,
        description: f.description,
      }),
    ),
    processingOptions: { runBilling: o.runBilling, collectPayment: o.collectPayment, ...(Object.keys(billingOptions).length > 0 ? { billingOptions } : {}) },
  };
}

function omitEmpty(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== undefined));
}

/**
 * POST /oauth/token with the form-encoded client credentials. Sent with undici directly: the shared HttpClient
 * speaks JSON and multipart only.
 */
async function issueToken(baseUrl: string, credentials: { clientId: string; clientSecret: string }, timeoutMs: number): Promise<IssuedToken> {
  const body = new URLSearchParams({ client_id: credentials.clientId, client_secret: credentials.clientSecret, grant_type: 'client_credentials' }).toString();
  let res: HttpResponse;
  try {
    const answer = await request(`${baseUrl.replace(/\/+$/, '')}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // The same total deadline as every other provider request: a trickling answer cannot hold a call open.
      signal: AbortSignal.timeout(timeoutMs * 3),
    });
    const text = await answer.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const headers = Object.fromEntries(Object.entries(answer.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]));
    res = { status: answer.statusCode, headers, json, text };
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    const kind = /TIMEOUT/.test(code) || (err as Error).name === 'TimeoutError' ? 'timeout' : /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/.test(code) ? 'unreachable' : 'reset';
    throw mapZuoraFailure(new TransportError(kind, `token request failed (${(err as Error).name === 'TimeoutError' ? 'total deadline' : code || (err as Error).message})`), 'token');
  }
  const token = zuoraToken.safeParse(res.json);
  if (res.status !== 200 || !token.success) throw mapZuoraFailure(res, 'token');
  return { accessToken: token.data.access_token, expiresIn: token.data.expires_in };
}
