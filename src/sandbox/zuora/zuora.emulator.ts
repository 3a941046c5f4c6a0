import { randomBytes, randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import { EmulatorServer, type EmulatorRequest, type EmulatorResponse } from '../shared/emulator-server';
import { refuseOverOutstanding, sandboxAmount, sandboxDate, SandboxError, type SandboxEvent, type SandboxInvoiceState } from '../shared/sandbox-control';
import type { WebhookOutbox } from '../shared/webhook-outbox';
import { zuoraCalloutHeaders, zuoraCalloutOutbox, zuoraCalloutView, type ZuoraCalloutConfig, type ZuoraCalloutDelivery, type ZuoraCalloutOptions } from './zuora.callouts';
import {
  zuoraSandboxTenant,
  type ZuoraAccountSeed,
  type ZuoraClientSeed,
  type ZuoraCurrency,
  type ZuoraOrderLineItemSeed,
  type ZuoraOrderSeed,
  type ZuoraTaxSeed,
  type ZuoraTenantSeed,
} from './zuora.seed';
import { ProviderEmulator } from '../shared/provider-emulator';

/**
 * An HTTP emulator of the Zuora v1 API endpoints this project uses (seed 004, PROVIDERS.md and Zuora's public docs):
 * OAuth client-credentials tokens that expire, POST /v1/fulfillments with billing, credit memos and payment
 * collection, Idempotency-Key replay, reads of invoices, credit memos and order line items, the `{ success: false,
 * processId, reasons }` envelope (HTTP 200 for business failures, 4xx for malformed requests), and per-minute
 * RateLimit-* headers. State lives in memory.
 *
 * Zuora's 8-digit reason codes are a 6-digit resource code and a 2-digit category (20 invalid value, 22 missing
 * field, 30 rule restriction, 40 not found, 90 malformed request, ...): the categories are Zuora's, the resource codes
 * of fulfillment fields are [assumed] (Zuora does not publish them per field), and so are the messages of the rules.
 */

/** Money arithmetic only; Zuora rounds each tax of each item half up to the cent. */
const Money = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
type Money = Decimal;
const ZERO = new Money(0);
const round2 = (d: Money): Money => d.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);

const DAY_MS = 24 * 60 * 60 * 1000;
const IDEMPOTENCY_TTL_MS = DAY_MS;
const MAX_IDEMPOTENCY_KEY = 255;
/** Zuora-Version from which items carry `taxationItems` (older versions get `creditTaxItems` on credit memo items). */
const TAXATION_ITEMS_VERSION = 239;
const MAX_PAGE_SIZE = 40;
const DEFAULT_PAGE_SIZE = 20;

export type FulfillmentType = 'Delivery' | 'Return';
export type FulfillmentState = 'Executing' | 'Booked' | 'SentToBilling' | 'Complete' | 'Cancelled';
const FULFILLMENT_TYPES: readonly FulfillmentType[] = ['Delivery', 'Return'];
const FULFILLMENT_STATES: readonly FulfillmentState[] = ['Executing', 'Booked', 'SentToBilling', 'Complete', 'Cancelled'];
const FULFILLMENT_FIELDS = new Set(['orderLineItemId', 'quantity', 'fulfillmentDate', 'billTargetDate', 'fulfillmentType', 'state', 'externalId', 'trackingNumber', 'carrier', 'description', 'customFields']);

/** Zuora's error category codes (the last two digits of a reason code). */
const CATEGORY = { invalidValue: 20, unknownField: 21, missingField: 22, rule: 30, notFound: 40, locking: 50, internal: 60, limit: 70, malformed: 90 } as const;
/** Resource codes: 500000 is Zuora's "unknown object and field"; the others are [assumed]. */
const RESOURCE = {
  unknown: 500000,
  fulfillments: 591000,
  orderLineItemId: 591001,
  quantity: 591002,
  fulfillmentDate: 591003,
  billTargetDate: 591004,
  fulfillmentType: 591005,
  state: 591006,
  processingOptions: 591007,
  paymentMethod: 530100,
  idempotencyKey: 500001,
} as const;
const code = (resource: number, category: number): number => resource * 100 + category;

export interface ZuoraEmulatorOptions {
  /** OAuth clients, accounts and orders; default: `zuoraSandboxTenant()`. */
  tenant?: ZuoraTenantSeed;
  /** The clock for document dates, token expiry, the idempotency window and the rate-limit window. */
  now?: () => Date;
  /** `expires_in` of issued tokens; default 3600 (Zuora's one hour). */
  tokenTtlSeconds?: number;
  /** API requests per minute before 429; default 50,000 (Zuora's default API quota). */
  rateLimitPerMinute?: number;
  /** The tenant's id, as its tokens' scope names it (`tenant.<id>`); default 9999. */
  tenantId?: string;
  /**
   * How many taxation items a document item embeds before naming the rest by `taxationItems.nextPage`; default all.
   * Assumption: Zuora does not publish how many it embeds, only that `nextPage` is the "URL to retrieve the next page
   * of the response if it exists; otherwise absent" (the SDKs' GETInvoiceItemTypeAllOfTaxationItems, GETCreditMemoItemTypeAllOfTaxationItems).
   */
  embeddedTaxationItems?: number;
  /** How the callout notifications (configureWebhook) retry and time out; see zuora.callouts.ts. */
  callouts?: ZuoraCalloutOptions;
}

/** A failure Zuora itself answers a create with (stored and replayed under its Idempotency-Key like any answer). */
export interface ZuoraCreateFailure {
  /** Default 200, Zuora's status for `success: false` on v1 operations; a 5xx for an internal error. */
  status?: number;
  reasons: Array<{ code: number; message: string }>;
  /** How many creates fail this way; default 1. */
  times?: number;
}

interface Reason {
  code: number;
  message: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Pricing

export interface ZuoraPricedTax {
  tax: ZuoraTaxSeed;
  amount: Money;
}

export interface ZuoraPricedItem {
  lineItem: ZuoraOrderLineItemSeed;
  quantity: Money;
  unitPrice: Money;
  /** Without tax. */
  chargeAmount: Money;
  taxes: ZuoraPricedTax[];
  taxAmount: Money;
}

/** Prices a quantity of an order line item: the charge rounded to the cent, then each tax on it rounded on its own. */
export function priceZuoraItem(lineItem: ZuoraOrderLineItemSeed, quantity: Decimal.Value): ZuoraPricedItem {
  const qty = new Money(quantity);
  const unitPrice = new Money(lineItem.amountPerUnit);
  const chargeAmount = round2(unitPrice.times(qty));
  const taxes = lineItem.taxes.map((tax) => ({ tax, amount: round2(chargeAmount.times(tax.rate)) }));
  return { lineItem, quantity: qty, unitPrice, chargeAmount, taxes, taxAmount: taxes.reduce((s, t) => s.plus(t.amount), ZERO) };
}

/** What billing every line item of an order in full comes to (the README's table). */
export function priceZuoraOrder(order: ZuoraOrderSeed): { subtotal: Money; tax: Money; total: Money } {
  const items = order.lineItems.map((li) => priceZuoraItem(li, li.quantity));
  const subtotal = items.reduce((s, i) => s.plus(i.chargeAmount), ZERO);
  const tax = items.reduce((s, i) => s.plus(i.taxAmount), ZERO);
  return { subtotal, tax, total: subtotal.plus(tax) };
}

// ---------------------------------------------------------------------------------------------------------------
// State

interface LineItemState {
  seed: ZuoraOrderLineItemSeed;
  order: ZuoraOrderSeed;
  account: ZuoraAccountSeed;
  /** Delivered by fulfillments that are not cancelled. */
  delivered: Money;
  returned: Money;
}

interface StoredFulfillment extends FulfillmentRequest {
  id: string;
  fulfillmentNumber: string;
  createdDate: string;
}

interface StoredItem {
  id: string;
  fulfillment: StoredFulfillment;
  priced: ZuoraPricedItem;
  taxIds: string[];
}

interface StoredInvoice {
  id: string;
  invoiceNumber: string;
  account: ZuoraAccountSeed;
  invoiceDate: string;
  dueDate: string;
  targetDate: string;
  status: 'Draft' | 'Posted' | 'Canceled';
  items: StoredItem[];
  amountWithoutTax: Money;
  taxAmount: Money;
  amount: Money;
  paymentAmount: Money;
  creditMemoAmount: Money;
  /** Set by a reversal (PUT /v1/invoices/{key}/reverse): the invoice stays Posted, settled by its reversal memo. */
  reversed: boolean;
  /** The sandbox's own record of the latest payment; Zuora's invoice answer carries no such date. */
  lastPaymentDate: string | null;
}

interface StoredCreditMemo {
  id: string;
  number: string;
  account: ZuoraAccountSeed;
  creditMemoDate: string;
  targetDate: string;
  status: 'Draft' | 'Posted' | 'Canceled';
  items: StoredItem[];
  taxAmount: Money;
  amount: Money;
  appliedAmount: Money;
  refundAmount: Money;
}

interface IssuedToken {
  expiresAt: number;
  revoked: boolean;
  clientId?: string;
}

type IdempotencyEntry = { state: 'in-flight'; method: string; path: string; at: number } | { state: 'done'; method: string; path: string; at: number; response: EmulatorResponse };

/** An invoice or credit memo the emulator holds, for tests and tools; amounts are exact decimal strings. */
export interface ZuoraDocumentRecord {
  kind: 'invoice' | 'creditMemo';
  id: string;
  number: string;
  accountNumber: string;
  currency: ZuoraCurrency;
  status: string;
  date: string;
  amount: string;
  taxAmount: string;
  /** Invoice: its balance; credit memo: its unapplied amount. */
  balance: string;
  orderLineItemIds: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// The emulator

export class ZuoraEmulator extends ProviderEmulator {
  override readonly server: EmulatorServer;
  /** The clients, accounts and orders served (and restored by `reset()`). */
  readonly tenant: ZuoraTenantSeed;
  /** The tenant id its tokens name. */
  readonly tenantId: string;
  private readonly now: () => Date;
  private readonly tokenTtlSeconds: number;
  private readonly rateLimit: number;
  private readonly embeddedTaxationItems: number;
  /** Where callouts go and the HMAC secret; null: none are sent (nothing is queued meanwhile). */
  private webhook: ZuoraCalloutConfig | null = null;
  private readonly callouts: WebhookOutbox;

