import type { InvoiceDetails, InvoiceHeader, InvoiceKpis, InvoiceLine, InvoiceStatus, TaxLine } from '../../domain/invoice';
import { parseAmount, parseCurrency, parseOptionalAmount, type Decimal, type Money } from '../../domain/money';
import type { ApplicationRecord, InvoiceLineRecord, InvoiceRecord } from './salesforce.wire';

type Raw = string | number | null | undefined;

function toMoney(value: Raw, currencyCode: string): Money | null {
  const amount = parseOptionalAmount(value);
  return amount ? { amount, currencyCode } : null;
}

/** A date field ("2024-05-01"); a datetime keeps its date part. */
function toDate(value: string | null | undefined): string | null {
  const match = value ? /^\d{4}-\d{2}-\d{2}/.exec(value.trim()) : null;
  return match ? match[0] : null;
}

const word = (value: string | null | undefined): string => (value ?? '').trim().toLowerCase();

/** What was applied to an invoice: its PaymentLineInvoice and CreditMemoInvApplication rows. */
export interface SalesforceApplications {
  payments: ApplicationRecord[];
  credits: ApplicationRecord[];
}

export const NO_APPLICATIONS: SalesforceApplications = Object.freeze({ payments: [], credits: [] });

/** What a set of applications adds up to: Applied rows add their Amount, Unapplied rows take theirs back. */
export function netApplied(records: readonly ApplicationRecord[]): Decimal {
  return records.reduce((acc, r) => {
    const amount = parseOptionalAmount(r.Amount);
    if (!amount) return acc;
    return word(r.Type) === 'unapplied' ? acc.minus(amount.abs()) : acc.plus(amount);
  }, parseAmount(0));
}

/**
 * The one rule of a Salesforce invoice's status. Invoice.Status first: Draft and Pending are not issued yet;
 * Canceled, Voided and Void In Progress are void (Revenue Cloud's void ends in Voided:
 * https://developer.salesforce.com/docs/revenue/revenue-management/guide/connect-resources-void-a-posted-invoice.html).
 * Otherwise what was settled (payments plus credits applied) against the total with tax: all of it PAID, some of it
 * PARTIALLY_PAID, none ISSUED. Invoice.Balance cannot tell: it is documented as the total with tax "ignoring
 * payments and adjustments"
 * (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_invoice.htm).
 * A status we do not know reads as issued: the invoice exists and is not known to be void.
 */
export function statusOf(status: string | null | undefined, total: Decimal, settled: Decimal): InvoiceStatus {
  const s = word(status);
  if (s === 'draft' || s === 'pending') return 'DRAFT';
  if (s === 'canceled' || s === 'cancelled' || s === 'voided' || s === 'void in progress') return 'VOID';
  if (!total.greaterThan(0) || !settled.greaterThan(0)) return 'ISSUED';
  return settled.greaterThanOrEqualTo(total) ? 'PAID' : 'PARTIALLY_PAID';
}

type LineKind = 'charge' | 'adjustment' | 'tax';

/** InvoiceLine.Type: 'Tax' and 'Adjustment' lines belong to a charge line; anything else is a charge (goods, services, fees). */
function kindOf(line: InvoiceLineRecord): LineKind {
  const type = word(line.Type);
  return type === 'tax' ? 'tax' : type === 'adjustment' ? 'adjustment' : 'charge';
}

/** Whether two ids name one record: an 18-character id begins with the 15-character one. */
const sameId = (a: string | null | undefined, b: string): boolean => Boolean(a) && a!.slice(0, 15) === b.slice(0, 15);

/** A line's own amount: LineAmount (API 55.0 and later), else ChargeAmount, which every version has. */
const ownAmount = (line: InvoiceLineRecord): Raw => line.LineAmount ?? line.ChargeAmount;

function lineTax(line: InvoiceLineRecord, currency: string, amount: Raw): TaxLine | null {
  const money = toMoney(amount, currency);
  if (!money) return null;
  return { name: line.TaxName || null, code: line.TaxCode || null, ratePercent: parseOptionalAmount(line.TaxRate), amount: money };
}

const sum = (items: Money[], currency: string): Money | null =>
  items.length === 0 ? null : { amount: items.slice(1).reduce((acc, m) => acc.plus(m.amount), items[0]!.amount), currencyCode: currency };

