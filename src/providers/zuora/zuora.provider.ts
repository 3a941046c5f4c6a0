import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { ProviderError } from '../../domain/errors';
import type { InvoiceDetails, InvoiceHeader, ProviderInvoiceRef } from '../../domain/invoice';
import { formatAmount } from '../../domain/money';
import type { ProviderAccount, CreateContext, InvoiceProvider } from '../provider';
import { HttpClient, postForm, TransportError, type HttpResponse, type RequestOptions } from '../shared/http-client';
import { ProviderResilience, type ResilienceOptions, type ProviderHealth } from '../shared/resilience';
import { sharedAs, TokenSource, withTokenRetry, type ClientCredentials, type IssuedToken, type SharedTokenStore } from '../shared/token-source';
import { idempotencyWindowPassed, isNotFound, mapZuoraFailure, type ZuoraOperation } from './zuora.errors';
import type { ZuoraCreateInput } from './zuora.input';
import { creditMemoDetails, documentKeyOf, invoiceDetails, orderIdOfLineItem, orderLineItemIdOf, type ZuoraDocumentKey } from './zuora.mapper';
import { userError } from '../../domain/errors';
import { validateZuoraInput } from './zuora.rules';
import { zuoraWebhooks } from './zuora.webhooks';
import {
  zuoraCreateResponse,
  zuoraCreditMemo,
  zuoraCreditMemoFiles,
  zuoraCreditMemoItems,
  zuoraCreditMemoItemsPage,
  zuoraFulfillmentsPage,
  zuoraInvoice,
  zuoraInvoiceFiles,
  zuoraInvoiceItems,
  zuoraInvoiceItemsPage,
  zuoraOrder,
  zuoraOrderLineItem,
  zuoraTaxationItemsPage,
  type ZuoraFulfillmentRow,
  zuoraToken,
  type ZuoraCreateResponse,
  type ZuoraCreditMemo,
  type ZuoraCreditMemoItem,
  type ZuoraInvoice,
  type ZuoraInvoiceItem,
} from './zuora.wire';

export interface ZuoraConfig {
  /** The tenant's connection this provider acts for, if it is one: names its tokens in the shared store. */
  connectionId?: string;
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
/** Object Query pages hold at most 99 records (https://developer.zuora.com/docs/guides/expand-filter-fields-sort). */
const OBJECT_QUERY_PAGE_SIZE = 99;
/** Fulfillment ids per `fulfillmentid.IN:[...]` filter, to keep the query string short. */
const IN_FILTER_IDS = 40;
/** Taxation item pages of a document item hold at most 40 (GET_TaxationItemsOfInvoiceItem's pageSize). */
const TAX_PAGE_SIZE = 40;
/** Keys of one attempt at most: each one past the first costs a replayed POST on every later take. */
const MAX_KEYS = 10;

interface ReadDocument {
  key: ZuoraDocumentKey;
  document: ZuoraInvoice | ZuoraCreditMemo;
  items: Array<ZuoraInvoiceItem | ZuoraCreditMemoItem>;
  documentUrl: string | null;
}

/**
 * Zuora's v1 API as an InvoiceProvider. Create is POST /v1/fulfillments with billing: one call may bill several
 * invoices (one per account) and credit memos (for returns); each is read back (document, items, PDF file) and its
 * order found through its first order line item.
 *
 * Keys: Zuora stores the status and body of the first request with an Idempotency-Key for 24 hours, "regardless of
 * whether it succeeded or failed", and answers every later request with the key with it
 * (https://developer.zuora.com/docs/guides/idempotent-requests). So an attempt has a sequence of keys (its id, then
 * its id and 2, 3, ...), and take n (ctx.tryNumber) walks keys 1 to n from the first: a key Zuora answers with a stored failure that
 * created nothing (lock contention, a temporary error) is passed for the next; a key it stored an internal error under
 * is passed only once a lookup shows that request created nothing; the first key Zuora has not seen is performed (the
 * one create), one it still runs answers 409 (the try stays unknown), a stored success is the result. The sequence
 * lives at Zuora, so nothing about it is stored here, and a request still running under an earlier key is never
 * raced by a later one.
 *
 * Lookups: every fulfillment carries an externalId (the caller's, or one derived from the attempt), found again
 * through Object Query: the fulfillments with those externalIds, then the invoice and credit memo items billing them.
 */
export class ZuoraProvider implements InvoiceProvider<ZuoraCreateInput> {
  readonly code = 'ZUORA' as const;
  readonly lookupWindowMs = RESEND_WINDOW_MS;
  /** Callout notifications configured as in zuora.webhooks.ts (HMAC-SHA256 over the body, our JSON body contract). */
  readonly webhooks = zuoraWebhooks;
  private readonly http: HttpClient;
  private readonly tokens: TokenSource;
  private readonly resilience: ProviderResilience;
  private readonly now: () => Date;
  private readonly baseUrl: string;
  private readonly credentials: ClientCredentials;
  private readonly timeoutMs: number;

