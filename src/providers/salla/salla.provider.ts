import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { LosslessNumber } from 'lossless-json';
import type { Logger } from 'pino';
import type { InvoiceDetails, InvoiceHeader, ProviderInvoiceRef } from '../../domain/invoice';
import { ProviderError, userError } from '../../domain/errors';
import { formatAmount } from '../../domain/money';
import type { ProviderAccount, CreateContext, InvoiceProvider } from '../provider';
import { FormData, HttpClient, postForm, TransportError, type HttpResponse } from '../shared/http-client';
import { ProviderResilience, type ResilienceOptions, type ProviderHealth } from '../shared/resilience';
import { RefreshTokenRefused, RotatingTokenSource, SessionEnded, SessionUnavailable, type RotatedSession } from '../shared/rotating-token-source';
import { sharedAs, TokenSource, withTokenRetry, type BearerTokens, type SharedTokenStore } from '../shared/token-source';
import { mapSallaFailure, mapSallaSessionFailure, mapSallaTokenFailure, sallaTokenRefused, type SallaOperation } from './salla.errors';
import type { SallaCreateInput } from './salla.input';
import { toDetails } from './salla.mapper';
import { validateSallaInput } from './salla.rules';
import { sallaWebhooks } from './salla.webhooks';
import { oauthErrorBody, sallaExpiresInMs, sallaInvoiceEnvelope, sallaInvoiceListEnvelope, sallaOrderEnvelope, sallaStoreEnvelope, sallaTokenResponse, type SallaInvoice, type SallaOrder } from './salla.wire';

/** Salla's token endpoint (https://docs.salla.dev/421118m0, "Authorization": Token and Refresh Token Endpoint). */
export const SALLA_TOKEN_URL = 'https://accounts.salla.sa/oauth2/token';

/** The app's OAuth client and the store's refresh token: the session is renewed ahead of expiry, refresh tokens rotated. */
export interface SallaOAuth {
  clientId: string;
  clientSecret: string;
  /** Where the chain starts; once a rotated one is stored (sharedTokens), that one is used, across restarts. */
  refreshToken: string;
  /** Default SALLA_TOKEN_URL. */
  tokenUrl?: string;
}

export interface SallaConfig {
  /** The tenant's connection this provider acts for, if it is one: names its tokens in the shared store. */
  connectionId?: string;
  /** e.g. https://api.salla.dev/admin/v2, or the sandbox emulator's base. */
  baseUrl: string;
  /** A fixed token (SALLA_ACCESS_TOKEN, the sandbox's): used until Salla refuses it. Give this or `oauth`. */
  accessToken?: string;
  oauth?: SallaOAuth;
  /** Where the OAuth session lives (the ledger's database): shared by replicas, kept across restarts. Needed with `oauth`. */
  sharedTokens?: SharedTokenStore;
  /** Renew the session this long before expiry at most (default 24 h; a quarter of the token's life when shorter). */
  refreshAheadMs?: number;
  logger?: Logger;
  timeoutMs?: number;
  /** Concurrent reads per batch; Salla's leaky bucket allows 120 to 720 requests a minute per store. */
  readConcurrency?: number;
  /** Breaker, retry and rate-limit settings other than the defaults (see ProviderResilience). */
  resilience?: Omit<ResilienceOptions, 'provider'>;
}

/** Salla's list endpoint pages at most 60 invoices. */
const MAX_PER_PAGE = 60;

/**
 * Salla's Merchant API as an InvoiceProvider. Create is POST /orders/invoices followed by one read of the new
 * invoice (Salla's create response for url/file carries no amounts). Salla has no idempotency header: a second
 * tax invoice or credit note for an order is refused, which is what stops a duplicate.
 */
export class SallaProvider implements InvoiceProvider<SallaCreateInput> {
  readonly code = 'SALLA' as const;
  readonly webhooks = sallaWebhooks;
  private readonly http: HttpClient;
  private readonly resilience: ProviderResilience;
  /** The fixed token, or the OAuth session (RotatingTokenSource); its counters are what tests assert on. */
  readonly tokens: BearerTokens;

  constructor(config: SallaConfig) {
    this.http = new HttpClient({ baseUrl: config.baseUrl, timeoutMs: config.timeoutMs ?? 10_000, headers: () => ({ 'accept-language': 'en' }), provider: 'SALLA' });
    this.tokens = config.oauth ? this.session(config, config.oauth) : TokenSource.fixed(config.accessToken ?? '');
    // Salla's 429 carries Retry-After (else X-RateLimit-Reset), so the default cool-down rarely applies.
    this.resilience = new ProviderResilience({ provider: 'Salla', readConcurrency: config.readConcurrency, ...config.resilience });
  }

