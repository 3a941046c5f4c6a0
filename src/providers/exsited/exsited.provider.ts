import { createHash } from 'node:crypto';
import type { InvoiceDetails, InvoiceHeader, ProviderInvoiceRef } from '../../domain/invoice';
import { ProviderError } from '../../domain/errors';
import type { CreateContext, InvoiceProvider, ProviderAccount } from '../provider';
import { HttpClient, TransportError, type HttpResponse, type RequestOptions } from '../shared/http-client';
import { ProviderResilience, type ResilienceOptions, type ProviderHealth } from '../shared/resilience';
import { sharedAs, TokenSource, withTokenRetry, type ClientCredentials, type IssuedToken, type SharedTokenStore } from '../shared/token-source';
import { mapExsitedFailure, type ExsitedFailureContext, type ExsitedOperation } from './exsited.errors';
import type { ExsitedCreateInput } from './exsited.input';
import { toDetails } from './exsited.mapper';
import { validateExsitedInput } from './exsited.rules';
import { exsitedInvoiceEnvelope, exsitedOrderInvoicesEnvelope, exsitedTokenResponse, type ExsitedInvoice, type ExsitedInvoicePage } from './exsited.wire';

export interface ExsitedConfig {
  /** The tenant's connection this provider acts for, if it is one: names its tokens in the shared store. */
  connectionId?: string;
  /** e.g. https://api.exsited.com, or the sandbox emulator's origin; paths start with /api/. */
  baseUrl: string;
  credentials: ClientCredentials;
  /** Sent as `redirect_uri` with the token request when the Exsited app was registered with one. */
  redirectUri?: string;
  timeoutMs?: number;
  /** Concurrent invoice reads per batch (Exsited has no batch read). */
  readConcurrency?: number;
  /** Breaker, retry and rate-limit settings other than the defaults (see ProviderResilience). */
  resilience?: Omit<ResilienceOptions, 'provider'>;
  /** Where replicas share the token: Exsited ends a client's previous token when it issues a new one. */
  sharedTokens?: SharedTokenStore;
}

const TOKEN_PATH = '/api/v1/oauth2/token';

/**
 * Invoices asked per page of an order's list (`limit`; Exsited publishes no maximum, the emulator serves up to 100),
 * and the pages read at most before the listing gives up as unknown.
 */
const LIST_PAGE_SIZE = 100;
const MAX_LIST_PAGES = 1_000;

/**
 * The invoice id we give an invoice whose caller chose none: the same for every retry of one attempt, so that
 * Exsited's refusal of a repeated id is what stops a duplicate, and findCreated can look the invoice up by id.
 * The order is part of the hash so that one key reused on another order cannot collide.
 */
export function derivedInvoiceId(orderId: string, idempotencyKey: string): string {
  const hash = createHash('sha256').update(`${orderId}\u0000${idempotencyKey}`).digest('hex');
  return `INV-${hash.slice(0, 16).toUpperCase()}`;
}

/**
 * Exsited as an InvoiceProvider. Create is POST /api/v3/orders/{order_id}/invoices, whose answer carries the
 * whole invoice (lines, taxes, KPIs), so nothing is read back. Every create sends an invoice id (the caller's or
 * one derived from the idempotency key), which makes a retried create safe: Exsited refuses the repeated id.
 * Exsited ends a client's previous token when it issues a new one, so each instance keeps ONE TokenSource, shared with
 * the other replicas through the database, refreshed ahead of expiry, collapsing concurrent refreshes, and on a 401.
 *
 * No `webhooks` and no `changedSince`, on purpose: Exsited's public material documents neither a webhook we could
 * verify nor a change feed, so a payment, credit or void reaches us only through the background refresh and the sync
 * pass, which lists every known order's invoices (invoicesOfOrders), those made at Exsited included.
 * - Webhooks: the one webhook route is GET /api/{version}/webhooks/{webhook_id}, a delivery read by the `whk_` id
 *   it carries; no route in the SDK's webhooks family lists deliveries or registers a receiver
 *   (https://pub.dev/documentation/exsited/4.0.1/webhooks/getWebhook.html; a knowledge base on Exsited's API,
 *   https://github.com/shuvo-webalive/exsited-docs-kb, src/articles/11-platform.html). No signature header, shared
 *   secret, payload shape or event name is published, so an intake could not tell a forged delivery from Exsited's.
 * - GET /api/v3/events (exsited-php EventData::readAll, https://github.com/exsited/exsited-php) lists scheduled
 *   actions, each to be executed now or removed before it runs (that knowledge base's
 *   src/articles/08-workflows-approvals-and-alerts.html; scheduledToExecuteOn, executedOn and resourceUuid in
 *   https://pub.dev/documentation/exsited/4.0.0/events/Event-class.html): not changes that happened, and it names
 *   its resource by uuid where we hold invoice ids.
 * - GET /api/v3/invoices takes only limit, offset and order_by
 *   (https://developer.exsited.com/invoice-get-api-documentation): no modification-time filter, so it cannot say
 *   which invoices changed since a time.
 */
