import type { InvoiceDetails, InvoiceHeader, InvoiceKpis, InvoiceLine, InvoiceStatus, TaxLine } from '../../domain/invoice';
import { parseAmount, parseCurrency, parseOptionalAmount, type Decimal, type Money } from '../../domain/money';
import type { InvoiceLineRecord, InvoiceRecord } from './salesforce.wire';

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

/**
 * Invoice.Status (Draft, Pending, Posted, Canceled) and the balance as one normalised status: a posted invoice is
 * paid when nothing of a positive total is outstanding, partly paid when some of it is. A status we do not know
 * reads as issued: the invoice exists and is not known to be void.
 */
export function statusOf(status: string | null | undefined, total: Decimal, balance: Decimal | null): InvoiceStatus {
  const s = word(status);
  if (s === 'draft' || s === 'pending') return 'DRAFT';
  if (s === 'canceled' || s === 'cancelled') return 'VOID';
  if (!balance || !total.greaterThan(0)) return 'ISSUED';
  if (!balance.greaterThan(0)) return 'PAID';
  return balance.lessThan(total) ? 'PARTIALLY_PAID' : 'ISSUED';
}

/** InvoiceLine.Type 'Tax' lines carry taxes of the invoice, not goods or services. */
const isTaxLine = (line: InvoiceLineRecord): boolean => word(line.Type) === 'tax';

function lineTax(line: InvoiceLineRecord, currency: string, amount: Raw): TaxLine | null {
  const money = toMoney(amount, currency);
  if (!money) return null;
  return { name: line.TaxName || null, code: line.TaxCode || null, ratePercent: parseOptionalAmount(line.TaxRate), amount: money };
}

function toLine(line: InvoiceLineRecord, currency: string): InvoiceLine {
  const subtotal = toMoney(line.LineAmount ?? line.ChargeAmount, currency);
  const tax = lineTax(line, currency, line.TaxAmount);
  return {
    description: line.Description || null,
    // Product2Id is a record id, not a SKU; the SKU (Product2.StockKeepingUnit) is not among the fields read.
    sku: null,
    // A line without a quantity (an adjustment) counts once.
    quantity: parseOptionalAmount(line.Quantity) ?? parseAmount(1),
    unitPrice: toMoney(line.UnitPrice, currency),
    subtotal,
    taxTotal: tax?.amount ?? null,
    // Without TaxAmount the line's total is unknown, not its subtotal.
    total: subtotal && tax ? { amount: subtotal.amount.plus(tax.amount.amount), currencyCode: currency } : null,
    taxes: tax ? [tax] : [],
  };
}

/**
 * The invoice's taxes summed per (name, rate, code). When Salesforce sends 'Tax' lines they are the invoice's
 * taxes, and the charge lines' own tax fields would count them twice; otherwise the charge lines' taxes are. An
 * invoice whose lines name no tax but whose header has some gets it as one unnamed line.
 */
function invoiceTaxes(records: InvoiceLineRecord[], lines: InvoiceLine[], headerTax: Money | null, currency: string): TaxLine[] {
  const taxLines = records.filter(isTaxLine);
  const taxes = taxLines.length > 0 ? taxLines.flatMap((l) => lineTax(l, currency, l.TaxAmount ?? l.LineAmount) ?? []) : lines.flatMap((l) => l.taxes);
  const byKey = new Map<string, TaxLine>();
  for (const tax of taxes) {
    const key = [tax.name ?? '', tax.ratePercent?.toFixed() ?? '', tax.code ?? ''].join('\u0000');
    const seen = byKey.get(key);
    byKey.set(key, seen ? { ...seen, amount: { ...seen.amount, amount: seen.amount.amount.plus(tax.amount.amount) } } : tax);
  }
  if (byKey.size > 0) return [...byKey.values()];
  return headerTax && !headerTax.amount.isZero() ? [{ name: null, code: null, ratePercent: null, amount: headerTax }] : [];
}

/**
 * Balance is what is outstanding, NetPaymentsApplied what was paid, NetCreditsApplied what credit memos took off.
 * Overdue: a due date before `today` with something outstanding, on an invoice that is neither void nor a draft.
 * Salesforce keeps no last payment date on the invoice: null.
 */
function kpisOf(inv: InvoiceRecord, status: InvoiceStatus, currency: string, today: string): InvoiceKpis {
  const outstanding = toMoney(inv.Balance, currency);
  const dueDate = toDate(inv.DueDate);
  let overdue: boolean | null = null;
  if (status === 'VOID' || status === 'DRAFT') overdue = false;
  else if (dueDate && outstanding) overdue = dueDate < today && outstanding.amount.greaterThan(0);
  return {
    outstanding,
    paid: toMoney(inv.NetPaymentsApplied, currency),
    overdue,
    lastPaymentDate: null,
    creditApplied: toMoney(inv.NetCreditsApplied, currency),
  };
}

function invoiceCurrency(inv: InvoiceRecord): string {
  // Only multi-currency orgs have CurrencyIsoCode; a single-currency org fails the query before we get here.
  if (!inv.CurrencyIsoCode) throw new Error(`Salesforce invoice ${inv.Id} carries no CurrencyIsoCode`);
  return parseCurrency(inv.CurrencyIsoCode);
}

/**
 * A Salesforce Invoice as the domain sees it. `orderId` is the OrderSummary the invoice bills (read from its
 * fulfillment order). Salesforce credit memos are another object (CreditMemo), so every Invoice is of kind INVOICE.
 * The invoice document is not a URL field: documentUrl stays null.
 */
export function toHeader(inv: InvoiceRecord, orderId: string): InvoiceHeader {
  const currency = invoiceCurrency(inv);
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
    status: statusOf(inv.Status, total.amount, parseOptionalAmount(inv.Balance)),
    issueDate: toDate(inv.InvoiceDate),
    dueDate: toDate(inv.DueDate),
    currencyCode: currency,
    subtotal,
    taxTotal,
    total,
    documentUrl: null,
  };
}

/** Header, lines, taxes and KPIs of an Invoice and its InvoiceLines. `today` (YYYY-MM-DD, UTC) decides overdue. */
export function toDetails(inv: InvoiceRecord, lineRecords: InvoiceLineRecord[], context: { orderId: string; today: string }): InvoiceDetails {
  const header = toHeader(inv, context.orderId);
  const currency = header.currencyCode;
  const lines = lineRecords.filter((l) => !isTaxLine(l)).map((l) => toLine(l, currency));
  return {
    header,
    lines,
    taxes: invoiceTaxes(lineRecords, lines, header.taxTotal, currency),
    kpis: kpisOf(inv, header.status, currency, context.today),
  };
}
