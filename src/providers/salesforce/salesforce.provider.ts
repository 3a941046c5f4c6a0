import type { z } from 'zod';
import type { InvoiceDetails, InvoiceHeader, ProviderInvoiceRef } from '../../domain/invoice';
import { ProviderError } from '../../domain/errors';
import type { CreateContext, InvoiceProvider, ProviderAccount } from '../provider';
import { HttpClient, TransportError, type HttpResponse, type RequestOptions } from '../shared/http-client';
import { ProviderResilience, type ResilienceOptions, type ProviderHealth } from '../shared/resilience';
import { sharedAs, TokenSource, withTokenRetry, type SharedTokenStore } from '../shared/token-source';
import { DEFAULT_SALESFORCE_LOGIN_URL, issueSalesforceSession, type SalesforceCredentials } from './salesforce.auth';
import { mapSalesforceFailure, type SalesforceOperation } from './salesforce.errors';
import type { SalesforceCreateInput } from './salesforce.input';
import { toDetails, type SalesforceApplications } from './salesforce.mapper';
import { FULFILLMENT_ORDER_KEY_PREFIX, validateSalesforceInput } from './salesforce.rules';
import {
  chunks,
  creditApplicationsByInvoiceId,
  fulfillmentOrdersById,
  fulfillmentOrdersByInvoiceId,
  paymentLinesByInvoiceId,
  INVOICE_FIELDS,
  INVOICE_LINE_FIELDS,
  invoiceLinesByInvoiceId,
  invoicesById,
  invoicesChangedSince,
  isRecordId,
  ORGANIZATION_CURRENCY, ORGANIZATION_IDENTITY,
  REQUIRED_INVOICE_FIELDS,
  REQUIRED_INVOICE_LINE_FIELDS,
} from './salesforce.soql';
import {
  applicationRecord,
  changedInvoiceRecord,
  salesforceDateTimeMs,
  describeResult,
  fulfillmentOrderInvoiceOutput,
  organizationRecord, organizationIdentity,
  fulfillmentOrderRecord,
  invoiceLineRecord,
  invoiceRecord,
  queryResult,
  type ApplicationRecord,
  type FulfillmentOrderRecord,
  type InvoiceLineRecord,
  type InvoiceRecord,
} from './salesforce.wire';

export interface SalesforceConfig {
  /** The tenant's connection this provider acts for, if it is one: names its tokens in the shared store. */
  connectionId?: string;
  /** The org's instance URL (https://mydomain.my.salesforce.com), or the sandbox emulator's origin. */
  instanceUrl: string;
  /** How sessions are had: a connected app's client credentials, a JWT bearer key, or a fixed session id. */
  credentials?: SalesforceCredentials;
  /** A fixed session id (SALESFORCE_ACCESS_TOKEN), never renewed: the same as `credentials: { accessToken }`. */
  accessToken?: string;
  /** Where JWT bearer assertions go, and their `aud`; default https://login.salesforce.com. */
  loginUrl?: string;
  /** Shares the session with the other replicas (the ledger's shared_tokens); without it each process logs in alone. */
  sharedTokens?: SharedTokenStore;
  /** The REST API version, e.g. '62.0'; create-invoice exists from 48.0. */
  apiVersion: string;
  timeoutMs?: number;
  /** Concurrent reads (query pages); the org's limit is a daily request count, so this only bounds our own load. */
  readConcurrency?: number;
  /** The clock that decides `overdue`; default the system clock. */
  now?: () => Date;
  /** Breaker, retry and rate-limit settings other than the defaults (see ProviderResilience). */
  resilience?: Omit<ResilienceOptions, 'provider'>;
  /**
   * The most query pages one changedSince reads (Salesforce's pages hold up to 2,000 records); the rest is left for
   * the next call, from the mark it returns. Default 20.
   */
  changesMaxPages?: number;
}

/** Pages one changedSince reads at most, by default: 40,000 changed invoices at Salesforce's 2,000 a page. */
export const SALESFORCE_CHANGES_MAX_PAGES = 20;

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
 * What this org has, from one describe of Invoice and of InvoiceLine at the configured version: the fields to
 * select, and, in a single-currency org (no CurrencyIsoCode), the org's currency.
 */
interface OrgShape {
  invoiceFields: string[];
  lineFields: string[];
  /** null in a multi-currency org: each record says its own. */
  orgCurrency: string | null;
}

