import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import { isInteger, isLosslessNumber, parse as parseLosslessJson } from 'lossless-json';
import { EmulatorServer, parseMultipart, type EmulatorRequest, type EmulatorResponse, type MultipartFile } from '../shared/emulator-server';
import {
  SALLA_SANDBOX_CLIENT_ID,
  SALLA_SANDBOX_CLIENT_SECRET,
  sallaSandboxStores,
  type SallaItemType,
  type SallaOrderSeed,
  type SallaScope,
  type SallaStoreSeed,
} from './salla.seed';
import { ProviderEmulator } from '../shared/provider-emulator';
import { refuseOverOutstanding, runSandboxControl, sandboxAmount, sandboxDate, SandboxError, type SandboxEvent, type SandboxInvoiceState } from '../shared/sandbox-control';
import { WebhookOutbox, type WebhookDelivery } from '../shared/webhook-outbox';

/**
 * An HTTP emulator of Salla's Merchant API invoice endpoints (seed 003 and Salla's public docs): create, read one,
 * list, Bearer tokens with scopes, the 401/404/422/429 envelopes with their Arabic (default) or English messages,
 * and a per-store leaky-bucket rate limit. A create's JSON numbers are read exactly and must be of the documented
 * types (see toMoney). Also Salla's OAuth token endpoint for refresh tokens (see `token`): access tokens that expire,
 * single-use refresh tokens, and a chain revoked when one is used twice. Given a webhook URL, it sends Salla's signed
 * order and invoice events for what the sandbox controls change (see "Webhooks" below). State lives in memory.
 */

const API = '/admin/v2';
/** Salla writes invoice header amounts with the riyal symbol and item amounts with the ISO code. */
const HEADER_CURRENCY = 'ر.س';
const ITEM_CURRENCY = 'SAR';
/** Salla's upload limit for invoice files (10 MB). */
const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Invoice dates are the store's calendar day; Saudi Arabia is UTC+3 all year. */
const RIYADH_OFFSET_MS = 3 * 60 * 60 * 1000;
const DEFAULT_PER_PAGE = 15;
const MAX_PER_PAGE = 60;

/** Money arithmetic only; rounding half up to the halala as Salla prints it. */
const Money = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
type Money = Decimal;
const ZERO = new Money(0);
const round2 = (d: Money): Money => d.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);

export type SallaInvoiceType = 'tax_invoice' | 'credit_note';
export type SallaDataType = 'data' | 'url' | 'file' | 'order';
const INVOICE_TYPES: readonly SallaInvoiceType[] = ['tax_invoice', 'credit_note'];
const DATA_TYPES: readonly SallaDataType[] = ['data', 'url', 'file', 'order'];
const TYPE_LABEL: Record<SallaInvoiceType, string> = { tax_invoice: 'Tax Invoice', credit_note: 'Credit Note' };

export interface SallaEmulatorOptions {
  /** Stores, tokens and orders; default: `sallaSandboxStores()`. */
  stores?: SallaStoreSeed[];
  /** The clock for invoice dates and QR timestamps; pin it to reproduce the seed's dates. */
  now?: () => Date;
  /** Leaky-bucket size and drain per store and minute (Salla's plans: 120, 360, 720). Default 720. */
  rateLimitPerMinute?: number;
  /** Milliseconds for the rate limiter and token lifetimes; default Date.now. Separate from `now` so a pinned date still drains. */
  clock?: () => number;
  /**
   * Life of the access tokens the token endpoint issues, in seconds (may be fractional: tests ask for 2). Default
   * 14 days, Salla's (SallaApp/oauth2-merchant README: "the access token expired after 14 days").
   */
  accessTokenTtlSeconds?: number;
  /**
   * Whether a refresh also ends the chain's earlier access tokens at once (as OAuth servers such as Ory Fosite do);
   * Salla's docs do not say. Default false: an earlier access token lives out its time.
   */
  revokeAccessOnRefresh?: boolean;
  /**
   * Salla's "Responses" page (https://docs.salla.dev/421123m0): 403 "refusing it (blocked due to many errors in
   * particular time)". Off by default; given, a store whose API answers had `errors` 4xx within `windowMs` is answered
   * 403 on every API call for `blockMs`. Assumption: the thresholds and the message, which Salla does not publish.
   */
  blockAfterErrors?: { errors: number; windowMs: number; blockMs: number };
  /** Where the sandbox app receives Salla's webhooks; none are sent without it. Also set later by `configureWebhook`. */
  webhook?: SallaWebhookConfig;
  /**
   * Waits before each retry of a delivery that was not accepted; their count is the number of retries. Default
   * [200, 1000, 3000]. Assumption: Salla resends 3 times about 5 minutes apart (https://docs.salla.dev/421119m0,
   * as SallaApp/salla-partners-agent-kit's salla-webhooks skill quotes it); the emulator keeps the count and shortens
   * the waits so that a test sees the retries.
   */
  webhookRetryDelaysMs?: readonly number[];
  /** How long an attempt waits for the receiver's answer. Default 30 s, Salla's (https://docs.salla.dev/421119m0). */
  webhookTimeoutMs?: number;
}

/** The app's OAuth client credentials the token endpoint accepts. */
const SANDBOX_CLIENTS = new Map([[SALLA_SANDBOX_CLIENT_ID, SALLA_SANDBOX_CLIENT_SECRET]]);
const DEFAULT_ACCESS_TTL_SECONDS = 14 * 86_400;
/** The sandbox app's id in app events (Salla's apps have numeric ids). */
const SANDBOX_APP_ID = 1911645512;
/** Assumption: Salla's wording for a block is not published. */
const BLOCKED_MESSAGE = 'You have been temporarily blocked because of too many failed requests; try again later.';

// ---------------------------------------------------------------------------------------------------------------
// Pricing

export interface SallaPricedItem {
  itemId: number;
  productId: number;
  name: string;
  sku: string;
  quantity: number;
  type: SallaItemType;
  price: Money;
  discount: Money;
  taxPercent: Money;
  tax: Money;
  total: Money;
}

export interface SallaOrderPricing {
  items: SallaPricedItem[];
  /** Items net of their own discounts, before VAT. */
  subTotal: Money;
  discount: Money;
  shippingCost: Money;
  cashOnDeliveryCost: Money;
  taxPercent: Money;
  tax: Money;
  total: Money;
}

/**
 * Prices an order the way the sandbox's Salla-issued invoices show it: VAT per item on the line net of its
 * discount; the header's VAT on (subtotal − order discount + shipping + cash on delivery), rounded once.
 */