  validate(input: SallaCreateInput) {
    return validateSallaInput(input);
  }

  orderIdOf(input: SallaCreateInput): string {
    return input.orderId;
  }

  async create(input: SallaCreateInput, _ctx: CreateContext): Promise<InvoiceDetails[]> {
    // Never repeated: Salla has no idempotency key, and a repeat of a create that did happen is refused as a second
    // invoice, which would hide ours; an unknown outcome is settled by findCreated instead.
    const res = await this.resilience.write(() =>
      this.call('create', (auth) =>
        input.dataType === 'file'
          ? this.http.request('POST', '/orders/invoices', { form: toForm(input), headers: auth })
          : this.http.request('POST', '/orders/invoices', { json: toJsonBody(input), headers: auth }),
      ),
    );
    const created = sallaInvoiceEnvelope.safeParse(res.json);
    if (!created.success) throw mapSallaFailure(res, 'create');
    // The invoice exists from here on: a failed read must not look like a refused create. Its order gives the
    // status; an order that cannot be read now leaves it ISSUED until the next refresh, and never fails the create.
    try {
      const invoiceRead = this.readInvoice(String(created.data.data.id));
      const reading = this.readOrder(input.orderId).catch(() => null);
      // The order's read ends before this answers, whatever the invoice's read did.
      const invoice = await invoiceRead.finally(() => reading);
      const details = toDetails(invoice, await reading);
      // Salla's invoice details carry no `url`: a URL or FILE invoice's document link is in the create answer only.
      const documentUrl = created.data.data.url ?? details.header.documentUrl;
      return [{ ...details, header: { ...details.header, documentUrl } }];
    } catch (err) {
      if (err instanceof ProviderError) throw new ProviderError(err.userErrors, 'indeterminate', `created ${created.data.data.id}, read failed: ${err.cause_}`);
      throw err;
    }
  }

  /**
   * What an earlier try of this input created, matched on what that try sent, never merely on being on the order:
   * Salla's List Invoices example (https://docs.salla.dev/5394157e0) shows two tax invoices on one order, since the
   * store can issue its own. DATA: the invoice number we sent. URL: the link we sent, where Salla's answer carries one
   * (its invoice details have none: https://docs.salla.dev/5394158e0). FILE: nothing Salla shows can be matched to the
   * PDF we sent. ORDER asks Salla to issue the order's own invoice, so the one of that kind is it. An invoice of the
   * kind that cannot be told ours or the store's is never adopted: the attempt is left for a person
   * (NEEDS_MANUAL_SETTLEMENT), rather than recorded as ours or declared absent (which would let a retry create again).
   * Costs one list call per 60 of the order's invoices, and one read of the order (for the status; not needed to match).
   */
  async findCreated(input: SallaCreateInput): Promise<InvoiceDetails[]> {
    const wantKind = input.type === 'credit_note' ? 'CREDIT_NOTE' : 'INVOICE';
    const listing = this.invoicesOfOrder(input.orderId);
    const reading = this.readOrder(input.orderId).catch(() => null);
    const invoices = await listing.finally(() => reading);
    const order = await reading;
    const ofKind = invoices.map((inv) => toDetails(inv, order)).filter((d) => d.header.kind === wantKind);
    switch (input.dataType) {
      case 'data':
        return ofKind.filter((d) => d.header.number === input.invoiceNumber);
      case 'order':
        return ofKind;
      case 'url': {
        const ours = ofKind.filter((d) => d.header.documentUrl === input.url);
        if (ours.length > 0) return ours;
        return unattributable(input, ofKind.filter((d) => !d.header.documentUrl));
      }
      case 'file':
        return unattributable(input, ofKind);
    }
  }

  /**
   * The store the token belongs to: Store Details, GET /store/info (docs.salla.dev, Merchant API > Store), one read
   * (a renewal first where the session is due). Called by connectProvider; a refused token is PROVIDER_UNAUTHORIZED.
   */
  async identify(): Promise<ProviderAccount> {
    const info = await this.get('/store/info', sallaStoreEnvelope);
    return { accountId: String(info.data.id), accountName: info.data.name ?? null };
  }

  /**
   * Every invoice of each order, the store's own included (the sync's discovery): one list call per 60 invoices and
   * one order read per order (every read waits for one of the `readConcurrency` slots).
   */
  async invoicesOfOrders(orderIds: readonly string[]): Promise<Array<InvoiceDetails[] | Error>> {
    return Promise.all(orderIds.map(async (orderId) => {
      const listing = this.invoicesOfOrder(orderId);
      const reading = this.readOrder(orderId);
      const [invoices, order] = await Promise.allSettled([listing, reading]);
      if (invoices.status === 'rejected') return invoices.reason as Error;
      if (order.status === 'rejected') return order.reason as Error;
      try {
        return invoices.value.map((inv) => toDetails(inv, order.value));
      } catch (err) {
        return err as Error;
      }
    }));
  }

