import type { z } from 'zod';
import type { InvoiceDetails, ProviderInvoiceRef } from '../../domain/invoice';
import { ProviderError } from '../../domain/errors';
import type { CreateContext, InvoiceProvider } from '../provider';
import { HttpClient, TransportError, type HttpResponse } from '../shared/http-client';
import { ProviderResilience, type ResilienceOptions } from '../shared/resilience';
import { mapSalesforceFailure, type SalesforceOperation } from './salesforce.errors';
import type { SalesforceCreateInput } from './salesforce.input';
import { toDetails } from './salesforce.mapper';
import { validateSalesforceInput } from './salesforce.rules';
import { chunks, fulfillmentOrdersById, invoiceLinesByInvoiceId, invoicesById, isRecordId } from './salesforce.soql';
import {
  fulfillmentOrderInvoiceOutput,
  fulfillmentOrderRecord,
  invoiceLineRecord,
  invoiceRecord,
  queryResult,
  type FulfillmentOrderRecord,
  type InvoiceLineRecord,
  type InvoiceRecord,
} from './salesforce.wire';

export interface SalesforceConfig {
  /** The org's instance URL (https://mydomain.my.salesforce.com), or the sandbox emulator's origin. */
  instanceUrl: string;
  /** An OAuth access token (session id) of the integration user, sent as `Authorization: Bearer`. */
  accessToken: string;
  /** The REST API version, e.g. '62.0'; create-invoice exists from 48.0. */
  apiVersion: string;
  timeoutMs?: number;
  /** Concurrent reads (query pages); the org's limit is a daily request count, so this only bounds our own load. */
  readConcurrency?: number;
  /** The clock that decides `overdue`; default the system clock. */
  now?: () => Date;
  /** Breaker, retry and rate-limit settings other than the defaults (see ProviderResilience). */
  resilience?: Omit<ResilienceOptions, 'provider'>;
}

/**
 * How long we send nothing after REQUEST_LIMIT_EXCEEDED, which names no delay: the org's limit is a rolling 24-hour
 * count, so room comes back gradually; one probe per five minutes costs little while it is used up.
 */
export const SALESFORCE_REQUEST_LIMIT_COOLDOWN_SECONDS = 300;

/** The first API version with the create-invoice action. */
const MIN_API_VERSION = 48;

/** '62.0' or 'v62.0' as the path segment 'v62.0'; older than 48.0 is a configuration error. */
function versionSegment(apiVersion: string): string {
  const match = /^v?(\d{2,3})\.0$/.exec(apiVersion.trim());
  if (!match) throw new Error(`Salesforce API version must look like 62.0, not ${JSON.stringify(apiVersion)}`);
  if (Number(match[1]) < MIN_API_VERSION) throw new Error(`Salesforce API version ${apiVersion} predates the create-invoice action (48.0)`);
  return `v${match[1]}.0`;
}

/**
 * Salesforce Order Management as an InvoiceProvider. Create is the create-invoice action on a fulfillment order,
 * followed by one batch of SOQL reads (the fulfillment order for its OrderSummary, the invoice, its lines); reads
 * batch many invoices into one query per object. Salesforce has no idempotency header: it creates one invoice
 * per fulfillment order and refuses a second, which is what stops a duplicate, and findCreated asks the
 * fulfillment order which invoice it has.
 */
export class SalesforceProvider implements InvoiceProvider<SalesforceCreateInput> {
  readonly code = 'SALESFORCE' as const;
  private readonly http: HttpClient;
  private readonly resilience: ProviderResilience;
  private readonly api: string;
  private readonly now: () => Date;

  constructor(config: SalesforceConfig) {
    this.api = `/services/data/${versionSegment(config.apiVersion)}`;
    this.now = config.now ?? (() => new Date());
    this.http = new HttpClient({
      baseUrl: config.instanceUrl,
      timeoutMs: config.timeoutMs ?? 10_000,
      headers: () => ({ authorization: `Bearer ${config.accessToken}` }),
    });
    // A used-up daily limit shuts the gate for the cool-down, longer than any read waits: reads are not retried against it.
    this.resilience = new ProviderResilience({
      provider: 'Salesforce',
      readConcurrency: config.readConcurrency,
      rateLimitCooldownSeconds: SALESFORCE_REQUEST_LIMIT_COOLDOWN_SECONDS,
      ...config.resilience,
    });
  }

