import type { InvoiceDetails, InvoiceHeader, ProviderInvoiceRef } from '../../domain/invoice';
import { parseCurrency } from '../../domain/money';
import type { CreateContext, InvoiceProvider, ProviderAccount } from '../provider';
import { HttpClient, TransportError, type HttpResponse } from '../shared/http-client';
import { ProviderResilience, type ResilienceOptions, type ProviderHealth } from '../shared/resilience';
import { mapCommerceFailure, type CommerceOperation } from './commerce.errors';
import type { CommerceCreateInput } from './commerce.input';
import { invoiceOrderId, toDetails } from './commerce.mapper';
import { validateCommerceInput } from './commerce.rules';
import { commerceInvoiceEnvelope, commerceInvoiceListEnvelope, type CommerceInvoice } from './commerce.wire';

/** Invoices asked per list page [assumed `limit`], and the pages read at most before giving up as unknown. */
const LIST_PAGE_SIZE = 100;
const MAX_LIST_PAGES = 1_000;

export interface CommerceConfig {
  /** The API's base, under which `/invoices` lives; or the sandbox emulator's base. */
  baseUrl: string;
  /** Sent as the `accessToken` header (the API does not read `Authorization`). */
  accessToken: string;
  /** ISO 4217 code of every amount: the API's amounts carry none. */
  currency: string;
  timeoutMs?: number;
  /** Concurrent reads per batch; the API documents no rate limit, so this only bounds our own load. */
  readConcurrency?: number;
  /** Breaker, retry and rate-limit settings other than the defaults (see ProviderResilience). */
  resilience?: Omit<ResilienceOptions, 'provider'>;
}

/**
 * The Commerce API (seed 001) as an InvoiceProvider. Create is POST /invoices with the order id; its answer is the
 * whole invoice, so nothing is read back. The API has no idempotency key, and the seed is silent on a second
 * invoice for an order: we take it to refuse one (the emulator answers 409, mapped to ALREADY_INVOICED), which is
 * what stops a duplicate. Should the real API allow several, findCreated would also return invoices made outside
 * this service for the order.
 */
export class CommerceProvider implements InvoiceProvider<CommerceCreateInput> {
  readonly code = 'COMMERCE' as const;
  private readonly http: HttpClient;
  private readonly resilience: ProviderResilience;
  private readonly currency: string;
  private readonly baseUrl: string;

  constructor(config: CommerceConfig) {
    this.currency = parseCurrency(config.currency);
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.http = new HttpClient({
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs ?? 10_000,
      headers: () => ({ accessToken: config.accessToken }),
      provider: 'COMMERCE',
    });
    // The API documents no rate limit: a 429 without Retry-After pauses us for the default cool-down.
    this.resilience = new ProviderResilience({ provider: 'The Commerce API', code: 'COMMERCE', readConcurrency: config.readConcurrency, ...config.resilience });
  }

  /** Before anything is recorded or sent; pure. */
  validate(input: CommerceCreateInput) {
    return validateCommerceInput(input);
  }

  /** The order the attempt is recorded under: the input's own order id. */
  orderIdOf(input: CommerceCreateInput): string {
    return input.orderId;
  }

  /** One POST /invoices, never retried; the answer carries the whole invoice. */
  async create(input: CommerceCreateInput, _ctx: CreateContext): Promise<InvoiceDetails[]> {
    // Never repeated: the API has no idempotency key, and a repeat of a create that did happen is refused as the
    // order's second invoice, which would hide ours; an unknown outcome is settled by findCreated instead.
    const res = await this.resilience.write(() => this.call('create', () => this.http.request('POST', '/invoices', { json: { orderId: input.orderId } })));
    const created = commerceInvoiceEnvelope.safeParse(res.json);
    if (!created.success) throw mapCommerceFailure(res, 'create');
    return [toDetails(created.data.data, this.currency)];
  }

  /**
   * The list of the order's invoices, every page of it, each invoice's own order checked (see invoicesOfOrder): one
   * read per 100 invoices. We take an order to have at most one invoice (see the class note), so what the list holds
   * for the order is the attempt's; the service still drops invoices that other attempts recorded.
   */
  async findCreated(input: CommerceCreateInput): Promise<InvoiceDetails[]> {
    const invoices = await this.invoicesOfOrder(input.orderId);
    return invoices.map((inv) => toDetails(inv, this.currency));
  }

