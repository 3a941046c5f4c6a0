import type { InvoiceDetails, InvoiceHeader, InvoiceKpis, InvoiceLine, InvoiceStatus, TaxLine } from '../../domain/invoice';
import { Decimal, parseAmount, parseCurrency, parseOptionalAmount, type Money } from '../../domain/money';
import type { ZuoraCreditMemo, ZuoraCreditMemoItem, ZuoraInvoice, ZuoraInvoiceItem, ZuoraOrderLineItem, ZuoraTaxationItem } from './zuora.wire';

/**
 * Zuora keeps invoices and credit memos apart, under ids of the same form; a credit memo's providerInvoiceId carries
 * this prefix so that a read knows which collection to ask.
 */
const CREDIT_MEMO_PREFIX = 'creditmemo:';

export interface ZuoraDocumentKey {
  kind: 'invoice' | 'creditMemo';
  /** Zuora's id of the invoice or credit memo. */
  id: string;
}

export function providerInvoiceIdOf(doc: ZuoraDocumentKey): string {
  return doc.kind === 'creditMemo' ? `${CREDIT_MEMO_PREFIX}${doc.id}` : doc.id;
}

export function documentKeyOf(providerInvoiceId: string): ZuoraDocumentKey {
  return providerInvoiceId.startsWith(CREDIT_MEMO_PREFIX)
    ? { kind: 'creditMemo', id: providerInvoiceId.slice(CREDIT_MEMO_PREFIX.length) }
    : { kind: 'invoice', id: providerInvoiceId };
}

/** The id of the order a line item belongs to (its documented `orderId`), or null where Zuora sent none. */
export function orderIdOfLineItem(item: ZuoraOrderLineItem): string | null {
  return item.orderId || null;
}

/** The order line item a document item bills: invoice items name it; credit memo items name it as their source [assumed]. */
export function orderLineItemIdOf(item: ZuoraInvoiceItem | ZuoraCreditMemoItem): string | null {
  const { orderLineItemId, sourceItemId, sourceItemType } = item as { orderLineItemId?: string | null; sourceItemId?: string | null; sourceItemType?: string | null };
  return orderLineItemId || (sourceItemType === 'OrderLineItem' ? sourceItemId : null) || null;
}

const moneyOf = (amount: Decimal, currencyCode: string): Money => ({ amount, currencyCode });
const optionalMoney = (value: unknown, currencyCode: string): Money | null => {
  const amount = parseOptionalAmount(value);
  return amount ? moneyOf(amount, currencyCode) : null;
};
const sum = (amounts: Decimal[], currencyCode: string): Money => moneyOf(amounts.reduce((a, b) => a.plus(b), new Decimal(0)), currencyCode);

/**
 * The one rule of a Zuora document's status. Draft (and Zuora's other not-yet-issued states) is DRAFT; Canceled is
 * VOID, and so is a reversed invoice: Zuora cannot cancel a posted invoice, it reverses it with a credit memo that
 * settles it, and the invoice stays Posted
 * (https://developer.zuora.com/api-references/api/operation/PUT_ReverseInvoice). A posted document is ISSUED until
 * its open amount (an invoice's balance, a credit memo's unapplied amount) goes down, then PARTIALLY_PAID, then PAID:
 * the invoice's balance is what payments ("Create a payment",
 * https://developer.zuora.com/api-references/api/operation/POST_CreatePayment) and applied credit memos ("Apply a
 * credit memo", https://developer.zuora.com/api-references/api/operation/PUT_ApplyCreditMemo) leave.
 */
export function statusOf(status: string, total: Decimal, open: Decimal | null, reversed = false): InvoiceStatus {
  if (status === 'Canceled' || status === 'CancelInProgress' || reversed) return 'VOID';
  if (status !== 'Posted') return 'DRAFT';
  if (open === null || total.lte(0) || open.gte(total)) return 'ISSUED';
  return open.lte(0) ? 'PAID' : 'PARTIALLY_PAID';
}

function taxLineOf(t: ZuoraTaxationItem, currencyCode: string): TaxLine {
  const rate = parseOptionalAmount(t.taxRate);
  return {
    name: t.name || null,
    code: t.taxCode || null,
    // Zuora's rate is a fraction; a flat fee has no rate.
    ratePercent: rate && t.taxRateType === 'Percentage' ? rate.times(100) : null,
    amount: moneyOf(parseAmount(t.taxAmount), currencyCode),
  };
}

/** The document's taxes: the items' taxation items added up per tax (name, code and rate). */
function documentTaxes(lines: InvoiceLine[]): TaxLine[] {
  const byTax = new Map<string, TaxLine>();
  for (const t of lines.flatMap((l) => l.taxes)) {
    const key = JSON.stringify([t.name, t.code, t.ratePercent?.toFixed() ?? null]);
    const seen = byTax.get(key);
    byTax.set(key, seen ? { ...seen, amount: moneyOf(seen.amount.amount.plus(t.amount.amount), t.amount.currencyCode) } : t);
  }
  return [...byTax.values()];
}

function invoiceLine(item: ZuoraInvoiceItem, currencyCode: string): InvoiceLine {
  const taxes = (item.taxationItems?.data ?? []).map((t) => taxLineOf(t, currencyCode));
  const subtotal = moneyOf(parseAmount(item.chargeAmount), currencyCode);
  const taxTotal = optionalMoney(item.taxAmount, currencyCode) ?? (item.taxationItems ? sum(taxes.map((t) => t.amount.amount), currencyCode) : null);
  return {
    description: item.chargeName || item.productName || item.description || null,
    sku: item.sku || null,
    quantity: parseAmount(item.quantity),
    unitPrice: optionalMoney(item.unitPrice, currencyCode),
    subtotal,
    taxTotal,
    total: taxTotal ? moneyOf(subtotal.amount.plus(taxTotal.amount), currencyCode) : null,
    taxes,
  };
}