export function priceSallaOrder(order: SallaOrderSeed): SallaOrderPricing {
  const pct = new Money(order.taxPercent);
  const rate = pct.div(100);
  const items = order.items.map((i): SallaPricedItem => {
    const price = new Money(i.price);
    const discount = new Money(i.discount);
    const net = price.times(i.quantity).minus(discount);
    const tax = round2(net.times(rate));
    return { itemId: i.itemId, productId: i.productId, name: i.name, sku: i.sku, quantity: i.quantity, type: i.type, price, discount, taxPercent: pct, tax, total: net.plus(tax) };
  });
  const subTotal = items.reduce((sum, i) => sum.plus(i.price.times(i.quantity)).minus(i.discount), ZERO);
  const discount = new Money(order.discount);
  const shippingCost = new Money(order.shippingCost);
  const cashOnDeliveryCost = new Money(order.cashOnDeliveryCost);
  const taxable = subTotal.minus(discount).plus(shippingCost).plus(cashOnDeliveryCost);
  const tax = round2(taxable.times(rate));
  return { items, subTotal, discount, shippingCost, cashOnDeliveryCost, taxPercent: pct, tax, total: taxable.plus(tax) };
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

type Lang = 'ar' | 'en';
type Field =
  | 'order_id'
  | 'type'
  | 'data_type'
  | 'url'
  | 'file'
  | 'invoice_number'
  | 'total'
  | 'sub_total'
  | 'shipping_cost'
  | 'cash_on_delivery_cost'
  | 'tax'
  | 'tax_value';

interface Messages {
  attribute: Record<Field, string>;
  required(attribute: string): string;
  requiredIfDataType(attribute: string, dataType: SallaDataType): string;
  invalidChoice(attribute: string): string;
  string(attribute: string): string;
  numeric(attribute: string): string;
  integer(attribute: string): string;
  notNegative(attribute: string): string;
  urlFormat: string;
  urlNotPdf: string;
  fileNotPdf: string;
  fileTooLarge: string;
  orderInvalid: string;
  issuerIsSalla: string;
  dataTypeNotForIssuer: string;
  alreadyIssued: string;
  duplicateInvoiceNumber: string;
  creditNoteWithoutTaxInvoice: string;
  creditNoteAlreadyIssued: string;
  notFound: string;
}

/**
 * Salla's Arabic texts, character for character where the seed shows them (its double spaces and trailing
 * spaces included: they come from attribute names with a trailing space in Salla's language files).
 */
const AR: Messages = {
  attribute: {
    order_id: 'order id',
    type: 'نوع الفاتورة',
    data_type: 'نوع بيانات الفاتورة ',
    url: 'عنوان (url)',
    file: 'الملف',
    invoice_number: 'ر قم الفاتورة',
    total: 'الاجمالي الكلي',
    sub_total: 'الاجمالي ',
    shipping_cost: 'سعر الشحن',
    cash_on_delivery_cost: 'سعر الدفع عند الإستلام',
    tax: 'الضريبة',
    tax_value: 'قيمة الضريبة',
  },
  required: (a) => `حقل ${a} مطلوب.`,
  requiredIfDataType: (a, v) => `حقل ${a} مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي ${v}.`,
  invalidChoice: (a) => `حقل ${a} غير صالحٍ`,
  string: (a) => `يجب أن يكون حقل ${a} نصًا.`,
  numeric: (a) => `يجب على حقل ${a} أن يكون رقمًا.`,
  // Assumption: laravel-lang's Arabic `integer` line, of the same edition as the `numeric` line above.
  integer: (a) => `يجب أن يكون حقل ${a} عددًا صحيحًا.`,
  notNegative: (a) => `يجب أن تكون قيمة حقل ${a} مساوية أو أكبر من 0.`,
  urlFormat: 'صيغة رابط عنوان (url) غير صحيحة.',
  urlNotPdf: 'يجب أن ينتهي  عنوان (url)  بأحد القيم التالية: .pdf',
  fileNotPdf: 'يجب أن يكون حقل ملفًا من نوع : pdf.',
  fileTooLarge: 'يجب أن لا يتجاوز حجم الملف 10240 كيلوبايت.',
  orderInvalid: 'رقم الطلب خاطئ . ',
  issuerIsSalla: 'لا يمكن اضافة فاتورة للطلب , اعدادات اصدار الفواتير في المتجر تتبع المزود الافتراضي ',
  dataTypeNotForIssuer: 'هذا النوع لايتناسب مع إعدادات طريقة إصدار الفواتير في متجرك . ',
  alreadyIssued: 'تم اصدار فاتورة للطلب سابقا',
  duplicateInvoiceNumber: 'رقم الفاتورة مكرر',
  creditNoteWithoutTaxInvoice: 'لا يمكن اصدار إشعار دائن للطلب قبل اصدار فاتورة ضريبية له',
  creditNoteAlreadyIssued: 'لا يمكن اضافة الفاتورة  هنالك فاتورة مسبقة لهذا الطلب ',
  notFound: 'المحتوى الذي تحاول الوصول اليه غير متوفر',
};

/** English twins of AR, in the wording of Laravel's English validation messages where one exists. */
const EN: Messages = {
  attribute: {
    order_id: 'order id',
    type: 'invoice type',
    data_type: 'invoice data type',
    url: 'url',
    file: 'file',
    invoice_number: 'invoice number',
    total: 'grand total',
    sub_total: 'subtotal',
    shipping_cost: 'shipping cost',
    cash_on_delivery_cost: 'cash on delivery cost',
    tax: 'tax',
    tax_value: 'tax value',
  },
  required: (a) => `The ${a} field is required.`,
  requiredIfDataType: (a, v) => `The ${a} field is required when invoice data type is ${v}.`,
  invalidChoice: (a) => `The selected ${a} is invalid.`,
  string: (a) => `The ${a} field must be a string.`,
  numeric: (a) => `The ${a} field must be a number.`,
  // Assumption: Laravel's English `integer` line; Salla's docs show no message for a mistyped order_id.
  integer: (a) => `The ${a} field must be an integer.`,
  notNegative: (a) => `The ${a} field must be at least 0.`,
  urlFormat: 'The url field must be a valid URL.',
  urlNotPdf: 'The url must end with one of the following: .pdf',
  fileNotPdf: 'The file must be a file of type: pdf.',
  fileTooLarge: 'The file must not be greater than 10240 kilobytes.',
  orderInvalid: 'The order number is incorrect.',
  issuerIsSalla: "An invoice cannot be added to the order: the store's invoice issuing settings follow the default provider.",
  dataTypeNotForIssuer: 'This type does not match the invoice issuing method settings in your store.',
  alreadyIssued: 'An invoice has already been issued for the order.',
  duplicateInvoiceNumber: 'The invoice number is duplicated.',
  creditNoteWithoutTaxInvoice: 'A credit note cannot be issued for the order before a tax invoice.',
  creditNoteAlreadyIssued: 'The invoice cannot be added: there is a previous invoice for this order.',
  notFound: 'The content you are trying to access is not available.',
};

/** Salla answers in Arabic unless the request asks for English first. */
function languageOf(req: EmulatorRequest): Lang {
  const first = (req.header('accept-language') ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase() ?? '';
  return first === 'en' || first.startsWith('en-') ? 'en' : 'ar';
}

const messagesOf = (req: EmulatorRequest): Messages => (languageOf(req) === 'en' ? EN : AR);

/** Field messages in the order they were found, which is the order of the rules. */
class FieldErrors {
  private readonly fields = new Map<string, string[]>();

  add(field: string, message: string): void {
    const list = this.fields.get(field);
    if (list) list.push(message);
    else this.fields.set(field, [message]);
  }

  get empty(): boolean {
    return this.fields.size === 0;
  }

  toResponse(): EmulatorResponse {
    return {
      status: 422,
      body: { status: 422, success: false, error: { code: 'error', message: 'alert.invalid_fields', fields: Object.fromEntries(this.fields) } },
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// State

interface InvoiceAmounts {
  subTotal: Money;
  shippingCost: Money;
  cashOnDeliveryCost: Money;
  discount: Money;
  taxPercent: Money;
  tax: Money;
  total: Money;
}

interface StoredInvoice {
  id: number;
  /** `api`: created through POST /orders/invoices; `store`: issued by the store itself (see issueStoreInvoice). */
  source: 'api' | 'store';
  uuid: string;
  storeId: number;
  orderId: number;
  type: SallaInvoiceType;
  dataType: SallaDataType;
  invoiceNumber: string;
  referenceId: string | null;
  date: string;
  qrCode: string | null;
  paymentMethod: string;
  url: string | null;
  amounts: InvoiceAmounts;
  items: Array<SallaPricedItem & { id: number }>;
}

/**
 * What the sandbox recorded about an invoiced order's money. Salla keeps payment and cancellation on the order (its
 * `status` slug such as canceled or refunded, `payment_method`, `is_pending_payment`; the order.payment.updated,
 * order.cancelled and order.refunded events of Salla's webhook list, mirrored at
 * https://share.apidog.com/apidoc/docs-site/451700/1894252m0), never on the tax invoice, whose details have no
 * payment field (InvoiceDetails: https://docs.salla.dev/5394158e0). So this changes no invoice answer, only the order's.
 * GET /orders/{id} shows it as the order's status (readOrder).
 */
interface OrderLedger {
  paid: Money;
  credited: Money;
  lastPaymentDate: string | null;
  canceled: boolean;
}

/**
 * Salla's base order statuses by slug, with ids and English names as one store's GET /orders/statuses listed them (a
 * merchant's generated reference file, found in public code; Salla's docs name the slugs). Assumption: the base
 * statuses' ids are the same in every store.
 */
const ORDER_STATUSES = {
  payment_pending: { id: 1473353380, name: 'Payment Pending' },
  under_review: { id: 566146469, name: 'Under Review' },
  in_progress: { id: 1939592358, name: 'In Progress' },
  completed: { id: 1298199463, name: 'Completed' },
  delivering: { id: 349994915, name: 'Delivering' },
  delivered: { id: 1723506348, name: 'Delivered' },
  shipped: { id: 814202285, name: 'Shipped' },
  canceled: { id: 525144736, name: 'Canceled' },
  restoring: { id: 1548352431, name: 'Restoring' },
  restored: { id: 989286562, name: 'Restored' },
} as const;

export type SallaOrderSlug = keyof typeof ORDER_STATUSES;

interface StoreState {
  seed: SallaStoreSeed;
  orders: Map<number, SallaOrderSeed>;
  invoices: StoredInvoice[];
  // Indexes over `invoices`, so that a create costs the same with ten invoices or a benchmark's hundred thousand.
  byOrder: Map<number, StoredInvoice[]>;
  invoiceNumbers: Set<string>;
  nextInvoiceNumber: number;
}

interface Principal {
  store: StoreState;
  scopes: readonly SallaScope[];
  /** Set on tokens the token endpoint issued: when they stop working (clock ms), and the chain they belong to. */
  expiresAt?: number;
  chain?: Chain;
}

/** One authorisation's tokens: every refresh token it issued, single use; one used twice revokes them all. */
interface Chain {
  store: StoreState;
  scopes: readonly SallaScope[];
  revoked: boolean;
  accessTokens: Set<string>;
}

interface RefreshGrant {
  chain: Chain;
  used: boolean;
}

/** One request to the token endpoint, for tests: which refresh token came, and what became of it. */
export interface SallaTokenRequest {
  refreshToken: string | null;
  outcome: 'issued' | 'reused' | 'revoked' | 'unknown' | 'invalid_client' | 'invalid_request';
  at: number;
}

/** An invoice the emulator holds, for tests and tools; amounts are exact decimal strings. */
export interface SallaInvoiceRecord {
  id: number;
  source: 'api' | 'store';
  storeId: number;
  orderId: number;
  type: SallaInvoiceType;
  dataType: SallaDataType;
  invoiceNumber: string;
  date: string;
  url: string | null;
  /** Bytes of the uploaded PDF for data_type `file`. */
  file: Buffer | null;
  subTotal: string;
  shippingCost: string;
  cashOnDeliveryCost: string;
  discount: string;
  taxPercent: string;
  tax: string;
  total: string;
}

interface ValidCreate {
  order: SallaOrderSeed;
  type: SallaInvoiceType;
  dataType: SallaDataType;
  url?: string;
  file?: Buffer;
  invoiceNumber?: string;
  subTotal?: Money;
  total?: Money;
  shippingCost?: Money;
  cashOnDeliveryCost?: Money;
  tax?: Money;
  taxValue?: Money;
}

/** A leaky bucket: holds `limit` requests and drains `limit` a minute. */
class LeakyBucket {
  private level = 0;
  private last: number;

  constructor(
    private readonly limit: number,
    private readonly clock: () => number,
  ) {
    this.last = clock();
  }

  take(): { allowed: boolean; limit: number; remaining: number; resetAt: number; retryAfter: number } {
    const now = this.clock();
    const perMs = this.limit / 60_000;
    this.level = Math.max(0, this.level - Math.max(0, now - this.last) * perMs);
    this.last = now;
    const allowed = this.level + 1 <= this.limit + 1e-9;
    if (allowed) this.level += 1;
    const retryAfter = allowed ? 0 : Math.max(1, Math.ceil((this.level + 1 - this.limit) / perMs / 1000));
    return {
      allowed,
      limit: this.limit,
      remaining: Math.max(0, Math.floor(this.limit - this.level + 1e-9)),
      resetAt: Math.ceil((now + this.level / perMs) / 1000),
      retryAfter,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Webhooks

/**
 * Salla's webhook security strategies (https://docs.salla.dev/421119m0, "Webhooks", Security Strategies; Signature is
 * the default): with `Signature` a delivery carries `X-Salla-Signature`, the hex HMAC-SHA256 of the raw body under the
 * app's webhook secret, and `X-Salla-Security-Strategy: Signature`; with `Token` its `Authorization` header is the
 * secret itself, compared as it is (SallaApp/laravel-starter-kit, WebhookRequest: `header('Authorization') ===
 * webhook_secret`).
 */
export type SallaWebhookStrategy = 'Signature' | 'Token';

export interface SallaWebhookConfig {
  /** The app's webhook URL, such as the subgraph's `http://127.0.0.1:4000/webhooks/salla`. */
  url: string;
  /** The app's webhook secret (Partners Portal). */
  secret: string;
  /** Default `Signature`, Salla's. */
  strategy?: SallaWebhookStrategy;
}

/**
 * The events the sandbox sends, by Salla's names: Order Events (https://docs.salla.dev/1894252m0, and the store-event
 * page https://docs.salla.dev/433804m0) and Invoice (https://docs.salla.dev/433813m0).
 */
export type SallaWebhookEvent = 'order.payment.updated' | 'order.status.updated' | 'order.cancelled' | 'order.refunded' | 'invoice.created' | 'app.store.authorize' | 'app.uninstalled';

/** One webhook delivery: its event, the exact body and headers sent, its attempts and the last answer's status. */
export type SallaWebhookDelivery = WebhookDelivery;

/** The paths of the Salla emulator's own `/_sandbox` controls (besides the ledger's, SANDBOX_ROUTES). */
export const SALLA_SANDBOX_ROUTES = {
  orderInvoices: '/_sandbox/orders/:orderId/invoices',
  orderStatus: '/_sandbox/orders/:orderId/status',
} as const;

/** A body's `X-Salla-Signature`: the hex HMAC-SHA256 of its raw UTF-8 bytes under the webhook secret. Pure: tests verify and forge with it. */
export function signSallaWebhook(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

/** Assumption: Salla's docs publish no User-Agent for deliveries; this one names the emulator, so a log tells it apart. */
const WEBHOOK_USER_AGENT = 'Salla-Webhooks-Sandbox/1.0 (invoicing-subgraph emulator)';

/**
 * A delivery's headers. No delivery id and no event header: Salla's webhook pages list none (the event is in the
 * body, and a retry is the same request again), so a receiver dedupes on the body. Assumption: the Token strategy
 * names itself in `X-Salla-Security-Strategy` as the Signature strategy does.
 */
function webhookHeaders(body: string, hook: Required<SallaWebhookConfig>): Record<string, string> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': WEBHOOK_USER_AGENT, 'X-Salla-Security-Strategy': hook.strategy };
  if (hook.strategy === 'Signature') headers['X-Salla-Signature'] = signSallaWebhook(body, hook.secret);
  else headers.Authorization = hook.secret;
  return headers;
}

/**
 * Salla counts only 200 and 201 as received: "any other status ... is flagged as a failed request" and retried
 * (https://docs.salla.dev/421119m0, as SallaApp/salla-partners-agent-kit's salla-webhooks operations reference quotes it).
 */
const webhookAccepted = (status: number): boolean => status === 200 || status === 201;

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Riyadh's wall clock of a moment, as the parts of a UTC date. */
const riyadh = (at: Date): Date => new Date(at.getTime() + RIYADH_OFFSET_MS);

/**
 * An envelope's `created_at` as every store-event example writes it (https://docs.salla.dev/433804m0): Riyadh time,
 * "Sun Jun 26 2022 12:21:48 GMT+0300".
 */
function sallaEventTime(at: Date): string {
  const r = riyadh(at);
  const time = `${pad2(r.getUTCHours())}:${pad2(r.getUTCMinutes())}:${pad2(r.getUTCSeconds())}`;
  return `${WEEKDAYS[r.getUTCDay()]} ${MONTHS[r.getUTCMonth()]} ${pad2(r.getUTCDate())} ${r.getUTCFullYear()} ${time} GMT+0300`;
}

/** A date as Salla's payloads nest them (PHP's DateTime): {date: "2022-08-17 23:59:38.000000", timezone_type: 3, timezone: "Asia/Riyadh"}. */
function sallaDateObject(at: Date): { date: string; timezone_type: 3; timezone: 'Asia/Riyadh' } {
  const iso = riyadh(at).toISOString();
  return { date: `${iso.slice(0, 10)} ${iso.slice(11, 19)}.000000`, timezone_type: 3, timezone: 'Asia/Riyadh' };
}

const isOrderSlug = (slug: unknown): slug is SallaOrderSlug => typeof slug === 'string' && Object.hasOwn(ORDER_STATUSES, slug);

// ---------------------------------------------------------------------------------------------------------------
// The emulator

export class SallaEmulator extends ProviderEmulator {
  override readonly server: EmulatorServer;
  /** The stores, tokens and orders served (and restored by `reset()`). */
  readonly seeds: readonly SallaStoreSeed[];
  private readonly now: () => Date;
  private readonly clock: () => number;
  private readonly rateLimit: number;
  private state: StoreState[] = [];
  private tokens = new Map<string, Principal>();
  private invoicesById = new Map<number, StoredInvoice>();
  /** By invoice id: see OrderLedger. */
  private ledgers = new Map<number, OrderLedger>();
  /** Order statuses the merchant set (setOrderStatus), by store and order id. */
  private orderSlugs = new Map<string, SallaOrderSlug>();
  private files = new Map<number, Buffer>();
  private buckets = new Map<number, LeakyBucket>();
  private refreshGrants = new Map<string, RefreshGrant>();
  private errorsByStore = new Map<number, { at: number[]; blockedUntil: number }>();
  private readonly options: SallaEmulatorOptions;
  /** Every token endpoint request since the last reset, oldest first. */
  tokenRequests: SallaTokenRequest[] = [];
  private webhook: Required<SallaWebhookConfig> | null = null;
  private readonly outbox: WebhookOutbox;
  /** The status of the order a ledger control is about to change (ledgerOf), for the webhooks that follow (onSandboxEvent). */
  private slugBefore?: { invoiceId: number; slug: SallaOrderSlug };

  constructor(options: SallaEmulatorOptions = {}) {
    super();
    this.options = options;
    this.seeds = options.stores ?? sallaSandboxStores();
    this.now = options.now ?? (() => new Date());
    this.clock = options.clock ?? Date.now;
    this.rateLimit = options.rateLimitPerMinute ?? 720;
    this.server = new EmulatorServer({
      notFound: (req) => this.notFound(req),
      // Laravel reads a malformed JSON body as no input at all: the handler then reports the missing fields.
      badJson: () => undefined,
      internalError: () => ({ status: 500, body: { status: 500, success: false, error: { code: 'error', message: 'Server Error' } } }),
    });
    this.server.use((req, next) => this.guard(req, next));
    this.server.post(`${API}/orders/invoices`, (req) => this.create(req));
    this.server.get(`${API}/orders/invoices`, (req) => this.list(req));
    this.server.get(`${API}/orders/invoices/:invoiceId`, (req) => this.readOne(req));
    // After the invoice routes: `/orders/invoices` is not an order id.
    this.server.get(`${API}/orders/:orderId`, (req) => this.readOrder(req));
    this.server.get(`${API}/store/info`, (req) => this.storeInfo(req));
    this.server.get('/files/invoices/:file', (req) => this.download(req));
    // Salla's token endpoint is https://accounts.salla.sa/oauth2/token; here it shares the emulator's origin.
    this.server.post('/oauth2/token', (req) => this.token(req));
    this.server.control('POST', SALLA_SANDBOX_ROUTES.orderInvoices, (req) => this.sandboxIssueInvoice(req));
    this.server.control('POST', SALLA_SANDBOX_ROUTES.orderStatus, (req) => this.sandboxSetOrderStatus(req));
    this.outbox = new WebhookOutbox({ retryDelaysMs: options.webhookRetryDelaysMs, timeoutMs: options.webhookTimeoutMs, accepted: webhookAccepted });
    if (options.webhook) this.configureWebhook(options.webhook);
    this.restoreSeed();
  }

  /** What a client uses as Salla's base, like https://api.salla.dev/admin/v2. */
  override get baseUrl(): string {
    return `${this.server.url}${API}`;
  }

  /** What a client uses as SALLA_TOKEN_URL, like https://accounts.salla.sa/oauth2/token. */
  get tokenUrl(): string {
    return `${this.server.url}/oauth2/token`;
  }

  /** Refresh tokens presented again after their first use, oldest first (each revoked its chain). */
  reusedRefreshTokens(): string[] {
    return this.tokenRequests.filter((r) => r.outcome === 'reused').map((r) => r.refreshToken!);
  }

  /**
   * A new authorisation of the app by a store's merchant (an install, or a reinstall after a chain was revoked): a
   * fresh refresh token starting a chain of its own. `storeToken` names the store by one of its seeded tokens.
   */
  authorize(storeToken?: string, scopes: readonly SallaScope[] = ['orders.read_write']): string {
    const store = storeToken === undefined ? this.state[0]! : this.tokens.get(storeToken)?.store;
    if (!store) throw new Error(`no store has the token ${storeToken}`);
    const token = `salla-rt-${randomBytes(24).toString('base64url')}`;
    this.refreshGrants.set(token, { chain: { store, scopes, revoked: false, accessTokens: new Set() }, used: false });
    return token;
  }

  /**
   * A merchant installs (or re-authorises) the app in Easy Mode: Salla issues the store's tokens and delivers them to
   * the app's webhook in `app.store.authorize` (https://docs.salla.dev/421413m0, App Events: `data` holds
   * access_token, expires (Unix seconds), refresh_token, scope, token_type). The tokens work against this emulator's
   * API and token endpoint like any other chain's. Returns them, for the test. Throws for an unknown store.
   */
  authorizeApp(storeId: number, scopes: readonly SallaScope[] = ['orders.read_write']): { accessToken: string; refreshToken: string; expiresAt: number } {
    const store = this.storeById(storeId);
    if (!store) throw new Error(`no store ${storeId}`);
    const chain = { store, scopes, revoked: false, accessTokens: new Set<string>() };
    const expiresAt = this.clock() + (this.options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TTL_SECONDS) * 1000;
    const accessToken = `salla-at-${randomBytes(24).toString('base64url')}`;
    const refreshToken = `salla-rt-${randomBytes(24).toString('base64url')}`;
    this.tokens.set(accessToken, { store, scopes, expiresAt, chain });
    chain.accessTokens.add(accessToken);
    this.refreshGrants.set(refreshToken, { chain, used: false });
    this.sendEvent(store, 'app.store.authorize', () => ({
      id: SANDBOX_APP_ID,
      app_name: 'Invoicing subgraph (sandbox)',
      app_description: 'Creates and reads invoices',
      app_type: 'app',
      app_scopes: [...scopes, 'offline_access'],
      access_token: accessToken,
      expires: Math.floor(expiresAt / 1000),
      refresh_token: refreshToken,
      scope: [...scopes, 'offline_access'].join(' '),
      token_type: 'bearer',
    }));
    return { accessToken, refreshToken, expiresAt };
  }

  /**
   * The merchant uninstalls the app: every token the app holds for the store stops working (ASSUMPTION: Salla's docs
   * do not say so in words, but an uninstalled app has no access) and `app.uninstalled` is sent
   * (https://docs.salla.dev/421413m0: data with the app's id, name and uninstallation_date).
   */
  uninstallApp(storeId: number): void {
    const store = this.storeById(storeId);
    if (!store) throw new Error(`no store ${storeId}`);
    for (const grant of this.refreshGrants.values()) if (grant.chain.store === store) grant.chain.revoked = true;
    for (const [token, principal] of this.tokens) if (principal.store === store) this.tokens.delete(token);
    this.sendEvent(store, 'app.uninstalled', () => ({ id: SANDBOX_APP_ID, app_name: 'Invoicing subgraph (sandbox)', app_type: 'app', uninstallation_date: sallaEventTime(this.now()), refunded: false }));
  }

  /**
   * An invoice the store issued itself (from its dashboard, or Salla's own issuer), not through this API: Salla's
   * List Invoices example (https://docs.salla.dev/5394157e0) shows two tax invoices on order 1557892161. It does not
   * count against the API's one tax invoice per order, and nothing tells it apart from ours but what ours was sent with.
   * Sends invoice.created when a webhook is configured. Throws SandboxError for an unknown order; no I/O.
   */
  issueStoreInvoice(orderId: number, options: { type?: SallaInvoiceType; storeToken?: string } = {}): SallaInvoiceRecord {
    const store = this.storeOf(options.storeToken);
    const order = store?.orders.get(orderId);
    if (!store || !order) throw new SandboxError('notFound', `no order ${orderId} in that store`);
    const invoice = this.issue(store, { order, type: options.type ?? 'tax_invoice', dataType: 'order' }, 'store');
    /*
     * Salla's invoice.created (https://docs.salla.dev/433813m0, "Invoice Created Webhook Event Model": sent when Salla
     * issues the order's invoice, on the order's status becoming completed or restored). Its data here is the invoice
     * as GET /orders/invoices/{id} renders it (InvoiceDetails). Assumption: that this is the event's data; Salla's
     * example differs in details the sandbox leaves out (`sub_total` for `subtotal`, SAR for the riyal symbol, and
     * `shipping_cost_discount`, `company`, `customer`), while id, invoice_number, uuid, order_id, type, date,
     * payment_method, tax, total and items agree.
     */
    this.sendEvent(store, 'invoice.created', () => renderDetails(invoice));
    return this.invoices().find((i) => i.id === invoice.id)!;
  }

  /** A payment on the order a tax invoice bills: recorded on the order's side only (see OrderLedger). */
  override recordPayment(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState {
    const [inv, ledger] = this.ledgerOf(providerInvoiceId);
    const value = sandboxAmount(amount);
    refuseOverOutstanding('payment', value, outstandingOf(inv, ledger), String(inv.id));
    const on = sandboxDate(date, this.now);
    ledger.paid = ledger.paid.plus(value);
    if (!ledger.lastPaymentDate || on > ledger.lastPaymentDate) ledger.lastPaymentDate = on;
    return this.sandboxEvent({ kind: 'payment', providerInvoiceId: String(inv.id), amount: value.toFixed(2), date: on, state: ledgerState(inv, ledger) });
  }

  /**
   * A credit on the order (a refund or a credit note's worth): recorded on the order's side only (see OrderLedger).
   * A Salla credit note of the order is a document of its own (POST /orders/invoices with type credit_note), read as
   * a CREDIT_NOTE: it changes nothing on the tax invoice's answer either.
   */
  override recordCredit(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState {
    const [inv, ledger] = this.ledgerOf(providerInvoiceId);
    const value = sandboxAmount(amount);
    refuseOverOutstanding('credit', value, outstandingOf(inv, ledger), String(inv.id));
    const on = sandboxDate(date, this.now);
    ledger.credited = ledger.credited.plus(value);
    return this.sandboxEvent({ kind: 'credit', providerInvoiceId: String(inv.id), amount: value.toFixed(2), date: on, state: ledgerState(inv, ledger) });
  }

  /** The order canceled (Salla's order status `canceled`): recorded on the order's side only (see OrderLedger). */
  override voidInvoice(providerInvoiceId: string): SandboxInvoiceState {
    const [inv, ledger] = this.ledgerOf(providerInvoiceId);
    ledger.canceled = true;
    // ASSUMPTION (sandbox semantics, no Salla doc): the cancellation is the order's latest status change, so a status the merchant set before it no longer holds.
    this.orderSlugs.delete(`${inv.storeId}:${inv.orderId}`);
    return this.sandboxEvent({ kind: 'void', providerInvoiceId: String(inv.id), state: ledgerState(inv, ledger) });
  }

  /**
   * The merchant moves an order to one of Salla's statuses (in the dashboard, or PUT /orders/{id}/status): a cash on
   * delivery order to `delivered`, say. Until then the order's status follows the sandbox's payments (see readOrder).
   * A change sends order.status.updated (and order.cancelled or order.refunded for canceled or restored) when a webhook
   * is configured. Throws SandboxError for an unknown order or status; no I/O.
   */
  setOrderStatus(orderId: number, slug: SallaOrderSlug, options: { storeToken?: string } = {}): void {
    if (!isOrderSlug(slug)) throw new SandboxError('invalid', `slug must be one of ${Object.keys(ORDER_STATUSES).join(', ')}, not ${JSON.stringify(slug)}`);
    const store = this.storeOf(options.storeToken);
    const order = store?.orders.get(orderId);
    if (!store || !order) throw new SandboxError('notFound', `no order ${orderId} in that store`);
    const before = this.orderSlugOf(store, order);
    this.orderSlugs.set(`${store.seed.id}:${orderId}`, slug);
    if (slug === before) return;
    // Assumption: a status set to canceled is the order's cancellation, and one set to restored (returned) its refund.
    this.sendOrderEvents(store, order, slug === 'canceled' ? 'order.cancelled' : slug === 'restored' ? 'order.refunded' : null, before);
  }

  /**
   * Points the sandbox app's webhooks at `config.url`, Signature strategy unless it says Token (null: none are sent from
   * now on), as an app's webhook settings do: `npm start` and tests call it once the receiver listens. Deliveries
   * already logged keep their URL. No I/O.
   */
  override configureWebhook(config: SallaWebhookConfig | null): void {
    if (config === null) {
      this.webhook = null;
      return;
    }
    const url = new URL(config.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`a webhook URL is http or https, not ${config.url}`);
    if (config.secret.length === 0) throw new Error('a webhook needs a secret');
    this.webhook = { url: config.url, secret: config.secret, strategy: config.strategy ?? 'Signature' };
  }

  /** Every delivery since the last reset, oldest first; entries change in place as attempts finish. For tests; no I/O. */
  get webhookDeliveries(): readonly SallaWebhookDelivery[] {
    return this.outbox.deliveries;
  }

  /** Resolves once no delivery is being sent or waiting for a retry (held ones do not count). Tests await it before asserting. */
  webhookIdle(): Promise<void> {
    return this.outbox.idle();
  }

  /**
   * Sends delivery `index` again, the same body with the same signature, as a new log entry (a replay: what a receiver
   * sees when Salla retries after its answer was lost). Returns the new entry; it goes out in the background, or waits
   * in a hold. Throws RangeError for an index the log has not.
   */
  redeliver(index: number): SallaWebhookDelivery {
    return this.outbox.redeliver(index);
  }

  /** From now on deliveries are logged but held (state `held`) until releaseWebhooks: tests reorder them so. No I/O. */
  holdWebhooks(): void {
    this.outbox.hold();
  }

  /**
   * Ends the hold and sends the held deliveries one at a time, each after the one before has settled: those `order`
   * names by log index first, in that order, then the rest in log order. Resolves when the last has settled (retries
   * included); throws RangeError for an index that is not held.
   */
  releaseWebhooks(order?: readonly number[]): Promise<void> {
    return this.outbox.release(order);
  }

  /**
   * A ledger control's webhooks, for the order the invoice bills (Salla keeps payment and cancellation on the order:
   * see OrderLedger). A payment is order.payment.updated ("order payment details are updated"), a credit
   * order.refunded, a void order.cancelled (Order Events, https://docs.salla.dev/1894252m0); each is followed by
   * order.status.updated when the order's status moved (paid in full: in_progress; credited in full: restored; a void:
   * canceled). Assumption: Salla's docs do not say which events one change fires; order.updated ("order details are
   * updated") is not sent.
   */
  protected override onSandboxEvent(event: SandboxEvent): void {
    const before = this.slugBefore;
    this.slugBefore = undefined;
    const inv = this.invoicesById.get(Number(event.providerInvoiceId));
    const store = inv && this.storeById(inv.storeId);
    const order = inv && store?.orders.get(inv.orderId);
    if (!inv || !store || !order || before?.invoiceId !== inv.id) return;
    const happened = event.kind === 'payment' ? 'order.payment.updated' : event.kind === 'credit' ? 'order.refunded' : 'order.cancelled';
    this.sendOrderEvents(store, order, happened, before.slug);
  }

  /**
   * Sends `happened` (when given), then order.status.updated when the order's status is no longer `before`; both as the
   * order is after the change. Every order event but order.status.updated shares the Orders model, whose data is the
   * order as GET /orders/{id} renders it ("Orders Webhook Events Model", https://docs.salla.dev/433804m0: "10 order
   * webhook events that share the same model"). order.status.updated has a model of its own (same page, "Order Status
   * Updated Webhook Event Model"): the status change as an order history entry, {id, status (its name), customized,
   * note, created_at}, with the order under `order`. Assumption: the entry's id is random and its note empty.
   */
  private sendOrderEvents(store: StoreState, order: SallaOrderSeed, happened: SallaWebhookEvent | null, before: SallaOrderSlug): void {
    if (happened) this.sendEvent(store, happened, () => this.renderOrder(store, order));
    if (this.orderSlugOf(store, order) === before) return;
    this.sendEvent(store, 'order.status.updated', () => {
      const data = this.renderOrder(store, order);
      return { id: randomInt(100_000_000, 4_294_967_295), status: data.status.name, customized: data.status.customized, note: '', created_at: sallaDateObject(this.now()), order: data };
    });
  }

  /**
   * Logs and sends one event to the configured webhook (nothing without one), in the envelope of every store event
   * (https://docs.salla.dev/433804m0; https://docs.salla.dev/1726815m0): event, the store's id as `merchant` (a
   * number), created_at, data. The body is rendered now and never again: its retries and replays send the same bytes.
   * Never throws or waits: the change it reports has already happened.
   */
  private sendEvent(store: StoreState, event: SallaWebhookEvent, data: () => unknown): void {
    const hook = this.webhook;
    if (!hook) return;
    try {
      const body = JSON.stringify({ event, merchant: store.seed.id, created_at: sallaEventTime(this.now()), data: data() });
      this.outbox.enqueue(event, hook.url, body, webhookHeaders(body, hook));
    } catch (err) {
      process.emitWarning(`Salla emulator: the ${event} webhook was not sent: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The store a sandbox control acts on: the token's, else the first. */
  private storeOf(storeToken?: string): StoreState | undefined {
    return storeToken === undefined ? this.state[0]! : this.tokens.get(storeToken)?.store;
  }

  private storeById(storeId: number): StoreState | undefined {
    return this.state.find((s) => s.seed.id === storeId);
  }

  private ledgerOf(providerInvoiceId: string): [StoredInvoice, OrderLedger] {
    const inv = /^\d+$/.test(providerInvoiceId) ? this.invoicesById.get(Number(providerInvoiceId)) : undefined;
    if (!inv) throw new SandboxError('notFound', `no invoice ${providerInvoiceId}`);
    if (inv.type !== 'tax_invoice') throw new SandboxError('invalid', `invoice ${providerInvoiceId} is a credit note: payments, credits and cancellation concern the order's tax invoice`);
    const ledger = this.ledgers.get(inv.id) ?? { paid: ZERO, credited: ZERO, lastPaymentDate: null, canceled: false };
    if (ledger.canceled) throw new SandboxError('invalid', `the order of invoice ${providerInvoiceId} is canceled`);
    const store = this.storeById(inv.storeId);
    const order = store?.orders.get(inv.orderId);
    if (store && order) this.slugBefore = { invoiceId: inv.id, slug: this.orderSlugOf(store, order) };
    this.ledgers.set(inv.id, ledger);
    return [inv, ledger];
  }

  /**
   * Back to the seed: no invoices or files, full rate-limit buckets, an empty call log, no staged faults, an empty
   * webhook log with nothing held (deliveries under way stop). The webhook URL stays.
   */
  override reset(): void {
    this.restoreSeed();
    this.server.resetCalls();
    this.server.clearFaults();
    this.outbox.clear();
    this.slugBefore = undefined;
  }

  /** Stops the deliveries under way (their log stays), then the listener. */
  override async stop(): Promise<void> {
    await this.outbox.close();
    await super.stop();
  }

  /** The invoices created so far, oldest first: of the token's store, or of every store without a token. */
  invoices(storeToken?: string): SallaInvoiceRecord[] {
    const stores = storeToken === undefined ? this.state : this.tokens.has(storeToken) ? [this.tokens.get(storeToken)!.store] : [];
    return stores.flatMap((s) =>
      s.invoices.map((inv) => ({
        id: inv.id,
        source: inv.source,
        storeId: inv.storeId,
        orderId: inv.orderId,
        type: inv.type,
        dataType: inv.dataType,
        invoiceNumber: inv.invoiceNumber,
        date: inv.date,
        url: inv.url,
        file: this.files.get(inv.id) ?? null,
        subTotal: inv.amounts.subTotal.toFixed(2),
        shippingCost: inv.amounts.shippingCost.toFixed(2),
        cashOnDeliveryCost: inv.amounts.cashOnDeliveryCost.toFixed(2),
        discount: inv.amounts.discount.toFixed(2),
        taxPercent: inv.amounts.taxPercent.toFixed(2),
        tax: inv.amounts.tax.toFixed(2),
        total: inv.amounts.total.toFixed(2),
      })),
    );
  }

  private restoreSeed(): void {
    this.state = this.seeds.map((seed) => ({ seed, orders: new Map(seed.orders.map((o) => [o.id, o])), invoices: [], byOrder: new Map(), invoiceNumbers: new Set(), nextInvoiceNumber: 1 }));
    this.tokens = new Map(this.state.flatMap((store) => store.seed.tokens.map((t) => [t.token, { store, scopes: t.scopes }] as const)));
    this.refreshGrants = new Map(
      this.state.flatMap((store) => (store.seed.refreshTokens ?? []).map((t) => [t.token, { chain: { store, scopes: t.scopes, revoked: false, accessTokens: new Set<string>() }, used: false }] as const)),
    );
    this.tokenRequests = [];
    this.errorsByStore = new Map();
    this.invoicesById = new Map();
    this.ledgers = new Map();
    this.orderSlugs = new Map();
    this.files = new Map();
    this.buckets = new Map();
  }

  /** Authentication and the rate limit for every API path; the limit's headers go on every answer they cover. */
  private async guard(req: EmulatorRequest, next: () => Promise<EmulatorResponse>): Promise<EmulatorResponse> {
    if (req.path !== API && !req.path.startsWith(`${API}/`)) return next();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    const principal = match ? this.tokens.get(match[1]!) : undefined;
    if (!principal) return unauthorized(match ? 'The access token is invalid.' : 'The access token is missing.');
    // Assumption: an expired or revoked token gets the same answer as an unknown one (Salla publishes no other).
    if ((principal.expiresAt !== undefined && this.clock() >= principal.expiresAt) || principal.chain?.revoked) return unauthorized('The access token is invalid.');
    req.locals.principal = principal;
    const blocked = this.blocked(principal.store.seed.id);
    if (blocked) return blocked;

    let bucket = this.buckets.get(principal.store.seed.id);
    if (!bucket) this.buckets.set(principal.store.seed.id, (bucket = new LeakyBucket(this.rateLimit, this.clock)));
    const quota = bucket.take();
    const headers: Record<string, string | number> = {
      'X-RateLimit-Limit': quota.limit,
      'X-RateLimit-Remaining': quota.remaining,
      'X-RateLimit-Reset': quota.resetAt,
    };
    if (!quota.allowed) {
      return {
        status: 429,
        headers: { ...headers, 'Retry-After': quota.retryAfter },
        body: { status: 429, success: false, error: { code: 'TooManyRequests', message: 'Too Many Attempts.' } },
      };
    }
    const res = await next();
    this.countError(principal.store.seed.id, res.status);
    return { ...res, headers: { ...res.headers, ...headers } };
  }

  /** The 403 of a store blocked for its many errors (blockAfterErrors), or undefined. */
  private blocked(storeId: number): EmulatorResponse | undefined {
    const until = this.errorsByStore.get(storeId)?.blockedUntil ?? 0;
    if (this.clock() >= until) return undefined;
    return { status: 403, body: { status: 403, success: false, error: { code: 'forbidden', message: BLOCKED_MESSAGE } } };
  }

  private countError(storeId: number, status: number): void {
    const rule = this.options.blockAfterErrors;
    if (!rule || status < 400 || status >= 500 || status === 429) return;
    const now = this.clock();
    const seen = this.errorsByStore.get(storeId) ?? { at: [], blockedUntil: 0 };
    seen.at = [...seen.at.filter((t) => t > now - rule.windowMs), now];
    if (seen.at.length >= rule.errors) {
      seen.blockedUntil = now + rule.blockMs;
      seen.at = [];
    }
    this.errorsByStore.set(storeId, seen);
  }

  // POST /oauth2/token ------------------------------------------------------------------------------------------

  /**
   * Salla's token endpoint for the refresh grant (https://docs.salla.dev/421118m0, "Authorization": Refresh Token
   * Endpoint https://accounts.salla.sa/oauth2/token), RFC 6749 §6 with its §5.2 errors. Refresh tokens are single
   * use: each refresh answers a new one, and one used twice revokes its whole chain, access tokens included (Salla's
   * token-refresh guide in SallaApp/salla-partners-agent-kit: "A parallel double-use of the same refresh token makes
   * Salla's OAuth server (per RFC 6819 §5.2.2.3) treat it as a compromise — it invalidates the chain and the merchant
   * must reinstall"). The answer carries `expires` as a Unix time in seconds, as Salla's token payloads do (the
   * `app.store.authorize` event, https://docs.salla.dev/421413m0: "expires": 1634819484), rounded down.
   */
  private token(req: EmulatorRequest): EmulatorResponse {
    const fields = tokenFields(req);
    const oauthError = (status: number, error: string, description: string, outcome: SallaTokenRequest['outcome']): EmulatorResponse => {
      this.tokenRequests.push({ refreshToken: fields.refresh_token ?? null, outcome, at: this.clock() });
      return { status, body: { error, error_description: description } };
    };
    if (!fields.client_id || SANDBOX_CLIENTS.get(fields.client_id) !== fields.client_secret) {
      return oauthError(401, 'invalid_client', 'Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).', 'invalid_client');
    }
    if (fields.grant_type !== 'refresh_token') return oauthError(400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server.', 'invalid_request');
    if (!fields.refresh_token) return oauthError(400, 'invalid_request', 'The request is missing a required parameter: refresh_token.', 'invalid_request');
    const grant = this.refreshGrants.get(fields.refresh_token);
    const invalidGrant = (outcome: SallaTokenRequest['outcome']) =>
      oauthError(400, 'invalid_grant', 'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.', outcome);
    if (!grant) return invalidGrant('unknown');
    if (grant.chain.revoked) return invalidGrant('revoked');
    if (grant.used) {
      grant.chain.revoked = true;
      return invalidGrant('reused');
    }
    grant.used = true;
    const { chain } = grant;
    if (this.options.revokeAccessOnRefresh) for (const t of chain.accessTokens) this.tokens.delete(t);
    const expiresAt = this.clock() + (this.options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TTL_SECONDS) * 1000;
    const accessToken = `salla-at-${randomBytes(24).toString('base64url')}`;
    const refreshToken = `salla-rt-${randomBytes(24).toString('base64url')}`;
    this.tokens.set(accessToken, { store: chain.store, scopes: chain.scopes, expiresAt, chain });
    chain.accessTokens.add(accessToken);
    this.refreshGrants.set(refreshToken, { chain, used: false });
    this.tokenRequests.push({ refreshToken: fields.refresh_token, outcome: 'issued', at: this.clock() });
    return {
      status: 200,
      body: { access_token: accessToken, expires: Math.floor(expiresAt / 1000), refresh_token: refreshToken, scope: [...chain.scopes, 'offline_access'].join(' '), token_type: 'bearer' },
    };
  }

  private notFound(req: EmulatorRequest): EmulatorResponse {
    return { status: 404, body: { status: 404, success: false, error: { code: 'error', message: messagesOf(req).notFound } } };
  }

  // POST /orders/invoices ---------------------------------------------------------------------------------------

  private async create(req: EmulatorRequest): Promise<EmulatorResponse> {
    const principal = principalOf(req);
    if (!principal.scopes.includes('orders.read_write')) {
      return unauthorized('The access token should have access to one of those scopes: orders.read_write');
    }
    const m = messagesOf(req);
    const { fields, file, json } = await readCreateFields(req);
    const store = principal.store;

    const errors = new FieldErrors();
    const input = validateCreate(fields, file, json, store, m, errors);
    if (!input) return errors.toResponse();

    // Store settings come before the order's history: a store that may not issue this kind gets only that answer.
    if (store.seed.invoiceIssuer === 'salla' && input.dataType !== 'order') errors.add('invoice_provider', m.issuerIsSalla);
    if (store.seed.invoiceIssuer === 'custom' && input.dataType === 'order') errors.add('data_type', m.dataTypeNotForIssuer);
    if (!errors.empty) return errors.toResponse();

    // The store's own invoices (issueStoreInvoice) are not the API's: they do not count against its rules.
    const onOrder = (store.byOrder.get(input.order.id) ?? []).filter((i) => i.source === 'api');
    const hasTaxInvoice = onOrder.some((i) => i.type === 'tax_invoice');
    if (input.type === 'tax_invoice' && hasTaxInvoice) errors.add('type', m.alreadyIssued);
    if (input.type === 'credit_note' && !hasTaxInvoice) errors.add('type', m.creditNoteWithoutTaxInvoice);
    if (input.type === 'credit_note' && hasTaxInvoice && onOrder.some((i) => i.type === 'credit_note')) errors.add('order', m.creditNoteAlreadyIssued);
    if (input.invoiceNumber !== undefined && store.invoiceNumbers.has(input.invoiceNumber)) {
      errors.add('invoice_number', m.duplicateInvoiceNumber);
    }
    if (!errors.empty) return errors.toResponse();

    const invoice = this.issue(store, input);
    return { status: 200, body: { status: 200, success: true, data: renderCreated(invoice) } };
  }

  private issue(store: StoreState, input: ValidCreate, source: StoredInvoice['source'] = 'api'): StoredInvoice {
    const id = this.newId();
    const priced = priceSallaOrder(input.order);
    // A `data` invoice is the merchant's own document: Salla keeps the merchant's header figures and fills the
    // rest (discount, and tax when not sent) from the order. Every other kind shows the order's own figures;
    // a credit note reverses them, in positive amounts.
    const amounts: InvoiceAmounts =
      input.dataType === 'data'
        ? {
            subTotal: input.subTotal!,
            shippingCost: input.shippingCost!,
            cashOnDeliveryCost: input.cashOnDeliveryCost!,
            discount: priced.discount,
            taxPercent: input.tax ?? priced.taxPercent,
            tax: input.taxValue ?? priced.tax,
            total: input.total!,
          }
        : {
            subTotal: priced.subTotal,
            shippingCost: priced.shippingCost,
            cashOnDeliveryCost: priced.cashOnDeliveryCost,
            discount: priced.discount,
            taxPercent: priced.taxPercent,
            tax: priced.tax,
            total: priced.total,
          };
    const issuedAt = this.now();
    const url = input.dataType === 'url' ? input.url! : input.dataType === 'file' ? `${this.server.url}/files/invoices/${id}.pdf` : null;
    const invoice: StoredInvoice = {
      id,
      source,
      uuid: randomUUID(),
      storeId: store.seed.id,
      orderId: input.order.id,
      type: input.type,
      dataType: input.dataType,
      invoiceNumber: input.invoiceNumber ?? this.nextInvoiceNumber(store),
      referenceId: input.dataType === 'data' ? input.invoiceNumber! : null,
      date: riyadhDate(issuedAt),
      // Salla prints the ZATCA QR only on the invoices it issues itself.
      qrCode: input.dataType === 'order' ? zatcaQr(store.seed, issuedAt, amounts) : null,
      paymentMethod: input.order.paymentMethod,
      url,
      amounts,
      items: priced.items.map((item) => ({ ...item, id: this.newId() })),
    };
    store.invoices.push(invoice);
    store.byOrder.set(invoice.orderId, [...(store.byOrder.get(invoice.orderId) ?? []), invoice]);
    store.invoiceNumbers.add(invoice.invoiceNumber);
    this.invoicesById.set(id, invoice);
    if (input.file) this.files.set(id, input.file);
    return invoice;
  }

  /** 9 or 10 digits, unique in this emulator, random so that a restarted sandbox does not reuse a ledger's ids. */
  private newId(): number {
    for (;;) {
      const id = randomInt(100_000_000, 4_294_967_295);
      if (!this.invoicesById.has(id)) return id;
    }
  }

  private nextInvoiceNumber(store: StoreState): string {
    while (store.invoiceNumbers.has(String(store.nextInvoiceNumber))) store.nextInvoiceNumber += 1;
    return String(store.nextInvoiceNumber++);
  }

  // GET /orders/:orderId ----------------------------------------------------------------------------------------

  /**
   * Order Details (GET /orders/{order_id}, docs.salla.dev, Merchant API, Orders; fields as in the public OpenAPI copy
   * api-evangelist/salla openapi/salla-orders-api-openapi.yml): `status` {id, name, slug, customized},
   * `is_pending_payment`, `payment_method`, `amounts`. Only the fields the invoicing service reads are rendered, and
   * `format=light` (which drops items and shipments) changes nothing here. Salla's base statuses and their ids are
   * those a store's GET /orders/statuses lists (payment_pending, under_review, in_progress, completed, delivering,
   * delivered, shipped, canceled, restoring, restored). Assumption: absent a status the merchant set, the sandbox's
   * order moves with its payments: nothing paid is payment_pending (cash on delivery: under_review), fully paid is
   * in_progress, fully credited back is restored, canceled is canceled.
   */
  /**
   * Store Details (GET /store/info, docs.salla.dev, Merchant API > Store): the store the token belongs to; any valid
   * token may read it (ASSUMPTION: Salla lists no scope for it). The fields are those the docs' example shows, trimmed.
   */
  private storeInfo(req: EmulatorRequest): EmulatorResponse {
    const { store } = principalOf(req);
    return {
      status: 200,
      body: { status: 200, success: true, data: { id: store.seed.id, name: store.seed.name, entity: 'company', currency: 'SAR', type: 'demo', status: 'active', verified: true, domain: `https://salla.sa/store-${store.seed.id}` } },
    };
  }

  private readOrder(req: EmulatorRequest): EmulatorResponse {
    const principal = principalOf(req);
    if (!canRead(principal)) return unauthorized('The access token should have access to one of those scopes: orders.read, orders.read_write');
    const id = /^\d{1,15}$/.test(req.params.orderId ?? '') ? Number(req.params.orderId) : NaN;
    const order = principal.store.orders.get(id);
    if (!order) return this.notFound(req);
    return { status: 200, body: { status: 200, success: true, data: this.renderOrder(principal.store, order) } };
  }

  /** The order as GET /orders/{id} answers it in `data`, and as the order webhooks carry it. */
  private renderOrder(store: StoreState, order: SallaOrderSeed) {
    const slug = this.orderSlugOf(store, order);
    const pricing = priceSallaOrder(order);
    const money = (m: Money) => ({ amount: num(m), currency: order.currency });
    const status = ORDER_STATUSES[slug];
    return {
      id: order.id,
      reference_id: order.id,
      status: { id: status.id, name: status.name, slug, customized: { id: status.id, name: status.name } },
      can_cancel: slug === 'payment_pending' || slug === 'under_review',
      is_pending_payment: slug === 'payment_pending',
      payment_method: order.paymentMethod,
      amounts: { sub_total: money(pricing.subTotal), shipping_cost: money(pricing.shippingCost), tax: money(pricing.tax), discounts: money(pricing.discount), total: money(pricing.total) },
      currency: order.currency,
    };
  }

  // POST /_sandbox/orders/:orderId/invoices and /status -------------------------------------------------------

  /**
   * issueStoreInvoice over HTTP, for people trying the sandbox: body `{"type": "tax_invoice" | "credit_note",
   * "storeToken": ...}`, both optional. Answers 201 with the invoice record; 404 for an unknown order, 422 for a type.
   */
  private sandboxIssueInvoice(req: EmulatorRequest): EmulatorResponse {
    return runSandboxControl(
      req,
      (body) => {
        const type = body.type ?? 'tax_invoice';
        if (!INVOICE_TYPES.includes(type as SallaInvoiceType)) throw new SandboxError('invalid', `type must be one of ${INVOICE_TYPES.join(', ')}, not ${JSON.stringify(body.type)}`);
        return this.issueStoreInvoice(sandboxOrderId(req), { type: type as SallaInvoiceType, storeToken: sandboxStoreToken(body) });
      },
      201,
    );
  }

  /**
   * setOrderStatus over HTTP: body `{"slug": "delivered", "storeToken": ...}`. Answers 200 with the order as GET
   * /orders/{id} renders it; 404 for an unknown order, 422 for an unknown slug.
   */
  private sandboxSetOrderStatus(req: EmulatorRequest): EmulatorResponse {
    return runSandboxControl(req, (body) => {
      const orderId = sandboxOrderId(req);
      const storeToken = sandboxStoreToken(body);
      this.setOrderStatus(orderId, body.slug as SallaOrderSlug, { storeToken });
      const store = this.storeOf(storeToken)!;
      return this.renderOrder(store, store.orders.get(orderId)!);
    });
  }

  private orderSlugOf(store: StoreState, order: SallaOrderSeed): SallaOrderSlug {
    const set = this.orderSlugs.get(`${store.seed.id}:${order.id}`);
    if (set) return set;
    const inv = (store.byOrder.get(order.id) ?? []).find((i) => i.type === 'tax_invoice' && this.ledgers.has(i.id));
    const ledger = inv && this.ledgers.get(inv.id);
    const unpaid = order.paymentMethod === 'cod' ? 'under_review' : 'payment_pending';
    if (!inv || !ledger) return unpaid;
    if (ledger.canceled) return 'canceled';
    if (ledger.credited.gte(inv.amounts.total)) return 'restored';
    return outstandingOf(inv, ledger).lte(0) ? 'in_progress' : unpaid;
  }

  // GET /orders/invoices/:invoiceId and GET /orders/invoices ----------------------------------------------------

  private readOne(req: EmulatorRequest): EmulatorResponse {
    const principal = principalOf(req);
    if (!canRead(principal)) return unauthorized('The access token should have access to one of those scopes: orders.read, orders.read_write');
    const id = /^\d{1,15}$/.test(req.params.invoiceId ?? '') ? Number(req.params.invoiceId) : NaN;
    const invoice = this.invoicesById.get(id);
    // Another store's invoice is as unknown as a missing one.
    if (!invoice || invoice.storeId !== principal.store.seed.id) return this.notFound(req);
    return { status: 200, body: { status: 200, success: true, data: renderDetails(invoice) } };
  }

  private list(req: EmulatorRequest): EmulatorResponse {
    const principal = principalOf(req);
    if (!canRead(principal)) return unauthorized('The access token should have access to one of those scopes: orders.read, orders.read_write');
    const orderFilter = firstValue(req.query.order_id);
    const perPage = Math.min(MAX_PER_PAGE, positiveInt(firstValue(req.query.per_page)) ?? DEFAULT_PER_PAGE);
    const page = positiveInt(firstValue(req.query.page)) ?? 1;

    // Newest first, as Salla's lists are.
    const all = (orderFilter === undefined ? principal.store.invoices : (principal.store.byOrder.get(Number(orderFilter.trim())) ?? []).filter((i) => String(i.orderId) === orderFilter.trim())).slice().reverse();
    const slice = all.slice((page - 1) * perPage, page * perPage);
    const totalPages = Math.max(1, Math.ceil(all.length / perPage));
    const link = (p: number) => {
      const q = new URLSearchParams();
      if (orderFilter !== undefined) q.set('order_id', orderFilter);
      q.set('page', String(p));
      q.set('per_page', String(perPage));
      return `${this.baseUrl}/orders/invoices?${q}`;
    };
    const links: Record<string, string> = {};
    if (page > 1 && page <= totalPages) links.previous = link(page - 1);
    if (page < totalPages) links.next = link(page + 1);
    return {
      status: 200,
      body: {
        status: 200,
        success: true,
        data: slice.map(renderDetails),
        pagination: { count: slice.length, total: all.length, perPage, currentPage: page, totalPages, links },
      },
    };
  }

  // GET /files/invoices/:file -------------------------------------------------------------------------------------

  private download(req: EmulatorRequest): EmulatorResponse {
    const match = /^(\d+)\.pdf$/.exec(req.params.file ?? '');
    const bytes = match ? this.files.get(Number(match[1])) : undefined;
    if (!bytes) return this.notFound(req);
    return { status: 200, headers: { 'Content-Type': 'application/pdf', 'Content-Disposition': `inline; filename="${match![1]}.pdf"` }, body: bytes };
  }
}

/** Creates a Salla emulator and starts it; `npm start` and scripts use this. */
export async function startSallaEmulator(options: SallaEmulatorOptions & { port?: number; host?: string } = {}): Promise<SallaEmulator> {
  const { port, host, ...rest } = options;
  const emulator = new SallaEmulator(rest);
  await emulator.start(port, host);
  return emulator;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

type Fields = Record<string, unknown>;

/**
 * The create request's fields. A JSON body is read again with lossless-json, so that each JSON number keeps the text
 * the client wrote (90.50, 0.1, 12345678901234567.89) and its type: a JSON string is not a JSON number. A form's
 * fields are text by nature (`json: false`).
 */
async function readCreateFields(req: EmulatorRequest): Promise<{ fields: Fields; file?: MultipartFile; json: boolean }> {
  const contentType = req.header('content-type') ?? '';
  if (/^multipart\/form-data/i.test(contentType)) {
    try {
      const form = await parseMultipart(req, { fileSize: MAX_FILE_BYTES });
      return { fields: form.fields, file: form.files.file, json: false };
    } catch {
      return { fields: {}, json: false }; // an unreadable form is no input, as a malformed JSON body is
    }
  }
  if (/^application\/x-www-form-urlencoded/i.test(contentType)) {
    return { fields: Object.fromEntries(new URLSearchParams(req.rawBody.toString('utf8'))), json: false };
  }
  if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) return { fields: {}, json: true };
  try {
    return { fields: parseLosslessJson(req.rawBody.toString('utf8')) as Fields, json: true };
  } catch {
    // JSON.parse took the body and lossless-json did not, which a repeated key does: no input, like malformed JSON.
    return { fields: {}, json: true };
  }
}

/** Laravel's `required`: null, an absent key and a blank string are all missing. */
const present = (v: unknown): boolean => v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/*
 * Number fields are read as strictly as the documented types. The seed's invoice_request_body (components.schemas;
 * the same page is public at https://docs.salla.dev/5394156e0, "Create Invoice", whose request sample writes
 * "sub_total": 999 ... "tax_value": 35.3) declares sub_total, total, shipping_cost, cash_on_delivery_cost and tax as
 * `number` and order_id as `integer`. A refusal is Salla's 422 "alert.invalid_fields" envelope naming the field (the
 * seed's 422 examples; https://docs.salla.dev/421123m0, "Responses": 422 validation_failed).
 * Assumption: that Salla refuses a JSON string there. Salla is a Laravel application, and Laravel's `numeric` and
 * `integer` rules would let "90.50" and "389701957" through; the emulator refuses them so that a client which drifts
 * from the documented types fails against it. The docs show no message for these rules either: the wording is
 * Laravel's ("The :attribute field must be a number." / "... must be an integer.").
 * Assumption: tax_value is a number like the other amounts, although the seed types it `integer`: its own example
 * is 35.3.
 * A form (the `file` data type's multipart upload) has no JSON types: there, digits and decimal text are read as
 * the numbers they spell, as Laravel reads them.
 */

/** A number field, read exactly: a JSON number's own text, or a form field's decimal text. */
function toMoney(v: unknown, json: boolean): Money | undefined {
  if (isLosslessNumber(v)) return new Money(v.toString());
  if (!json && typeof v === 'string' && NUMERIC.test(v.trim())) return new Money(v.trim());
  return undefined;
}

/** The digits of an integer field: a JSON integer (no fraction, no exponent), or a form field's integer text. */
function toIntegerText(v: unknown, json: boolean): string | undefined {
  if (isLosslessNumber(v)) return isInteger(v.toString()) ? v.toString() : undefined;
  if (!json && typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return v.trim();
  return undefined;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const isPdf = (bytes: Buffer): boolean => bytes.subarray(0, 5).toString('latin1') === '%PDF-';

const DATA_FIELDS = ['invoice_number', 'total', 'sub_total', 'shipping_cost', 'cash_on_delivery_cost'] as const;
const AMOUNT_FIELDS = ['total', 'sub_total', 'shipping_cost', 'cash_on_delivery_cost', 'tax', 'tax_value'] as const;

/**
 * The request's field rules, all evaluated so that every failing field is reported together, in the order of the
 * rules (which is the seed's order of fields). Returns the typed input, or undefined with `errors` filled.
 */
function validateCreate(
  fields: Fields,
  file: MultipartFile | undefined,
  json: boolean,
  store: StoreState,
  m: Messages,
  errors: FieldErrors,
): ValidCreate | undefined {
  const a = m.attribute;

  let order: SallaOrderSeed | undefined;
  if (!present(fields.order_id)) errors.add('order_id', m.required(a.order_id));
  else {
    const id = toIntegerText(fields.order_id, json);
    if (id === undefined) errors.add('order_id', m.integer(a.order_id));
    else {
      order = /^\d{1,15}$/.test(id) ? store.orders.get(Number(id)) : undefined;
      // An integer that names no order of the store: the seed's example 11.
      if (!order) errors.add('order_id', m.orderInvalid);
    }
  }

  const type = fields.type;
  if (!present(type)) errors.add('type', m.required(a.type));
  else if (!INVOICE_TYPES.includes(type as SallaInvoiceType)) errors.add('type', m.invalidChoice(a.type));

  const dataTypeRaw = fields.data_type;
  let dataType: SallaDataType | undefined;
  if (!present(dataTypeRaw)) errors.add('data_type', m.required(a.data_type));
  else if (!DATA_TYPES.includes(dataTypeRaw as SallaDataType)) errors.add('data_type', m.invalidChoice(a.data_type));
  else dataType = dataTypeRaw as SallaDataType;

  let url: string | undefined;
  if (dataType === 'url') {
    const raw = fields.url;
    if (!present(raw)) errors.add('url', m.requiredIfDataType(a.url, 'url'));
    else {
      const text = typeof raw === 'string' ? raw.trim() : String(raw);
      if (!isHttpUrl(text)) errors.add('url', m.urlFormat);
      // Laravel's ends_with compares the whole string, case and query included.
      if (!text.endsWith('.pdf')) errors.add('url', m.urlNotPdf);
      url = text;
    }
  }

  let pdf: Buffer | undefined;
  if (dataType === 'file') {
    // A browser sends an empty part with no file name when nothing was chosen: that is a missing file.
    const chosen = file && !(file.data.length === 0 && file.filename === '') ? file : undefined;
    if (!chosen && !present(fields.file)) errors.add('file', m.requiredIfDataType(a.file, 'file'));
    else if (!chosen || !isPdf(chosen.data)) errors.add('file', m.fileNotPdf);
    else if (chosen.truncated) errors.add('file', m.fileTooLarge);
    else pdf = chosen.data;
  }

  if (dataType === 'data') {
    for (const f of DATA_FIELDS) if (!present(fields[f])) errors.add(f, m.requiredIfDataType(a[f], 'data'));
  }

  let invoiceNumber: string | undefined;
  if (present(fields.invoice_number)) {
    if (typeof fields.invoice_number !== 'string') errors.add('invoice_number', m.string(a.invoice_number));
    else invoiceNumber = fields.invoice_number.trim();
  }

  const amounts: Partial<Record<(typeof AMOUNT_FIELDS)[number], Money>> = {};
  for (const f of AMOUNT_FIELDS) {
    if (!present(fields[f])) continue;
    const value = toMoney(fields[f], json);
    if (!value) errors.add(f, m.numeric(a[f]));
    else if (value.isNegative()) errors.add(f, m.notNegative(a[f]));
    else amounts[f] = value;
  }

  if (!errors.empty) return undefined;
  return {
    order: order!,
    type: type as SallaInvoiceType,
    dataType: dataType!,
    url,
    file: pdf,
    // Only a `data` invoice carries the merchant's number; other kinds get Salla's.
    invoiceNumber: dataType === 'data' ? invoiceNumber : undefined,
    subTotal: amounts.sub_total,
    total: amounts.total,
    shippingCost: amounts.shipping_cost,
    cashOnDeliveryCost: amounts.cash_on_delivery_cost,
    tax: amounts.tax,
    taxValue: amounts.tax_value,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering: Salla's documented mix of numbers and strings, symbols and codes, reproduced on purpose.

const num = (d: Money): number => round2(d).toNumber();
const str = (d: Money): string => d.toFixed(2);
const headerAmount = (d: Money) => ({ amount: num(d), currency: HEADER_CURRENCY });

function renderItem(item: SallaPricedItem) {
  return {
    price: { amount: str(item.price), currency: ITEM_CURRENCY },
    discount: { amount: str(item.discount), currency: ITEM_CURRENCY },
    tax: { percent: str(item.taxPercent), amount: { amount: str(item.tax), currency: ITEM_CURRENCY } },
    total: { amount: num(item.total), currency: ITEM_CURRENCY },
  };
}

/** The create answer: example 1's shape for `data`, examples 3/4 for `url`/`file`, InvoiceDetails for `order`. */
function renderCreated(inv: StoredInvoice): unknown {
  switch (inv.dataType) {
    case 'data':
      return {
        id: inv.id,
        order_id: inv.orderId,
        type: TYPE_LABEL[inv.type],
        invoice_number: inv.invoiceNumber,
        sub_total: headerAmount(inv.amounts.subTotal),
        shipping_cost: headerAmount(inv.amounts.shippingCost),
        cod_cost: headerAmount(inv.amounts.cashOnDeliveryCost),
        discount: headerAmount(inv.amounts.discount),
        tax: { percent: num(inv.amounts.taxPercent), amount: headerAmount(inv.amounts.tax) },
        total: headerAmount(inv.amounts.total),
        date: inv.date,
        items: inv.items.map((i) => ({ name: i.name, quantity: i.quantity, ...renderItem(i) })),
      };
    case 'url':
    case 'file':
      return { id: inv.id, order_id: inv.orderId, type: TYPE_LABEL[inv.type], url: inv.url, date: inv.date };
    case 'order':
      return renderDetails(inv);
  }
}

/** The InvoiceDetails schema of GET /orders/invoices/{id}. */
function renderDetails(inv: StoredInvoice): Record<string, unknown> {
  const a = inv.amounts;
  const details: Record<string, unknown> = {
    id: inv.id,
    invoice_number: inv.invoiceNumber,
    uuid: inv.uuid,
    order_id: inv.orderId,
    invoice_reference_id: inv.referenceId,
    type: TYPE_LABEL[inv.type],
    date: inv.date,
    qr_code: inv.qrCode,
    payment_method: inv.paymentMethod,
    subtotal: headerAmount(a.subTotal),
    shipping_cost: { amount: str(a.shippingCost), taxable: true, currency: HEADER_CURRENCY },
    cod_cost: { amount: num(a.cashOnDeliveryCost), taxable: true, currency: HEADER_CURRENCY },
    discount: { amount: str(a.discount), currency: HEADER_CURRENCY },
    tax: { percent: num(a.taxPercent), amount: headerAmount(a.tax) },
    total: headerAmount(a.total),
    items: inv.items.map((i) => ({
      id: String(i.id),
      item_id: String(i.itemId),
      product_id: String(i.productId),
      name: i.name,
      sku: i.sku,
      quantity: i.quantity,
      type: i.type,
      ...renderItem(i),
    })),
  };
  // No `url`: Salla's InvoiceDetails (seed 003's schema; https://docs.salla.dev/5394158e0) has none. Only the create
  // answer of a url or file invoice carries the document's link.
  return details;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function unauthorized(message: string): EmulatorResponse {
  return { status: 401, body: { status: 401, success: false, error: { code: 'Unauthorized', message } } };
}

/** A token request's fields: form-encoded or JSON, the client's credentials in the body or as HTTP Basic (RFC 6749 §2.3.1). */
function tokenFields(req: EmulatorRequest): Record<string, string | undefined> {
  const type = req.header('content-type') ?? '';
  const raw: Record<string, unknown> = /^application\/x-www-form-urlencoded/i.test(type)
    ? Object.fromEntries(new URLSearchParams(req.rawBody.toString('utf8')))
    : req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)
      ? (req.body as Record<string, unknown>)
      : {};
  const fields = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
  const basic = /^Basic\s+(\S+)$/i.exec(req.header('authorization') ?? '');
  if (basic) {
    const [id, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
    fields.client_id ??= decodeURIComponent(id ?? '');
    fields.client_secret ??= decodeURIComponent(secret ?? '');
  }
  return fields;
}

function principalOf(req: EmulatorRequest): Principal {
  const principal = req.locals.principal as Principal | undefined;
  if (!principal) throw new Error('API route reached without authentication');
  return principal;
}

const canRead = (p: Principal): boolean => p.scopes.includes('orders.read') || p.scopes.includes('orders.read_write');

const firstValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

function positiveInt(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,9}$/.test(v.trim())) return undefined;
  const n = Number(v);
  return n >= 1 ? n : undefined;
}

function riyadhDate(at: Date): string {
  return new Date(at.getTime() + RIYADH_OFFSET_MS).toISOString().slice(0, 10);
}

/** ZATCA's simplified-invoice QR: base64 of TLV fields (seller, VAT number, time, total with VAT, VAT). */
function zatcaQr(store: SallaStoreSeed, at: Date, amounts: InvoiceAmounts): string {
  const values = [store.name, store.vatNumber, at.toISOString(), str(amounts.total), str(amounts.tax)];
  return Buffer.concat(
    values.map((value, i) => {
      const bytes = Buffer.from(value, 'utf8');
      return Buffer.concat([Buffer.from([i + 1, bytes.length]), bytes]);
    }),
  ).toString('base64');
}

if (require.main === module) {
  const port = Number(process.env.SALLA_EMULATOR_PORT ?? 0);
  startSallaEmulator({ port }).then(
    (emulator) => {
      const tokens = emulator.seeds.flatMap((s) => s.tokens.map((t) => `  ${t.token}  (${s.name}; ${t.scopes.join(', ')})`));
      process.stdout.write(`Salla emulator: ${emulator.baseUrl}\nTokens:\n${tokens.join('\n')}\n`);
      const stop = () => void emulator.stop().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (err: unknown) => {
      process.stderr.write(`Salla emulator failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

function sandboxOrderId(req: EmulatorRequest): number {
  const id = req.params.orderId ?? '';
  if (!/^\d{1,15}$/.test(id)) throw new SandboxError('notFound', `no order ${id}`);
  return Number(id);
}

function sandboxStoreToken(body: Record<string, unknown>): string | undefined {
  const token = body.storeToken;
  if (token === undefined || token === null) return undefined;
  if (typeof token !== 'string') throw new SandboxError('invalid', `storeToken must be one of a store's tokens, not ${JSON.stringify(token)}`);
  return token;
}

function outstandingOf(inv: StoredInvoice, ledger: OrderLedger): Money {
  return ledger.canceled ? ZERO : inv.amounts.total.minus(ledger.paid).minus(ledger.credited);
}

/** The order's money as the sandbox recorded it; `status` is the invoice's (unchanged) and the order's. */
function ledgerState(inv: StoredInvoice, ledger: OrderLedger): SandboxInvoiceState {
  return {
    providerInvoiceId: String(inv.id),
    status: ledger.canceled ? 'order canceled (the tax invoice is unchanged)' : 'issued (Salla reports payment on the order)',
    total: inv.amounts.total.toFixed(2),
    paid: ledger.paid.toFixed(2),
    credited: ledger.credited.toFixed(2),
    outstanding: outstandingOf(inv, ledger).toFixed(2),
    lastPaymentDate: ledger.lastPaymentDate,
    voided: ledger.canceled,
  };
}
