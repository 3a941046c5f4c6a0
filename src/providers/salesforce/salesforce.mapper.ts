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
export function toHeader(inv: InvoiceRecord, orderId: string, orgCurrency: string | null = null): InvoiceHeader {
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

/**
 * Header, lines, taxes and KPIs of an Invoice and its InvoiceLines. `today` (YYYY-MM-DD, UTC) decides overdue;
 * `orgCurrency` is the currency of a single-currency org, whose records carry no CurrencyIsoCode.
 */
export function toDetails(inv: InvoiceRecord, lineRecords: InvoiceLineRecord[], context: { orderId: string; today: string; orgCurrency?: string | null }): InvoiceDetails {
  const header = toHeader(inv, context.orderId, context.orgCurrency ?? null);
  const currency = header.currencyCode;
  const { lines, unrelatedTaxes } = joinLines(lineRecords, currency);
  return {
    header,
    lines,
    taxes: invoiceTaxes(lines, unrelatedTaxes, header.taxTotal),
    kpis: kpisOf(inv, header.status, currency, context.today),
  };
}