  private async invoicesOfOrder(orderId: string): Promise<SallaInvoice[]> {
    const found: SallaInvoice[] = [];
    for (let page = 1; ; page++) {
      const list = await this.get('/orders/invoices', sallaInvoiceListEnvelope, { order_id: orderId, page, per_page: MAX_PER_PAGE });
      found.push(...list.data);
      const totalPages = list.pagination?.totalPages ?? 1;
      if (page >= totalPages || list.data.length === 0) return found;
    }
  }

  health(): ProviderHealth {
    return this.resilience.health();
  }

  /**
   * An issued Salla invoice cannot change: Salla's invoice API creates and reads invoices (Create Invoice:
   * https://docs.salla.dev/5394156e0, List: https://docs.salla.dev/5394157e0, Details: https://docs.salla.dev/5394158e0)
   * and has no update; a correction is a credit note, a document of its own. Salla has no drafts, so every invoice is
   * final.
   */
  contentFinal(header: InvoiceHeader): boolean {
    return header.status !== 'DRAFT';
  }

  /**
   * Salla has no batch read: one GET per invoice and one per distinct order (the status lives on the order; see
   * statusOf), at most `readConcurrency` at once. An order that cannot be read fails its invoices' reads: a stale
   * ISSUED must not overwrite what an earlier read found.
   */
  async loadDetails(refs: readonly ProviderInvoiceRef[]): Promise<Array<InvoiceDetails | Error>> {
    const orders = new Map<string, Promise<SallaOrder>>();
    for (const ref of refs) if (!orders.has(ref.orderId)) orders.set(ref.orderId, this.readOrder(ref.orderId));
    for (const read of orders.values()) read.catch(() => undefined); // awaited below, per invoice
    return Promise.all(
      refs.map(async (ref) => {
        // Both settle before the answer, so that no retry of one is still on its way once the other has failed.
        const [invoice, order] = await Promise.allSettled([this.readInvoice(ref.providerInvoiceId), orders.get(ref.orderId)!]);
        if (invoice.status === 'rejected') return invoice.reason as Error;
        if (order.status === 'rejected') return order.reason as Error;
        try {
          return toDetails(invoice.value, order.value);
        } catch (err) {
          return err as Error;
        }
      }),
    );
  }

  private async readInvoice(invoiceId: string): Promise<SallaInvoice> {
    return (await this.get(`/orders/invoices/${encodeURIComponent(invoiceId)}`, sallaInvoiceEnvelope)).data as SallaInvoice;
  }

  /** Order Details, light (no items or shipments: https://docs.salla.dev, Orders; `format=light`): the invoice's status. */
  private async readOrder(orderId: string): Promise<SallaOrder> {
    return (await this.get(`/orders/${encodeURIComponent(orderId)}`, sallaOrderEnvelope, { format: 'light' })).data;
  }

  /** One read (retried by the read policy), parsed with its envelope's schema; anything else is the mapped failure. */
  private async get<T>(path: string, envelope: z.ZodType<T>, query?: Record<string, string | number>): Promise<T> {
    const res = await this.resilience.read(() => this.call('read', (auth) => this.http.request('GET', path, { query, headers: auth })));
    const parsed = envelope.safeParse(res.json);
    if (!parsed.success) throw mapSallaFailure(res, 'read');
    return parsed.data;
  }