/** An invoice as one batch of reads found it: the Invoice, its lines, and what was paid and credited on it. */
interface Found {
  invoice: InvoiceRecord;
  lines: InvoiceLineRecord[];
  applications: SalesforceApplications;
}

/**
 * Salesforce Order Management as an InvoiceProvider. Create is the create-invoice action on a fulfillment order,
 * followed by one batch of SOQL reads (the fulfillment order for its OrderSummary, the invoice, its lines, its
 * payment and credit applications); reads batch many invoices into one query per object. Salesforce has no idempotency header: it creates one invoice
 * per fulfillment order and refuses a second, which is what stops a duplicate, and findCreated asks the
 * fulfillment order which invoice it has. Sessions come from the TokenSource: renewed once on INVALID_SESSION_ID and
 * shared with the other replicas; the org's fields are described once per instance.
 */
export class SalesforceProvider implements InvoiceProvider<SalesforceCreateInput> {
  readonly code = 'SALESFORCE' as const;
  private readonly http: HttpClient;
  private readonly resilience: ProviderResilience;
  private readonly api: string;
  private readonly now: () => Date;
  private readonly tokens: TokenSource;
  private readonly changesMaxPages: number;
  private shape: Promise<OrgShape> | null = null;
  /** Describes made since start: tests prove the describe is cached by counting them. */
  describes = 0;

