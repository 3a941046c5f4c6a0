import { createHmac, randomBytes, randomInt } from 'node:crypto';
import Decimal from 'decimal.js';
import { importSPKI, jwtVerify, type KeyLike } from 'jose';
import { EmulatorServer, type EmulatorRequest, type EmulatorResponse } from '../shared/emulator-server';
import { randomSalesforceId, toId18 } from './salesforce.ids';
import {
  SALESFORCE_SANDBOX_CLIENT_ID,
  SALESFORCE_SANDBOX_CLIENT_SECRET,
  SALESFORCE_SANDBOX_ORDER_SUMMARIES,
  SALESFORCE_SANDBOX_TOKEN,
  SALESFORCE_SANDBOX_USERNAME,
  type SalesforceFulfillmentOrderSeed,
  type SalesforceOrderSummarySeed,
} from './salesforce.seed';
import { parseSoql, positioned, soqlDateTime, SoqlError, type SoqlFilter, type SoqlOperator, type SoqlSelect } from './salesforce.soql';
import { ProviderEmulator } from '../shared/provider-emulator';
import { refuseOverOutstanding, sandboxAmount, sandboxDate, SandboxError, type SandboxInvoiceState } from '../shared/sandbox-control';

/**
 * An HTTP emulator of the parts of a Salesforce org that invoicing uses (seed 000 and Salesforce's public docs):
 * the Order Management create-invoice and create-multiple-invoices actions, SOQL queries over FulfillmentOrder,
 * Invoice, InvoiceLine and Organization with query-locator paging, sObject describes, Bearer sessions that time out
 * and the OAuth 2.0 token endpoint that issues them (client credentials and JWT bearer flows), single- and
 * multi-currency orgs, the daily API request limit with its Sforce-Limit-Info header, and Salesforce's two error
 * shapes (the classic `[{ errorCode, message }]` array and the create action's Error with Output). State lives in
 * memory.
 */

const API_ROOT = '/services/data';
/** create-invoice exists from API 48.0, create-multiple-invoices from 52.0. */
const MIN_API_VERSION = 48;
const MULTIPLE_INVOICES_MIN_VERSION = 52;
/** The newest version the sandbox org answers (Spring '26); newer ones are unknown, as on a real org. */
const DEFAULT_MAX_API_VERSION = 66;
/** A Developer Edition org's daily API request allocation. */
const DEFAULT_API_REQUEST_LIMIT = 15_000;
/** Salesforce's default batch size for query results. */
const DEFAULT_QUERY_PAGE_SIZE = 2_000;
/**
 * Session Settings' default timeout, two hours (an admin chooses 15 minutes to 24 hours):
 * https://help.salesforce.com/s/articleView?id=sf.admin_sessions.htm
 * Assumption: measured from issue; Salesforce also extends a session that is used after half its timeout, which
 * only makes real sessions last longer than these.
 */
const DEFAULT_SESSION_TIMEOUT_SECONDS = 7_200;
/** The JWT bearer flow's assertion must expire within three minutes (the flow's documentation, step "exp"). */
const JWT_MAX_LIFETIME_SECONDS = 180;

/** Money arithmetic only; currency fields hold cents, rounded half up. */
const Money = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
type Money = Decimal;
const ZERO = new Money(0);
const round2 = (d: Money): Money => d.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);

export interface SalesforceEmulatorOptions {
  /** The org's id (key prefix 00D, 18 characters) and name; default the sandbox org's. */
  orgId?: string;
  orgName?: string;
  /** Default: SALESFORCE_SANDBOX_ORDER_SUMMARIES. */
  orderSummaries?: readonly SalesforceOrderSummarySeed[];
  /** The clock of invoice dates and CreatedDate; pin it to reproduce dates. */
  now?: () => Date;
  /** The org's API requests per day; past it every request is refused with REQUEST_LIMIT_EXCEEDED. Default 15,000. */
  apiRequestLimit?: number;
  /** Records per query page before a nextRecordsUrl; default 2,000 as in Salesforce. */
  queryPageSize?: number;
  /** The newest API version served; default 66.0. */
  maxApiVersion?: number;
  /**
   * false: a single-currency org. Its objects have no CurrencyIsoCode field (a query naming it fails with
   * INVALID_FIELD, and describes leave it out) and every amount is in `orgCurrency`. Default true (multi-currency).
   */
  multiCurrency?: boolean;
  /**
   * true: each charge line's adjustments and taxes are Adjustment and Tax lines of their own that point at it through
   * RelatedLineId (Order Management's shape, PROVIDERS.md). Default false: the shape of the committed fixtures, each
   * charge line carrying its own tax and a LineAmount net of its adjustments.
   */
  relatedLines?: boolean;
  /** Organization.DefaultCurrencyIsoCode, the single-currency org's currency; default 'USD'. */
  orgCurrency?: string;
  /** How long an issued session lives; default 7,200 s (Salesforce's default session timeout). */
  sessionTimeoutSeconds?: number;
  /**
   * The connected app: consumer key and secret (client credentials flow, run as `username`), and the public key of
   * the certificate uploaded for the JWT bearer flow (PEM SPKI or a KeyLike). Default: the sandbox's, without a key.
   */
  connectedApp?: { clientId: string; clientSecret: string; username: string; jwtPublicKey?: KeyLike | string };
}

// ---------------------------------------------------------------------------------------------------------------
// Pricing

export interface SalesforcePricedLine {
  productId: string;
  description: string;
  quantity: Money;
  unitPrice: Money;
  /** Quantity × unit price. */
  chargeAmount: Money;
  /** The charge less its adjustments: what is billed before tax. */
  lineAmount: Money;
  taxRate: Money;
  taxAmount: Money;
  taxCode: string;
  taxName: string;
}

export interface SalesforceFulfillmentOrderPricing {
  lines: SalesforcePricedLine[];
  totalAmount: Money;
  totalTaxAmount: Money;
  totalAmountWithTax: Money;
}

/** Prices a fulfillment order as its invoice shows it: tax per line on the adjusted amount, rounded half up to the cent. */
export function priceFulfillmentOrder(fo: SalesforceFulfillmentOrderSeed): SalesforceFulfillmentOrderPricing {
  const lines = fo.lines.map((l): SalesforcePricedLine => {
    const quantity = new Money(l.quantity);
    const unitPrice = new Money(l.unitPrice);
    const chargeAmount = round2(quantity.times(unitPrice));
    const lineAmount = chargeAmount.minus(new Money(l.adjustment));
    const taxRate = new Money(l.tax.ratePercent);
    return {
      productId: l.product.id,
      description: l.product.name,
      quantity,
      unitPrice,
      chargeAmount,
      lineAmount,
      taxRate,
      taxAmount: round2(lineAmount.times(taxRate).div(100)),
      taxCode: l.tax.code,
      taxName: l.tax.name,
    };
  });
  const totalAmount = lines.reduce((sum, l) => sum.plus(l.lineAmount), ZERO);
  const totalTaxAmount = lines.reduce((sum, l) => sum.plus(l.taxAmount), ZERO);
  return { lines, totalAmount, totalTaxAmount, totalAmountWithTax: totalAmount.plus(totalTaxAmount) };
}