  constructor(config: ZuoraConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    const timeoutMs = config.timeoutMs ?? 10_000;
    this.timeoutMs = timeoutMs;
    this.credentials = config.credentials;
    this.now = config.now ?? (() => new Date());
    this.http = new HttpClient({ baseUrl: config.baseUrl, timeoutMs, headers: () => ({ 'zuora-version': ZUORA_VERSION }), provider: 'ZUORA' });
    const { credentials } = config;
    this.tokens =
      'accessToken' in credentials
        ? TokenSource.fixed(credentials.accessToken)
        : new TokenSource({
            issue: () => issueToken(config.baseUrl, credentials, timeoutMs),
            now: () => this.now().getTime(),
            shared: sharedAs(config.sharedTokens, this.code, config.baseUrl, credentials, config.connectionId),
          });
    // Zuora's 429 carries RateLimit-Reset (seconds), so the default cool-down rarely applies.
    this.resilience = new ProviderResilience({ provider: 'Zuora', readConcurrency: config.readConcurrency, ...config.resilience });
  }

  validate(input: ZuoraCreateInput) {
    return validateZuoraInput(input);
  }

  /**
   * The tenant the OAuth client belongs to: one token request, whose answer's scope names it (`tenant.<id>`, Create
   * an OAuth token: https://developer.zuora.com/v1-api-reference/api/operation/createToken/). Zuora's token answer
   * has no tenant name (null). Called by connectProvider; refused credentials are PROVIDER_UNAUTHORIZED.
   */
  async identify(): Promise<ProviderAccount> {
    if (!this.credentials || 'accessToken' in this.credentials) throw new Error('ZuoraProvider.identify needs client credentials');
    const issued = await issueToken(this.baseUrl, this.credentials, this.timeoutMs);
    const tenant = /(?:^|\s)tenant\.(\S+)/.exec(issued.scope ?? '')?.[1];
    return { accountId: tenant ?? `${this.baseUrl} ${this.credentials.clientId}`, accountName: null };
  }

  orderIdOf(input: ZuoraCreateInput): string {
    return input.fulfillments[0]?.orderLineItemId ?? '';
  }

  async create(input: ZuoraCreateInput, ctx: CreateContext): Promise<InvoiceDetails[]> {
    return this.walkKeys(input, ctx, 'create');
  }

  /**
   * What the attempt created, by walking its keys as create does: Zuora replays what each key did, and a stored
   * internal error is settled by the externalId lookup (lookUpCreated). A stored refusal proves nothing was created:
   * []. A key Zuora has not seen is performed now, which is the one create the attempt was for. Keys live 24 hours at
   * Zuora, so an older attempt is not resent: it stays open, for a person to settle in Zuora.
   */
  async findCreated(input: ZuoraCreateInput, ctx: CreateContext): Promise<InvoiceDetails[]> {
    if (ctx.attemptStartedAt && this.now().getTime() - ctx.attemptStartedAt.getTime() > RESEND_WINDOW_MS) throw idempotencyWindowPassed(ctx.attemptStartedAt);
    return this.walkKeys(input, ctx, 'find');
  }