/**
 * A charge line with the adjustment and tax lines that name it in RelatedLineId: its subtotal is its own amount
 * plus its adjustments (negative), its taxes are its tax lines. An org that puts tax on the charge line itself
 * (no related tax lines) has it read from there.
 */
function toLine(line: InvoiceLineRecord, adjustments: InvoiceLineRecord[], taxLines: InvoiceLineRecord[], currency: string, ownTax = true): InvoiceLine {
  const own = toMoney(ownAmount(line), currency);
  const adjusted = adjustments.map((a) => toMoney(ownAmount(a), currency));
  // An adjustment without an amount makes the subtotal unknown rather than wrong.
  const subtotal = own && adjusted.every(Boolean) ? sum([own, ...(adjusted as Money[])], currency) : null;
  const taxes = taxLines.length > 0 ? taxLines.flatMap((t) => lineTax(t, currency, t.TaxAmount ?? ownAmount(t)) ?? []) : ownTax
        ? [lineTax(line, currency, line.TaxAmount)].flatMap((t) => t ?? [])
        : [];
  const taxTotal = sum(taxes.map((t) => t.amount), currency);
  return {
    description: line.Description || null,
    // Product2Id is a record id, not a SKU; the SKU (Product2.StockKeepingUnit) is not among the fields read.
    sku: null,
    // A line without a quantity (an adjustment) counts once.
    quantity: parseOptionalAmount(line.Quantity) ?? parseAmount(1),
    unitPrice: toMoney(line.UnitPrice, currency),
    subtotal,
    taxTotal,
    // Without a tax amount the line's total is unknown, not its subtotal.
    total: subtotal && taxTotal ? { amount: subtotal.amount.plus(taxTotal.amount), currencyCode: currency } : null,
    taxes,
  };
}

/**
 * The invoice's lines: each charge line joined to its adjustment and tax lines through RelatedLineId. Adjustment
 * lines that name no charge line of the invoice (an order-level promotion) are lines of their own, so that the lines
 * add up to the header; tax lines that name none are kept for the invoice's taxes.
 */
function joinLines(records: InvoiceLineRecord[], currency: string): { lines: InvoiceLine[]; unrelatedTaxes: TaxLine[] } {
  const charges = records.filter((l) => kindOf(l) === 'charge');
  const owner = (l: InvoiceLineRecord) => charges.find((c) => sameId(l.RelatedLineId, c.Id));
  const related = (c: InvoiceLineRecord, kind: LineKind) => records.filter((l) => kindOf(l) === kind && owner(l) === c);
  // Where the invoice has Tax lines they carry its taxes: a charge line's own tax fields would count them twice.
  const ownTax = !records.some((l) => kindOf(l) === 'tax');
  const lines = charges.map((c) => toLine(c, related(c, 'adjustment'), related(c, 'tax'), currency, ownTax));
  for (const a of records.filter((l) => kindOf(l) === 'adjustment' && !owner(l))) lines.push(toLine({ ...a, TaxAmount: null }, [], [], currency));
  const unrelatedTaxes = records.filter((l) => kindOf(l) === 'tax' && !owner(l)).flatMap((t) => lineTax(t, currency, t.TaxAmount ?? ownAmount(t)) ?? []);
  return { lines, unrelatedTaxes };
}

/**
 * The invoice's taxes summed per (name, rate, code): every line's taxes and the tax lines of no line, each once. An
 * invoice whose lines name no tax but whose header has some gets it as one unnamed line.
 */
function invoiceTaxes(lines: InvoiceLine[], unrelated: TaxLine[], headerTax: Money | null): TaxLine[] {
  const byKey = new Map<string, TaxLine>();
  for (const tax of [...lines.flatMap((l) => l.taxes), ...unrelated]) {
    const key = [tax.name ?? '', tax.ratePercent?.toFixed() ?? '', tax.code ?? ''].join('\u0000');
    const seen = byKey.get(key);
    byKey.set(key, seen ? { ...seen, amount: { ...seen.amount, amount: seen.amount.amount.plus(tax.amount.amount) } } : tax);
  }
  if (byKey.size > 0) return [...byKey.values()];
  return headerTax && !headerTax.amount.isZero() ? [{ name: null, code: null, ratePercent: null, amount: headerTax }] : [];
}