  /**
   * Every invoice of each order, ours and any made at the API (the sync's discovery of EXTERNAL invoices), mapped as
   * the create and read answers are. One entry per order id, in order; an Error for an order that could not be
   * listed. Cost: invoicesOfOrder's reads per order (one per 100 invoices), every read waiting for one of the
   * `readConcurrency` slots. We take an order to have one invoice at most (see the class note): the list of an order
   * the ledger knows then holds only the ledger's own invoice (read again here), and this finds invoices made
   * elsewhere only should the real API allow several per order.
   */
  async invoicesOfOrders(orderIds: readonly string[]): Promise<Array<InvoiceDetails[] | Error>> {
    return Promise.all(
      orderIds.map(async (orderId) => {
        try {
          return (await this.invoicesOfOrder(orderId)).map((inv) => toDetails(inv, this.currency));
        } catch (err) {
          return err as Error;
        }
      }),
    );
  }

  health(): ProviderHealth {
    return this.resilience.health();
  }

  /**
   * Assumption (seed 001 documents no draft and no way to change an invoice once created): every Commerce invoice
   * is final; none is ever DRAFT, so this is `status !== 'DRAFT'` and stays right should drafts appear.
   */
  contentFinal(header: InvoiceHeader): boolean {
    return header.status !== 'DRAFT';
  }

  /** Per request batch of lazy fields: one GET per invoice (no batch read), at most `readConcurrency` at once. */
  async loadDetails(refs: readonly ProviderInvoiceRef[]): Promise<Array<InvoiceDetails | Error>> {
    return Promise.all(refs.map((ref) => this.readOne(ref.providerInvoiceId).catch((err: Error) => err)));
  }

  /** GET /invoices/{id} [assumed: the seed documents only the create]. */
  /**
   * Whether the token is accepted: one list read of a single invoice (GET /invoices?page=1&limit=1). ASSUMPTION: seed
   * 001 documents no endpoint that names the account, so the account is its base URL (no name). Called by
   * connectProvider; a refused token is PROVIDER_UNAUTHORIZED.
   */
  async identify(): Promise<ProviderAccount> {
    await this.resilience.read(() => this.call('read', () => this.http.request('GET', '/invoices', { query: { page: 1, limit: 1 } })));
    return { accountId: this.baseUrl, accountName: null };
  }

  private async readOne(invoiceId: string): Promise<InvoiceDetails> {
    const res = await this.resilience.read(() => this.call('read', () => this.http.request('GET', `/invoices/${encodeURIComponent(invoiceId)}`)));
    const parsed = commerceInvoiceEnvelope.safeParse(res.json);
    if (!parsed.success) throw mapCommerceFailure(res, 'read');
    return toDetails(parsed.data.data, this.currency);
  }

  /**
   * GET /invoices?orderId={id}&page={n}&limit=100 → `{ success, data: [...], pagination? }`. Assumed, not documented
   * (seed 001 documents only the create): the one place that knows how to list an order's invoices. Every page is
   * read before "nothing" is concluded (`pagination.totalPages`; no `pagination`: the list was whole; a page of
   * nothing new: the API ignores `page`), and every listed invoice's own order is checked, so that another order's
   * invoice is never taken for this one should the real filter be named otherwise and be ignored.
   * Costs one read per page of 100.
   */
  private async invoicesOfOrder(orderId: string): Promise<CommerceInvoice[]> {
    const wanted = orderId.toLowerCase();
    const seen = new Set<string>();
    const mine: CommerceInvoice[] = [];
    for (let page = 1; page <= MAX_LIST_PAGES; page++) {
      const res = await this.resilience.read(() => this.call('read', () => this.http.request('GET', '/invoices', { query: { orderId, page, limit: LIST_PAGE_SIZE } })));
      const list = commerceInvoiceListEnvelope.safeParse(res.json);
      if (!list.success) throw mapCommerceFailure(res, 'read');
      const fresh = list.data.data.filter((inv) => !seen.has(String(inv.id ?? inv._id)));
      for (const inv of fresh) seen.add(String(inv.id ?? inv._id));
      mine.push(...fresh.filter((inv) => invoiceOrderId(inv) === wanted));
      const totalPages = list.data.pagination?.totalPages;
      if (!list.data.pagination || fresh.length === 0 || typeof totalPages !== 'number' || page >= totalPages) return mine;
    }
    throw mapCommerceFailure(new TransportError('reset', `the invoice list has more than ${MAX_LIST_PAGES} pages`), 'read');
  }

  /**
   * Runs one HTTP call; transport failures and error statuses become the mapped ProviderError. A 2xx is returned
   * as is: its caller parses the success envelope and maps anything else, `success: false` included.
   */
  private async call(operation: CommerceOperation, send: () => Promise<HttpResponse>): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await send();
    } catch (err) {
      if (err instanceof TransportError) throw mapCommerceFailure(err, operation);
      throw err;
    }
    if (res.status < 200 || res.status >= 300) throw mapCommerceFailure(res, operation);
    return res;
  }
}