  private fulfillments: StoredFulfillment[] = [];
  private createFailures: ZuoraCreateFailure[] = [];
  private clients = new Map<string, ZuoraClientSeed>();
  private tokens = new Map<string, IssuedToken>();
  private lineItems = new Map<string, LineItemState>();
  private invoices: StoredInvoice[] = [];
  private creditMemos: StoredCreditMemo[] = [];
  private idempotency = new Map<string, IdempotencyEntry>();
  private counters = { fulfillment: 0, invoice: 0, creditMemo: 0, payment: 0 };
  private window = { startedAt: 0, used: 0 };

  constructor(options: ZuoraEmulatorOptions = {}) {
    super();
    this.tenant = options.tenant ?? zuoraSandboxTenant();
    this.tenantId = options.tenantId ?? '9999';
    this.now = options.now ?? (() => new Date());
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
    this.rateLimit = options.rateLimitPerMinute ?? 50_000;
    this.embeddedTaxationItems = options.embeddedTaxationItems ?? Infinity;
    this.callouts = zuoraCalloutOutbox(options.callouts);
    this.server = new EmulatorServer({
      notFound: () => ({ status: 404, body: failure([{ code: code(RESOURCE.unknown, CATEGORY.notFound), message: 'The requested resource does not exist.' }]) }),
      badJson: () => ({ status: 400, body: failure([{ code: code(RESOURCE.unknown, CATEGORY.malformed), message: 'Malformed JSON request body.' }]) }),
      internalError: () => ({ status: 500, body: failure([{ code: code(RESOURCE.unknown, CATEGORY.internal), message: 'Internal Server Error' }]) }),
    });
    this.server.use((req, next) => this.trace(req, next));
    this.server.use((req, next) => this.authenticate(req, next));
    this.server.use((req, next) => this.limit(req, next));
    this.server.use((req, next) => this.idempotent(req, next));
    this.server.post('/oauth/token', (req) => this.issueToken(req));
    this.server.post('/v1/fulfillments', (req) => this.createFulfillments(req));
    this.server.get('/v1/invoices/:key', (req) => this.readInvoice(req));
    this.server.get('/v1/invoices/:key/items', (req) => this.readInvoiceItems(req));
    this.server.get('/v1/creditmemos/:key', (req) => this.readCreditMemo(req));
    this.server.get('/v1/creditmemos/:key/items', (req) => this.readCreditMemoItems(req));
    this.server.get('/v1/order-line-items/:itemId', (req) => this.readOrderLineItem(req));
    this.server.get('/v1/invoices/:key/items/:itemId/taxation-items', (req) => this.readTaxationItems(req, 'invoice'));
    this.server.get('/v1/credit-memos/:key/items/:itemId/taxation-items', (req) => this.readTaxationItems(req, 'creditMemo'));
    this.server.get('/v1/invoices/:key/files', (req) => this.readFiles(req, 'invoice'));
    this.server.get('/v1/credit-memos/:key/files', (req) => this.readFiles(req, 'creditMemo'));
    this.server.get('/v1/files/:fileId', (req) => this.readFile(req));
    this.server.get('/object-query/fulfillments', (req) => this.queryFulfillments(req));
    this.server.get('/object-query/invoice-items', (req) => this.queryDocumentItems(req, 'invoice'));
    this.server.get('/object-query/credit-memo-items', (req) => this.queryDocumentItems(req, 'creditMemo'));
    this.server.get('/object-query/orders/:key', (req) => this.queryOrder(req));
    this.restoreSeed();
  }



  /** What a client uses as Zuora's base, like https://rest.apisandbox.zuora.com (paths start with /oauth and /v1). */
  override get baseUrl(): string {
    return this.server.url;
  }

  /**
   * Back to the seed: no tokens, fulfillments or documents, no stored idempotency keys, calls, faults or callout log
   * (sends and retries under way are dropped). The callout configuration stays.
   */
  override reset(): void {
    this.restoreSeed();
    this.server.resetCalls();
    this.server.clearFaults();
    this.callouts.clear();
  }

  override async stop(): Promise<void> {
    await this.callouts.close();
    await super.stop();
  }

  // Callout notifications ------------------------------------------------------------------------------------------