/** A credit memo item's `amount` includes tax only in tax-inclusive mode; `amountWithoutTax` never does. */
function creditMemoLine(item: ZuoraCreditMemoItem, currencyCode: string): InvoiceLine {
  const taxes = (item.taxationItems?.data ?? []).map((t) => taxLineOf(t, currencyCode));
  const taxTotal = item.taxationItems ? sum(taxes.map((t) => t.amount.amount), currencyCode) : null;
  const amount = parseAmount(item.amount);
  const withoutTax = parseOptionalAmount(item.amountWithoutTax);
  const net = withoutTax ?? (item.taxMode !== 'TaxInclusive' ? amount : taxTotal ? amount.minus(taxTotal.amount) : null);
  const subtotal = net ? moneyOf(net, currencyCode) : null;
  return {
    description: item.skuName || item.description || null,
    sku: item.sku || null,
    quantity: parseAmount(item.quantity),
    unitPrice: optionalMoney(item.unitPrice, currencyCode),
    subtotal,
    taxTotal,
    total: subtotal && taxTotal ? moneyOf(subtotal.amount.plus(taxTotal.amount), currencyCode) : null,
    taxes,
  };
}

/**
 * An invoice read with GET /v1/invoices/{key} and its items. `today` (YYYY-MM-DD) decides `overdue`: a posted
 * invoice with a balance past its due date. paid is `paymentAmount`, creditApplied `creditMemoAmount`, outstanding
 * `balance`, as Zuora reports them. Zuora's invoice carries no last payment date: that KPI stays null.
 */
export function invoiceDetails(inv: ZuoraInvoice, items: ZuoraInvoiceItem[], orderId: string, today: string, documentUrl: string | null = null): InvoiceDetails {
  const currencyCode = parseCurrency(inv.currency);
  const amount = parseAmount(inv.amount);
  const balance = parseAmount(inv.balance);
  const withoutTax = parseOptionalAmount(inv.amountWithoutTax);
  const tax = parseOptionalAmount(inv.taxAmount) ?? (withoutTax ? amount.minus(withoutTax) : null);
  const credited = parseOptionalAmount(inv.creditMemoAmount);
  const paymentAmount = parseOptionalAmount(inv.paymentAmount);
  const header: InvoiceHeader = {
    provider: 'ZUORA',
    providerInvoiceId: providerInvoiceIdOf({ kind: 'invoice', id: inv.id }),
    orderId,
    number: inv.invoiceNumber || null,
    kind: 'INVOICE',
    status: statusOf(inv.status, amount, balance, inv.reversed === true),
    issueDate: inv.invoiceDate?.slice(0, 10) || null,
    dueDate: inv.dueDate?.slice(0, 10) || null,
    currencyCode,
    subtotal: withoutTax ? moneyOf(withoutTax, currencyCode) : null,
    taxTotal: tax ? moneyOf(tax, currencyCode) : null,
    total: moneyOf(amount, currencyCode),
    documentUrl,
  };
  const lines = items.map((i) => invoiceLine(i, currencyCode));
  const kpis: InvoiceKpis = {
    outstanding: moneyOf(balance, currencyCode),
    // Zuora's invoice tells payments apart from credit memos applied; without paymentAmount, what the balance does
    // not owe to credit memos was paid.
    paid: paymentAmount ? moneyOf(paymentAmount, currencyCode) : credited ? moneyOf(amount.minus(balance).minus(credited), currencyCode) : null,
    overdue: inv.status !== 'Posted' || header.status === 'VOID' ? false : header.dueDate === null ? null : header.dueDate < today && balance.gt(0),
    lastPaymentDate: null,
    creditApplied: credited ? moneyOf(credited, currencyCode) : null,
  };
  return { header, lines, taxes: documentTaxes(lines), kpis };
}

/**
 * A credit memo read with GET /v1/creditmemos/{key} and its items, as a CREDIT_NOTE. Its KPIs describe the credit:
 * outstanding is what is not applied yet, creditApplied what was applied to invoices, paid what was refunded.
 */
export function creditMemoDetails(memo: ZuoraCreditMemo, items: ZuoraCreditMemoItem[], orderId: string, documentUrl: string | null = null): InvoiceDetails {
  const currencyCode = parseCurrency(memo.currency);
  const amount = parseAmount(memo.amount);
  const tax = parseOptionalAmount(memo.taxAmount);
  const unapplied = parseOptionalAmount(memo.unappliedAmount);
  const header: InvoiceHeader = {
    provider: 'ZUORA',
    providerInvoiceId: providerInvoiceIdOf({ kind: 'creditMemo', id: memo.id }),
    orderId,
    number: memo.number || null,
    kind: 'CREDIT_NOTE',
    status: statusOf(memo.status, amount, unapplied),
    issueDate: memo.creditMemoDate?.slice(0, 10) || null,
    dueDate: null,
    currencyCode,
    subtotal: tax ? moneyOf(amount.minus(tax), currencyCode) : null,
    taxTotal: tax ? moneyOf(tax, currencyCode) : null,
    total: moneyOf(amount, currencyCode),
    documentUrl,
  };
  const lines = items.map((i) => creditMemoLine(i, currencyCode));
  const kpis: InvoiceKpis = {
    outstanding: unapplied ? moneyOf(unapplied, currencyCode) : null,
    paid: optionalMoney(memo.refundAmount, currencyCode),
    overdue: null,
    lastPaymentDate: null,
    creditApplied: optionalMoney(memo.appliedAmount, currencyCode),
  };
  return { header, lines, taxes: documentTaxes(lines), kpis };
}