  /** The attempt's keys in order, until one gives an answer that is not a stored failure that created nothing. */
  private async walkKeys(input: ZuoraCreateInput, ctx: CreateContext, mode: 'create' | 'find'): Promise<InvoiceDetails[]> {
    let last: ProviderError | null = null;
    // Take n walks keys 1..n: each take adds at most one key, so a failure storm cannot burn keys within one call.
    const keys = Math.min(Math.max(1, ctx.tryNumber ?? 1), MAX_KEYS);
    // A later take looks first. The walk trusts an answer to be Zuora's stored one; an envelope-shaped failure that
    // Zuora never stored (from a proxy or its edge) would let a later take perform key 1 anew after key 2 created,
    // billing twice, or be refused (quantity used up) and lose key 2's invoice. The externalIds are the same on every key.
    const lookFirst = keys > 1 || mode === 'find';
    if (lookFirst) {
      const found = await this.lookUpWithin(input, ctx);
      if (found.length > 0) return found;
    }
    for (let n = 1; n <= keys; n++) {
      let created: ZuoraCreateResponse;
      try {
        created = await this.post(input, ctx, n);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        const stored = storedFailure(err);
        if (stored === 'refused') {
          // After earlier takes, a refusal of this key says nothing of the others: one still in flight may have landed.
          if (keys > 1) {
            const found = await this.lookUpWithin(input, ctx);
            if (found.length > 0) return found;
          }
          if (mode === 'find') return [];
          throw err;
        }
        if (stored === null) throw err;
        // Zuora stored an internal error: whether that request created anything is for the lookup to say. A stored
        // answer to an earlier take's key is a finished request, so the lookup this take began with has already said it.
        if (stored === 'unknown' && (!lookFirst || n === keys)) {
          const found = await this.lookUpWithin(input, ctx);
          if (found.length > 0) return found;
        }
        last = err;
        continue;
      }
      // The documents exist from here on: a failed read must not look like a refused create.
      try {
        return await this.readCreated(createdKeys(created), input);
      } catch (readErr) {
        if (readErr instanceof ProviderError) throw new ProviderError(readErr.userErrors, 'indeterminate', `created ${createdNumbers(created)}, read failed: ${readErr.cause_}`);
        throw readErr;
      }
    }
    // Every key this take may use holds a stored failure that created nothing: the next take has one more.
    if (keys < MAX_KEYS) throw last!;
    throw new ProviderError(
      [userError('NEEDS_MANUAL_SETTLEMENT', `Zuora answered all ${MAX_KEYS} keys of this attempt with failures (the last: ${last!.userErrors[0]?.providerMessage ?? last!.cause_}); it is left for a person.`)],
      'indeterminate',
      `${MAX_KEYS} keys answered with stored failures; last: ${last!.cause_}`,
    );
  }

  /** lookUpCreated inside a create or a find: a read that fails there leaves the outcome open, never refused. */
  private async lookUpWithin(input: ZuoraCreateInput, ctx: CreateContext): Promise<InvoiceDetails[]> {
    try {
      return await this.lookUpCreated(input, ctx);
    } catch (err) {
      if (err instanceof ProviderError && err.disposition !== 'indeterminate') throw new ProviderError(err.userErrors, 'indeterminate', `lookup failed: ${err.cause_}`);
      throw err;
    }
  }

  /**
   * What the attempt's requests created, found through documented reads: Object Query's fulfillments with the
   * externalIds the attempt sends (https://developer.zuora.com/v1-api-reference/api/operation/queryFulfillments/,
   * `externalid` is filterable) on the line items it names, then the invoice items and credit memo items that bill them
   * (.../queryInvoiceItems/, .../queryCreditMemoItems/, `fulfillmentid` is filterable). None: []. Fulfillments without a
   * document: left for a person. Costs one query per distinct externalId (and page), two more when something was found,
   * then the documents' reads.
   */
  async lookUpCreated(input: ZuoraCreateInput, ctx: Pick<CreateContext, 'idempotencyKey'>): Promise<InvoiceDetails[]> {
    // Assumption: a caller's own externalId names one fulfillment of its line item (Zuora: "The ID of the fulfillment.
    // The ID is generated based on the external system"); ours are derived from the attempt and are unique.
    const externalIds = externalIdsOf(input, ctx);
    const wanted = new Map<string, Set<string>>();
    input.fulfillments.forEach((f, i) => wanted.set(externalIds[i]!, (wanted.get(externalIds[i]!) ?? new Set()).add(f.orderLineItemId.toLowerCase())));
    const found: ZuoraFulfillmentRow[] = [];
    for (const [externalId, lineItems] of wanted) {
      const rows = await this.queryAll('/object-query/fulfillments', zuoraFulfillmentsPage, `externalid.EQ:${externalId}`);
      found.push(...rows.filter((r) => r.externalId === externalId && lineItems.has((r.orderLineItemId ?? '').toLowerCase())));
    }
    if (found.length === 0) return [];
    const ids = [...new Set(found.map((f) => f.id))];
    const keys: ZuoraDocumentKey[] = [];
    for (let i = 0; i < ids.length; i += IN_FILTER_IDS) {
      const filter = `fulfillmentid.IN:[${ids.slice(i, i + IN_FILTER_IDS).join(',')}]`;
      const [invoiceItems, memoItems] = await settled([
        this.queryAll('/object-query/invoice-items', zuoraInvoiceItemsPage, filter),
        this.queryAll('/object-query/credit-memo-items', zuoraCreditMemoItemsPage, filter),
      ] as const);
      keys.push(...invoiceItems.flatMap((r) => (r.invoiceId ? [{ kind: 'invoice' as const, id: r.invoiceId }] : [])));
      keys.push(...memoItems.flatMap((r) => (r.creditMemoId ? [{ kind: 'creditMemo' as const, id: r.creditMemoId }] : [])));
    }
    const distinct = [...new Map(keys.map((k) => [`${k.kind}:${k.id}`, k])).values()];
    if (distinct.length === 0) {
      const numbers = found.map((f) => f.fulfillmentNumber ?? f.id).join(', ');
      throw new ProviderError(
        [userError('NEEDS_MANUAL_SETTLEMENT', `Zuora holds this attempt's fulfillments (${numbers}) but no invoice or credit memo for them: settle them in Zuora; nothing was sent again.`)],
        'indeterminate',
        `fulfillments without documents: ${numbers}`,
      );
    }
    return this.readCreated(distinct, input);
  }