  /** Before anything is recorded or sent; pure. */
  validate(input: SalesforceCreateInput) {
    return validateSalesforceInput(input);
  }

  /** The fulfillment order: the input names no order; invoices carry their OrderSummary id from the read-back. */
  orderIdOf(input: SalesforceCreateInput): string {
    return input.fulfillmentOrderId;
  }

  /** One create-invoice POST, never retried, then three SOQL reads in parallel (fulfillment order, invoice, lines). */
  async create(input: SalesforceCreateInput, _ctx: CreateContext): Promise<InvoiceDetails[]> {
    const path = `${this.api}/commerce/fulfillment/fulfillment-orders/${encodeURIComponent(input.fulfillmentOrderId)}/actions/create-invoice`;
    // Never repeated: a repeat of an action that did create is refused as the fulfillment order's second invoice,
    // which would hide ours; an unknown outcome is settled by findCreated instead.
    const res = await this.resilience.write(() => this.call('create', () => this.http.request('POST', path, { json: {} })));
    const output = fulfillmentOrderInvoiceOutput.safeParse(res.json);
    if (!output.success) throw mapSalesforceFailure(res, 'create');
    if (!output.data.success) throw mapSalesforceFailure(output.data, 'create');
    const invoiceId = output.data.invoiceId;
    if (!invoiceId || !isRecordId(invoiceId)) throw mapSalesforceFailure(res, 'create');
    // The invoice exists from here on: a failed read must not look like a refused create.
    try {
      const [orders, details] = await settled(this.fulfillmentOrders([input.fulfillmentOrderId]), this.readInvoices([invoiceId]));
      const order = orders.find((fo) => sameId(fo.Id, input.fulfillmentOrderId));
      const found = details.get(invoiceId);
      if (!found) throw mapSalesforceFailure({ missing: 'Invoice', id: invoiceId }, 'read');
      const orderId = order?.OrderSummaryId || found.invoice.ReferenceEntityId;
      if (!orderId) throw mapSalesforceFailure({ missing: 'FulfillmentOrder', id: input.fulfillmentOrderId }, 'read');
      return [toDetails(found.invoice, found.lines, { orderId, today: this.today() })];
    } catch (err) {
      if (err instanceof ProviderError) throw new ProviderError(err.userErrors, 'indeterminate', `created ${invoiceId}, read failed: ${err.cause_}`);
      throw err;
    }
  }

  /**
   * The fulfillment order's invoice, whoever created it (Salesforce allows one): one query for the fulfillment
   * order, and two more when it has an invoice. [] when it has none, or when no such fulfillment order is visible.
   */
  async findCreated(input: SalesforceCreateInput): Promise<InvoiceDetails[]> {
    const [order] = await this.fulfillmentOrders([input.fulfillmentOrderId]);
    if (!order?.InvoiceId) return [];
    const found = (await this.readInvoices([order.InvoiceId])).get(order.InvoiceId);
    if (!found) throw mapSalesforceFailure({ missing: 'Invoice', id: order.InvoiceId }, 'read');
    const orderId = order.OrderSummaryId || found.invoice.ReferenceEntityId || input.fulfillmentOrderId;
    return [toDetails(found.invoice, found.lines, { orderId, today: this.today() })];
  }