  /**
   * Sends callout notifications to `url`, signed with `secret`, with the custom `headers`, as a tenant configured by the contract in
   * src/providers/zuora/zuora.webhooks.ts would (null: none). What sends them: the sandbox controls (a payment sends
   * PaymentProcessed, a credit and a void -- a reversal, whose memo is applied -- CreditMemoApplied), cancelInvoice
   * (InvoiceCanceled) and postInvoiceOutside (InvoicePosted). Invoices created through the API send none: the
   * subgraph knows what it created [a simplification: Zuora would send Invoice Posted for them too].
   */
  override configureWebhook(config: ZuoraCalloutConfig | null): void {
    if (config !== null && (!/^https?:\/\//.test(config.url) || config.secret.length === 0)) throw new Error('a callout needs an http(s) URL and a secret');
    this.webhook = config === null ? null : { ...config, ...(config.headers ? { headers: { ...config.headers } } : {}) };
  }

  /** Every callout sent since the last reset, oldest first: event, body, headers of the latest try, status, attempts. */
  get webhookDeliveries(): ZuoraCalloutDelivery[] {
    return this.callouts.deliveries.map(zuoraCalloutView);
  }

  /** Resolves when every callout sent so far is delivered or given up, retries included. */
  webhookIdle(): Promise<void> {
    return this.callouts.idle();
  }

  /** Sends one notification in the background; nothing when unconfigured. */
  private callout(event: string, body: Record<string, unknown>): void {
    const webhook = this.webhook;
    if (!webhook) return;
    const raw = JSON.stringify(body);
    this.callouts.enqueue(event, webhook.url, raw, zuoraCalloutHeaders(raw, webhook.secret, webhook.headers));
  }

  /** The callout(s) of a sandbox control, in the contract's bodies; sent in the background. */
  protected override onSandboxEvent(event: SandboxEvent): void {
    if (!this.webhook) return;
    const inv = this.invoiceByKey(event.providerInvoiceId);
    if (!inv) return;
    if (event.kind === 'payment') {
      // The payment-parts loop of the contract renders each invoice id followed by a comma.
      this.callout('PaymentProcessed', { event: 'PaymentProcessed', paymentId: zuoraId(), accountId: inv.account.id, invoiceIds: `${inv.id},` });
      return;
    }
    // A credit and a reversal both apply the memo just created (standaloneMemo) to the invoice.
    const memo = this.creditMemos[this.creditMemos.length - 1];
    this.callout('CreditMemoApplied', { event: 'CreditMemoApplied', creditMemoId: memo?.id ?? '', invoiceId: inv.id });
  }

  /**
   * An invoice billed in Zuora without the subgraph (someone fulfilling an order line item in Zuora's UI, a bill run):
   * a Delivery fulfillment sent to billing, invoiced and posted at once, and its Invoice Posted callout. The same rules
   * as POST /v1/fulfillments (the quantity pending fulfillment). Throws SandboxError.
   */
  postInvoiceOutside(orderLineItemId: string, quantity: Decimal.Value, date?: string): ZuoraDocumentRecord {
    const li = this.lineItems.get(orderLineItemId);
    if (!li) throw new SandboxError('notFound', `no order line item ${orderLineItemId}`);
    let qty: Money;
    try {
      qty = new Money(quantity);
    } catch {
      throw new SandboxError('invalid', `quantity must be a number, not ${JSON.stringify(quantity)}`);
    }
    if (!qty.isFinite() || qty.lte(0)) throw new SandboxError('invalid', `quantity must be greater than 0, not ${String(quantity)}`);
    const on = sandboxDate(date, this.now);
    const request: FulfillmentRequest = {
      orderLineItemId,
      quantity: qty,
      fulfillmentDate: on,
      billTargetDate: null,
      fulfillmentType: 'Delivery',
      state: 'SentToBilling',
      externalId: null,
      trackingNumber: null,
      carrier: null,
      description: 'billed outside the subgraph',
    };
    const reasons = this.quantityRules([request]);
    if (reasons.length > 0) throw new SandboxError('invalid', reasons.map((r) => r.message).join(' '));
    const [inv] = this.bill([this.storeFulfillment(request)], on, on);
    this.callout('InvoicePosted', { event: 'InvoicePosted', invoiceId: inv!.id, invoiceNumber: inv!.invoiceNumber, accountId: inv!.account.id });
    return this.documents().find((d) => d.kind === 'invoice' && d.id === inv!.id)!;
  }

  /**
   * Makes the next create(s) fail inside Zuora (lock contention, a temporary or internal error) before anything is
   * created. Zuora stores that answer under the request's Idempotency-Key and replays it to every request with the key
   * for 24 hours (https://developer.zuora.com/docs/guides/idempotent-requests): only a new key is performed again.
   */
  failCreates(failure: ZuoraCreateFailure): void {
    this.createFailures.push({ ...failure, times: failure.times ?? 1 });
  }

  /** Fulfillments created so far, oldest first, with the externalId each was sent with. */
  fulfillmentRecords(): Array<{ id: string; fulfillmentNumber: string; orderLineItemId: string; externalId: string | null }> {
    return this.fulfillments.map((f) => ({ id: f.id, fulfillmentNumber: f.fulfillmentNumber, orderLineItemId: f.orderLineItemId, externalId: f.externalId }));
  }

  /**
   * An administrator deletes the OAuth client (Zuora: Settings > Administration > Manage Users, OAuth Clients): its
   * tokens stop working (401) and its credentials get 401 invalid_client at POST /oauth/token. Other clients go on.
   */
  deleteClient(clientId: string): void {
    this.clients.delete(clientId);
    for (const t of this.tokens.values()) if (t.clientId === clientId) t.revoked = true;
  }

  /** Ends every token issued so far, as an administrator revoking the client's sessions would. */
  revokeTokens(): void {
    for (const t of this.tokens.values()) t.revoked = true;
  }

  /** Invoices and credit memos created so far, oldest first. */
  documents(): ZuoraDocumentRecord[] {
    const items = (list: StoredItem[]) => list.map((i) => i.fulfillment.orderLineItemId);
    return [
      ...this.invoices.map((inv) => ({
        kind: 'invoice' as const,
        id: inv.id,
        number: inv.invoiceNumber,
        accountNumber: inv.account.accountNumber,
        currency: inv.account.currency,
        status: inv.status,
        date: inv.invoiceDate,
        amount: inv.amount.toFixed(2),
        taxAmount: inv.taxAmount.toFixed(2),
        balance: invoiceBalance(inv).toFixed(2),
        orderLineItemIds: items(inv.items),
      })),
      ...this.creditMemos.map((cm) => ({
        kind: 'creditMemo' as const,
        id: cm.id,
        number: cm.number,
        accountNumber: cm.account.accountNumber,
        currency: cm.account.currency,
        status: cm.status,
        date: cm.creditMemoDate,
        amount: cm.amount.toFixed(2),
        taxAmount: cm.taxAmount.toFixed(2),
        balance: memoUnapplied(cm).toFixed(2),
        orderLineItemIds: items(cm.items),
      })),
    ];
  }

  /**
   * A payment applied to a posted invoice (by id or number), as "Create a payment" with the invoice in `invoices`
   * does: the invoice's paymentAmount goes up and its balance down
   * (https://developer.zuora.com/api-references/api/operation/POST_CreatePayment). Payments apply to posted
   * invoices only. Assumption: the Payment object itself is not kept (no payment read is emulated).
   */
  override recordPayment(invoiceKey: string, amount: string, date?: string): SandboxInvoiceState {
    const inv = this.postedInvoice(invoiceKey);
    const paid = sandboxAmount(amount);
    refuseOverOutstanding('payment', paid, invoiceBalance(inv), inv.id);
    const on = sandboxDate(date, this.now);
    inv.paymentAmount = inv.paymentAmount.plus(paid);
    if (!inv.lastPaymentDate || on > inv.lastPaymentDate) inv.lastPaymentDate = on;
    return this.sandboxEvent({ kind: 'payment', providerInvoiceId: inv.id, amount: paid.toFixed(2), date: on, state: this.stateOf(inv) });
  }

  /**
   * A credit: a posted credit memo of `amount` for the invoice's account, applied to the invoice at once ("Create a
   * credit memo" then "Apply a credit memo", Invoice Settlement:
   * https://developer.zuora.com/api-references/api/operation/PUT_ApplyCreditMemo). The invoice's creditMemoAmount
   * goes up and its balance down. Assumption: the memo has no items (a standalone credit memo without charges).
   */
  override recordCredit(invoiceKey: string, amount: string, date?: string): SandboxInvoiceState {
    const inv = this.postedInvoice(invoiceKey);
    const credit = sandboxAmount(amount);
    refuseOverOutstanding('credit', credit, invoiceBalance(inv), inv.id);
    const on = sandboxDate(date, this.now);
    this.standaloneMemo(inv, credit, on);
    inv.creditMemoAmount = inv.creditMemoAmount.plus(credit);
    return this.sandboxEvent({ kind: 'credit', providerInvoiceId: inv.id, amount: credit.toFixed(2), date: on, state: this.stateOf(inv) });
  }

  /**
   * Zuora's void of a posted invoice is a reversal ("Reverse an invoice",
   * https://developer.zuora.com/api-references/api/operation/PUT_ReverseInvoice): refused when payments or credit
   * memos are applied, or the invoice is not Posted; it creates a credit memo for the whole invoice and applies it,
   * so the balance is 0, and marks the invoice reversed. Cancel is for drafts (see cancelInvoice).
   * Assumption: the invoice answer's `reversed` flag, as Zuora's Invoice object names it.
   */
  override voidInvoice(invoiceKey: string): SandboxInvoiceState {
    const inv = this.postedInvoice(invoiceKey);
    if (!inv.paymentAmount.isZero() || !inv.creditMemoAmount.isZero()) throw new SandboxError('invalid', `invoice ${inv.invoiceNumber} has payments or credit memos applied: Zuora does not reverse it`);
    if (!inv.amount.gt(0)) throw new SandboxError('invalid', `invoice ${inv.invoiceNumber} is not positive: Zuora does not reverse it`);
    this.standaloneMemo(inv, inv.amount, this.today());
    inv.creditMemoAmount = inv.amount;
    inv.reversed = true;
    return this.sandboxEvent({ kind: 'void', providerInvoiceId: inv.id, state: this.stateOf(inv) });
  }

  private postedInvoice(invoiceKey: string): StoredInvoice {
    const inv = this.invoiceByKey(invoiceKey);
    if (!inv) throw new SandboxError('notFound', `no invoice ${invoiceKey}`);
    if (inv.status !== 'Posted' || inv.reversed) throw new SandboxError('invalid', `invoice ${inv.invoiceNumber} is ${inv.reversed ? 'reversed' : inv.status}, not Posted`);
    return inv;
  }

  /** A posted credit memo of `amount`, without items, fully applied to `inv`. */
  private standaloneMemo(inv: StoredInvoice, amount: Money, on: string): void {
    this.creditMemos.push({
      id: zuoraId(),
      number: `CM${String(++this.counters.creditMemo).padStart(8, '0')}`,
      account: inv.account,
      creditMemoDate: on,
      targetDate: on,
      status: 'Posted',
      items: [],
      taxAmount: ZERO,
      amount,
      appliedAmount: amount,
      refundAmount: ZERO,
    });
  }

  private stateOf(inv: StoredInvoice): SandboxInvoiceState {
    return {
      providerInvoiceId: inv.id,
      status: inv.reversed ? 'Posted (reversed)' : inv.status,
      total: inv.amount.toFixed(2),
      paid: inv.paymentAmount.toFixed(2),
      credited: inv.creditMemoAmount.toFixed(2),
      outstanding: invoiceBalance(inv).toFixed(2),
      lastPaymentDate: inv.lastPaymentDate,
      voided: inv.reversed || inv.status === 'Canceled',
    };
  }

  /** Applies part of a credit memo to an invoice of the same account. */
  applyCreditMemo(creditMemoKey: string, invoiceKey: string, amount: Decimal.Value): void {
    const memo = this.creditMemoByKey(creditMemoKey);
    const inv = this.invoiceByKey(invoiceKey);
    const applied = new Money(amount);
    if (!memo || !inv || memo.account !== inv.account || applied.lte(0) || applied.gt(memoUnapplied(memo)) || applied.gt(invoiceBalance(inv))) {
      throw new Error(`cannot apply ${String(amount)} of credit memo ${creditMemoKey} to invoice ${invoiceKey}`);
    }
    memo.appliedAmount = memo.appliedAmount.plus(applied);
    inv.creditMemoAmount = inv.creditMemoAmount.plus(applied);
  }

  /**
   * Unposts and cancels an invoice with no payments or credits: Zuora cancels drafts only, and a posted invoice goes
   * back to Draft first ("verify that the invoice has no payments or adjustments, ... and no applied credit memos":
   * https://docs.zuora.com/zuora-platform/data-management/data-loader/data-dictionary-for-data-loader/update/invoices/unpost-invoice-update-fields).
   */
  cancelInvoice(invoiceKey: string): void {
    const inv = this.invoiceByKey(invoiceKey);
    if (!inv || !inv.paymentAmount.isZero() || !inv.creditMemoAmount.isZero()) throw new Error(`cannot cancel invoice ${invoiceKey}`);
    inv.status = 'Canceled';
    this.callout('InvoiceCanceled', { event: 'InvoiceCanceled', invoiceId: inv.id, invoiceNumber: inv.invoiceNumber });
  }

  private restoreSeed(): void {
    const accounts = new Map(this.tenant.accounts.map((a) => [a.accountNumber, a]));
    this.clients = new Map(this.tenant.clients.map((c) => [c.clientId, c]));
    this.lineItems = new Map(
      this.tenant.orders.flatMap((order) => {
        const account = accounts.get(order.accountNumber);
        if (!account) throw new Error(`order ${order.orderNumber} names unknown account ${order.accountNumber}`);
        return order.lineItems.map((seed) => [seed.id, { seed, order, account, delivered: ZERO, returned: ZERO }] as const);
      }),
    );
    this.tokens = new Map();
    this.invoices = [];
    this.creditMemos = [];
    this.fulfillments = [];
    this.createFailures = [];
    this.idempotency = new Map();
    this.counters = { fulfillment: 0, invoice: 0, creditMemo: 0, payment: 0 };
    this.window = { startedAt: 0, used: 0 };
  }

  private today(): string {
    return this.now().toISOString().slice(0, 10);
  }

  // Middleware -----------------------------------------------------------------------------------------------------

  /** Every answer carries a Zuora-Request-Id, and echoes the caller's Zuora-Track-Id. */
  private async trace(req: EmulatorRequest, next: () => Promise<EmulatorResponse>): Promise<EmulatorResponse> {
    const res = await next();
    const trackId = req.header('zuora-track-id');
    return { ...res, headers: { ...res.headers, 'Zuora-Request-Id': randomUUID(), ...(trackId ? { 'Zuora-Track-Id': trackId } : {}) } };
  }

  private async authenticate(req: EmulatorRequest, next: () => Promise<EmulatorResponse>): Promise<EmulatorResponse> {
    if (!isApiPath(req.path)) return next();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    const token = match ? this.tokens.get(match[1]!) : undefined;
    if (!token || token.revoked || token.expiresAt <= this.now().getTime()) {
      return { status: 401, body: failure([{ code: 90000011, message: 'this resource is protected, please sign in first' }]) };
    }
    return next();
  }

  /** A fixed one-minute window for the whole tenant, reported as RateLimit-* headers on every API answer. */
  private async limit(req: EmulatorRequest, next: () => Promise<EmulatorResponse>): Promise<EmulatorResponse> {
    if (!isApiPath(req.path)) return next();
    const now = this.now().getTime();
    if (now - this.window.startedAt >= 60_000) this.window = { startedAt: now, used: 0 };
    const allowed = this.window.used < this.rateLimit;
    if (allowed) this.window.used += 1;
    const headers = {
      'RateLimit-Limit': this.rateLimit,
      'RateLimit-Remaining': this.rateLimit - this.window.used,
      'RateLimit-Reset': Math.max(1, Math.ceil((this.window.startedAt + 60_000 - now) / 1000)),
    };
    if (!allowed) {
      return {
        status: 429,
        headers,
        body: failure([{ code: code(RESOURCE.unknown, CATEGORY.limit), message: `You have exceeded the limit of ${this.rateLimit} API requests per minute.` }]),
      };
    }
    const res = await next();
    return { ...res, headers: { ...res.headers, ...headers } };
  }

  /**
   * Zuora's idempotent requests: the first POST or PATCH with a key stores its status, headers and body for 24 h,
   * whatever the outcome, and later requests with the key get that answer again; 409 while the first is running,
   * 422 when the key was used on another URL or method.
   */
  private async idempotent(req: EmulatorRequest, next: () => Promise<EmulatorResponse>): Promise<EmulatorResponse> {
    const key = req.header('idempotency-key');
    if (key === undefined || (req.method !== 'POST' && req.method !== 'PATCH')) return next();
    if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY) {
      return { status: 400, body: failure([{ code: code(RESOURCE.idempotencyKey, CATEGORY.invalidValue), message: `The Idempotency-Key header must be 1 to ${MAX_IDEMPOTENCY_KEY} characters long.` }]) };
    }
    const now = this.now().getTime();
    const seen = this.idempotency.get(key);
    if (seen && now - seen.at < IDEMPOTENCY_TTL_MS) {
      if (seen.method !== req.method || seen.path !== req.path) {
        return { status: 422, body: failure([{ code: code(RESOURCE.idempotencyKey, CATEGORY.rule), message: 'The Idempotency-Key was used with another request URL or HTTP method.' }]) };
      }
      if (seen.state === 'in-flight') {
        return { status: 409, body: failure([{ code: code(RESOURCE.idempotencyKey, CATEGORY.locking), message: 'A request with the same Idempotency-Key is still in progress.' }]) };
      }
      return seen.response;
    }
    this.idempotency.set(key, { state: 'in-flight', method: req.method, path: req.path, at: now });
    try {
      const response = await next();
      this.idempotency.set(key, { state: 'done', method: req.method, path: req.path, at: now, response });
      return response;
    } catch (err) {
      // A crash stores nothing: the same key may be tried again.
      this.idempotency.delete(key);
      throw err;
    }
  }

  // POST /oauth/token ------------------------------------------------------------------------------------------------

  private issueToken(req: EmulatorRequest): EmulatorResponse {
    if (!/^application\/x-www-form-urlencoded/i.test(req.header('content-type') ?? '')) {
      return { status: 400, body: { error: 'invalid_request', error_description: 'The token request must be application/x-www-form-urlencoded.' } };
    }
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Unsupported grant type: only client_credentials is allowed.' } };
    }
    const client = this.clients.get(form.get('client_id') ?? '');
    if (!client || client.clientSecret !== form.get('client_secret')) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Bad client credentials' } };
    }
    const accessToken = randomBytes(16).toString('hex');
    this.tokens.set(accessToken, { expiresAt: this.now().getTime() + this.tokenTtlSeconds * 1000, revoked: false, clientId: client.clientId });
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'bearer',
        expires_in: this.tokenTtlSeconds,
        // Zuora's token answer names the tenant in its scope ("... tenant.19", Create an OAuth token,
        // https://developer.zuora.com/v1-api-reference/api/operation/createToken/).
        scope: `user.${client.clientId.replace(/-/g, '')} entity.zuora-sandbox service.echo.read tenant.${this.tenantId}`,
        jti: randomBytes(16).toString('hex'),
      },
    };
  }

  // POST /v1/fulfillments ----------------------------------------------------------------------------------------------

  private createFulfillments(req: EmulatorRequest): EmulatorResponse {
    const staged = this.createFailures[0];
    if (staged) {
      staged.times = (staged.times ?? 1) - 1;
      if (staged.times <= 0) this.createFailures.shift();
      return { status: staged.status ?? 200, body: failure(staged.reasons) };
    }
    const parsed = parseCreateRequest(req.body);
    if ('reasons' in parsed) return { status: 400, body: failure(parsed.reasons) };
    const { fulfillments, processingOptions: options } = parsed;

    // Business rules: answered with HTTP 200 and success false, like Zuora's other v1 operations.
    const missing = [...new Set(fulfillments.map((f) => f.orderLineItemId).filter((id) => !this.lineItems.has(id)))];
    if (missing.length > 0) {
      return { status: 200, body: failure(missing.map((id) => ({ code: code(RESOURCE.orderLineItemId, CATEGORY.notFound), message: `Cannot find entity by key: '${id}'.` }))) };
    }
    const reasons = this.quantityRules(fulfillments);
    const targetDate = options.targetDate ?? this.today();
    const documentDate = options.documentDate ?? this.today();
    const isBilled = (f: FulfillmentRequest) => options.runBilling && f.state === 'SentToBilling' && (f.billTargetDate ?? f.fulfillmentDate) <= targetDate;
    if (options.collectPayment) {
      const invoiced = fulfillments.filter((f) => isBilled(f) && f.fulfillmentType === 'Delivery');
      const unpayable = [...new Set(invoiced.map((f) => this.lineItems.get(f.orderLineItemId)!.account))].filter((a) => !a.defaultPaymentMethod);
      for (const account of unpayable) {
        reasons.push({ code: code(RESOURCE.paymentMethod, CATEGORY.rule), message: `Cannot collect payment: account '${account.accountNumber}' has no default payment method.` });
      }
    }
    if (reasons.length > 0) return { status: 200, body: failure(reasons) };

    // All checks passed: the whole call takes effect at once.
    const created = fulfillments.map((f) => this.storeFulfillment(f));
    const billed = created.filter(isBilled);
    const invoices = this.bill(billed.filter((f) => f.fulfillmentType === 'Delivery'), documentDate, targetDate);
    const memos = this.credit(billed.filter((f) => f.fulfillmentType === 'Return'), documentDate, targetDate);

    const body: Record<string, unknown> = {
      creditMemoNumbers: memos.length > 0 ? memos.map((m) => m.number) : null,
      fulfillments: created.map((f) => ({ fulfillmentNumber: f.fulfillmentNumber, id: f.id })),
      invoiceNumbers: invoices.length > 0 ? invoices.map((i) => i.invoiceNumber) : null,
    };
    if (options.collectPayment && invoices.length > 0) {
      let paid = ZERO;
      for (const inv of invoices) {
        paid = paid.plus(inv.amount);
        inv.paymentAmount = inv.amount;
        inv.lastPaymentDate = documentDate;
      }
      body.paidAmount = num(paid);
      body.paymentNumber = `P-${String(++this.counters.payment).padStart(8, '0')}`;
    }
    body.success = true;
    return { status: 200, body };
  }

  /** Deliveries may not exceed what is pending fulfillment, returns what was delivered and not returned yet. */
  private quantityRules(fulfillments: FulfillmentRequest[]): Reason[] {
    const reasons: Reason[] = [];
    const totals = new Map<string, { delivery: Money; return: Money }>();
    for (const f of fulfillments) {
      if (f.state === 'Cancelled') continue;
      const t = totals.get(f.orderLineItemId) ?? { delivery: ZERO, return: ZERO };
      if (f.fulfillmentType === 'Delivery') t.delivery = t.delivery.plus(f.quantity);
      else t.return = t.return.plus(f.quantity);
      totals.set(f.orderLineItemId, t);
    }
    for (const [id, t] of totals) {
      const li = this.lineItems.get(id)!;
      const pending = new Money(li.seed.quantity).minus(li.delivered);
      const returnable = li.delivered.minus(li.returned);
      if (t.delivery.gt(pending)) {
        reasons.push({
          code: code(RESOURCE.quantity, CATEGORY.rule),
          message: `The quantity ${t.delivery.toFixed()} of the delivery fulfillments for order line item '${id}' exceeds the quantity pending fulfillment (${pending.toFixed()}).`,
        });
      }
      if (t.return.gt(returnable)) {
        reasons.push({
          code: code(RESOURCE.quantity, CATEGORY.rule),
          message: `The quantity ${t.return.toFixed()} of the return fulfillments for order line item '${id}' exceeds the quantity available for return (${returnable.toFixed()}).`,
        });
      }
    }
    return reasons;
  }

  /** Records a fulfillment against its line item; a cancelled one counts for nothing. */
  private storeFulfillment(request: FulfillmentRequest): StoredFulfillment {
    const stored = { ...request, id: zuoraId(), fulfillmentNumber: `F-${String(++this.counters.fulfillment).padStart(8, '0')}`, createdDate: this.now().toISOString() };
    this.fulfillments.push(stored);
    if (stored.state !== 'Cancelled') {
      const li = this.lineItems.get(stored.orderLineItemId)!;
      if (stored.fulfillmentType === 'Delivery') li.delivered = li.delivered.plus(stored.quantity);
      else li.returned = li.returned.plus(stored.quantity);
    }
    return stored;
  }

  /** One invoice per bill-to account, one item per fulfillment, posted. */
  private bill(fulfillments: StoredFulfillment[], invoiceDate: string, targetDate: string): StoredInvoice[] {
    return this.byAccount(fulfillments).map(([account, list]) => {
      const items = list.map((f) => this.item(f));
      const amountWithoutTax = items.reduce((s, i) => s.plus(i.priced.chargeAmount), ZERO);
      const taxAmount = items.reduce((s, i) => s.plus(i.priced.taxAmount), ZERO);
      const invoice: StoredInvoice = {
        id: zuoraId(),
        invoiceNumber: `INV${String(++this.counters.invoice).padStart(8, '0')}`,
        account,
        invoiceDate,
        dueDate: addDays(invoiceDate, account.paymentTermDays),
        targetDate,
        status: 'Posted',
        items,
        amountWithoutTax,
        taxAmount,
        amount: amountWithoutTax.plus(taxAmount),
        paymentAmount: ZERO,
        creditMemoAmount: ZERO,
        reversed: false,
        lastPaymentDate: null,
      };
      this.invoices.push(invoice);
      return invoice;
    });
  }

  /** Return fulfillments become credit memos: one per account, posted and unapplied. */
  private credit(fulfillments: StoredFulfillment[], creditMemoDate: string, targetDate: string): StoredCreditMemo[] {
    return this.byAccount(fulfillments).map(([account, list]) => {
      const items = list.map((f) => this.item(f));
      const taxAmount = items.reduce((s, i) => s.plus(i.priced.taxAmount), ZERO);
      const memo: StoredCreditMemo = {
        id: zuoraId(),
        number: `CM${String(++this.counters.creditMemo).padStart(8, '0')}`,
        account,
        creditMemoDate,
        targetDate,
        status: 'Posted',
        items,
        taxAmount,
        amount: items.reduce((s, i) => s.plus(i.priced.chargeAmount), ZERO).plus(taxAmount),
        appliedAmount: ZERO,
        refundAmount: ZERO,
      };
      this.creditMemos.push(memo);
      return memo;
    });
  }

  private item(f: StoredFulfillment): StoredItem {
    const priced = priceZuoraItem(this.lineItems.get(f.orderLineItemId)!.seed, f.quantity);
    return { id: zuoraId(), fulfillment: f, priced, taxIds: priced.taxes.map(() => zuoraId()) };
  }

  /** Groups by the line item's account, in the order the accounts first appear. */
  private byAccount(fulfillments: StoredFulfillment[]): Array<[ZuoraAccountSeed, StoredFulfillment[]]> {
    const groups = new Map<ZuoraAccountSeed, StoredFulfillment[]>();
    for (const f of fulfillments) {
      const account = this.lineItems.get(f.orderLineItemId)!.account;
      groups.set(account, [...(groups.get(account) ?? []), f]);
    }
    return [...groups];
  }

  // Reads --------------------------------------------------------------------------------------------------------------

  private invoiceByKey(key: string): StoredInvoice | undefined {
    return this.invoices.find((i) => i.id === key || i.invoiceNumber === key);
  }

  private creditMemoByKey(key: string): StoredCreditMemo | undefined {
    return this.creditMemos.find((m) => m.id === key || m.number === key);
  }

  private readInvoice(req: EmulatorRequest): EmulatorResponse {
    const inv = this.invoiceByKey(req.params.key!);
    if (!inv) return notFound(req.params.key!);
    return {
      status: 200,
      body: {
        accountId: inv.account.id,
        adjustmentAmount: 0,
        amount: num(inv.amount),
        amountWithoutTax: num(inv.amountWithoutTax),
        balance: num(invoiceBalance(inv)),
        creditMemoAmount: num(inv.creditMemoAmount),
        currency: inv.account.currency,
        dueDate: inv.dueDate,
        id: inv.id,
        invoiceDate: inv.invoiceDate,
        invoiceNumber: inv.invoiceNumber,
        paymentAmount: num(inv.paymentAmount),
        refundAmount: 0,
        source: 'API',
        // Assumption: the flag is sent only once the invoice is reversed (the documented answers predate it).
        ...(inv.reversed ? { reversed: true } : {}),
        status: inv.status,
        success: true,
        targetDate: inv.targetDate,
        taxAmount: num(inv.taxAmount),
      },
    };
  }

  private readInvoiceItems(req: EmulatorRequest): EmulatorResponse {
    const inv = this.invoiceByKey(req.params.key!);
    if (!inv) return notFound(req.params.key!);
    const page = paginate(req, inv.items);
    if ('status' in page) return page;
    return {
      status: 200,
      body: {
        invoiceItems: page.slice.map((i) => ({
          appliedToItemId: null,
          chargeAmount: num(i.priced.chargeAmount),
          chargeDescription: '',
          chargeName: i.priced.lineItem.itemName,
          description: i.fulfillment.description ?? '',
          fulfillmentId: i.fulfillment.id,
          id: i.id,
          orderLineItemId: i.fulfillment.orderLineItemId,
          processingType: 'Charge',
          productName: i.priced.lineItem.itemName,
          quantity: num(i.priced.quantity),
          serviceEndDate: i.fulfillment.fulfillmentDate,
          serviceStartDate: i.fulfillment.fulfillmentDate,
          sku: i.priced.lineItem.productCode,
          sourceItemType: 'OrderLineItem',
          taxAmount: num(i.priced.taxAmount),
          taxCode: i.priced.lineItem.taxCode,
          taxMode: 'TaxExclusive',
          taxationItems: this.embeddedTaxes(i, inv.invoiceDate, `/v1/invoices/${inv.id}/items/${i.id}/taxation-items`),
          unitOfMeasure: 'Each',
          unitPrice: num(i.priced.unitPrice),
        })),
        ...(page.nextPage ? { nextPage: page.nextPage } : {}),
        success: true,
      },
    };
  }

  private readCreditMemo(req: EmulatorRequest): EmulatorResponse {
    const memo = this.creditMemoByKey(req.params.key!);
    if (!memo) return notFound(req.params.key!);
    return {
      status: 200,
      body: {
        accountId: memo.account.id,
        amount: num(memo.amount),
        appliedAmount: num(memo.appliedAmount),
        creditMemoDate: memo.creditMemoDate,
        currency: memo.account.currency,
        id: memo.id,
        number: memo.number,
        reasonCode: 'Return',
        referredInvoiceId: null,
        refundAmount: num(memo.refundAmount),
        source: 'API',
        status: memo.status,
        success: true,
        targetDate: memo.targetDate,
        taxAmount: num(memo.taxAmount),
        unappliedAmount: num(memoUnapplied(memo)),
      },
    };
  }

  private readCreditMemoItems(req: EmulatorRequest): EmulatorResponse {
    const memo = this.creditMemoByKey(req.params.key!);
    if (!memo) return notFound(req.params.key!);
    const page = paginate(req, memo.items);
    if ('status' in page) return page;
    const modern = zuoraVersion(req) >= TAXATION_ITEMS_VERSION;
    return {
      status: 200,
      body: {
        items: page.slice.map((i) => ({
          amount: num(i.priced.chargeAmount),
          amountWithoutTax: num(i.priced.chargeAmount),
          appliedAmount: 0,
          ...(modern ? { description: i.fulfillment.description ?? '' } : { comment: i.fulfillment.description ?? '' }),
          id: i.id,
          processingType: 'Charge',
          quantity: num(i.priced.quantity),
          refundAmount: 0,
          serviceEndDate: i.fulfillment.fulfillmentDate,
          serviceStartDate: i.fulfillment.fulfillmentDate,
          sku: i.priced.lineItem.productCode,
          skuName: i.priced.lineItem.itemName,
          // [assumed] Zuora documents SubscriptionComponent, InvoiceDetail and ProductRatePlanCharge as source types.
          sourceItemId: i.fulfillment.orderLineItemId,
          sourceItemType: 'OrderLineItem',
          taxMode: 'TaxExclusive',
          ...(modern
            ? { taxationItems: this.embeddedTaxes(i, memo.creditMemoDate, `/v1/credit-memos/${memo.id}/items/${i.id}/taxation-items`) }
            : { creditTaxItems: taxationItems(i, memo.creditMemoDate) }),
          unappliedAmount: num(i.priced.chargeAmount.plus(i.priced.taxAmount)),
          unitOfMeasure: 'Each',
          unitPrice: num(i.priced.unitPrice),
        })),
        ...(page.nextPage ? { nextPage: page.nextPage } : {}),
        success: true,
      },
    };
  }

  /** An item's first taxation items, and `nextPage` (the taxation-items list's page 2) when it holds more. */
  private embeddedTaxes(item: StoredItem, taxDate: string, listPath: string): Json {
    const all = taxationItems(item, taxDate);
    const size = this.embeddedTaxationItems;
    if (all.length <= size) return { data: all };
    return { data: all.slice(0, size), nextPage: `${listPath}?page=2&pageSize=${size}` };
  }

  /**
   * GET /v1/invoices/{invoiceKey}/items/{itemId}/taxation-items and GET /v1/credit-memos/{creditMemoId}/items/{cmitemid}/taxation-items
   * (https://developer.zuora.com/v1-api-reference/api/operation/GET_TaxationItemsOfInvoiceItem/, .../GET_TaxationItemsOfCreditMemoItem/):
   * `page` and `pageSize` (at most 40), `data` and `nextPage`.
   */
  private readTaxationItems(req: EmulatorRequest, kind: 'invoice' | 'creditMemo'): EmulatorResponse {
    const doc = kind === 'invoice' ? this.invoiceByKey(req.params.key!) : this.creditMemoByKey(req.params.key!);
    if (!doc) return notFound(req.params.key!);
    const item = doc.items.find((i) => i.id === req.params.itemId);
    if (!item) return notFound(req.params.itemId!);
    const page = paginate(req, taxationItems(item, 'invoiceDate' in doc ? doc.invoiceDate : doc.creditMemoDate));
    if ('status' in page) return page;
    return { status: 200, body: { data: page.slice, ...(page.nextPage ? { nextPage: page.nextPage } : {}), success: true } };
  }

  /**
   * GET /v1/invoices/{invoiceKey}/files and GET /v1/credit-memos/{creditMemoKey}/files: the document's PDF files, newest
   * first, each with `pdfFileUrl` (/v1/files/{id}) (https://developer.zuora.com/v1-api-reference/api/operation/GET_InvoiceFiles/,
   * .../GET_CreditMemoFiles/). A posted document has one file here; Zuora generates it when the document posts.
   */
  private readFiles(req: EmulatorRequest, kind: 'invoice' | 'creditMemo'): EmulatorResponse {
    const doc = kind === 'invoice' ? this.invoiceByKey(req.params.key!) : this.creditMemoByKey(req.params.key!);
    if (!doc) return notFound(req.params.key!);
    const files = doc.status === 'Draft' ? [] : [{ id: fileIdOf(doc.id, 'record'), pdfFileUrl: `/v1/files/${fileIdOf(doc.id, 'file')}`, versionNumber: Date.parse(`${'invoiceDate' in doc ? doc.invoiceDate : doc.creditMemoDate}T00:00:00Z`) }];
    return { status: 200, body: { [kind === 'invoice' ? 'invoiceFiles' : 'creditMemoFiles']: files, success: true } };
  }

  /** GET /v1/files/{file-id}: the PDF itself (https://developer.zuora.com/v1-api-reference/api/operation/GET_Files/). */
  private readFile(req: EmulatorRequest): EmulatorResponse {
    const doc = [...this.invoices, ...this.creditMemos].find((d) => fileIdOf(d.id, 'file') === req.params.fileId);
    if (!doc) return notFound(req.params.fileId!);
    const number = 'invoiceNumber' in doc ? doc.invoiceNumber : doc.number;
    return { status: 200, headers: { 'Content-Type': 'application/pdf;charset=UTF-8' }, body: Buffer.from(`%PDF-1.4\n% Zuora sandbox document ${number}\n%%EOF\n`) };
  }

  /**
   * Object Query's GET /object-query/fulfillments (https://developer.zuora.com/v1-api-reference/api/operation/queryFulfillments/):
   * `filter[]` on id, orderlineitemid, fulfillmentnumber, state or externalid (case-insensitive names), `pageSize`
   * 1 to 99 (default 10), `cursor` from the last page's `nextPage`; null fields are left out.
   */
  private queryFulfillments(req: EmulatorRequest): EmulatorResponse {
    const fields: Record<string, (f: StoredFulfillment) => string | null> = {
      id: (f) => f.id,
      orderlineitemid: (f) => f.orderLineItemId,
      fulfillmentnumber: (f) => f.fulfillmentNumber,
      state: (f) => f.state,
      externalid: (f) => f.externalId,
    };
    return objectQuery(req, this.fulfillments, fields, (f) =>
      withoutNulls({
        billTargetDate: f.billTargetDate,
        createdDate: f.createdDate,
        description: f.description,
        externalId: f.externalId,
        fulfillmentDate: f.fulfillmentDate,
        fulfillmentNumber: f.fulfillmentNumber,
        fulfillmentType: f.fulfillmentType,
        id: f.id,
        orderLineItemId: f.orderLineItemId,
        quantity: num(f.quantity),
        state: f.state,
        trackingNumber: f.trackingNumber,
        carrier: f.carrier,
      }),
    );
  }

  /**
   * Object Query's GET /object-query/invoice-items and /object-query/credit-memo-items
   * (https://developer.zuora.com/v1-api-reference/api/operation/queryInvoiceItems/, .../queryCreditMemoItems/): each item
   * names its document (`invoiceId`, `creditMemoId`) and the fulfillment it bills (`fulfillmentId`, a filterable field).
   */
  private queryDocumentItems(req: EmulatorRequest, kind: 'invoice' | 'creditMemo'): EmulatorResponse {
    const docs: Array<StoredInvoice | StoredCreditMemo> = kind === 'invoice' ? this.invoices : this.creditMemos;
    const rows = docs.flatMap((d) => d.items.map((item) => ({ doc: d, item })));
    const fields: Record<string, (r: (typeof rows)[number]) => string | null> = {
      id: (r) => r.item.id,
      fulfillmentid: (r) => r.item.fulfillment.id,
      [kind === 'invoice' ? 'invoiceid' : 'creditmemoid']: (r) => r.doc.id,
      ...(kind === 'creditMemo' ? { orderlineitemid: (r: (typeof rows)[number]) => r.item.fulfillment.orderLineItemId } : {}),
    };
    return objectQuery(req, rows, fields, (r) => ({
      id: r.item.id,
      [kind === 'invoice' ? 'invoiceId' : 'creditMemoId']: r.doc.id,
      fulfillmentId: r.item.fulfillment.id,
      quantity: num(r.item.priced.quantity),
      ...(kind === 'invoice' ? { chargeAmount: num(r.item.priced.chargeAmount) } : { amount: num(r.item.priced.chargeAmount) }),
    }));
  }

  /** Object Query's GET /object-query/orders/{key}, by id or number (https://developer.zuora.com/v1-api-reference/api/operation/queryOrdersByKey/). */
  private queryOrder(req: EmulatorRequest): EmulatorResponse {
    const key = req.params.key!;
    const order = this.tenant.orders.find((o) => o.id === key || o.orderNumber === key);
    if (!order) return { status: 404, body: failure([{ code: code(RESOURCE.unknown, CATEGORY.notFound), message: `Cannot find entity by key: '${key}'.` }]) };
    const account = this.tenant.accounts.find((a) => a.accountNumber === order.accountNumber);
    return { status: 200, body: { accountId: account?.id, id: order.id, orderDate: order.orderDate, orderNumber: order.orderNumber, status: 'Completed' } };
  }

  private readOrderLineItem(req: EmulatorRequest): EmulatorResponse {
    const li = this.lineItems.get(req.params.itemId!);
    if (!li) return notFound(req.params.itemId!);
    const { seed, order, account } = li;
    const priced = priceZuoraItem(seed, seed.quantity);
    const quantity = new Money(seed.quantity);
    return {
      status: 200,
      body: {
        success: true,
        orderLineItem: {
          id: seed.id,
          // Zuora's documented response names the order by `orderId` only
          // (https://developer.zuora.com/v1-api-reference/api/operation/GET_OrderLineItem/); its number is read from the order.
          orderId: order.id,
          itemName: seed.itemName,
          itemNumber: seed.itemNumber,
          itemState: li.delivered.gte(quantity) ? 'SentToBilling' : 'Executing',
          itemType: seed.itemType,
          itemCategory: 'Sales',
          billingRule: 'TriggerAsFulfillmentOccurs',
          productCode: seed.productCode,
          amount: num(priced.chargeAmount.plus(priced.taxAmount)),
          amountWithoutTax: num(priced.chargeAmount),
          quantity: num(quantity),
          amountPerUnit: num(new Money(seed.amountPerUnit)),
          quantityFulfilled: num(li.delivered),
          quantityPendingFulfillment: num(quantity.minus(li.delivered)),
          quantityAvailableForReturn: num(li.delivered.minus(li.returned)),
          taxCode: seed.taxCode,
          taxMode: 'TaxExclusive',
          transactionDate: order.orderDate,
          invoiceOwnerAccountId: account.id,
          invoiceOwnerAccountNumber: account.accountNumber,
          invoiceOwnerAccountName: account.name,
        },
      },
    };
  }
}