  health(): ProviderHealth {
    return this.resilience.health();
  }

  /**
   * A Draft invoice or memo can still change; Posted and Canceled ones cannot. A posted invoice's items change only
   * after it is unposted back to Draft, which Zuora allows only with no payments, memos or adjustments on it
   * (https://docs.zuora.com/zuora-platform/data-management/data-loader/data-dictionary-for-data-loader/update/invoices/unpost-invoice-update-fields).
   * Assumption: the ledger's age-based refresh is what catches such an unpost.
   */
  contentFinal(header: InvoiceHeader): boolean {
    return header.status !== 'DRAFT';
  }

  async loadDetails(refs: readonly ProviderInvoiceRef[]): Promise<Array<InvoiceDetails | Error>> {
    // No batch read at Zuora: one document read and one items read per distinct document, `readConcurrency` at once.
    const reads = new Map<string, Promise<InvoiceDetails>>();
    for (const ref of refs) {
      if (!reads.has(ref.providerInvoiceId)) reads.set(ref.providerInvoiceId, this.readDocument(documentKeyOf(ref.providerInvoiceId)).then((doc) => this.toDetails(doc, ref.orderId)));
    }
    return Promise.all(refs.map((ref) => reads.get(ref.providerInvoiceId)!.catch((err: Error) => err)));
  }

  private post(input: ZuoraCreateInput, ctx: CreateContext, n: number): Promise<ZuoraCreateResponse> {
    // The same track id on every key of an attempt ties them together in Zuora's logs (<= 64 ASCII, no :;"').
    const headers = { 'idempotency-key': idempotencyKeyOf(ctx.idempotencyKey, n), 'zuora-track-id': `invoicing-${sha256(ctx.idempotencyKey).slice(0, 32)}` };
    const body = toRequestBody(input, externalIdsOf(input, ctx));
    // Repeatable: a repeat with the same Idempotency-Key gets Zuora's stored answer (or 409 while the first runs),
    // so a lost answer is sent once more at once instead of leaving the attempt unknown.
    // Zuora's own failure answer is stored under the key: repeating the key would only get it back, so it is not
    // repeated (it goes past the retry policy wrapped) and the walk decides.
    return this.resilience
      .write(
        async () => {
          try {
            const res = await this.call('create', 'POST', '/v1/fulfillments', { json: body, headers }, input);
            const parsed = zuoraCreateResponse.safeParse(res.json);
            if (!parsed.success) throw mapZuoraFailure(res, 'create', input);
            return parsed.data;
          } catch (err) {
            if (err instanceof ProviderError && storedFailure(err) !== null) throw new StoredAnswer(err);
            throw err;
          }
        },
        { repeatable: true },
      )
      .catch((err: unknown) => {
        throw err instanceof StoredAnswer ? err.failure : err;
      });
  }