/**
 * The KPIs from the applications: paid is the net of PaymentLineInvoice rows, creditApplied that of
 * CreditMemoInvApplication rows, outstanding the total with tax less both (never below zero), lastPaymentDate the
 * latest AppliedDate of an Applied payment row. Overdue: a due date before `today` with something outstanding, on an
 * invoice that is neither void nor a draft.
 */
function kpisOf(header: InvoiceHeader, applications: SalesforceApplications, today: string): InvoiceKpis {
  const currency = header.currencyCode;
  const paid = netApplied(applications.payments);
  const credited = netApplied(applications.credits);
  const left = header.total.amount.minus(paid).minus(credited);
  const outstanding = header.status === 'VOID' || left.isNegative() ? parseAmount(0) : left;
  let overdue: boolean | null = null;
  if (header.status === 'VOID' || header.status === 'DRAFT') overdue = false;
  else if (header.dueDate) overdue = header.dueDate < today && outstanding.greaterThan(0);
  const paymentDates = applications.payments
    .filter((p) => word(p.Type) !== 'unapplied')
    .map((p) => toDate(p.AppliedDate))
    .filter((d): d is string => d !== null)
    .sort();
  return {
    outstanding: { amount: outstanding, currencyCode: currency },
    paid: { amount: paid, currencyCode: currency },
    overdue,
    lastPaymentDate: paymentDates.at(-1) ?? null,
    creditApplied: { amount: credited, currencyCode: currency },
  };
}

/** CurrencyIsoCode where the org has it (multi-currency orgs only); the org's one currency otherwise. */
function invoiceCurrency(inv: InvoiceRecord, orgCurrency: string | null): string {
  const code = inv.CurrencyIsoCode || orgCurrency;
  if (!code) throw new Error(`Salesforce invoice ${inv.Id} carries no CurrencyIsoCode and the org's currency is unknown`);
  return parseCurrency(code);
}

/**
 * A Salesforce Invoice as the domain sees it. `orderId` is the OrderSummary the invoice bills (read from its
 * fulfillment order). Salesforce credit memos are another object (CreditMemo), so every Invoice is of kind INVOICE.
 * The invoice document is not a URL field: documentUrl stays null.
 */
export function toHeader(inv: InvoiceRecord, orderId: string, orgCurrency: string | null = null, applications: SalesforceApplications = NO_APPLICATIONS): InvoiceHeader {
  const currency = invoiceCurrency(inv, orgCurrency);
  const subtotal = toMoney(inv.TotalAmount, currency);
  const taxTotal = toMoney(inv.TotalTaxAmount, currency);
  // TotalAmountWithTax is TotalAmount + TotalTaxAmount by definition; the sum stands in only when it is absent.
  const total = toMoney(inv.TotalAmountWithTax, currency) ?? (subtotal && taxTotal ? { amount: subtotal.amount.plus(taxTotal.amount), currencyCode: currency } : null);
  if (!total) throw new Error(`Salesforce invoice ${inv.Id} has no total`);
  return {
    provider: 'SALESFORCE',
    providerInvoiceId: inv.Id,
    orderId,
    number: inv.DocumentNumber || null,
    kind: 'INVOICE',
    status: statusOf(inv.Status, total.amount, netApplied(applications.payments).plus(netApplied(applications.credits))),
    issueDate: toDate(inv.InvoiceDate),
    dueDate: toDate(inv.DueDate),
    currencyCode: currency,
    subtotal,
    taxTotal,
    total,
    documentUrl: null,
  };
}

/**
 * Header, lines, taxes and KPIs of an Invoice, its InvoiceLines and what was applied to it. `today` (YYYY-MM-DD, UTC)
 * decides overdue; `orgCurrency` is the currency of a single-currency org, whose records carry no CurrencyIsoCode.
 */
export function toDetails(
  inv: InvoiceRecord,
  lineRecords: InvoiceLineRecord[],
  context: { orderId: string; today: string; orgCurrency?: string | null; applications?: SalesforceApplications },
): InvoiceDetails {
  const applications = context.applications ?? NO_APPLICATIONS;
  const header = toHeader(inv, context.orderId, context.orgCurrency ?? null, applications);
  const currency = header.currencyCode;
  const { lines, unrelatedTaxes } = joinLines(lineRecords, currency);
  return {
    header,
    lines,
    taxes: invoiceTaxes(lines, unrelatedTaxes, header.taxTotal),
    kpis: kpisOf(header, applications, context.today),
  };
}