  /**
   * Per request batch of lazy fields: one Invoice query and one InvoiceLine query for up to 200 invoices (more pages
   * only past Salesforce's page size), whatever the batch's size. An Error in the slot of an invoice not returned.
   */
  async loadDetails(refs: readonly ProviderInvoiceRef[]): Promise<Array<InvoiceDetails | Error>> {
    const ids = [...new Set(refs.map((r) => r.providerInvoiceId).filter(isRecordId))];
    const results = new Map<string, { invoice: InvoiceRecord; lines: InvoiceLineRecord[] } | Error>();
    await Promise.all(
      chunks(ids).map(async (chunk) => {
        try {
          const found = await this.readInvoices(chunk);
          for (const id of chunk) results.set(id, found.get(id) ?? mapSalesforceFailure({ missing: 'Invoice', id }, 'read'));
        } catch (err) {
          for (const id of chunk) results.set(id, err as Error);
        }
      }),
    );
    const today = this.today();
    return refs.map((ref) => {
      const found = results.get(ref.providerInvoiceId) ?? mapSalesforceFailure({ missing: 'Invoice', id: ref.providerInvoiceId }, 'read');
      if (found instanceof Error) return found;
      try {
        return toDetails(found.invoice, found.lines, { orderId: ref.orderId || found.invoice.ReferenceEntityId || '', today });
      } catch (err) {
        return err as Error;
      }
    });
  }

  private today(): string {
    return this.now().toISOString().slice(0, 10);
  }

  private fulfillmentOrders(ids: string[]): Promise<FulfillmentOrderRecord[]> {
    return this.query(fulfillmentOrdersById(ids), fulfillmentOrderRecord);
  }

  /** Invoices and their lines by invoice id (as the caller wrote it, 15 or 18 characters): two queries, in parallel. */
  private async readInvoices(ids: string[]): Promise<Map<string, { invoice: InvoiceRecord; lines: InvoiceLineRecord[] }>> {
    const [invoices, lines] = await settled(this.query(invoicesById(ids), invoiceRecord), this.query(invoiceLinesByInvoiceId(ids), invoiceLineRecord));
    const out = new Map<string, { invoice: InvoiceRecord; lines: InvoiceLineRecord[] }>();
    for (const id of ids) {
      const invoice = invoices.find((inv) => sameId(inv.Id, id));
      if (invoice) out.set(id, { invoice, lines: lines.filter((l) => sameId(l.InvoiceId, invoice.Id)) });
    }
    return out;
  }

  /**
   * GET …/query?q=<SOQL>, then every nextRecordsUrl until `done`. Each page is one request, retried on its own.
   * A nextRecordsUrl is followed only as a path under /services/data on the instance: the token goes nowhere else.
   */
  private async query<S extends z.ZodType>(soql: string, record: S): Promise<Array<z.infer<S>>> {
    const out: Array<z.infer<S>> = [];
    let path = `${this.api}/query`;
    let query: Record<string, string> | undefined = { q: soql };
    for (;;) {
      const [p, q] = [path, query];
      const res = await this.resilience.read(() => this.call('read', () => this.http.request('GET', p, { query: q })));
      const page = queryResult.safeParse(res.json);
      if (!page.success) throw mapSalesforceFailure(res, 'read');
      for (const raw of page.data.records) {
        const parsed = record.safeParse(raw);
        if (!parsed.success) throw mapSalesforceFailure(res, 'read');
        out.push(parsed.data);
      }
      const next = page.data.nextRecordsUrl;
      if (page.data.done || !next) return out;
      if (!next.startsWith('/services/data/')) throw mapSalesforceFailure(res, 'read');
      path = next;
      query = undefined;
    }
  }

  /** Runs one HTTP call; transport failures and error statuses become the mapped ProviderError. */
  private async call(operation: SalesforceOperation, send: () => Promise<HttpResponse>): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await send();
    } catch (err) {
      if (err instanceof TransportError) throw mapSalesforceFailure(err, operation);
      throw err;
    }
    if (res.status < 200 || res.status >= 300) throw mapSalesforceFailure(res, operation);
    return res;
  }
}

/**
 * Both results, or the first failure once both have finished: no request outlives the call that made it (a
 * caller told "failed" has nothing of ours still running against the org).
 */
async function settled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/** Whether two ids name one record: an 18-character id begins with the 15-character one. */
function sameId(a: string, b: string): boolean {
  return a.slice(0, 15) === b.slice(0, 15);
}