  /**
   * Every document the create billed, read back; each one's order is the order of its first order line item (the
   * input's first where a document names none), else that line item's id.
   */
  private async readCreated(keys: ZuoraDocumentKey[], input: ZuoraCreateInput): Promise<InvoiceDetails[]> {
    const docs = await settled(keys.map((key) => this.readDocument(key, true)));
    const orders = await this.ordersOf(docs, this.orderIdOf(input));
    return docs.map((doc, i) => {
      const order = orders[i]!;
      if (order instanceof Error) throw order;
      return this.toDetails(doc, order.orderId ?? order.lineItemId!);
    });
  }

  /**
   * Invoices (and credit memos, `creditmemo:` ids) a callout named that the ledger does not know, read as readCreated
   * reads them (document, items, file; the order of the first order line item). Null for a document that belongs to no
   * order: none of its items names an order line item (a subscription's bill run), or that line item names no order;
   * null too for an id this tenant does not have (Zuora's "not found": a callout naming another tenant's document).
   */
  async readUnknown(providerInvoiceIds: readonly string[]): Promise<Array<InvoiceDetails | null | Error>> {
    const ids = [...new Set(providerInvoiceIds)];
    const read = await Promise.allSettled(ids.map((id) => this.readDocument(documentKeyOf(id), true)));
    const docs = read.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const orders = await this.ordersOf(docs, null);
    const byId = new Map<string, InvoiceDetails | null | Error>();
    let d = 0;
    read.forEach((r, i) => {
      if (r.status === 'rejected') return void byId.set(ids[i]!, isNotFound(r.reason) ? null : asError(r.reason));
      const doc = docs[d]!;
      const order = orders[d++]!;
      byId.set(ids[i]!, order instanceof Error ? order : order.orderId === null ? null : this.toDetails(doc, order.orderId));
    });
    return providerInvoiceIds.map((id) => byId.get(id)!);
  }

  /**
   * The order each document belongs to: the order (orderOfLineItem) of the first order line item its items bill, else
   * of `fallback`; `lineItemId` null where there is neither, `orderId` null where the line item names no order. Each
   * distinct line item is read once; an Error for the documents of a line item whose read failed.
   */
  private async ordersOf(docs: readonly ReadDocument[], fallback: string | null): Promise<Array<{ lineItemId: string | null; orderId: string | null } | Error>> {
    const lineItemOf = (doc: ReadDocument) => doc.items.map(orderLineItemIdOf).find((id) => id !== null) ?? fallback;
    const lineItems = [...new Set(docs.map(lineItemOf).filter((id): id is string => id !== null))];
    const read = await Promise.allSettled(lineItems.map((id) => this.orderOfLineItem(id)));
    const orders = new Map(lineItems.map((id, i) => [id, read[i]!]));
    return docs.map((doc) => {
      const lineItemId = lineItemOf(doc);
      if (lineItemId === null) return { lineItemId, orderId: null };
      const order = orders.get(lineItemId)!;
      return order.status === 'fulfilled' ? { lineItemId, orderId: order.value } : asError(order.reason);
    });
  }

  private toDetails(doc: ReadDocument, orderId: string): InvoiceDetails {
    return doc.key.kind === 'invoice'
      ? invoiceDetails(doc.document as ZuoraInvoice, doc.items as ZuoraInvoiceItem[], orderId, this.now().toISOString().slice(0, 10), doc.documentUrl)
      : creditMemoDetails(doc.document as ZuoraCreditMemo, doc.items as ZuoraCreditMemoItem[], orderId, doc.documentUrl);
  }

  /**
   * A document (by id or number), all its items with all their taxation items, and (`withFile`, when the header is
   * recorded) its newest PDF: two reads, three with the file, more only past 40 items or where an item's embedded
   * taxation items name a `nextPage`. The lazy fields' reads skip the file: `documentUrl` is served from the record.
   */
  private async readDocument(key: ZuoraDocumentKey, withFile = false): Promise<ReadDocument> {
    const path = `/v1/${key.kind === 'invoice' ? 'invoices' : 'creditmemos'}/${encodeURIComponent(key.id)}`;
    const filesPath = `/v1/${key.kind === 'invoice' ? 'invoices' : 'credit-memos'}/${encodeURIComponent(key.id)}/files`;
    const [document, items, documentUrl] = await settled<[ZuoraInvoice | ZuoraCreditMemo, Array<ZuoraInvoiceItem | ZuoraCreditMemoItem>, string | null]>([
      key.kind === 'invoice' ? this.read(path, zuoraInvoice) : this.read(path, zuoraCreditMemo),
      (key.kind === 'invoice'
        ? this.readPages(`${path}/items`, zuoraInvoiceItems, (page) => page.invoiceItems)
        : this.readPages(`${path}/items`, zuoraCreditMemoItems, (page) => page.items)
      ).then((list) => this.withAllTaxes<ZuoraInvoiceItem | ZuoraCreditMemoItem>(list)),
      withFile ? this.readDocumentUrl(key, filesPath) : Promise.resolve(null),
    ]);
    return { key, document, items, documentUrl };
  }