  /**
   * Runs one HTTP call with the current token, and once more with a renewed one when Salla refuses the token (a 401
   * that is not about a scope: nothing was done, so a create may be sent again); turns transport failures, error
   * statuses and the session's own refusals into the mapped ProviderError.
   */
  private async call(operation: SallaOperation, send: (auth: Record<string, string>) => Promise<HttpResponse>): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await withTokenRetry(this.tokens, (token) => send({ authorization: `Bearer ${token}` }), sallaTokenRefused);
    } catch (err) {
      if (err instanceof TransportError) throw mapSallaFailure(err, operation);
      if (err instanceof SessionEnded || err instanceof SessionUnavailable) throw mapSallaSessionFailure(err);
      throw err;
    }
    if (res.status < 200 || res.status >= 300) throw mapSallaFailure(res, operation);
    return res;
  }

  /** The OAuth session: one per provider instance, kept in the shared store under the app's client id. */
  private session(config: SallaConfig, oauth: SallaOAuth): RotatingTokenSource {
    const shared = sharedAs(config.sharedTokens, this.code, config.baseUrl, oauth, config.connectionId);
    if (!shared) throw new Error('SallaProvider: an OAuth session needs a token store (sharedTokens): a rotated refresh token must outlive the process');
    const tokenUrl = oauth.tokenUrl ?? SALLA_TOKEN_URL;
    const timeoutMs = config.timeoutMs ?? 10_000;
    return new RotatingTokenSource({
      refreshToken: oauth.refreshToken,
      refresh: (refreshToken) => this.refresh(tokenUrl, timeoutMs, oauth, refreshToken),
      shared,
      refreshAheadMs: config.refreshAheadMs,
      logger: config.logger,
      provider: this.code,
    });
  }

  /**
   * One refresh grant at Salla's token endpoint (RFC 6749 §6, form-encoded, the client's credentials in the body as
   * Salla's examples send them). Called by the session source under the store's lock, once per renewal; never
   * repeated here, since a refresh token is single use.
   */
  private async refresh(tokenUrl: string, timeoutMs: number, oauth: SallaOAuth, refreshToken: string): Promise<RotatedSession> {
    let res: HttpResponse;
    try {
      res = await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: oauth.clientId, client_secret: oauth.clientSecret }, timeoutMs, 'SALLA');
    } catch (err) {
      if (err instanceof TransportError) throw mapSallaTokenFailure(err);
      throw err;
    }
    const refusal = oauthErrorBody.safeParse(res.json);
    if (res.status >= 400 && res.status < 500 && refusal.success && refusal.data.error === 'invalid_grant') {
      throw new RefreshTokenRefused(refusal.data.error_description ?? 'invalid_grant');
    }
    const parsed = res.status === 200 ? sallaTokenResponse.safeParse(res.json) : null;
    if (!parsed?.success) throw mapSallaTokenFailure(res);
    return { accessToken: parsed.data.access_token, refreshToken: parsed.data.refresh_token, expiresInMs: sallaExpiresInMs(parsed.data) };
  }
}

/**
 * No invoice of the kind on the order: verifiably nothing created. Some that cannot be told ours or the store's own:
 * left for a person, with what identifies ours at Salla.
 */
function unattributable(input: SallaCreateInput, candidates: InvoiceDetails[]): InvoiceDetails[] {
  if (candidates.length === 0) return [];
  const sent = input.dataType === 'url' ? `the link ${input.url}` : `a PDF whose SHA-256 is ${input.pdfSha256 ?? (input.pdf ? createHash('sha256').update(input.pdf).digest('hex') : 'unknown')}`;
  const ids = candidates.map((d) => d.header.providerInvoiceId).join(', ');
  throw new ProviderError(
    [
      userError(
        'NEEDS_MANUAL_SETTLEMENT',
        `Salla holds ${candidates.length === 1 ? 'an invoice' : 'invoices'} of this type for order ${input.orderId} (${ids}) that cannot be told apart from the store's own: Salla's invoice details do not show the document sent. Check in Salla whether one of them is ours (sent with ${sent}); nothing was sent again.`,
      ),
    ],
    'indeterminate',
    `salla:unattributable:${ids}`,
  );
}

/** An amount as a JSON number whose text is the decimal's canonical text (formatAmount), never through a float. */
const num = (v: SallaCreateInput['total']) => (v === undefined || v === null ? undefined : new LosslessNumber(formatAmount(v)));

/**
 * Salla's documented JSON body (seed 003: order_id an integer, the amounts numbers), built once per JSON create
 * (data, url, order) from validated input. The order id goes out as its digits (see salla.rules), never through
 * Number(), which would round ids above 2^53.
 */
export function toJsonBody(input: SallaCreateInput): Record<string, string | LosslessNumber> {
  const body: Record<string, string | LosslessNumber | undefined> = {
    order_id: new LosslessNumber(input.orderId),
    type: input.type,
    data_type: input.dataType,
    url: input.url ?? undefined,
    invoice_number: input.invoiceNumber ?? undefined,
    sub_total: num(input.subTotal),
    total: num(input.total),
    shipping_cost: num(input.shippingCost),
    cash_on_delivery_cost: num(input.cashOnDeliveryCost),
    tax: num(input.taxPercent),
    // The seed types tax_value as an integer, but its own example is 35.3: it is an amount like the others.
    tax_value: num(input.taxValue),
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body as Record<string, string | LosslessNumber>;
}

function toForm(input: SallaCreateInput): FormData {
  const form = new FormData();
  form.set('order_id', input.orderId);
  form.set('type', input.type);
  form.set('data_type', input.dataType);
  form.set('file', new Blob([new Uint8Array(input.pdf ?? Buffer.alloc(0))], { type: 'application/pdf' }), `invoice-${input.orderId}.pdf`);
  return form;
}
