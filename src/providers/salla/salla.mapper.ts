import { EMPTY_KPIS, type InvoiceDetails, type InvoiceHeader, type InvoiceLine, type InvoiceStatus, type TaxLine } from '../../domain/invoice';
import { parseAmount, parseCurrency, type Money } from '../../domain/money';
import type { SallaInvoice } from './salla.wire';

type Amount = NonNullable<SallaInvoice['total']>;

/** The invoice's currency: the total's, else any amount's; Salla writes it as a code or as a symbol. */
function invoiceCurrency(inv: SallaInvoice): string {
  const candidates = [inv.total, inv.subtotal, inv.sub_total, inv.tax?.amount, ...(inv.items ?? []).map((i) => i.total ?? i.price)];
  const raw = candidates.find((a) => a?.currency)?.currency;
  if (!raw) throw new Error(`Salla invoice ${inv.id} carries no currency`);
  return parseCurrency(raw);
}

function toMoney(a: Amount | null | undefined, fallbackCurrency: string): Money | null {
  if (!a) return null;
  return { amount: parseAmount(a.amount), currencyCode: a.currency ? parseCurrency(a.currency) : fallbackCurrency };
}

function taxLine(tax: SallaInvoice['tax'], currency: string): TaxLine | null {
  const amount = toMoney(tax?.amount, currency);
  if (!amount) return null;
  const percent = tax?.percent;
  return { name: null, code: null, ratePercent: percent === undefined || percent === null ? null : parseAmount(percent), amount };
}

/** Salla's "Tax Invoice" / "Credit Note" labels (English, or the enum names on some stores). */
function kindOf(type: string): InvoiceHeader['kind'] {
  return /credit/i.test(type) || type === 'إشعار دائن' ? 'CREDIT_NOTE' : 'INVOICE';
}

/**
 * The one rule of a Salla invoice's status: ISSUED, whatever happens to its order. Salla's tax invoice and credit
 * note carry no payment or cancellation state (InvoiceDetails: https://docs.salla.dev/5394158e0); payment and
 * cancellation live on the order (its status slug, `is_pending_payment`, the order.payment.updated /
 * order.cancelled / order.refunded events), and a credit note is a document of its own. Reading the order would cost
 * one more call per invoice (Salla has no batch read of orders by id), which the lazy-field loader must not pay, so
 * Salla's KPIs stay unknown and a paid, refunded or canceled order's invoice still reads as ISSUED. Salla has no
 * draft invoices: one exists only once issued.
 */
export function statusOf(_inv: SallaInvoice): InvoiceStatus {
  return 'ISSUED';
}

/** A Salla invoice as the domain sees it. Salla knows no due date, payment state or tax names: those stay null. */
export function toHeader(inv: SallaInvoice): InvoiceHeader {
  const currency = invoiceCurrency(inv);
  const total = toMoney(inv.total, currency);
  if (!total) throw new Error(`Salla invoice ${inv.id} has no total`);
  return {
    provider: 'SALLA',
    providerInvoiceId: String(inv.id),
    orderId: String(inv.order_id),
    number: inv.invoice_number ?? null,
    kind: kindOf(inv.type),
    status: statusOf(inv),
    issueDate: inv.date ? inv.date.slice(0, 10) : null,
    dueDate: null,
    currencyCode: currency,
    subtotal: toMoney(inv.subtotal ?? inv.sub_total, currency),
    taxTotal: toMoney(inv.tax?.amount, currency),
    total,
    documentUrl: inv.url ?? null,
  };
}

function toLine(item: NonNullable<SallaInvoice['items']>[number], currency: string): InvoiceLine {
  const tax = taxLine(item.tax, currency);
  const total = toMoney(item.total, currency);
  return {
    description: item.name ?? null,
    sku: item.sku || null,
    quantity: parseAmount(item.quantity),
    unitPrice: toMoney(item.price, currency),
    // Salla gives the line's total with tax and the tax; the net is their difference whatever `price` means.
    subtotal: total && tax ? { amount: total.amount.minus(tax.amount.amount), currencyCode: total.currencyCode } : null,
    taxTotal: tax?.amount ?? null,
    total,
    taxes: tax ? [tax] : [],
  };
}

/** Header, lines and taxes of a Salla invoice read back with GET /orders/invoices/{id}. Salla reports no KPIs. */
export function toDetails(inv: SallaInvoice): InvoiceDetails {
  const header = toHeader(inv);
  const tax = taxLine(inv.tax, header.currencyCode);
  return {
    header,
    lines: (inv.items ?? []).map((i) => toLine(i, header.currencyCode)),
    taxes: tax ? [tax] : [],
    kpis: EMPTY_KPIS,
  };
}
