import { randomBytes, randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import { EmulatorServer, type EmulatorRequest, type EmulatorResponse } from '../shared/emulator-server';
import {
  exsitedSandboxSeed,
  type ExsitedAccountSeed,
  type ExsitedClientSeed,
  type ExsitedOrderLineSeed,
  type ExsitedOrderSeed,
  type ExsitedSandboxSeed,
  type ExsitedTaxCodeSeed,
} from './exsited.seed';
import { ProviderEmulator } from '../shared/provider-emulator';
import { refuseOverOutstanding, sandboxAmount, sandboxDate, SandboxError, type SandboxInvoiceState } from '../shared/sandbox-control';

/**
 * An HTTP emulator of the Exsited endpoints this project uses (seed 002 and PROVIDERS.md): OAuth client-credentials
 * tokens where a new token ends the client's previous one, invoice creation from an order (once per billing
 * period, client-chosen ids unique), reading one invoice, listing an order's invoices, and the
 * `{ "errors": [{ "message" }] }` bodies for 400, 401, 403 and 404. Exsited documents no rate-limit headers, so
 * none are sent. State lives in memory.
 */

const API = '/api/v3';
/** The invoice PDF is served by v2 (exsited-php's invoicePdf defaults to it). */
const PDF_API = '/api/v2';
const TOKEN_PATH = '/api/v1/oauth2/token';
const DEFAULT_TOKEN_TTL_SECONDS = 3600;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
/** Our reading of Exsited's id rule (it publishes none): what its own ids (INV-0001) and the seed's example satisfy. */
export const EXSITED_INVOICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;
const CUSTOM_FORM = { uuid: 'b7e0c5d2-3f41-4a8e-9c6b-5d2e1f0a9b01', name: 'Default Invoice Form' };

/** Money arithmetic only; rounding half up to the cent, per line, as the seed's totals show. */
const Money = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
type Money = Decimal;
const ZERO = new Money(0);
const cents = (d: Money): Money => d.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
const text = (d: Money): string => d.toFixed(2);

export interface ExsitedEmulatorOptions {
  /** Accounts, tax codes, orders and API clients; default: `exsitedSandboxSeed()`. */
  seed?: ExsitedSandboxSeed;
  /** The clock for issue and due dates, billing periods, overdue amounts and token expiry. */
  now?: () => Date;
  /** `expires_in` of issued tokens; default 3600, as Exsited's. */
  tokenTtlSeconds?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Pricing

export interface ExsitedPricedLine {
  seed: ExsitedOrderLineSeed;
  taxCode: ExsitedTaxCodeSeed;
  /** Net of the line's discount, excluding tax. */
  subtotal: Money;
  tax: Money;
  total: Money;
}

export interface ExsitedOrderPricing {
  lines: ExsitedPricedLine[];
  subtotal: Money;
  discount: Money;
  tax: Money;
  total: Money;
}

/**
 * Prices one billing period of an order: each line's amount is quantity × price less its discount; tax is rounded
 * to the cent per line, on the net (exclusive prices) or as the tax fraction of the gross (inclusive prices).
 */
export function priceExsitedOrder(order: ExsitedOrderSeed, account: ExsitedAccountSeed, taxCodes: readonly ExsitedTaxCodeSeed[]): ExsitedOrderPricing {
  const lines = order.lines.map((l): ExsitedPricedLine => {
    const taxCode = taxCodes.find((t) => t.code === (l.taxCode ?? account.taxCode));
    if (!taxCode) throw new Error(`seed: no tax code ${l.taxCode ?? account.taxCode}`);
    const rate = new Money(taxCode.rate);
    const amount = new Money(l.quantity).times(l.price).minus(l.discount);
    if (order.priceTaxInclusive) {
      const tax = cents(amount.times(rate).div(rate.plus(100)));
      return { seed: l, taxCode, subtotal: amount.minus(tax), tax, total: amount };
    }
    const tax = cents(amount.times(rate).div(100));
    return { seed: l, taxCode, subtotal: amount, tax, total: amount.plus(tax) };
  });
  const sum = (pick: (l: ExsitedPricedLine) => Money) => lines.reduce((s, l) => s.plus(pick(l)), ZERO);
  return {
    lines,
    subtotal: sum((l) => l.subtotal),
    discount: order.lines.reduce((s, l) => s.plus(l.discount), ZERO),
    tax: sum((l) => l.tax),
    total: sum((l) => l.total),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// State

interface StoredInvoice {
  id: string;
  uuid: string;
  order: ExsitedOrderSeed;
  account: ExsitedAccountSeed;
  note: string;
  issueDate: string;
  dueDate: string;
  periodStart: string;
  periodEnd: string;
  createdOn: string;
  createdBy: string;
  pricing: ExsitedOrderPricing;
  lineUuids: string[];
  snapshotUuids: string[];
  paid: Money;
  creditApplied: Money;
  lastPayment: { amount: Money; date: string } | null;
  /** Assumption: 'VOIDED' is the status of a voided invoice (the invoice answer has kpis.voided_on). */
  status: 'ACTIVE' | 'VOIDED';
  voidedOn: string | null;
  version: number;
}

interface IssuedToken {
  client: ExsitedClientSeed;
  expiresAt: number;
  /** Set when a newer token was issued for the same client. */
  revoked: boolean;
}

/** An invoice the emulator holds, for tests and tools; amounts are exact decimal strings. */
export interface ExsitedInvoiceRecord {
  id: string;
  orderId: string;
  accountId: string;
  currency: string;
  note: string;
  issueDate: string;
  dueDate: string;
  periodStart: string;
  periodEnd: string;
  subtotal: string;
  tax: string;
  total: string;
  paid: string;
  creditApplied: string;
  outstanding: string;
}

const errors = (status: number, ...messages: string[]): EmulatorResponse => ({ status, body: { errors: messages.map((message) => ({ message })) } });

// ---------------------------------------------------------------------------------------------------------------
// The emulator

export class ExsitedEmulator extends ProviderEmulator {
  override readonly server: EmulatorServer;
  /** Served data, restored by `reset()`. */
  readonly seed: ExsitedSandboxSeed;
  private readonly now: () => Date;
  private readonly tokenTtlSeconds: number;
  private readonly orders: Map<string, ExsitedOrderSeed>;
  private readonly accounts: Map<string, ExsitedAccountSeed>;
  private invoicesById = new Map<string, StoredInvoice>();
  private tokens = new Map<string, IssuedToken>();
  private currentToken = new Map<string, string>();
  private nextInvoiceNumber = 1;

  constructor(options: ExsitedEmulatorOptions = {}) {
    super();
    this.seed = options.seed ?? exsitedSandboxSeed();
    this.now = options.now ?? (() => new Date());
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    this.orders = new Map(this.seed.orders.map((o) => [o.id, o]));
    this.accounts = new Map(this.seed.accounts.map((a) => [a.id, a]));
    this.server = new EmulatorServer({
      notFound: () => errors(404, 'The requested resource was not found.'),
      badJson: () => errors(400, 'The request body is not valid JSON.'),
      internalError: () => errors(500, 'Internal server error.'),
    });
    this.server.use((req, next) => this.authenticate(req, next));
    this.server.post(TOKEN_PATH, (req) => this.issueToken(req));
    this.server.post(`${API}/orders/:orderId/invoices`, (req) => this.create(req));
    this.server.get(`${API}/orders/:orderId/invoices`, (req) => this.listOfOrder(req));
    this.server.get(`${API}/invoices/:invoiceId`, (req) => this.readOne(req));
    this.server.get(`${PDF_API}/invoices/:invoiceId/pdf`, (req) => this.readPdf(req));
  }



  /** What a client uses as Exsited's base, like https://api.exsited.com (paths start with /api/...). */
  override get baseUrl(): string {
    return this.server.url;
  }

  /** Back to the seed: no invoices, no tokens, an empty call log, no staged faults. */
  override reset(): void {
    this.invoicesById = new Map();
    this.tokens = new Map();
    this.currentToken = new Map();
    this.nextInvoiceNumber = 1;
    this.server.resetCalls();
    this.server.clearFaults();
  }

  /** The invoices created so far, oldest first. */
  invoices(): ExsitedInvoiceRecord[] {
    return [...this.invoicesById.values()].map((inv) => ({
      id: inv.id,
      orderId: inv.order.id,
      accountId: inv.account.id,
      currency: inv.account.currency,
      note: inv.note,
      issueDate: inv.issueDate,
      dueDate: inv.dueDate,
      periodStart: inv.periodStart,
      periodEnd: inv.periodEnd,
      subtotal: text(inv.pricing.subtotal),
      tax: text(inv.pricing.tax),
      total: text(inv.pricing.total),
      paid: text(inv.paid),
      creditApplied: text(inv.creditApplied),
      outstanding: text(outstandingOf(inv)),
    }));
  }

  /**
   * A payment received against an invoice, as Exsited's "create a payment" on the invoice does
   * (POST /api/v3/invoices/{id}/payments with `payment_applied`, in the official SDK:
   * https://github.com/exsited/exsited-php/blob/main/src/AppService/Payment/PaymentData.php, createSinglePayment):
   * paid, due, payment_status and the kpis (payment_applied, outstanding, last_payment_date) move.
   */
  override recordPayment(invoiceId: string, amount: string, date?: string | Date): SandboxInvoiceState {
    const on = date instanceof Date ? isoDate(date) : sandboxDate(date, this.now);
    const inv = this.settle(invoiceId, amount, 'payment');
    inv.paid = inv.paid.plus(amount);
    if (!inv.lastPayment || on >= inv.lastPayment.date) inv.lastPayment = { amount: new Money(amount), date: on };
    return this.sandboxEvent({ kind: 'payment', providerInvoiceId: inv.id, amount: text(new Money(amount)), date: on, state: this.stateOf(inv) });
  }

  /**
   * Credit applied to an invoice, as the same payment call does with `credit_applied` (a credit note's amount; the
   * SDK's example, src/test/payment.php): kpis.credit_applied, due and payment_status move; paid does not.
   */
  override recordCredit(invoiceId: string, amount: string, date?: string): SandboxInvoiceState {
    const on = sandboxDate(date, this.now);
    const inv = this.settle(invoiceId, amount, 'credit');
    inv.creditApplied = inv.creditApplied.plus(amount);
    return this.sandboxEvent({ kind: 'credit', providerInvoiceId: inv.id, amount: text(new Money(amount)), date: on, state: this.stateOf(inv) });
  }

  /** recordCredit under its earlier name, for callers that still use it. */
  applyCredit(invoiceId: string, amount: string): SandboxInvoiceState {
    return this.recordCredit(invoiceId, amount);
  }

  /**
   * Voids an invoice: status VOIDED and kpis.voided_on set (the invoice answer has a voided_on KPI; the SDK has no
   * void call for sales invoices). Assumption: Exsited refuses to void an invoice with payments or credit applied,
   * and a voided invoice owes nothing (due 0).
   */
  override voidInvoice(invoiceId: string): SandboxInvoiceState {
    const inv = this.active(invoiceId);
    if (inv.paid.gt(0) || inv.creditApplied.gt(0)) throw new SandboxError('invalid', `invoice ${invoiceId} has payments or credit applied: void them first`);
    inv.status = 'VOIDED';
    inv.voidedOn = this.now().toISOString();
    inv.version += 1;
    return this.sandboxEvent({ kind: 'void', providerInvoiceId: inv.id, state: this.stateOf(inv) });
  }

  private active(invoiceId: string): StoredInvoice {
    const inv = this.invoicesById.get(invoiceId);
    if (!inv) throw new SandboxError('notFound', `no invoice ${invoiceId}`);
    if (inv.status !== 'ACTIVE') throw new SandboxError('invalid', `invoice ${invoiceId} is ${inv.status}`);
    return inv;
  }

  private settle(invoiceId: string, amount: string, kind: 'payment' | 'credit'): StoredInvoice {
    const inv = this.active(invoiceId);
    refuseOverOutstanding(kind, sandboxAmount(amount), outstandingOf(inv), inv.id);
    inv.version += 1;
    return inv;
  }

  private stateOf(inv: StoredInvoice): SandboxInvoiceState {
    return {
      providerInvoiceId: inv.id,
      status: inv.status,
      total: text(inv.pricing.total),
      paid: text(inv.paid),
      credited: text(inv.creditApplied),
      outstanding: text(outstandingOf(inv)),
      lastPaymentDate: inv.lastPayment?.date ?? null,
      voided: inv.status === 'VOIDED',
    };
  }

  // Authentication -----------------------------------------------------------------------------------------------

  /** Every path under /api/v3 needs a live bearer token; the token endpoint does not. */
  private authenticate(req: EmulatorRequest, next: () => Promise<EmulatorResponse>): EmulatorResponse | Promise<EmulatorResponse> {
    if (!req.path.startsWith(`${API}/`) && !req.path.startsWith(`${PDF_API}/`)) return next();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    if (!match) return errors(401, 'Authentication required: send an access token as Authorization: Bearer <token>.');
    const token = this.tokens.get(match[1]!);
    if (!token) return errors(401, 'The access token is invalid.');
    if (token.revoked) return errors(401, 'The access token was revoked: a newer token was issued for this client.');
    if (this.now().getTime() >= token.expiresAt) return errors(401, 'The access token has expired.');
    req.locals.client = token.client;
    return next();
  }

  private issueToken(req: EmulatorRequest): EmulatorResponse {
    const body = isObject(req.body) ? req.body : {};
    if (body.grant_type !== 'client_credentials') return errors(400, 'grant_type must be client_credentials.');
    if (typeof body.client_id !== 'string' || typeof body.client_secret !== 'string') return errors(400, 'client_id and client_secret are required.');
    if (body.redirect_uri !== undefined && typeof body.redirect_uri !== 'string') return errors(400, 'redirect_uri must be a string.');
    const client = this.seed.clients.find((c) => c.clientId === body.client_id && c.clientSecret === body.client_secret);
    if (!client) return errors(401, 'Invalid client credentials.');

    // One live token per client: issuing a new one ends the previous one, as Exsited does.
    const previous = this.currentToken.get(client.clientId);
    if (previous) this.tokens.get(previous)!.revoked = true;
    const accessToken = `exs_${randomBytes(24).toString('base64url')}`;
    this.tokens.set(accessToken, { client, expiresAt: this.now().getTime() + this.tokenTtlSeconds * 1000, revoked: false });
    this.currentToken.set(client.clientId, accessToken);
    return { status: 200, body: { access_token: accessToken, refresh_token: `exr_${randomBytes(24).toString('base64url')}`, expires_in: this.tokenTtlSeconds } };
  }

  // POST /api/v3/orders/{order_id}/invoices ---------------------------------------------------------------------

  private create(req: EmulatorRequest): EmulatorResponse {
    const client = clientOf(req);
    if (!client.canWrite) return errors(403, 'Access denied: this API client may not create invoices.');
    const order = this.orders.get(req.params.orderId ?? '');
    if (!order) return errors(404, `Order ${req.params.orderId} was not found.`);

    const body = req.body;
    if (!isObject(body) || !isObject(body.invoice)) return errors(400, 'The request body must include the invoice object.');
    const { id, invoice_note: note } = body.invoice;
    const problems: string[] = [];
    if (id !== undefined && id !== null && (typeof id !== 'string' || !EXSITED_INVOICE_ID_PATTERN.test(id))) {
      problems.push('The invoice id must be 1 to 40 letters, digits, hyphens or underscores, starting with a letter or digit.');
    }
    if (note !== undefined && note !== null && typeof note !== 'string') problems.push('The invoice note must be a string.');
    if (problems.length > 0) return errors(400, ...problems);
    if (typeof id === 'string' && this.invoicesById.has(id)) return errors(400, `An invoice with id ${id} already exists.`);

    const today = isoDate(this.now());
    const period = billingPeriod(order, today);
    if (!period) return errors(400, `Order ${order.id} starts on ${order.startDate}: there is nothing to invoice yet.`);
    const invoiced = [...this.invoicesById.values()].some((i) => i.order.id === order.id && i.periodStart === period.start);
    if (invoiced) {
      return errors(
        400,
        order.billing === 'one_off'
          ? `Order ${order.id} has already been fully invoiced.`
          : `Order ${order.id} has already been invoiced for the billing period ${period.start} to ${period.end}.`,
      );
    }

    const account = this.accounts.get(order.accountId);
    if (!account) throw new Error(`seed: order ${order.id} names no known account`);
    const pricing = priceExsitedOrder(order, account, this.seed.taxCodes);
    const invoice: StoredInvoice = {
      id: typeof id === 'string' ? id : this.nextGeneratedId(),
      uuid: randomUUID(),
      order,
      account,
      note: typeof note === 'string' ? note : '',
      issueDate: today,
      dueDate: addDays(today, account.paymentTermDays),
      periodStart: period.start,
      periodEnd: period.end,
      createdOn: this.now().toISOString(),
      createdBy: client.name,
      pricing,
      lineUuids: pricing.lines.map(() => randomUUID()),
      snapshotUuids: pricing.lines.map(() => randomUUID()),
      paid: ZERO,
      creditApplied: ZERO,
      lastPayment: null,
      status: 'ACTIVE',
      voidedOn: null,
      version: 1,
    };
    this.invoicesById.set(invoice.id, invoice);
    return { status: 200, body: { invoice: this.render(invoice) } };
  }

  /** INV-0001, INV-0002, … skipping ids a client already chose. */
  private nextGeneratedId(): string {
    for (;;) {
      const id = `INV-${String(this.nextInvoiceNumber++).padStart(4, '0')}`;
      if (!this.invoicesById.has(id)) return id;
    }
  }

  // GET /api/v3/invoices/{id} and GET /api/v3/orders/{order_id}/invoices -----------------------------------------

  /**
   * GET /api/v2/invoices/{id}/pdf: the invoice as a PDF, with the bearer (exsited-php InvoiceData::invoicePdf,
   * https://github.com/exsited/exsited-php/blob/main/src/AppService/Invoice/InvoiceData.php, v2 with Accept: application/pdf).
   */
  private readPdf(req: EmulatorRequest): EmulatorResponse {
    const invoice = this.invoicesById.get(req.params.invoiceId ?? '');
    if (!invoice) return errors(404, `Invoice ${req.params.invoiceId} was not found.`);
    return { status: 200, headers: { 'Content-Type': 'application/pdf' }, body: Buffer.from(`%PDF-1.4\n% Exsited sandbox invoice ${req.params.invoiceId}\n%%EOF\n`) };
  }

  private readOne(req: EmulatorRequest): EmulatorResponse {
    const invoice = this.invoicesById.get(req.params.invoiceId ?? '');
    if (!invoice) return errors(404, `Invoice ${req.params.invoiceId} was not found.`);
    return { status: 200, body: { invoice: this.render(invoice) } };
  }

  private listOfOrder(req: EmulatorRequest): EmulatorResponse {
    const order = this.orders.get(req.params.orderId ?? '');
    if (!order) return errors(404, `Order ${req.params.orderId} was not found.`);
    const limit = Math.min(MAX_LIMIT, wholeNumber(req.query.limit, 1) ?? DEFAULT_LIMIT);
    const offset = wholeNumber(req.query.offset, 0) ?? 0;
    const all = [...this.invoicesById.values()].filter((i) => i.order.id === order.id);
    const page = (o: number) => `${this.server.url}${API}/orders/${encodeURIComponent(order.id)}/invoices?limit=${limit}&offset=${o}`;
    return {
      status: 200,
      body: {
        invoices: all.slice(offset, offset + limit).map((i) => this.render(i)),
        pagination: {
          records: all.length,
          limit,
          offset,
          previous_page: offset > 0 ? page(Math.max(0, offset - limit)) : '',
          next_page: offset + limit < all.length ? page(offset + limit) : '',
        },
      },
    };
  }

  // Rendering: every member of the seed's example, in its order; every value a string, "" where there is none.

  private render(inv: StoredInvoice): Record<string, unknown> {
    const today = isoDate(this.now());
    const outstanding = outstandingOf(inv);
    const overdue = today > inv.dueDate && outstanding.gt(0) ? outstanding : ZERO;
    const settled = inv.paid.plus(inv.creditApplied);
    // Assumption: a voided invoice (nothing was applied to it) stays UNPAID; its status says it is void.
    const paymentStatus = inv.status === 'VOIDED' ? 'UNPAID' : outstanding.isZero() && inv.pricing.total.gt(0) ? 'PAID' : settled.gt(0) ? 'PARTIALLY_PAID' : 'UNPAID';
    const origin = this.server.url;
    return {
      status: inv.status,
      id: inv.id,
      type: 'INVOICE',
      custom_form: { ...CUSTOM_FORM },
      currency: { uuid: inv.account.currencyUuid, name: inv.account.currency, link: `${origin}${API}/settings/currencies/${inv.account.currencyUuid}` },
      customer_purchase_order_id: inv.order.customerPurchaseOrderId,
      billing_start_date: inv.periodStart,
      alternate_billing_start_date: '',
      billing_end_date: inv.periodEnd,
      alternate_billing_end_date: '',
      issue_date: inv.issueDate,
      alternate_issue_date: '',
      due_date: inv.dueDate,
      alternate_due_date: '',
      subtotal: text(inv.pricing.subtotal),
      tax: text(inv.pricing.tax),
      total: text(inv.pricing.total),
      paid: text(inv.paid),
      due: text(outstanding),
      payment_status: paymentStatus,
      last_payment: inv.lastPayment ? text(inv.lastPayment.amount) : '',
      discount_amount: text(inv.pricing.discount),
      price_tax_inclusive: String(inv.order.priceTaxInclusive),
      invoice_note: inv.note,
      account_id: inv.account.id,
      order_id: inv.order.id,
      kpis: {
        outstanding: text(outstanding),
        overdue: text(overdue),
        last_payment_date: inv.lastPayment?.date ?? '',
        payment_applied: text(inv.paid),
        credit_applied: text(inv.creditApplied),
        credit_issued: '0.00',
        last_reactivated_on: '',
        last_cancelled_on: '',
        last_amended_on: '',
        voided_on: inv.voidedOn ?? '',
        deleted_on: '',
      },
      created_by: inv.createdBy,
      created_on: inv.createdOn,
      last_updated_by: inv.createdBy,
      last_updated_on: inv.createdOn,
      uuid: inv.uuid,
      version: String(inv.version),
      custom_attributes: [{ name: 'Channel', value: inv.order.channel }],
      custom_objects: [],
      lines: inv.pricing.lines.map((l, i) => ({
        subtotal: text(l.subtotal),
        total: text(l.total),
        tax: { amount: text(l.tax), uuid: l.taxCode.uuid, code: l.taxCode.code, rate: l.taxCode.rate, link: `${origin}${API}/settings/taxes/${l.taxCode.uuid}` },
        accounting_code: { sales_revenue: l.seed.accountingCode },
        item_uuid: l.seed.itemUuid,
        item_id: l.seed.itemId,
        item_order_quantity: l.seed.quantity,
        item_uom: l.seed.uom,
        item_warehouse: l.seed.warehouse,
        pricing_snapshot_uuid: inv.snapshotUuids[i]!,
        charging_start_date: inv.periodStart,
        alternate_charging_start_date: '',
        charging_end_date: inv.periodEnd,
        alternate_charging_end_date: '',
        uuid: inv.lineUuids[i]!,
        version: '1',
      })),
    };
  }
}

/** Creates an Exsited emulator and starts it; `npm start` and scripts use this. */
export async function startExsitedEmulator(options: ExsitedEmulatorOptions & { port?: number; host?: string } = {}): Promise<ExsitedEmulator> {
  const { port, host, ...rest } = options;
  const emulator = new ExsitedEmulator(rest);
  await emulator.start(port, host);
  return emulator;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function outstandingOf(inv: StoredInvoice): Money {
  if (inv.status === 'VOIDED') return ZERO;
  return inv.pricing.total.minus(inv.paid).minus(inv.creditApplied);
}

/**
 * The billing period an invoice created on `today` covers: a one-off order's single period (its start date), or
 * the calendar month of a monthly order that contains today. Null before the order starts.
 */
function billingPeriod(order: ExsitedOrderSeed, today: string): { start: string; end: string } | null {
  if (today < order.startDate) return null;
  if (order.billing === 'one_off') return { start: order.startDate, end: order.startDate };
  const [y, m] = today.split('-').map(Number) as [number, number];
  const start = new Date(Date.UTC(y, m - 1, 1));
  const end = new Date(Date.UTC(y, m, 0));
  return { start: isoDate(start), end: isoDate(end) };
}

function isoDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function addDays(date: string, days: number): string {
  return isoDate(new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function clientOf(req: EmulatorRequest): ExsitedClientSeed {
  const client = req.locals.client as ExsitedClientSeed | undefined;
  if (!client) throw new Error('API route reached without authentication');
  return client;
}

function wholeNumber(v: string | string[] | undefined, min: number): number | undefined {
  const raw = Array.isArray(v) ? v[0] : v;
  if (raw === undefined || !/^\d{1,9}$/.test(raw.trim())) return undefined;
  const n = Number(raw);
  return n >= min ? n : undefined;
}

if (require.main === module) {
  const port = Number(process.env.EXSITED_EMULATOR_PORT ?? 0);
  startExsitedEmulator({ port }).then(
    (emulator) => {
      const clients = emulator.seed.clients.map((c) => `  ${c.clientId} / ${c.clientSecret}  (${c.name})`);
      process.stdout.write(`Exsited emulator: ${emulator.baseUrl}\nClients (id / secret):\n${clients.join('\n')}\n`);
      const stop = () => void emulator.stop().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (err: unknown) => {
      process.stderr.write(`Exsited emulator failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