  /**
   * Items whose embedded taxation items name a `nextPage`, completed by following it (and each page's own nextPage).
   * Only the path and query of Zuora's URL are used, against the configured base, so the token goes nowhere else.
   */
  private async withAllTaxes<T extends ZuoraInvoiceItem | ZuoraCreditMemoItem>(items: T[]): Promise<T[]> {
    return settled(
      items.map(async (item) => {
        let next: string | null | undefined = item.taxationItems?.nextPage;
        if (!item.taxationItems || !next) return item;
        const data = [...item.taxationItems.data];
        for (let pages = 0; next && pages < 1_000; pages++) {
          const url: URL = new URL(next, 'https://zuora.invalid');
          const query: Record<string, string> = Object.fromEntries(url.searchParams);
          const page: z.infer<typeof zuoraTaxationItemsPage> = await this.read(url.pathname, zuoraTaxationItemsPage, { pageSize: TAX_PAGE_SIZE, ...query });
          data.push(...page.data);
          next = page.nextPage;
        }
        return { ...item, taxationItems: { ...item.taxationItems, data, nextPage: null } };
      }),
    );
  }

  /**
   * The document's newest PDF as Zuora's file URL (`pdfFileUrl`, /v1/files/{id}, fetched with the same OAuth bearer),
   * or null while Zuora has generated none (https://developer.zuora.com/v1-api-reference/api/operation/GET_InvoiceFiles/).
   */
  private async readDocumentUrl(key: ZuoraDocumentKey, filesPath: string): Promise<string | null> {
    const files =
      key.kind === 'invoice'
        ? (await this.read(filesPath, zuoraInvoiceFiles, { pageSize: 1 })).invoiceFiles
        : (await this.read(filesPath, zuoraCreditMemoFiles, { pageSize: 1 })).creditMemoFiles;
    const url = files?.find((f) => f.pdfFileUrl)?.pdfFileUrl;
    return url ? new URL(url, `${this.baseUrl}/`).toString() : null;
  }

  /**
   * The domain's order id of a line item: the number of the order its documented `orderId` names, read through Object
   * Query (GET /object-query/orders/{key}); that order's id where Zuora gives no number; null for a line item naming no
   * order (a created invoice is then recorded under the line item's id, the reference the attempt was recorded with).
   */
  private async orderOfLineItem(orderLineItemId: string): Promise<string | null> {
    const res = await this.read(`/v1/order-line-items/${encodeURIComponent(orderLineItemId)}`, zuoraOrderLineItem);
    const orderId = orderIdOfLineItem(res.orderLineItem);
    if (!orderId) return null;
    const order = await this.read(`/object-query/orders/${encodeURIComponent(orderId)}`, zuoraOrder);
    return order.orderNumber || orderId;
  }