  constructor(config: SalesforceConfig) {
    this.api = `/services/data/${versionSegment(config.apiVersion)}`;
    this.now = config.now ?? (() => new Date());
    this.changesMaxPages = config.changesMaxPages ?? SALESFORCE_CHANGES_MAX_PAGES;
    if (!Number.isInteger(this.changesMaxPages) || this.changesMaxPages < 1) throw new Error('Salesforce changesMaxPages must be a positive whole number');
    const timeoutMs = config.timeoutMs ?? 10_000;
    this.http = new HttpClient({ baseUrl: config.instanceUrl, timeoutMs, headers: () => ({}), provider: 'SALESFORCE' });
    const credentials = config.credentials ?? (config.accessToken ? { accessToken: config.accessToken } : null);
    if (!credentials) throw new Error('Salesforce needs credentials: client id and secret, client id, username and private key, or an access token');
    if ('accessToken' in credentials) {
      this.tokens = TokenSource.fixed(credentials.accessToken);
    } else {
      const loginUrl = config.loginUrl ?? DEFAULT_SALESFORCE_LOGIN_URL;
      const keyCache = {};
      // JWT sessions are the named user's: the user is part of the shared name, and the private key seals it.
      const account = 'clientSecret' in credentials ? credentials : { clientId: `${credentials.clientId} ${credentials.username}`, clientSecret: credentials.privateKey };
      this.tokens = new TokenSource({
        issue: () => issueSalesforceSession(credentials, { instanceUrl: config.instanceUrl, loginUrl, timeoutMs, now: this.now }, keyCache),
        now: () => this.now().getTime(),
        shared: sharedAs(config.sharedTokens, this.code, config.instanceUrl, account, config.connectionId),
      });
    }
    // A used-up daily limit shuts the gate for the cool-down, longer than any read waits: reads are not retried against it.
    this.resilience = new ProviderResilience({
      provider: 'Salesforce',
      code: 'SALESFORCE',
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

  /**
   * One create-invoice POST, never retried, then five SOQL reads in parallel (fulfillment order, invoice, lines,
   * payment and credit applications: Order Management may apply a payment at once).
   */
  async create(input: SalesforceCreateInput, _ctx: CreateContext): Promise<InvoiceDetails[]> {
    // Before the POST: an org whose fields cannot be read back is found out before anything is created.
    const shape = await this.orgShape();
    const path = `${this.api}/commerce/fulfillment/fulfillment-orders/${encodeURIComponent(input.fulfillmentOrderId)}/actions/create-invoice`;
    // Never repeated: a repeat of an action that did create is refused as the fulfillment order's second invoice,
    // which would hide ours; an unknown outcome is settled by findCreated instead.
    const res = await this.resilience.write(() => this.call('create', 'POST', path, { json: {} }));
    const output = fulfillmentOrderInvoiceOutput.safeParse(res.json);
    if (!output.success) throw mapSalesforceFailure(res, 'create');
    if (!output.data.success) throw mapSalesforceFailure(output.data, 'create');
    const invoiceId = output.data.invoiceId;
    if (!invoiceId || !isRecordId(invoiceId)) throw mapSalesforceFailure(res, 'create');
    // The invoice exists from here on: a failed read must not look like a refused create.
    try {
      const [orders, details] = await settled(this.fulfillmentOrders([input.fulfillmentOrderId]), this.readInvoices([invoiceId], shape));
      const order = orders.find((fo) => sameId(fo.Id, input.fulfillmentOrderId));
      const found = details.get(invoiceId);
      if (!found) throw mapSalesforceFailure({ missing: 'Invoice', id: invoiceId }, 'read');
      const orderId = order?.OrderSummaryId || found.invoice.ReferenceEntityId;
      if (!orderId) throw mapSalesforceFailure({ missing: 'FulfillmentOrder', id: input.fulfillmentOrderId }, 'read');
      return [toDetails(found.invoice, found.lines, { orderId, today: this.today(), orgCurrency: shape.orgCurrency, applications: found.applications })];
    } catch (err) {
      if (err instanceof ProviderError) throw new ProviderError(err.userErrors, 'indeterminate', `created ${invoiceId}, read failed: ${err.cause_}`);
      throw err;
    }
  }

  /**
   * The fulfillment order's invoice, whoever created it (Salesforce allows one): one query for the fulfillment
   * order, and four more when it has an invoice. [] when it has none, or when no such fulfillment order is visible.
   */
  async findCreated(input: SalesforceCreateInput): Promise<InvoiceDetails[]> {
    const [order] = await this.fulfillmentOrders([input.fulfillmentOrderId]);
    if (!order?.InvoiceId) return [];
    const shape = await this.orgShape();
    const found = (await this.readInvoices([order.InvoiceId], shape)).get(order.InvoiceId);
    if (!found) throw mapSalesforceFailure({ missing: 'Invoice', id: order.InvoiceId }, 'read');
    const orderId = order.OrderSummaryId || found.invoice.ReferenceEntityId || input.fulfillmentOrderId;
    return [toDetails(found.invoice, found.lines, { orderId, today: this.today(), orgCurrency: shape.orgCurrency, applications: found.applications })];
  }

  health(): ProviderHealth {
    return this.resilience.health();
  }

  /**
   * "Users can edit non-posted invoices. Posted invoices can't be deleted" (Invoice, Object Reference:
   * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_invoice.htm):
   * Draft and Pending (both DRAFT here) can change; Posted, Canceled and Voided ones cannot.
   */
  contentFinal(header: InvoiceHeader): boolean {
    return header.status !== 'DRAFT';
  }

  /**
   * Per request batch of lazy fields: one query each of Invoice, InvoiceLine, PaymentLineInvoice and
   * CreditMemoInvApplication for up to 200 invoices (more pages only past Salesforce's page size), whatever the
   * batch's size: four calls for a batch of 1 or of 200. An Error in the slot of an invoice not returned.
   */
  async loadDetails(refs: readonly ProviderInvoiceRef[]): Promise<Array<InvoiceDetails | Error>> {
    const read = await this.readByChunk(
      refs.map((r) => r.providerInvoiceId),
      async (chunk, shape) => {
        const found = await this.readInvoices(chunk, shape);
        return (id) => found.get(id);
      },
    );
    if (read instanceof Error) return refs.map(() => read);
    const { shape, results } = read;
    const today = this.today();
    return refs.map((ref) => {
      const found = results.get(ref.providerInvoiceId) ?? mapSalesforceFailure({ missing: 'Invoice', id: ref.providerInvoiceId }, 'read');
      if (found instanceof Error) return found;
      try {
        return toDetails(found.invoice, found.lines, { orderId: ref.orderId || found.invoice.ReferenceEntityId || '', today, orgCurrency: shape?.orgCurrency ?? null, applications: found.applications });
      } catch (err) {
        return err as Error;
      }
    });
  }

  /**
   * The org's shape, then `read` of each chunk of up to 200 distinct record ids, in parallel: per id what the chunk's
   * answer has for it, an Error for an id it has not (Salesforce has no such invoice) and for every id of a chunk whose
   * read failed. An Error for everything when the shape cannot be read. Shared by loadDetails and readUnknown.
   */
  private async readByChunk<R>(
    requested: readonly string[],
    read: (chunk: string[], shape: OrgShape) => Promise<(id: string) => R | undefined>,
  ): Promise<{ shape: OrgShape | null; results: Map<string, R | Error> } | Error> {
    const ids = [...new Set(requested.filter(isRecordId))];
    const results = new Map<string, R | Error>();
    let shape: OrgShape | null = null;
    try {
      if (ids.length > 0) shape = await this.orgShape();
    } catch (err) {
      return err as Error;
    }
    await Promise.all(
      chunks(ids).map(async (chunk) => {
        try {
          const answer = await read(chunk, shape!);
          for (const id of chunk) results.set(id, answer(id) ?? mapSalesforceFailure({ missing: 'Invoice', id }, 'read'));
        } catch (err) {
          for (const id of chunk) results.set(id, err as Error);
        }
      }),
    );
    return { shape, results };
  }

  /**
   * Invoices the change feed named that the ledger does not know (one made in Order Management outside the subgraph,
   * by a merchant's flow or a finance user), each with the order our own invoices get: the OrderSummaryId of the
   * fulfillment order it was made from, as create and findCreated take it. Per chunk of up to 200 ids, the four reads
   * of loadDetails and one query of FulfillmentOrder by InvoiceId, all in parallel: five calls for 1 id or for 200.
   * Without such a fulfillment order, the invoice's ReferenceEntityId is its order (Invoice, Object Reference:
   * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_invoice.htm,
   * lists ReferenceEntityId, a polymorphic reference). ASSUMPTION: for an invoice made from an order summary's
   * fulfillment order it holds the OrderSummary id (as the sandbox emulator has it) or the fulfillment order's id,
   * which the FulfillmentOrder query answers; the docs found do not say which. Null for an invoice on no order (no
   * ReferenceEntityId, or a fulfillment order id that no fulfillment order has as its invoice); an Error in the slot
   * of an id Salesforce does not have, a malformed id, or a failed read.
   */
  async readUnknown(providerInvoiceIds: readonly string[]): Promise<Array<InvoiceDetails | null | Error>> {
    const read = await this.readByChunk(providerInvoiceIds, async (chunk, shape) => {
      const [found, orders] = await settled(this.readInvoices(chunk, shape), this.query(fulfillmentOrdersByInvoiceId(chunk), fulfillmentOrderRecord));
      return (id) => {
        const f = found.get(id);
        if (!f) return undefined;
        const order = orders.find((fo) => Boolean(fo.InvoiceId) && sameId(fo.InvoiceId!, f.invoice.Id));
        return { found: f, orderSummaryId: order?.OrderSummaryId || null };
      };
    });
    if (read instanceof Error) return providerInvoiceIds.map(() => read);
    const { shape, results } = read;
    const today = this.today();
    return providerInvoiceIds.map((id) => {
      const read = results.get(id) ?? mapSalesforceFailure({ missing: 'Invoice', id }, 'read');
      if (read instanceof Error) return read;
      const reference = read.found.invoice.ReferenceEntityId;
      const orderId = read.orderSummaryId || (reference && !reference.startsWith(FULFILLMENT_ORDER_KEY_PREFIX) ? reference : null);
      if (!orderId) return null;
      try {
        return toDetails(read.found.invoice, read.found.lines, { orderId, today, orgCurrency: shape?.orgCurrency ?? null, applications: read.found.applications });
      } catch (err) {
        return err as Error;
      }
    });
  }

  /**
   * The invoices changed since `since`, ours or not: one SOQL query (invoicesChangedSince, which says why
   * SystemModstamp) and its nextRecordsUrl pages, at most changesMaxPages of them. `until` is the greatest
   * SystemModstamp seen, or `since` when nothing changed; records stamped at or before `since` (the query's literal is
   * whole seconds) are left out. When the pages ran out before the result did, `until` is
   * the last SystemModstamp read less a millisecond: the records not read all come at or after it (the query orders
   * by SystemModstamp, then Id), so asking again from `until` loses none of them. The caller's clock margin (the sync
   * pass takes 60 s off) covers a change committed late with an earlier stamp; a window of more changed invoices than
   * the pages hold within that margin is read again and again, never past. Failures are the mapped ProviderError of
   * the failed page, after the read retries. Costs 1 request per page.
   * Assumption: applying a payment (PaymentLineInvoice) or a credit memo (CreditMemoInvApplication) to an invoice
   * updates the Invoice record, so its SystemModstamp; Salesforce does not say so, and Order Management's
   * Invoice.Balance "ignor[es] payments and adjustments" (Object Reference, Invoice:
   * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_invoice.htm).
   * Where it does not, such a change is seen by the age-based refresh only.
   */
  async changedSince(since: Date): Promise<{ providerInvoiceIds: string[]; until: Date }> {
    const { records, complete } = await this.queryPages(invoicesChangedSince(since), changedInvoiceRecord, this.changesMaxPages);
    const ids = new Set<string>();
    let until = since.getTime();
    for (const r of records) {
      const stamp = salesforceDateTimeMs(r.SystemModstamp)!;
      // The literal is whole seconds: what changed in `since`'s second, up to `since` itself, is not news.
      if (stamp <= since.getTime()) continue;
      if (isRecordId(r.Id)) ids.add(r.Id);
      until = Math.max(until, stamp);
    }
    const last = records.at(-1);
    if (!complete && last) until = salesforceDateTimeMs(last.SystemModstamp)! - 1;
    return { providerInvoiceIds: [...ids], until: new Date(until) };
  }

  private today(): string {
    return this.now().toISOString().slice(0, 10);
  }

  private fulfillmentOrders(ids: string[]): Promise<FulfillmentOrderRecord[]> {
    return this.query(fulfillmentOrdersById(ids), fulfillmentOrderRecord);
  }

  /**
   * The org's shape, described once per instance (two GETs, then one query in a single-currency org) and kept; a
   * failed describe is not kept, and a query refused for a field (INVALID_FIELD: the org changed) drops it.
   */
  private orgShape(): Promise<OrgShape> {
    this.shape ??= this.describeOrg().catch((err: unknown) => {
      this.shape = null;
      throw err;
    });
    return this.shape;
  }

  /**
   * The org the credentials reach: its Organization record (one SOQL query, after a session is had). Called by
   * connectProvider; refused credentials are PROVIDER_UNAUTHORIZED.
   */
  async identify(): Promise<ProviderAccount> {
    const [org] = await this.query(ORGANIZATION_IDENTITY, organizationIdentity);
    if (!org) throw mapSalesforceFailure({ sobject: 'Organization', field: 'Id' }, 'read');
    return { accountId: org.Id, accountName: org.Name ?? null };
  }

  private async describeOrg(): Promise<OrgShape> {
    this.describes++;
    const [invoice, line] = await settled(this.describe('Invoice'), this.describe('InvoiceLine'));
    for (const field of REQUIRED_INVOICE_FIELDS) if (!invoice.has(field)) throw mapSalesforceFailure({ sobject: 'Invoice', field }, 'read');
    for (const field of REQUIRED_INVOICE_LINE_FIELDS) if (!line.has(field)) throw mapSalesforceFailure({ sobject: 'InvoiceLine', field }, 'read');
    // Below API 55.0 InvoiceLine has no LineAmount: the mapper falls back to ChargeAmount, which every version has.
    const shape: OrgShape = { invoiceFields: INVOICE_FIELDS.filter((f) => invoice.has(f)), lineFields: INVOICE_LINE_FIELDS.filter((f) => line.has(f)), orgCurrency: null };
    if (invoice.has('CurrencyIsoCode')) return shape;
    const [org] = await this.query(ORGANIZATION_CURRENCY, organizationRecord);
    if (!org?.DefaultCurrencyIsoCode) throw mapSalesforceFailure({ sobject: 'Organization', field: 'DefaultCurrencyIsoCode' }, 'read');
    return { ...shape, orgCurrency: org.DefaultCurrencyIsoCode };
  }

  /** GET …/sobjects/{name}/describe: the names of the fields the integration user can see at this version. */
  private async describe(sobject: 'Invoice' | 'InvoiceLine'): Promise<Set<string>> {
    const res = await this.resilience.read(() => this.call('read', 'GET', `${this.api}/sobjects/${sobject}/describe`, {}));
    const parsed = describeResult.safeParse(res.json);
    if (!parsed.success) throw mapSalesforceFailure(res, 'read');
    return new Set(parsed.data.fields.map((f) => f.name));
  }

  /**
   * Invoices, their lines and their payment and credit applications by invoice id (as the caller wrote it, 15 or 18
   * characters): four queries in parallel, whatever the number of ids (up to MAX_IDS_PER_QUERY). The applications
   * are read because Invoice.Balance ignores payments (see statusOf in the mapper).
   */
  private async readInvoices(ids: string[], shape: OrgShape): Promise<Map<string, Found>> {
    const [[invoices, lines], [payments, credits]] = await settled(
      settled(this.query(invoicesById(ids, shape.invoiceFields), invoiceRecord), this.query(invoiceLinesByInvoiceId(ids, shape.lineFields), invoiceLineRecord)),
      settled(this.applications(paymentLinesByInvoiceId(ids)), this.applications(creditApplicationsByInvoiceId(ids))),
    );
    const out = new Map<string, Found>();
    for (const id of ids) {
      const invoice = invoices.find((inv) => sameId(inv.Id, id));
      if (!invoice) continue;
      const of = (rows: ApplicationRecord[]) => rows.filter((r) => sameId(r.InvoiceId, invoice.Id));
      out.set(id, { invoice, lines: lines.filter((l) => sameId(l.InvoiceId, invoice.Id)), applications: { payments: of(payments), credits: of(credits) } });
    }
    return out;
  }

  /**
   * One application query. An org without the object (no Payment Platform, no credit memos) refuses it with
   * INVALID_TYPE; such an org records no such applications, so none is what it has. Assumption: the integration user
   * can read the objects wherever the org has them.
   */
  private async applications(soql: string): Promise<ApplicationRecord[]> {
    try {
      return await this.query(soql, applicationRecord);
    } catch (err) {
      if (err instanceof ProviderError && err.userErrors.some((e) => e.providerCode === 'INVALID_TYPE')) return [];
      throw err;
    }
  }

  /**
   * GET …/query?q=<SOQL>, then every nextRecordsUrl until `done`. Each page is one request, retried on its own.
   * A nextRecordsUrl is followed only as a path under /services/data on the instance: the token goes nowhere else.
   */
  private async query<S extends z.ZodType>(soql: string, record: S): Promise<Array<z.infer<S>>> {
    return (await this.queryPages(soql, record, Infinity)).records;
  }

  /**
   * The pages of one query (GET …/query, then each nextRecordsUrl: Query and Query More Results, REST API Developer
   * Guide, https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.md and
   * https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query-more-results.html), at
   * most `maxPages` of them; `complete` is false when more were left unread.
   */
  private async queryPages<S extends z.ZodType>(soql: string, record: S, maxPages: number): Promise<{ records: Array<z.infer<S>>; complete: boolean }> {
    const out: Array<z.infer<S>> = [];
    let path = `${this.api}/query`;
    let query: Record<string, string> | undefined = { q: soql };
    for (let pages = 1; ; pages++) {
      const [p, q] = [path, query];
      let res: HttpResponse;
      try {
        res = await this.resilience.read(() => this.call('read', 'GET', p, { query: q }));
      } catch (err) {
        if (err instanceof ProviderError && err.userErrors.some((e) => e.providerCode === 'INVALID_FIELD')) this.shape = null;
        throw err;
      }
      const page = queryResult.safeParse(res.json);
      if (!page.success) throw mapSalesforceFailure(res, 'read');
      for (const raw of page.data.records) {
        const parsed = record.safeParse(raw);
        if (!parsed.success) throw mapSalesforceFailure(res, 'read');
        out.push(parsed.data);
      }
      const next = page.data.nextRecordsUrl;
      if (page.data.done || !next) return { records: out, complete: true };
      if (!next.startsWith('/services/data/')) throw mapSalesforceFailure(res, 'read');
      if (pages >= maxPages) return { records: out, complete: false };
      path = next;
      query = undefined;
    }
  }

  /**
   * Runs one HTTP call with the session, and once more with a renewed one when Salesforce answers 401
   * (INVALID_SESSION_ID: the session timed out or was revoked). A 401 is sent before anything is processed, so even a
   * create is safe to resend. Transport failures and error statuses become the mapped ProviderError.
   */
  private async call(operation: SalesforceOperation, method: 'GET' | 'POST', path: string, opts: RequestOptions): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await withTokenRetry(this.tokens, (token) => this.http.request(method, path, { ...opts, headers: { ...opts.headers, authorization: `Bearer ${token}` } }));
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