// ---------------------------------------------------------------------------------------------------------------
// State

interface FulfillmentOrderState {
  seed: SalesforceFulfillmentOrderSeed;
  orderSummary: SalesforceOrderSummarySeed;
  invoiceId: string | null;
}

interface StoredLine extends SalesforcePricedLine {
  /** The charge line's id; its adjustment line (when adjusted) and tax line point at it through RelatedLineId. */
  id: string;
  adjustmentLineId: string;
  taxLineId: string;
  invoiceId: string;
}

/**
 * A PaymentLineInvoice ("a payment allocated to or unallocated from an invoice") or a CreditMemoInvApplication ("an
 * amount applied from a credit memo to an invoice"): the records that say what was paid and credited, since
 * Invoice.Balance does not.
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_paymentlineinvoice.htm
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_creditmemoinvapplication.htm
 */
interface StoredApplication {
  id: string;
  invoiceId: string;
  /** The Payment or the CreditMemo applied. */
  sourceId: string;
  amount: Money;
  type: 'Applied' | 'Unapplied';
  /** A dateTime, as Salesforce writes it. */
  appliedDate: string;
}

interface StoredInvoice {
  id: string;
  documentNumber: string;
  /** 'Voided' is what voiding a posted invoice ends in (see voidInvoice). */
  status: 'Draft' | 'Pending' | 'Posted' | 'Canceled' | 'Voided';
  invoiceDate: string;
  dueDate: string;
  currency: string;
  totalAmount: Money;
  totalTaxAmount: Money;
  totalAmountWithTax: Money;
  netPaymentsApplied: Money;
  netCreditsApplied: Money;
  orderSummaryId: string;
  fulfillmentOrderId: string;
  /** dateTimes as Salesforce writes them (2024-05-01T09:00:00.000+0000); the last two move with every change (see touch). */
  createdDate: string;
  systemModstamp: string;
  lastModifiedDate: string;
  lines: StoredLine[];
}

/** An invoice the emulator holds, for tests and tools; amounts are exact decimal strings. */
export interface SalesforceInvoiceRecord {
  id: string;
  documentNumber: string;
  status: string;
  fulfillmentOrderId: string;
  orderSummaryId: string;
  currency: string;
  invoiceDate: string;
  dueDate: string;
  totalAmount: string;
  totalTaxAmount: string;
  totalAmountWithTax: string;
  balance: string;
  lines: number;
}

type FieldType = 'id' | 'text' | 'number' | 'datetime';
type Row = Record<string, string | number | null>;

/** A field as the org has it: from which API version, and whether only a multi-currency org has it. */
interface FieldSpec {
  type: FieldType;
  since?: number;
  multiCurrencyOnly?: boolean;
}

interface SObjectType {
  name: 'FulfillmentOrder' | 'Invoice' | 'InvoiceLine' | 'Organization' | 'PaymentLineInvoice' | 'CreditMemoInvApplication';
  /** The fields the project reads (PROVIDERS.md), with their canonical spelling. */
  fields: Record<string, FieldSpec>;
}

const f = (type: FieldType, more: Omit<FieldSpec, 'type'> = {}): FieldSpec => ({ type, ...more });

/**
 * CurrencyIsoCode exists only in multi-currency orgs ("CurrencyIsoCode ... Available only for organizations with the
 * multicurrency feature enabled", Object Reference, Invoice:
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_invoice.htm).
 * InvoiceLine.LineAmount from API 55.0, as PROVIDERS.md's reading of the InvoiceLine reference has it:
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_invoiceline.htm
 * Assumption: RelatedLineId and AdjustmentAmount from 48.0, with the object.
 */
const SOBJECTS: Record<string, SObjectType> = {
  fulfillmentorder: { name: 'FulfillmentOrder', fields: { Id: f('id'), OrderSummaryId: f('id'), InvoiceId: f('id'), Status: f('text') } },
  invoice: {
    name: 'Invoice',
    fields: {
      Id: f('id'),
      DocumentNumber: f('text'),
      Status: f('text'),
      InvoiceDate: f('text'),
      DueDate: f('text'),
      CurrencyIsoCode: f('text', { multiCurrencyOnly: true }),
      TotalAmount: f('number'),
      TotalTaxAmount: f('number'),
      TotalAmountWithTax: f('number'),
      Balance: f('number'),
      // Assumption: NetPaymentsApplied and NetCreditsApplied are not in Order Management's Invoice reference; they are
      // kept because the committed fixtures select them. The data source reads PaymentLineInvoice and
      // CreditMemoInvApplication instead.
      NetPaymentsApplied: f('number'),
      NetCreditsApplied: f('number'),
      ReferenceEntityId: f('id'),
      // The audit fields every object has (System Fields, SOAP API Developer Guide:
      // https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm): LastModifiedDate is when a
      // user last changed the record, SystemModstamp when a user or an automated process did.
      CreatedDate: f('datetime'),
      LastModifiedDate: f('datetime'),
      SystemModstamp: f('datetime'),
    },
  },
  invoiceline: {
    name: 'InvoiceLine',
    fields: {
      Id: f('id'),
      InvoiceId: f('id'),
      RelatedLineId: f('id'),
      Type: f('text'),
      Description: f('text'),
      Product2Id: f('id'),
      Quantity: f('number'),
      UnitPrice: f('number'),
      LineAmount: f('number', { since: 55 }),
      ChargeAmount: f('number'),
      AdjustmentAmount: f('number'),
      TaxAmount: f('number'),
      TaxRate: f('number'),
      TaxCode: f('text'),
      TaxName: f('text'),
      CurrencyIsoCode: f('text', { multiCurrencyOnly: true }),
    },
  },
  // The fields of the two application objects that say what was paid and credited (links above StoredApplication).
  // Assumption: both objects are enabled in the sandbox org (Payment Platform and credit memos).
  paymentlineinvoice: {
    name: 'PaymentLineInvoice',
    fields: { Id: f('id'), InvoiceId: f('id'), PaymentId: f('id'), Amount: f('number'), Type: f('text'), AppliedDate: f('text'), CurrencyIsoCode: f('text', { multiCurrencyOnly: true }) },
  },
  creditmemoinvapplication: {
    name: 'CreditMemoInvApplication',
    fields: { Id: f('id'), InvoiceId: f('id'), CreditMemoId: f('id'), Amount: f('number'), Type: f('text'), AppliedDate: f('text'), CurrencyIsoCode: f('text', { multiCurrencyOnly: true }) },
  },
  // https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm
  organization: { name: 'Organization', fields: { Id: f('id'), Name: f('text'), DefaultCurrencyIsoCode: f('text') } },
};

