import { LosslessNumber } from 'lossless-json';
import type { InvoiceDetails, ProviderInvoiceRef } from '../../domain/invoice';
import { ProviderError } from '../../domain/errors';
import { formatAmount } from '../../domain/money';
import type { CreateContext, InvoiceProvider } from '../provider';
import { FormData, HttpClient, TransportError, type HttpResponse } from '../shared/http-client';
import { ProviderResilience, type ResilienceOptions } from '../shared/resilience';
import { mapSallaFailure, type SallaOperation } from './salla.errors';
import type { SallaCreateInput } from './salla.input';
import { toDetails } from './salla.mapper';
import { validateSallaInput } from './salla.rules';
import { sallaInvoiceEnvelope, sallaInvoiceListEnvelope, type SallaInvoice } from './salla.wire';

export interface SallaConfig {
  /** e.g. https://api.salla.dev/admin/v2, or the sandbox emulator's base. */
  baseUrl: string;
  accessToken: string;
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
  private readonly http: HttpClient;
  private readonly resilience: ProviderResilience;

  constructor(config: SallaConfig) {
    this.http = new HttpClient({
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs ?? 10_000,
      headers: () => ({ authorization: `Bearer ${config.accessToken}`, 'accept-language': 'en' }),
    });
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
      this.call('create', () =>
        input.dataType === 'file'
          ? this.http.request('POST', '/orders/invoices', { form: toForm(input) })
          : this.http.request('POST', '/orders/invoices', { json: toJsonBody(input) }),
      ),
    );
    const created = sallaInvoiceEnvelope.safeParse(res.json);
    if (!created.success) throw mapSallaFailure(res, 'create');
    // The invoice exists from here on: a failed read must not look like a refused create.
    try {
      return [await this.readOne(String(created.data.data.id))];
    } catch (err) {
      if (err instanceof ProviderError) throw new ProviderError(err.userErrors, 'indeterminate', `created ${created.data.data.id}, read failed: ${err.cause_}`);
      throw err;
    }
  }

  async findCreated(input: SallaCreateInput): Promise<InvoiceDetails[]> {
    const wantKind = input.type === 'credit_note' ? 'CREDIT_NOTE' : 'INVOICE';
    const found: InvoiceDetails[] = [];
    for (let page = 1; ; page++) {
      const res = await this.resilience.read(() =>
        this.call('read', () => this.http.request('GET', '/orders/invoices', { query: { order_id: input.orderId, page, per_page: MAX_PER_PAGE } })),
      );
      const list = sallaInvoiceListEnvelope.safeParse(res.json);
      if (!list.success) throw mapSallaFailure(res, 'read');
      for (const inv of list.data.data) {
        const details = toDetails(inv);
        // Salla allows one tax invoice and one credit note per order, so kind (and number, when we chose one) identify ours.
        if (details.header.kind === wantKind && (!input.invoiceNumber || details.header.number === input.invoiceNumber)) found.push(details);
      }
      const totalPages = list.data.pagination?.totalPages ?? 1;
      if (page >= totalPages || list.data.data.length === 0) return found;
    }
  }

  async loadDetails(refs: readonly ProviderInvoiceRef[]): Promise<Array<InvoiceDetails | Error>> {
    // Salla has no batch read: one GET per invoice, at most `readConcurrency` at once.
    return Promise.all(refs.map((ref) => this.readOne(ref.providerInvoiceId).catch((err: Error) => err)));
  }

  private async readOne(invoiceId: string): Promise<InvoiceDetails> {
    const res = await this.resilience.read(() =>
      this.call('read', () => this.http.request('GET', `/orders/invoices/${encodeURIComponent(invoiceId)}`)),
    );
    const parsed = sallaInvoiceEnvelope.safeParse(res.json);
    if (!parsed.success) throw mapSallaFailure(res, 'read');
    return toDetails(parsed.data.data as SallaInvoice);
  }

  /** Runs one HTTP call and turns transport failures and error statuses into the mapped ProviderError. */
  private async call(operation: SallaOperation, send: () => Promise<HttpResponse>): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await send();
    } catch (err) {
      if (err instanceof TransportError) throw mapSallaFailure(err, operation);
      throw err;
    }
    if (res.status < 200 || res.status >= 300) throw mapSallaFailure(res, operation);
    return res;
  }
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