/** Creates a Zuora emulator and starts it; `npm start` and scripts use this. */
export async function startZuoraEmulator(options: ZuoraEmulatorOptions & { port?: number; host?: string } = {}): Promise<ZuoraEmulator> {
  const { port, host, ...rest } = options;
  const emulator = new ZuoraEmulator(rest);
  await emulator.start(port, host);
  return emulator;
}

// ---------------------------------------------------------------------------------------------------------------
// The create request

interface FulfillmentRequest {
  orderLineItemId: string;
  quantity: Money;
  fulfillmentDate: string;
  billTargetDate: string | null;
  fulfillmentType: FulfillmentType;
  state: FulfillmentState;
  externalId: string | null;
  trackingNumber: string | null;
  carrier: string | null;
  description: string | null;
}

interface ProcessingOptions {
  runBilling: boolean;
  collectPayment: boolean;
  documentDate: string | null;
  targetDate: string | null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const isDate = (v: unknown): v is string => typeof v === 'string' && DATE.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v);

/** The request's shape, every problem reported at once with the field's path in the message. */
function parseCreateRequest(body: unknown): { fulfillments: FulfillmentRequest[]; processingOptions: ProcessingOptions } | { reasons: Reason[] } {
  const reasons: Reason[] = [];
  const bad = (resource: number, category: number, message: string) => reasons.push({ code: code(resource, category), message });
  if (!isObject(body)) return { reasons: [{ code: code(RESOURCE.unknown, CATEGORY.malformed), message: 'The request body must be a JSON object.' }] };
  const list = body.fulfillments;
  if (!Array.isArray(list) || list.length === 0) {
    bad(RESOURCE.fulfillments, CATEGORY.missingField, "'fulfillments' must contain at least one fulfillment.");
    return { reasons };
  }

  const fulfillments = list.map((raw, i): FulfillmentRequest | null => {
    const at = (field: string) => `'fulfillments[${i}].${field}'`;
    if (!isObject(raw)) {
      bad(RESOURCE.fulfillments, CATEGORY.invalidValue, `'fulfillments[${i}]' must be an object.`);
      return null;
    }
    for (const field of Object.keys(raw)) if (!FULFILLMENT_FIELDS.has(field)) bad(RESOURCE.fulfillments, CATEGORY.unknownField, `${at(field)} is not a known field.`);
    const id = raw.orderLineItemId;
    if (id === undefined || id === null || id === '') bad(RESOURCE.orderLineItemId, CATEGORY.missingField, `${at('orderLineItemId')} is required.`);
    else if (typeof id !== 'string') bad(RESOURCE.orderLineItemId, CATEGORY.invalidValue, `${at('orderLineItemId')} value should be a string.`);
    let quantity: Money | undefined;
    if (raw.quantity === undefined || raw.quantity === null) bad(RESOURCE.quantity, CATEGORY.missingField, `${at('quantity')} is required.`);
    else if (typeof raw.quantity !== 'number' || !Number.isFinite(raw.quantity) || raw.quantity <= 0) bad(RESOURCE.quantity, CATEGORY.invalidValue, `${at('quantity')} value should be a number greater than 0.`);
    else quantity = new Money(String(raw.quantity));
    if (raw.fulfillmentDate === undefined || raw.fulfillmentDate === null) bad(RESOURCE.fulfillmentDate, CATEGORY.missingField, `${at('fulfillmentDate')} is required.`);
    else if (!isDate(raw.fulfillmentDate)) bad(RESOURCE.fulfillmentDate, CATEGORY.invalidValue, `${at('fulfillmentDate')} value should be a date in yyyy-MM-dd format.`);
    if (raw.billTargetDate !== undefined && raw.billTargetDate !== null && !isDate(raw.billTargetDate)) {
      bad(RESOURCE.billTargetDate, CATEGORY.invalidValue, `${at('billTargetDate')} value should be a date in yyyy-MM-dd format.`);
    }
    const type = raw.fulfillmentType ?? 'Delivery';
    if (!FULFILLMENT_TYPES.includes(type as FulfillmentType)) bad(RESOURCE.fulfillmentType, CATEGORY.invalidValue, `${at('fulfillmentType')} value should be one of: ${FULFILLMENT_TYPES.join(', ')}`);
    const state = raw.state ?? 'Executing';
    if (!FULFILLMENT_STATES.includes(state as FulfillmentState)) bad(RESOURCE.state, CATEGORY.invalidValue, `${at('state')} value should be one of: ${FULFILLMENT_STATES.join(', ')}`);
    const text = (field: 'externalId' | 'trackingNumber' | 'carrier' | 'description'): string | null => {
      const v = raw[field];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string') bad(RESOURCE.fulfillments, CATEGORY.invalidValue, `${at(field)} value should be a string.`);
      return typeof v === 'string' ? v : null;
    };
    const strings = { externalId: text('externalId'), trackingNumber: text('trackingNumber'), carrier: text('carrier'), description: text('description') };
    if (!quantity || typeof id !== 'string' || !isDate(raw.fulfillmentDate)) return null;
    return {
      orderLineItemId: id,
      quantity,
      fulfillmentDate: raw.fulfillmentDate,
      billTargetDate: isDate(raw.billTargetDate) ? raw.billTargetDate : null,
      fulfillmentType: type as FulfillmentType,
      state: state as FulfillmentState,
      ...strings,
    };
  });

  const options: ProcessingOptions = { runBilling: false, collectPayment: false, documentDate: null, targetDate: null };
  const po = body.processingOptions;
  if (po !== undefined && po !== null) {
    if (!isObject(po)) bad(RESOURCE.processingOptions, CATEGORY.invalidValue, "'processingOptions' must be an object.");
    else {
      for (const flag of ['runBilling', 'collectPayment'] as const) {
        if (po[flag] === undefined || po[flag] === null) continue;
        if (typeof po[flag] !== 'boolean') bad(RESOURCE.processingOptions, CATEGORY.invalidValue, `'processingOptions.${flag}' value should be a boolean.`);
        else options[flag] = po[flag];
      }
      const billing = po.billingOptions;
      if (billing !== undefined && billing !== null) {
        for (const field of ['documentDate', 'targetDate'] as const) {
          const v = isObject(billing) ? billing[field] : undefined;
          if (v === undefined || v === null) continue;
          if (!isDate(v)) bad(RESOURCE.processingOptions, CATEGORY.invalidValue, `'processingOptions.billingOptions.${field}' value should be a date in yyyy-MM-dd format.`);
          else options[field] = v;
        }
      }
      if (options.collectPayment && !options.runBilling) {
        bad(RESOURCE.processingOptions, CATEGORY.invalidValue, "'processingOptions.collectPayment' requires 'processingOptions.runBilling' to be true.");
      }
    }
  }
  if (reasons.length > 0) return { reasons };
  return { fulfillments: fulfillments as FulfillmentRequest[], processingOptions: options };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Zuora's failure envelope; processId is Zuora's internal id for support. */
function failure(reasons: Reason[]): Json {
  return { success: false, processId: randomBytes(8).toString('hex').toUpperCase(), reasons };
}

/** Zuora answers an unknown key on a v1 read with HTTP 200 and a not-found reason (resource 500000: no payload). */
function notFound(key: string): EmulatorResponse {
  return { status: 200, body: failure([{ code: code(RESOURCE.unknown, CATEGORY.notFound), message: `Cannot find entity by key: '${key}'.` }]) };
}

/** A stable id for a document's PDF file record and file, so that reads after a restart of the test agree. */
const fileIdOf = (documentId: string, what: 'record' | 'file'): string => (what === 'record' ? `f1${documentId.slice(2)}` : `f2${documentId.slice(2)}`);

const withoutNulls = (values: Json): Json => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== undefined));