/** Seeded Organization id (key prefix 00D) and integration user id (005), for session ids and the identity URL. */
const ORG_ID = '00DDn00000Invc1MAA';
const USER_ID = '005Dn00000Invc1IAA';

interface Session {
  expiresAt: number;
}

interface QueryLocator {
  version: string;
  records: Row[];
}

// ---------------------------------------------------------------------------------------------------------------
// Error bodies

const MESSAGE = {
  invalidSession: 'Session expired or invalid',
  limitExceeded: 'TotalRequests Limit exceeded.',
  notFound: 'The requested resource does not exist',
  noQuery: 'A query string has to be specified',
  invalidLocator: 'invalid query locator',
} as const;

/** The classic REST error body: an array of `{ errorCode, message }`. */
function classic(status: number, errorCode: string, message: string): EmulatorResponse {
  return { status, body: [{ errorCode, message }] };
}

/** The create action's Error with Output, its `output` a Fulfillment Order Invoice Output (properties in Connect's alphabetical order). */
function errorWithOutput(status: number, errorCode: string, message: string, invoiceId: string | null = null): EmulatorResponse {
  return {
    status,
    body: { enhancedErrorType: null, errorCode, message, output: { errors: [{ errorCode, message }], invoiceId, success: false } },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The emulator

export class SalesforceEmulator extends ProviderEmulator {
  override readonly server: EmulatorServer;
  /** The order summaries served (and restored by `reset()`). */
  readonly orderSummaries: readonly SalesforceOrderSummarySeed[];
  private readonly now: () => Date;
  private readonly apiRequestLimit: number;
  private readonly queryPageSize: number;
  private readonly maxApiVersion: number;
  /** Whether the org has multiple currencies (CurrencyIsoCode fields), and the org's currency. */
  readonly multiCurrency: boolean;
  readonly orgCurrency: string;
  private readonly relatedLines: boolean;
  private readonly sessionTimeoutSeconds: number;
  private readonly connectedApp: { clientId: string; clientSecret: string; username: string; jwtPublicKey?: KeyLike | string };
  private appRevoked = false;
  /** The org's id (key prefix 00D) and name, as Organization answers them. */
  readonly orgId: string;
  private readonly orgName: string;
  private jwtKey: Promise<KeyLike> | null = null;
  /** Sessions issued by the token endpoint, by access token; the seeded SALESFORCE_SANDBOX_TOKEN never times out. */
  private sessions = new Map<string, Session>();
  /** Sessions issued since start (or reset), by grant type: tests prove renewals collapse by counting them. */
  sessionsIssued = { client_credentials: 0, jwt_bearer: 0 };
  private fulfillmentOrders = new Map<string, FulfillmentOrderState>();
  private stored: StoredInvoice[] = [];
  private payments: StoredApplication[] = [];
  private creditApplications: StoredApplication[] = [];
  private locators = new Map<string, QueryLocator>();
  private nextDocumentNumber = 1;
  private used = 0;

  constructor(options: SalesforceEmulatorOptions = {}) {
    super();
    this.orderSummaries = options.orderSummaries ?? SALESFORCE_SANDBOX_ORDER_SUMMARIES;
    this.orgId = options.orgId ?? ORG_ID;
    this.orgName = options.orgName ?? 'Invoicing Sandbox';
    this.now = options.now ?? (() => new Date());
    this.apiRequestLimit = options.apiRequestLimit ?? DEFAULT_API_REQUEST_LIMIT;
    this.queryPageSize = options.queryPageSize ?? DEFAULT_QUERY_PAGE_SIZE;
    this.maxApiVersion = options.maxApiVersion ?? DEFAULT_MAX_API_VERSION;
    this.multiCurrency = options.multiCurrency ?? true;
    this.orgCurrency = options.orgCurrency ?? 'USD';
    this.relatedLines = options.relatedLines ?? false;
    this.sessionTimeoutSeconds = options.sessionTimeoutSeconds ?? DEFAULT_SESSION_TIMEOUT_SECONDS;
    this.connectedApp = options.connectedApp ?? { clientId: SALESFORCE_SANDBOX_CLIENT_ID, clientSecret: SALESFORCE_SANDBOX_CLIENT_SECRET, username: SALESFORCE_SANDBOX_USERNAME };
    this.server = new EmulatorServer({
      notFound: () => classic(404, 'NOT_FOUND', MESSAGE.notFound),
      // The handlers report a malformed body themselves, as Salesforce's JSON_PARSER_ERROR.
      badJson: () => undefined,
      internalError: () =>
        classic(500, 'UNKNOWN_EXCEPTION', `An unexpected error occurred. Please include this ErrorId if you contact support: ${randomInt(1e9, 2e9)}-${randomInt(1e4, 9e4)} (${-randomInt(1e8, 2e9)})`),
    });
    this.server.use((req, next) => this.guard(req, next));
    const fo = `${API_ROOT}/:version/commerce/fulfillment/fulfillment-orders`;
    this.server.post(`${fo}/actions/create-multiple-invoices`, (req) => this.createMultiple(req));
    this.server.post(`${fo}/:fulfillmentOrderId/actions/create-invoice`, (req) => this.createOne(req));
    this.server.get(`${fo}/:fulfillmentOrderId/actions/create-invoice`, () => classic(405, 'METHOD_NOT_ALLOWED', "HTTP Method 'GET' not allowed. Allowed are POST"));
    this.server.get(`${API_ROOT}/:version/query`, (req) => this.query(req));
    this.server.get(`${API_ROOT}/:version/query/:locator`, (req) => this.queryMore(req));
    this.server.get(`${API_ROOT}/:version/sobjects/:sobject/describe`, (req) => this.describe(req));
    this.server.post('/services/oauth2/token', (req) => this.token(req));
    this.restoreSeed();
  }

  /**
   * An admin blocks the connected app (Setup > Connected Apps OAuth Usage, Block): its sessions end and its token
   * requests are refused with invalid_client (ASSUMPTION: the exact error Salesforce gives a blocked app is not
   * documented; invalid_client is what an unknown or disabled client gets). Only this org is affected.
   */
  revokeConnectedApp(): void {
    this.appRevoked = true;
    this.sessions.clear();
  }

  /** Ends every issued session, as the org's timeout or an admin's "Remove" in Session Management does. */
  expireSessions(): void {
    this.sessions.clear();
  }

  /** Issued sessions still live. */
  get liveSessions(): number {
    const now = this.now().getTime();
    return [...this.sessions.values()].filter((s) => s.expiresAt > now).length;
  }



  /** The org's instance URL (what SALESFORCE_INSTANCE_URL names for a real org): the emulator's origin. */
  override get baseUrl(): string {
    return this.server.url;
  }

  /** API requests counted today (what Sforce-Limit-Info reports). */
  get apiUsage(): number {
    return this.used;
  }

  /** Back to the seed: no invoices, no query locators, API usage 0, an empty call log, no staged faults. */
  override reset(): void {
    this.restoreSeed();
    this.server.resetCalls();
    this.server.clearFaults();
  }

  /** The invoices created so far, oldest first. */
  invoices(): SalesforceInvoiceRecord[] {
    return this.stored.map((inv) => ({
      id: inv.id,
      documentNumber: inv.documentNumber,
      status: inv.status,
      fulfillmentOrderId: inv.fulfillmentOrderId,
      orderSummaryId: inv.orderSummaryId,
      currency: inv.currency,
      invoiceDate: inv.invoiceDate,
      dueDate: inv.dueDate,
      totalAmount: inv.totalAmount.toFixed(2),
      totalTaxAmount: inv.totalTaxAmount.toFixed(2),
      totalAmountWithTax: inv.totalAmountWithTax.toFixed(2),
      balance: balanceOf(inv).toFixed(2),
      lines: inv.lines.length,
    }));
  }

  /**
   * A payment applied to a posted invoice: one PaymentLineInvoice of Type Applied, as the Apply Payment action makes
   * (https://developer.salesforce.com/docs/platform/api-action/guide/actions-obj-payment-apply.html; "After an
   * invoice is posted, users can make payments against it to reduce its balance", Invoice in the Object Reference:
   * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_invoice.htm).
   * Invoice.Balance does not move: it is documented as the total with tax "ignoring payments and adjustments".
   * Assumption: the Payment record itself is not modelled, only its id.
   */
  override recordPayment(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState {
    const inv = this.postedInvoice(providerInvoiceId);
    const value = sandboxAmount(amount);
    refuseOverOutstanding('payment', value, outstandingOf(inv, this.payments, this.creditApplications), inv.id);
    const on = sandboxDate(date, this.now);
    this.payments.push(application(inv.id, randomSalesforceId('0a0'), value, on));
    inv.netPaymentsApplied = inv.netPaymentsApplied.plus(value);
    this.touch(inv);
    return this.sandboxEvent({ kind: 'payment', providerInvoiceId: inv.id, amount: value.toFixed(2), date: on, state: this.stateOf(inv) });
  }

  /**
   * A credit memo's amount applied to a posted invoice: one CreditMemoInvApplication of Type Applied, as the Apply
   * Credit action makes (https://developer.salesforce.com/docs/revenue/revenue-management/guide/actions-obj-run-apply-credit.html;
   * Object Reference, CreditMemoInvApplication, linked above StoredApplication). Assumption: the CreditMemo itself is not
   * modelled, only its id.
   */
  override recordCredit(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState {
    const inv = this.postedInvoice(providerInvoiceId);
    const value = sandboxAmount(amount);
    refuseOverOutstanding('credit', value, outstandingOf(inv, this.payments, this.creditApplications), inv.id);
    const on = sandboxDate(date, this.now);
    this.creditApplications.push(application(inv.id, randomSalesforceId('50g'), value, on));
    inv.netCreditsApplied = inv.netCreditsApplied.plus(value);
    this.touch(inv);
    return this.sandboxEvent({ kind: 'credit', providerInvoiceId: inv.id, amount: value.toFixed(2), date: on, state: this.stateOf(inv) });
  }

  /**
   * Voids a posted invoice as Revenue Cloud's "Void a Posted Invoice" does: refused unless its balance equals its
   * total (no payments or credits applied), it creates a credit memo for the whole invoice, applies it (a
   * CreditMemoInvApplication), and the status ends as Voided:
   * https://developer.salesforce.com/docs/revenue/revenue-management/guide/connect-resources-void-a-posted-invoice.html
   * Assumption: the intermediate "Void In Progress" status is skipped (the recalculation is instant here).
   */
  override voidInvoice(providerInvoiceId: string): SandboxInvoiceState {
    const inv = this.postedInvoice(providerInvoiceId);
    const applied = [...this.payments, ...this.creditApplications].filter((a) => a.invoiceId === inv.id);
    if (applied.length > 0) throw new SandboxError('invalid', `invoice ${inv.id} has payments or credits applied: Salesforce voids only an invoice whose balance equals its total`);
    this.creditApplications.push(application(inv.id, randomSalesforceId('50g'), inv.totalAmountWithTax, sandboxDate(undefined, this.now)));
    inv.netCreditsApplied = inv.totalAmountWithTax;
    inv.status = 'Voided';
    this.touch(inv);
    return this.sandboxEvent({ kind: 'void', providerInvoiceId: inv.id, state: this.stateOf(inv) });
  }

  /**
   * A change to the invoice: its SystemModstamp and LastModifiedDate become now. Assumption: applying a payment or a
   * credit memo updates the Invoice record itself, so both move. Salesforce documents neither way for these: the
   * Order Management Invoice's Balance "ignor[es] payments and adjustments" (Object Reference, Invoice), while
   * Revenue Cloud's Payment Line Apply "allocate[s] the balance of a payment to reduce the balance of an invoice"
   * (https://developer.salesforce.com/docs/revenue/revenue-management/guide/connect-resources-payment-line-apply.html);
   * SystemModstamp also moves when "an automated process" changes the record (System Fields, linked at SOBJECTS).
   */
  private touch(inv: StoredInvoice): void {
    const at = salesforceDateTime(this.now());
    inv.systemModstamp = at;
    inv.lastModifiedDate = at;
  }

  private postedInvoice(invoiceId: string): StoredInvoice {
    const id = toId18(invoiceId);
    const inv = id ? this.stored.find((i) => i.id === id) : undefined;
    if (!inv) throw new SandboxError('notFound', `no invoice ${invoiceId}`);
    if (inv.status !== 'Posted') throw new SandboxError('invalid', `invoice ${inv.id} is ${inv.status}, not Posted`);
    return inv;
  }

  private stateOf(inv: StoredInvoice): SandboxInvoiceState {
    const sum = (list: StoredApplication[]) => list.filter((a) => a.invoiceId === inv.id).reduce((acc, a) => (a.type === 'Applied' ? acc.plus(a.amount) : acc.minus(a.amount)), ZERO);
    const dates = this.payments.filter((a) => a.invoiceId === inv.id && a.type === 'Applied').map((a) => a.appliedDate.slice(0, 10));
    return {
      providerInvoiceId: inv.id,
      status: inv.status,
      total: inv.totalAmountWithTax.toFixed(2),
      paid: sum(this.payments).toFixed(2),
      credited: sum(this.creditApplications).toFixed(2),
      outstanding: outstandingOf(inv, this.payments, this.creditApplications).toFixed(2),
      lastPaymentDate: dates.length > 0 ? dates.sort().at(-1)! : null,
      voided: inv.status === 'Voided' || inv.status === 'Canceled',
    };
  }

  private restoreSeed(): void {
    this.fulfillmentOrders = new Map(
      this.orderSummaries.flatMap((os) => os.fulfillmentOrders.map((fo) => [fo.id, { seed: fo, orderSummary: os, invoiceId: null }] as const)),
    );
    this.stored = [];
    this.payments = [];
    this.creditApplications = [];
    this.locators = new Map();
    this.nextDocumentNumber = 1;
    this.used = 0;
    this.sessions = new Map();
    this.sessionsIssued = { client_credentials: 0, jwt_bearer: 0 };
  }

  /**
   * Every /services/data request: the session, then the daily limit, then the API version. Each counted request
   * is answered with Sforce-Limit-Info; a request past the limit is refused and not counted.
   */
  private async guard(req: EmulatorRequest, next: () => Promise<EmulatorResponse>): Promise<EmulatorResponse> {
    if (req.path !== API_ROOT && !req.path.startsWith(`${API_ROOT}/`)) return next();
    const match = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    // An expired session is answered 401 INVALID_SESSION_ID, "Session expired or invalid" (REST API Developer Guide,
    // Status Codes and Error Responses: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
    if (!match || !this.liveSession(match[1]!)) return classic(401, 'INVALID_SESSION_ID', MESSAGE.invalidSession);

    const limitInfo = () => ({ 'Sforce-Limit-Info': `api-usage=${this.used}/${this.apiRequestLimit}` });
    if (this.used >= this.apiRequestLimit) return { ...classic(403, 'REQUEST_LIMIT_EXCEEDED', MESSAGE.limitExceeded), headers: limitInfo() };
    this.used += 1;

    const version = /^\/services\/data\/v(\d+)\.0(?:\/|$)/.exec(req.path);
    const supported = version !== null && Number(version[1]) >= MIN_API_VERSION && Number(version[1]) <= this.maxApiVersion;
    const res = supported ? await next() : classic(404, 'NOT_FOUND', MESSAGE.notFound);
    return { ...res, headers: { ...res.headers, ...limitInfo() } };
  }

  private liveSession(token: string): boolean {
    if (token === SALESFORCE_SANDBOX_TOKEN) return true;
    const session = this.sessions.get(token);
    if (!session) return false;
    if (session.expiresAt > this.now().getTime()) return true;
    this.sessions.delete(token);
    return false;
  }

  // POST /services/oauth2/token --------------------------------------------------------------------------------------

  /**
   * The token endpoint of the two server-to-server flows:
   * - client credentials (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm):
   *   `grant_type=client_credentials` with `client_id` and `client_secret` in the form or in HTTP Basic, run as the
   *   connected app's execution user;
   * - JWT bearer (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm):
   *   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an RS256 `assertion` with iss = consumer key,
   *   sub = username, aud = the login URL (here the emulator's origin), exp within three minutes.
   * The answer has no expires_in (the session lasts the org's timeout): access_token, signature, scope, instance_url,
   * id, token_type, issued_at. Assumption: failures are 400 `{ error, error_description }` with the descriptions
   * Salesforce is commonly seen to send.
   */
  private async token(req: EmulatorRequest): Promise<EmulatorResponse> {
    const oauthError = (error: string, description: string): EmulatorResponse => ({ status: 400, body: { error, error_description: description } });
    if (!/^application\/x-www-form-urlencoded/i.test(req.header('content-type') ?? '')) return oauthError('invalid_request', 'unsupported content type');
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const grant = form.get('grant_type');
    const app = this.connectedApp;
    if (grant === 'client_credentials') {
      const basic = /^Basic\s+(\S+)$/i.exec(req.header('authorization') ?? '');
      const [id, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':') : [form.get('client_id'), form.get('client_secret')];
      if (id !== app.clientId || secret !== app.clientSecret || this.appRevoked) return oauthError('invalid_client', 'invalid client credentials');
      return this.issueSession('client_credentials');
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const assertion = form.get('assertion');
      if (!assertion) return oauthError('invalid_request', 'assertion is required');
      if (!app.jwtPublicKey) return oauthError('invalid_client', 'invalid client credentials');
      const key = (this.jwtKey ??= typeof app.jwtPublicKey === 'string' ? importSPKI(app.jwtPublicKey, 'RS256') : Promise.resolve(app.jwtPublicKey));
      try {
        const { payload } = await jwtVerify(assertion, await key, {
          algorithms: ['RS256'],
          issuer: app.clientId,
          audience: this.baseUrl,
          subject: app.username,
          requiredClaims: ['exp'],
          currentDate: this.now(),
        });
        if (payload.exp! - Math.floor(this.now().getTime() / 1000) > JWT_MAX_LIFETIME_SECONDS) return oauthError('invalid_grant', 'expiration time is too far in the future');
      } catch {
        return oauthError('invalid_grant', 'invalid assertion');
      }
      return this.issueSession('jwt_bearer');
    }
    return oauthError('unsupported_grant_type', 'grant type not supported');
  }

  private issueSession(grant: 'client_credentials' | 'jwt_bearer'): EmulatorResponse {
    const at = this.now().getTime();
    const accessToken = `${this.orgId.slice(0, 15)}!${randomBytes(24).toString('base64url')}`;
    this.sessions.set(accessToken, { expiresAt: at + this.sessionTimeoutSeconds * 1000 });
    this.sessionsIssued[grant] += 1;
    const id = `${this.baseUrl}/id/${this.orgId}/${USER_ID}`;
    const issuedAt = String(at);
    return {
      status: 200,
      body: {
        access_token: accessToken,
        // HMAC-SHA256 of id + issued_at under the consumer secret, base64, as the flows document it.
        signature: createHmac('sha256', this.connectedApp.clientSecret).update(id + issuedAt).digest('base64'),
        scope: 'api',
        instance_url: this.baseUrl,
        id,
        token_type: 'Bearer',
        issued_at: issuedAt,
      },
    };
  }

  // GET …/sobjects/{sObject}/describe -------------------------------------------------------------------------------

  /**
   * Describe (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm):
   * the object's fields as this org and API version have them. Only the parts the project reads: name, label, fields.
   */
  private describe(req: EmulatorRequest): EmulatorResponse {
    const type = SOBJECTS[(req.params.sobject ?? '').toLowerCase()];
    if (!type) return classic(404, 'NOT_FOUND', MESSAGE.notFound);
    const version = versionOf(req.params.version);
    const fields = Object.entries(type.fields)
      .filter(([, spec]) => this.hasField(spec, version))
      .map(([name, spec]) => ({ name, type: describedType(name, spec.type), nillable: name !== 'Id' && spec.type !== 'datetime' }));
    return { status: 200, body: { name: type.name, label: type.name.replace(/([a-z])([A-Z])/g, '$1 $2'), queryable: true, fields } };
  }

  private hasField(spec: FieldSpec, version: number): boolean {
    return (!spec.multiCurrencyOnly || this.multiCurrency) && (spec.since === undefined || version >= spec.since);
  }

  // POST …/fulfillment-orders/{id}/actions/create-invoice -----------------------------------------------------------

  private createOne(req: EmulatorRequest): EmulatorResponse {
    const refused = refuseBody(req, []);
    if (refused) return refused;
    const raw = req.params.fulfillmentOrderId ?? '';
    const id = toId18(raw);
    if (!id) return errorWithOutput(400, 'INVALID_ID_FIELD', `Invalid identifier: ${raw}`);
    const fo = this.fulfillmentOrders.get(id);
    if (!fo) return errorWithOutput(404, 'NOT_FOUND', MESSAGE.notFound);
    if (fo.invoiceId) return errorWithOutput(400, 'DUPLICATE_VALUE', alreadyInvoiced(id, fo.invoiceId), fo.invoiceId);
    // A fulfillment order in a status that cannot be invoiced: the request is processed, and the output says why not.
    if (fo.seed.status === 'Cancelled') return { status: 201, body: { errors: [{ errorCode: 'INVALID_STATUS', message: cannotInvoice(id, fo.seed.status) }], invoiceId: null, success: false } };
    const invoice = this.issue(fo);
    return { status: 201, body: { errors: [], invoiceId: invoice.id, success: true } };
  }

  // POST …/fulfillment-orders/actions/create-multiple-invoices ------------------------------------------------------

  /** [assumed] `{ fulfillmentOrderIds }` → `{ errors, invoiceIds, success }`: invoices what it can, reports the rest. */
  private createMultiple(req: EmulatorRequest): EmulatorResponse {
    if (Number(/^v(\d+)/.exec(req.params.version ?? '')?.[1]) < MULTIPLE_INVOICES_MIN_VERSION) return classic(404, 'NOT_FOUND', MESSAGE.notFound);
    const refused = refuseBody(req, ['fulfillmentOrderIds']);
    if (refused) return refused;
    const ids = isRecord(req.body) ? req.body.fulfillmentOrderIds : undefined;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((i) => typeof i === 'string')) {
      const message = 'Specify at least one fulfillment order ID in fulfillmentOrderIds.';
      return { status: 400, body: { enhancedErrorType: null, errorCode: 'INVALID_API_INPUT', message, output: { errors: [{ errorCode: 'INVALID_API_INPUT', message }], invoiceIds: [], success: false } } };
    }
    const errors: Array<{ errorCode: string; message: string }> = [];
    const invoiceIds: string[] = [];
    for (const raw of ids as string[]) {
      const id = toId18(raw);
      const fo = id ? this.fulfillmentOrders.get(id) : undefined;
      if (!id) errors.push({ errorCode: 'INVALID_ID_FIELD', message: `Invalid identifier: ${raw}` });
      else if (!fo) errors.push({ errorCode: 'NOT_FOUND', message: `${MESSAGE.notFound}: ${id}` });
      else if (fo.invoiceId) errors.push({ errorCode: 'DUPLICATE_VALUE', message: alreadyInvoiced(id, fo.invoiceId) });
      else if (fo.seed.status === 'Cancelled') errors.push({ errorCode: 'INVALID_STATUS', message: cannotInvoice(id, fo.seed.status) });
      else invoiceIds.push(this.issue(fo).id);
    }
    return { status: 201, body: { errors, invoiceIds, success: errors.length === 0 } };
  }

  private issue(fo: FulfillmentOrderState): StoredInvoice {
    const at = this.now();
    const priced = priceFulfillmentOrder(fo.seed);
    const id = randomSalesforceId('3tt');
    const invoiceDate = at.toISOString().slice(0, 10);
    const due = new Date(`${invoiceDate}T00:00:00Z`);
    due.setUTCDate(due.getUTCDate() + fo.orderSummary.paymentTermDays);
    const invoice: StoredInvoice = {
      id,
      documentNumber: `INV-${String(this.nextDocumentNumber++).padStart(10, '0')}`,
      status: 'Posted',
      invoiceDate,
      dueDate: due.toISOString().slice(0, 10),
      // A single-currency org has one currency for everything.
      currency: this.multiCurrency ? fo.orderSummary.currency : this.orgCurrency,
      totalAmount: priced.totalAmount,
      totalTaxAmount: priced.totalTaxAmount,
      totalAmountWithTax: priced.totalAmountWithTax,
      netPaymentsApplied: ZERO,
      netCreditsApplied: ZERO,
      orderSummaryId: fo.orderSummary.id,
      fulfillmentOrderId: fo.seed.id,
      createdDate: salesforceDateTime(at),
      systemModstamp: salesforceDateTime(at),
      lastModifiedDate: salesforceDateTime(at),
      lines: priced.lines.map((l) => ({ ...l, id: randomSalesforceId('5TV'), adjustmentLineId: randomSalesforceId('5TV'), taxLineId: randomSalesforceId('5TV'), invoiceId: id })),
    };
    fo.invoiceId = id;
    this.stored.push(invoice);
    return invoice;
  }

  // GET …/query?q= and GET …/query/{locator}-{offset} ---------------------------------------------------------------

  private query(req: EmulatorRequest): EmulatorResponse {
    const q = firstValue(req.query.q);
    if (q === undefined || q.trim() === '') return classic(400, 'MALFORMED_QUERY', MESSAGE.noQuery);
    try {
      return this.page(req.params.version!, this.select(q, req.params.version!), 0);
    } catch (err) {
      if (err instanceof SoqlError) return classic(400, err.errorCode, err.message);
      throw err;
    }
  }

  private queryMore(req: EmulatorRequest): EmulatorResponse {
    const match = /^([a-zA-Z0-9]{15,18})-(\d+)$/.exec(req.params.locator ?? '');
    const locator = match ? this.locators.get(match[1]!) : undefined;
    if (!match || !locator || locator.version !== req.params.version || Number(match[2]) >= locator.records.length) {
      return classic(400, 'INVALID_QUERY_LOCATOR', MESSAGE.invalidLocator);
    }
    return this.page(locator.version, locator.records, Number(match[2]), match[1]);
  }

  /** One page of a result; a result longer than a page gets a query locator that later pages are read through. */
  private page(version: string, records: Row[], offset: number, locatorId?: string): EmulatorResponse {
    const end = offset + this.queryPageSize;
    if (offset === 0 && end >= records.length) return { status: 200, body: { totalSize: records.length, done: true, records } };
    let id = locatorId;
    if (!id) {
      id = randomSalesforceId('01g');
      this.locators.set(id, { version, records });
    }
    const done = end >= records.length;
    const body: Record<string, unknown> = { totalSize: records.length, done };
    if (!done) body.nextRecordsUrl = `${API_ROOT}/${version}/query/${id}-${end}`;
    body.records = records.slice(offset, end);
    return { status: 200, body };
  }

  /** Runs one SELECT of the documented form over the org's records; the selected fields in the order asked. */
  private select(soql: string, version: string): Row[] {
    const parsed = parseSoql(soql);
    const type = SOBJECTS[parsed.object.name.toLowerCase()];
    if (!type) {
      throw new SoqlError(
        'INVALID_TYPE',
        positioned(soql, parsed.object.position, `sObject type '${parsed.object.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`),
      );
    }
    const field = (name: string, position: number): string => {
      const canonical = Object.keys(type.fields).find((f) => f.toLowerCase() === name.toLowerCase());
      // A field the org or the version lacks is refused as Salesforce refuses any unknown column (INVALID_FIELD, 400).
      if (canonical && this.hasField(type.fields[canonical]!, versionOf(version))) return canonical;
      throw new SoqlError(
        'INVALID_FIELD',
        positioned(soql, position, `No such column '${name}' on entity '${type.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`),
      );
    };
    const fields = parsed.fields.map((f) => field(f.name, f.position));
    const matches = this.matcher(soql, type, parsed.filter, field);
    const order = parsed.orderBy.map((o) => ({ ...o, field: field(o.field, o.position) }));
    const rows = this.rows(type.name).filter(matches);
    if (order.length > 0) rows.sort((a, b) => compareRows(a, b, order, type));
    return rows.slice(0, parsed.limit ?? undefined).map((row) => {
      const out: Record<string, unknown> = { attributes: { type: type.name, url: `${API_ROOT}/${version}/sobjects/${type.name}/${row.Id}` } };
      for (const f of fields) out[f] = row[f];
      return out as Row;
    });
  }

  /**
   * The WHERE clause as a row predicate. `IN` takes quoted values; a comparison on a dateTime field takes an unquoted
   * dateTime, and a quoted one is refused as Salesforce refuses it: INVALID_FIELD, "value of filter criterion for field
   * 'X' must be of type dateTime and should not be enclosed in quotes" (seen in the wild, e.g.
   * https://github.com/jsforce/jsforce/issues/851); an unquoted dateTime on any other field likewise (assumption: the
   * same wording with the field's type).
   */
  private matcher(soql: string, type: SObjectType, filter: SoqlFilter | null, field: (name: string, position: number) => string): (row: Row) => boolean {
    if (!filter) return () => true;
    const name = field(filter.field, filter.position);
    const fieldType = type.fields[name]!.type;
    const asId = (value: string): string => {
      const id = toId18(value);
      if (!id) throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', `invalid ID field: ${value}`);
      return id;
    };
    if (filter.kind === 'in') {
      const wanted = new Set(filter.values.map(({ value }) => (fieldType === 'id' ? asId(value) : value)));
      return (row) => wanted.has(String(row[name]));
    }
    const { operator, value } = filter;
    if ((fieldType === 'datetime') !== (value.kind === 'datetime')) {
      const expected = fieldType === 'datetime' ? 'dateTime and should not be enclosed in quotes' : `${fieldType === 'id' ? 'id' : 'string'} and should be enclosed in quotes`;
      throw new SoqlError('INVALID_FIELD', positioned(soql, value.position, `value of filter criterion for field '${filter.field}' must be of type ${expected}`));
    }
    const wanted: number | string = value.kind === 'datetime' ? value.epochMs : fieldType === 'id' ? asId(value.value) : value.value;
    return (row) => {
      const raw = row[name];
      if (raw === null || raw === undefined) return operator === '!=';
      const have = fieldType === 'datetime' ? rowDateTime(String(raw)) : fieldType === 'number' ? Number(raw) : String(raw);
      return compareValues(have, wanted, operator);
    };
  }

  private rows(type: SObjectType['name']): Row[] {
    const num = (d: Money): number => d.toNumber();
    switch (type) {
      case 'FulfillmentOrder':
        return [...this.fulfillmentOrders.values()].map((fo) => ({ Id: fo.seed.id, OrderSummaryId: fo.orderSummary.id, InvoiceId: fo.invoiceId, Status: fo.seed.status }));
      case 'Invoice':
        return this.stored.map((inv) => ({
          Id: inv.id,
          DocumentNumber: inv.documentNumber,
          Status: inv.status,
          InvoiceDate: inv.invoiceDate,
          DueDate: inv.dueDate,
          CurrencyIsoCode: inv.currency,
          TotalAmount: num(inv.totalAmount),
          TotalTaxAmount: num(inv.totalTaxAmount),
          TotalAmountWithTax: num(inv.totalAmountWithTax),
          Balance: num(balanceOf(inv)),
          NetPaymentsApplied: num(inv.netPaymentsApplied),
          NetCreditsApplied: num(inv.netCreditsApplied),
          ReferenceEntityId: inv.orderSummaryId,
          CreatedDate: inv.createdDate,
          LastModifiedDate: inv.lastModifiedDate,
          SystemModstamp: inv.systemModstamp,
        }));
      case 'InvoiceLine':
        // Order Management's lines: a Charge line per product or delivery charge, and Adjustment and Tax lines that
        // point at it through RelatedLineId (PROVIDERS.md). Assumption: a charge line's LineAmount and ChargeAmount
        // are its own charge, and its adjustments and taxes are only on the related lines.
        return this.stored.flatMap((inv) =>
          inv.lines.flatMap((l) => {
            const currency = { CurrencyIsoCode: inv.currency };
            const charge: Row = {
              Id: l.id,
              InvoiceId: l.invoiceId,
              RelatedLineId: null,
              Type: 'Charge',
              Description: l.description,
              Product2Id: l.productId,
              Quantity: num(l.quantity),
              UnitPrice: num(l.unitPrice),
              LineAmount: num(l.chargeAmount),
              ChargeAmount: num(l.chargeAmount),
              AdjustmentAmount: num(l.lineAmount.minus(l.chargeAmount)),
              TaxAmount: null,
              TaxRate: null,
              TaxCode: null,
              TaxName: null,
              ...currency,
            };
            if (!this.relatedLines) {
              return [
                {
                  ...charge,
                  LineAmount: num(l.lineAmount),
                  TaxAmount: num(l.taxAmount),
                  TaxRate: num(l.taxRate),
                  TaxCode: l.taxCode,
                  TaxName: l.taxName,
                },
              ];
            }
            const adjustment = l.lineAmount.minus(l.chargeAmount);
            const adjustmentLine: Row[] = adjustment.isZero()
              ? []
              : [
                  {
                    ...charge,
                    Id: l.adjustmentLineId,
                    RelatedLineId: l.id,
                    Type: 'Adjustment',
                    Description: `${l.description} adjustment`,
                    Quantity: null,
                    UnitPrice: null,
                    LineAmount: num(adjustment),
                    ChargeAmount: num(adjustment),
                    AdjustmentAmount: null,
                  },
                ];
            const taxLine: Row = {
              ...charge,
              Id: l.taxLineId,
              RelatedLineId: l.id,
              Type: 'Tax',
              Description: l.taxName,
              Product2Id: null,
              Quantity: null,
              UnitPrice: null,
              LineAmount: num(l.taxAmount),
              ChargeAmount: null,
              AdjustmentAmount: null,
              TaxAmount: num(l.taxAmount),
              TaxRate: num(l.taxRate),
              TaxCode: l.taxCode,
              TaxName: l.taxName,
            };
            return [charge, ...adjustmentLine, taxLine];
          }),
        );
      case 'Organization':
        return [{ Id: this.orgId, Name: this.orgName, DefaultCurrencyIsoCode: this.orgCurrency }];
      case 'PaymentLineInvoice':
      case 'CreditMemoInvApplication': {
        const payments = type === 'PaymentLineInvoice';
        const currencyOf = (invoiceId: string) => this.stored.find((i) => i.id === invoiceId)?.currency ?? this.orgCurrency;
        return (payments ? this.payments : this.creditApplications).map((a) => ({
          Id: a.id,
          InvoiceId: a.invoiceId,
          [payments ? 'PaymentId' : 'CreditMemoId']: a.sourceId,
          Amount: num(a.amount),
          Type: a.type,
          AppliedDate: a.appliedDate,
          CurrencyIsoCode: currencyOf(a.invoiceId),
        }));
      }
    }
  }
}

/** Creates a Salesforce emulator and starts it; scripts use this. */
export async function startSalesforceEmulator(options: SalesforceEmulatorOptions & { port?: number; host?: string } = {}): Promise<SalesforceEmulator> {
  const { port, host, ...rest } = options;
  const emulator = new SalesforceEmulator(rest);
  await emulator.start(port, host);
  return emulator;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A dateTime as Salesforce's JSON writes it: 2024-05-01T09:00:00.000+0000. */
const salesforceDateTime = (at: Date): string => at.toISOString().replace('Z', '+0000');

/** A stored dateTime (Salesforce's form, or a SOQL literal) as its instant. */
function rowDateTime(text: string): number {
  const ms = soqlDateTime(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (ms === null) throw new Error(`not a dateTime: ${text}`);
  return ms;
}

function compareValues(have: number | string, wanted: number | string, operator: SoqlOperator): boolean {
  switch (operator) {
    case '=':
      return have === wanted;
    case '!=':
      return have !== wanted;
    case '<':
      return have < wanted;
    case '<=':
      return have <= wanted;
    case '>':
      return have > wanted;
    case '>=':
      return have >= wanted;
  }
}

/**
 * ORDER BY: field by field, nulls first unless NULLS LAST ("By default, null values are sorted first", ORDER BY in the
 * SOQL reference: https://developer.salesforce.com/docs/atlas.en-us.258.0.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm);
 * dateTimes by instant, numbers by value, ids as written, text case-insensitively.
 */
function compareRows(a: Row, b: Row, order: SoqlSelect['orderBy'], type: SObjectType): number {
  for (const o of order) {
    const fieldType = type.fields[o.field]!.type;
    const key = (row: Row): number | string | null => {
      const v = row[o.field];
      if (v === null || v === undefined) return null;
      if (fieldType === 'datetime') return rowDateTime(String(v));
      if (fieldType === 'number') return Number(v);
      return fieldType === 'id' ? String(v) : String(v).toLowerCase();
    };
    const [x, y] = [key(a), key(b)];
    if (x === y) continue;
    if (x === null || y === null) return (x === null) !== o.nullsLast ? -1 : 1;
    const c = x < y ? -1 : 1;
    return o.descending ? -c : c;
  }
  return 0;
}

/** The describe's field type: Salesforce's names for what each field is. */
function describedType(name: string, type: FieldType): string {
  if (type === 'number') return 'currency';
  if (type === 'id') return name === 'Id' ? 'id' : 'reference';
  return type === 'datetime' ? 'datetime' : 'string';
}

/**
 * Invoice.Balance as documented: "Equal to the invoice's total amount with tax, ignoring payments and adjustments"
 * (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_invoice.htm).
 */
const balanceOf = (inv: StoredInvoice): Money => inv.totalAmountWithTax;

/** What is still to pay: the total less every application (Applied adds, Unapplied takes back). */
function outstandingOf(inv: StoredInvoice, payments: StoredApplication[], credits: StoredApplication[]): Money {
  return [...payments, ...credits]
    .filter((a) => a.invoiceId === inv.id)
    .reduce((left, a) => (a.type === 'Applied' ? left.minus(a.amount) : left.plus(a.amount)), inv.totalAmountWithTax);
}

/** An Applied application of `amount` on `date` (midnight UTC, in Salesforce's dateTime form). */
function application(invoiceId: string, sourceId: string, amount: Money, date: string): StoredApplication {
  // Assumption: key prefixes 0a0 (Payment), 50g (CreditMemo), 0bY (PaymentLineInvoice), 0cZ (CreditMemoInvApplication).
  const isCredit = sourceId.startsWith('50g');
  return { id: randomSalesforceId(isCredit ? '0cZ' : '0bY'), invoiceId, sourceId, amount, type: 'Applied', appliedDate: `${date}T00:00:00.000+0000` };
}

const alreadyInvoiced = (foId: string, invoiceId: string) => `The fulfillment order ${foId} already has an invoice: ${invoiceId}.`;

const cannotInvoice = (foId: string, status: string) => `You can't create an invoice for fulfillment order ${foId} because its status is ${status}.`;

/** Connect's JSON reader: the body is optional, but when sent it must be an object with only the input's properties. */
function refuseBody(req: EmulatorRequest, properties: string[]): EmulatorResponse | undefined {
  if (req.rawBody.length === 0) return undefined;
  if (!isRecord(req.body)) return classic(400, 'JSON_PARSER_ERROR', 'The request body is not a JSON object.');
  const unknown = Object.keys(req.body).find((k) => !properties.includes(k));
  return unknown === undefined ? undefined : classic(400, 'JSON_PARSER_ERROR', `Unrecognized field "${unknown}"`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const firstValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** 'v62.0' as 62. */
const versionOf = (segment: string | undefined): number => Number(/^v(\d+)/.exec(segment ?? '')?.[1] ?? 0);

if (require.main === module) {
  const port = Number(process.env.SALESFORCE_EMULATOR_PORT ?? 0);
  startSalesforceEmulator({ port }).then(
    (emulator) => {
      process.stdout.write(`Salesforce emulator (instance URL): ${emulator.baseUrl}\nAccess token: ${SALESFORCE_SANDBOX_TOKEN}\n`);
      const stop = () => void emulator.stop().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (err: unknown) => {
      process.stderr.write(`Salesforce emulator failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