  /** Every record of an Object Query list with one filter, page by page through `nextPage` as `cursor`. */
  private async queryAll<R>(path: string, schema: z.ZodType<{ data: R[]; nextPage?: string | null }>, filter: string): Promise<R[]> {
    const all: R[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 1_000; pages++) {
      const page = await this.read(path, schema, { 'filter[]': filter, pageSize: OBJECT_QUERY_PAGE_SIZE, cursor });
      all.push(...page.data);
      if (!page.nextPage) return all;
      cursor = page.nextPage;
    }
    throw new Error(`${path}: more than 1,000 pages`);
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

const asError = (reason: unknown): Error => (reason instanceof Error ? reason : new Error(String(reason)));

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The attempt's n-th Idempotency-Key: its own key first (as before an attempt had several), then the key and n;
 * hashed past Zuora's 255 characters.
 */
export function idempotencyKeyOf(attemptKey: string, n: number): string {
  const key = n <= 1 ? attemptKey : `${attemptKey}.${n}`;
  return key.length <= MAX_IDEMPOTENCY_KEY ? key : sha256(key);
}

/** Carries Zuora's stored failure answer past the retry policy, which would repeat the key for nothing. */
class StoredAnswer extends Error {
  constructor(readonly failure: ProviderError) {
    super(failure.message);
  }
}

/**
 * Whether a failed POST is Zuora's own answer, stored under the key (its `{ success: false, reasons }` envelope), and
 * what it says: 'refused' (final: nothing was created), 'nothing' (lock contention or a temporary error: nothing was
 * created, the next key may be tried), 'unknown' (an internal error: the lookup decides). Null for what Zuora does not
 * store or that says nothing: a transport failure, a refused token, the rate limit, 409 while the key still runs, 422.
 * Assumption: Zuora refuses a token and rate-limits before it processes (and stores) a request; its docs say only that
 * the answer is saved "regardless of whether it succeeded or failed".
 */
function storedFailure(err: ProviderError): 'refused' | 'nothing' | 'unknown' | null {
  const first = err.userErrors[0];
  if (!first?.providerCode || err.cause_.startsWith('transport:')) return null;
  if (err.userErrors.some((e) => e.code === 'IN_PROGRESS' || e.code === 'RATE_LIMITED' || e.code === 'PROVIDER_UNAUTHORIZED' || e.code === 'IDEMPOTENCY_CONFLICT')) return null;
  return err.disposition === 'final' ? 'refused' : err.disposition === 'retryable' ? 'nothing' : 'unknown';
}

/**
 * The externalId each fulfillment is sent with: the caller's where given (Zuora's "ID of the fulfillment ... generated
 * based on the external system", so the caller's own reference), else one derived from the attempt and the
 * fulfillment's place, the same on every take, so that a lookup finds what any take created.
 */
export function externalIdsOf(input: ZuoraCreateInput, ctx: Pick<CreateContext, 'idempotencyKey'>): string[] {
  const base = ctx.idempotencyKey.length <= 200 ? ctx.idempotencyKey : sha256(ctx.idempotencyKey);
  return input.fulfillments.map((f, i) => f.externalId ?? `invoicing:${base}:${i}`);
}

const createdKeys = (created: ZuoraCreateResponse): ZuoraDocumentKey[] => [
  ...(created.invoiceNumbers ?? []).map((id) => ({ kind: 'invoice' as const, id })),
  ...(created.creditMemoNumbers ?? []).map((id) => ({ kind: 'creditMemo' as const, id })),
];

const createdNumbers = (created: ZuoraCreateResponse): string => [...(created.invoiceNumbers ?? []), ...(created.creditMemoNumbers ?? [])].join(', ') || 'fulfillments';

/**
 * Zuora's documented body. Quantities are JSON numbers; the rules allow at most 15 significant digits, which a
 * double carries exactly, so the number prints as the decimal the caller gave.
 */
export function toRequestBody(input: ZuoraCreateInput, externalIds?: readonly string[]): Record<string, unknown> {
  const { processingOptions: o } = input;
  const billingOptions = omitEmpty({ documentDate: o.documentDate, targetDate: o.targetDate });
  return {
    fulfillments: input.fulfillments.map((f, i) =>
      omitEmpty({
        orderLineItemId: f.orderLineItemId,
        quantity: Number(formatAmount(f.quantity)),
        fulfillmentDate: f.fulfillmentDate,
        billTargetDate: f.billTargetDate,
        fulfillmentType: f.fulfillmentType,
        state: f.state,
        externalId: externalIds?.[i] ?? f.externalId,
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
 * POST /oauth/token with the form-encoded client credentials; called by the TokenSource only, once per refresh.
 */
async function issueToken(baseUrl: string, credentials: { clientId: string; clientSecret: string }, timeoutMs: number): Promise<IssuedToken & { scope?: string }> {
  let res: HttpResponse;
  try {
    res = await postForm(`${baseUrl.replace(/\/+$/, '')}/oauth/token`, { client_id: credentials.clientId, client_secret: credentials.clientSecret, grant_type: 'client_credentials' }, timeoutMs, 'ZUORA');
  } catch (err) {
    if (err instanceof TransportError) throw mapZuoraFailure(new TransportError(err.kind, `token request failed (${err.message})`, err.status), 'token');
    throw err;
  }
  const token = zuoraToken.safeParse(res.json);
  if (res.status !== 200 || !token.success) throw mapZuoraFailure(res, 'token');
  return { accessToken: token.data.access_token, expiresIn: token.data.expires_in, ...(token.data.scope !== undefined ? { scope: token.data.scope } : {}) };
}