export class ExsitedProvider implements InvoiceProvider<ExsitedCreateInput> {
  readonly code = 'EXSITED' as const;
  private readonly http: HttpClient;
  private readonly tokens: TokenSource;
  private readonly resilience: ProviderResilience;

  constructor(private readonly config: ExsitedConfig) {
    this.http = new HttpClient({ baseUrl: config.baseUrl, timeoutMs: config.timeoutMs ?? 10_000, headers: () => ({}), provider: 'EXSITED' });
    const { credentials } = config;
    this.tokens =
      'accessToken' in credentials
        ? TokenSource.fixed(credentials.accessToken)
        : new TokenSource({ issue: () => this.issueToken(credentials), shared: sharedAs(config.sharedTokens, this.code, config.baseUrl, credentials, config.connectionId) });
    // Exsited documents no rate limit: a 429 without Retry-After pauses us for the default cool-down.
    this.resilience = new ProviderResilience({ provider: 'Exsited', readConcurrency: config.readConcurrency, ...config.resilience });
  }

  /**
   * Whether the credentials are accepted: a token is had (one token request, or none when a replica stored one).
   * ASSUMPTION: Exsited's public material documents no endpoint that names the account, so the account is the API
   * origin and client id (no name). Called by connectProvider; refused credentials are PROVIDER_UNAUTHORIZED.
   */
  async identify(): Promise<ProviderAccount> {
    await this.tokens.get();
    const { credentials } = this.config;
    return { accountId: `${this.config.baseUrl.replace(/\/+$/, '')}${'clientId' in credentials ? ` ${credentials.clientId}` : ''}`, accountName: null };
  }

  /**
   * The invoice's PDF: GET /api/v2/invoices/{id}/pdf with the bearer (exsited-php InvoiceData::invoicePdf,
   * https://github.com/exsited/exsited-php). Built, not read: it costs no call. Assumption: Exsited serves it for every invoice.
   */
  private pdfUrlOf(invoiceId: string): string {
    return `${this.config.baseUrl.replace(/\/+$/, '')}/api/v2/invoices/${encodeURIComponent(invoiceId)}/pdf`;
  }

  validate(input: ExsitedCreateInput) {
    return validateExsitedInput(input);
  }

  orderIdOf(input: ExsitedCreateInput): string {
    return input.orderId;
  }

  /**
   * One POST. When we chose the id and Exsited refuses it as taken (or the order as invoiced), an earlier try of
   * this attempt created the invoice: one GET of that id returns it instead of an error.
   */
  async create(input: ExsitedCreateInput, ctx: CreateContext): Promise<InvoiceDetails[]> {
    const chosenBy = input.invoiceId ? 'caller' : 'us';
    const invoiceId = input.invoiceId || derivedInvoiceId(input.orderId, ctx.idempotencyKey);
    const body = { invoice: { id: invoiceId, ...(input.invoiceNote != null ? { invoice_note: input.invoiceNote } : {}) } };
    const context: ExsitedFailureContext = { invoiceIdChosenBy: chosenBy };

    // Repeatable only with an id we chose: a repeat of a create that did happen is refused as a taken id, which the
    // read below resolves to our invoice. A caller's id is not repeated: its refusal would read as the caller's mistake.
    const res = await this.resilience.write(
      () => this.send('create', 'POST', `/api/v3/orders/${encodeURIComponent(input.orderId)}/invoices`, { json: body }, context),
      { repeatable: chosenBy === 'us' },
    );
    if (res.status >= 200 && res.status < 300) {
      const created = exsitedInvoiceEnvelope.safeParse(res.json);
      if (!created.success) throw mapExsitedFailure(res, 'create', context);
      return [toDetails(created.data.invoice, this.pdfUrlOf(created.data.invoice.id))];
    }
    const refusal = mapExsitedFailure(res, 'create', context);
    const mayBeOurs = chosenBy === 'us' && refusal.userErrors.some((e) => e.code === 'DUPLICATE_INVOICE_NUMBER' || e.code === 'ALREADY_INVOICED');
    if (!mayBeOurs) throw refusal;
    let earlier: InvoiceDetails | null;
    try {
      earlier = await this.readOwn(invoiceId, input.orderId);
    } catch (err) {
      // The invoice may well exist; the next retry asks again.
      if (err instanceof ProviderError) throw new ProviderError(err.userErrors, 'indeterminate', `create refused (${refusal.cause_}), read of ${invoiceId} failed: ${err.cause_}`);
      throw err;
    }
    if (earlier) return [earlier];
    throw refusal;
  }