const OBJECT_QUERY_MAX_PAGE = 99;

/**
 * Object Query's list: every `filter[]` (`field.OP:value`, EQ, NE, SW or IN:[a,b], combined with AND) on a
 * documented filterable field, `pageSize` 1 to 99 (default 10), an opaque `cursor` from `nextPage`
 * (https://developer.zuora.com/docs/guides/expand-filter-fields-sort). An unknown field or operator is a 400.
 */
function objectQuery<T>(req: EmulatorRequest, all: T[], fields: Record<string, (row: T) => string | null>, shape: (row: T) => Json): EmulatorResponse {
  const filters = ([] as string[]).concat(req.query['filter[]'] ?? []);
  let rows = all;
  for (const filter of filters) {
    const m = /^([A-Za-z_]+)\.(EQ|NE|SW|IN):(.*)$/s.exec(filter);
    const get = m ? fields[m[1]!.toLowerCase()] : undefined;
    if (!m || !get) return { status: 400, body: failure([{ code: code(RESOURCE.unknown, CATEGORY.invalidValue), message: `Unsupported filter: '${filter}'.` }]) };
    const [, , op, value] = m;
    const list = op === 'IN' ? /^\[(.*)\]$/s.exec(value!)?.[1]?.split(',') ?? [] : [];
    rows = rows.filter((row) => {
      const v = get(row);
      if (op === 'EQ') return v === value;
      if (op === 'NE') return v !== value;
      if (op === 'SW') return v !== null && v.startsWith(value!);
      return v !== null && list.includes(v);
    });
  }
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const size = Number(first(req.query.pageSize) ?? 10);
  const cursor = first(req.query.cursor);
  const offset = cursor ? Number(Buffer.from(cursor, 'base64').toString('utf8')) : 0;
  if (!Number.isInteger(size) || size < 1 || size > OBJECT_QUERY_MAX_PAGE || !Number.isInteger(offset) || offset < 0) {
    return { status: 400, body: failure([{ code: code(RESOURCE.unknown, CATEGORY.invalidValue), message: `'pageSize' must be 1 to ${OBJECT_QUERY_MAX_PAGE} and 'cursor' one Zuora returned.` }]) };
  }
  const page = rows.slice(offset, offset + size);
  const more = offset + size < rows.length;
  return { status: 200, body: { ...(more ? { nextPage: Buffer.from(String(offset + size)).toString('base64') } : {}), data: page.map(shape) } };
}