  /** Reads only: the invoice with the id this input's create sends, when it exists on this order; else []. */
  async findCreated(input: ExsitedCreateInput, ctx: CreateContext): Promise<InvoiceDetails[]> {
    const found = await this.readOwn(input.invoiceId || derivedInvoiceId(input.orderId, ctx.idempotencyKey), input.orderId);
    return found ? [found] : [];
  }

  /**
   * Every invoice of each order, ours and those made at Exsited (the sync's discovery of EXTERNAL invoices), mapped
   * as the create and read answers are (lines, taxes and KPIs from the listed invoice). One entry per order id, in
   * order; an Error for an order that could not be listed; [] for an order Exsited does not know. Cost: one read per
   * 100 of the order's invoices, every read waiting for one of the `readConcurrency` slots.
   */
  async invoicesOfOrders(orderIds: readonly string[]): Promise<Array<InvoiceDetails[] | Error>> {
    return Promise.all(
      orderIds.map(async (orderId) => {
        try {
          return (await this.invoicesOfOrder(orderId)).map((inv) => toDetails(inv, this.pdfUrlOf(inv.id)));
        } catch (err) {
          return err as Error;
        }
      }),
    );
  }

  /**
   * GET /api/v3/orders/{order_id}/invoices?limit=100&offset={n}, every page (exsited-python
   * `invoice_list_against_order_v3(order_id, limit, offset, …)`, EACH_INVOICE_V3 in
   * https://github.com/exsited/exsited-python/blob/main/exsited/exsited/invoice/invoice_api_url.py): the next page is
   * read while `pagination.next_page` names one or `offset` is short of `pagination.records`; no pagination: the
   * list was whole; a page with nothing new ends it (an API that ignored `offset`). Only invoices whose `order_id` is
   * this order are kept, so that another order's invoice is never taken for this one. A 404 on the first page: Exsited
   * has no such order, so nothing of it to list.
   */
  private async invoicesOfOrder(orderId: string): Promise<ExsitedInvoice[]> {
    const path = `/api/v3/orders/${encodeURIComponent(orderId)}/invoices`;
    const seen = new Set<string>();
    const mine: ExsitedInvoice[] = [];
    let offset = 0;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const list = await this.resilience.read(async (): Promise<ExsitedInvoicePage | null> => {
        const res = await this.send('read', 'GET', path, { query: { limit: LIST_PAGE_SIZE, offset } });
        if (res.status === 404 && page === 0) return null;
        const parsed = res.status === 200 ? exsitedOrderInvoicesEnvelope.safeParse(res.json) : null;
        if (!parsed?.success) throw mapExsitedFailure(res, 'read');
        return parsed.data;
      });
      if (list === null) return [];
      const fresh = list.invoices.filter((inv) => !seen.has(inv.id));
      for (const inv of fresh) seen.add(inv.id);
      mine.push(...fresh.filter((inv) => inv.order_id === orderId));
      offset += list.invoices.length;
      const records = Number(list.pagination?.records);
      const more = Boolean(list.pagination?.next_page) || (Number.isFinite(records) && offset < records);
      if (!list.pagination || fresh.length === 0 || !more) return mine;
    }
    throw mapExsitedFailure(new TransportError('reset', `the invoice list of order ${orderId} has more than ${MAX_LIST_PAGES} pages`), 'read');
  }

  health(): ProviderHealth {
    return this.resilience.health();
  }

  /**
   * A draft is read live. An issued Exsited invoice can still be amended, lines added or updated
   * (POST /api/v3/invoices/{id}/amend with `lines` operations ADD/UPDATE, in the official SDK:
   * https://github.com/exsited/exsited-php/blob/main/src/AppService/Invoice/InvoiceData.php, createAmend, and
   * src/test/invoice.php; the invoice's kpis carry last_amended_on), but rarely: its lines are served from the
   * ledger and an amendment shows within INVOICE_FRESHNESS_MS, when the background refresh (which every read of
   * lines, taxes, status or kpis asks for once they are stale) stores what it reads. Assumption: a voided invoice
   * can no longer be amended.
   */
  contentFinal(header: InvoiceHeader): boolean {
    return header.status !== 'DRAFT';
  }

  async loadDetails(refs: readonly ProviderInvoiceRef[]): Promise<Array<InvoiceDetails | Error>> {
    // Exsited has no batch read: one GET per invoice, at most `readConcurrency` at once.
    return Promise.all(refs.map((ref) => this.readOne(ref.providerInvoiceId).catch((err: Error) => err)));
  }

  /** The invoice with this id when it belongs to the order; null when Exsited has no such invoice or it is another order's. */
  private async readOwn(invoiceId: string, orderId: string): Promise<InvoiceDetails | null> {
    const details = await this.readOne(invoiceId, { absentIsNull: true });
    return details && details.header.orderId === orderId ? details : null;
  }

  private readOne(invoiceId: string): Promise<InvoiceDetails>;
  private readOne(invoiceId: string, options: { absentIsNull: true }): Promise<InvoiceDetails | null>;
  private async readOne(invoiceId: string, options: { absentIsNull?: boolean } = {}): Promise<InvoiceDetails | null> {
    return this.resilience.read(async () => {
      const res = await this.send('read', 'GET', `/api/v3/invoices/${encodeURIComponent(invoiceId)}`);
      if (res.status === 404 && options.absentIsNull) return null;
      const parsed = res.status === 200 ? exsitedInvoiceEnvelope.safeParse(res.json) : null;
      if (!parsed?.success) throw mapExsitedFailure(res, 'read');
      return toDetails(parsed.data.invoice, this.pdfUrlOf(parsed.data.invoice.id));
    });
  }

  /**
   * One authenticated call: the current token, and once more with a fresh one on a 401. Transport failures, 5xx and
   * 429 come back mapped (the breaker and the rate-limit gate see them); other statuses are left to the caller.
   */
  private async send(operation: ExsitedOperation, method: 'GET' | 'POST', path: string, opts: RequestOptions = {}, context?: ExsitedFailureContext): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await withTokenRetry(this.tokens, (token) => this.http.request(method, path, { ...opts, headers: { authorization: `Bearer ${token}` } }));
    } catch (err) {
      if (err instanceof TransportError) throw mapExsitedFailure(err, operation, context);
      throw err;
    }
    if (res.status >= 500 || res.status === 429) throw mapExsitedFailure(res, operation, context);
    return res;
  }

  /** POST /api/v1/oauth2/token; called by the TokenSource only, once per refresh however many callers wait. */
  private async issueToken(credentials: { clientId: string; clientSecret: string }): Promise<IssuedToken> {
    let res: HttpResponse;
    try {
      res = await this.http.request('POST', TOKEN_PATH, {
        json: {
          grant_type: 'client_credentials',
          client_id: credentials.clientId,
          client_secret: credentials.clientSecret,
          ...(this.config.redirectUri ? { redirect_uri: this.config.redirectUri } : {}),
        },
      });
    } catch (err) {
      if (err instanceof TransportError) throw mapExsitedFailure(err, 'token');
      throw err;
    }
    const parsed = res.status === 200 ? exsitedTokenResponse.safeParse(res.json) : null;
    if (!parsed?.success) throw mapExsitedFailure(res, 'token');
    return { accessToken: parsed.data.access_token, expiresIn: parsed.data.expires_in };
  }
}