/** The REST API (v1 and Object Query), behind OAuth and the rate limit; /oauth/token is not. */
const isApiPath = (path: string): boolean => path.startsWith('/v1/') || path.startsWith('/object-query/');

/** Zuora's 32-hex object ids. */
const zuoraId = (): string => randomBytes(16).toString('hex');

/** Amounts and quantities as JSON numbers, as Zuora sends them; exact for the cent amounts the emulator keeps. */
const num = (d: Money): number => d.toNumber();

const invoiceBalance = (inv: StoredInvoice): Money => (inv.status === 'Canceled' ? ZERO : inv.amount.minus(inv.paymentAmount).minus(inv.creditMemoAmount));
const memoUnapplied = (memo: StoredCreditMemo): Money => memo.amount.minus(memo.appliedAmount).minus(memo.refundAmount);

function taxationItems(item: StoredItem, taxDate: string): Json[] {
  return item.priced.taxes.map((t, i) => ({
    exemptAmount: 0,
    id: item.taxIds[i],
    jurisdiction: t.tax.jurisdiction,
    locationCode: '',
    name: t.tax.name,
    taxAmount: num(t.amount),
    taxCode: item.priced.lineItem.taxCode,
    taxDate,
    taxRate: Number(t.tax.rate),
    taxRateDescription: '',
    taxRateType: 'Percentage',
  }));
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

function zuoraVersion(req: EmulatorRequest): number {
  const v = Number(req.header('zuora-version'));
  return Number.isFinite(v) ? v : 0;
}

/** `pageSize` (at most 40, default 20) and `page` (from 1), with `nextPage` while more remain. */
function paginate<T>(req: EmulatorRequest, all: T[]): { slice: T[]; nextPage: string | null } | EmulatorResponse {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const size = Number(first(req.query.pageSize) ?? DEFAULT_PAGE_SIZE);
  const page = Number(first(req.query.page) ?? 1);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE || !Number.isInteger(page) || page < 1) {
    return { status: 400, body: failure([{ code: code(RESOURCE.unknown, CATEGORY.invalidValue), message: `'pageSize' must be 1 to ${MAX_PAGE_SIZE} and 'page' at least 1.` }]) };
  }
  const slice = all.slice((page - 1) * size, page * size);
  const nextPage = page * size < all.length ? `${req.path}?page=${page + 1}&pageSize=${size}` : null;
  return { slice, nextPage };
}

if (require.main === module) {
  const port = Number(process.env.ZUORA_EMULATOR_PORT ?? 0);
  startZuoraEmulator({ port }).then(
    (emulator) => {
      const clients = emulator.tenant.clients.map((c) => `  client_id=${c.clientId}  client_secret=${c.clientSecret}`);
      process.stdout.write(`Zuora emulator: ${emulator.baseUrl}\nOAuth clients:\n${clients.join('\n')}\n`);
      const stop = () => void emulator.stop().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (err: unknown) => {
      process.stderr.write(`Zuora emulator failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
