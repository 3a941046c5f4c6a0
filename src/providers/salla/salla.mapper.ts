import { EMPTY_KPIS, type InvoiceDetails, type InvoiceHeader, type InvoiceKpis, type InvoiceLine, type InvoiceStatus, type TaxLine } from '../../domain/invoice';
import { parseAmount, parseCurrency, type Money } from '../../domain/money';
import type { SallaInvoice, SallaOrder } from './salla.wire';

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
 * The one rule of a Salla invoice's status, read from its order: Salla's tax invoice carries no payment or
 * cancellation state (InvoiceDetails: https://docs.salla.dev/5394158e0); they live on the order (Order Details,
 * GET /orders/{order_id}: `status.slug`, `is_pending_payment`, `payment_method`). A credit note is a document of its
 * own and stays ISSUED. Without the order (not read): ISSUED. Salla has no draft invoices, and no partial payment of
 * an order, so a Salla invoice is ISSUED, PAID or VOID.
 * - canceled: VOID. restored (the order returned and refunded): VOID. Assumption: a partial return keeps the slug
 *   `restored` only under a store's own sub-status, which is read as its parent.
 * - payment_pending, or is_pending_payment: ISSUED.
 * - cash on delivery ("cod"): PAID once delivered or completed, else ISSUED. Assumption: the courier's collection
 *   is not visible otherwise.
 * - under_review with a bank transfer: ISSUED (the merchant checks the transfer's receipt). Assumption.
 * - any other status (under_review, in_progress, shipped, delivering, delivered, completed, restoring, a store's own
 *   slug): PAID, as Salla takes online payment before the order leaves payment_pending.
 */
export function statusOf(inv: Pick<SallaInvoice, 'type'>, order?: SallaOrder | null): InvoiceStatus {
  if (!order || kindOf(inv.type) === 'CREDIT_NOTE') return 'ISSUED';
  const slug = (order.status?.slug ?? '').toLowerCase();
  const method = (order.payment_method ?? '').toLowerCase();
  if (slug === 'canceled' || slug === 'cancelled' || slug === 'restored') return 'VOID';
  if (slug === 'payment_pending' || order.is_pending_payment === true) return 'ISSUED';
  if (method === 'cod') return slug === 'delivered' || slug === 'completed' ? 'PAID' : 'ISSUED';
  if (slug === 'under_review' && /bank/.test(method)) return 'ISSUED';
  return 'PAID';
}

/** What is paid and owed on a Salla invoice, from its status: Salla reports no amounts paid, nor payment dates. */
export function kpisOf(header: InvoiceHeader, order: SallaOrder | null | undefined): InvoiceKpis {
  if (!order || header.kind === 'CREDIT_NOTE') return EMPTY_KPIS;
  const zero = { amount: parseAmount('0'), currencyCode: header.currencyCode };
  switch (header.status) {
    case 'PAID':
      return { outstanding: zero, paid: header.total, overdue: false, lastPaymentDate: null, creditApplied: null };
    case 'VOID':
      return { outstanding: zero, paid: null, overdue: false, lastPaymentDate: null, creditApplied: null };
    default:
      return { outstanding: header.total, paid: zero, overdue: null, lastPaymentDate: null, creditApplied: null };
  }
}

/** A Salla invoice as the domain sees it. Salla knows no due date, payment state or tax names: those stay null. */
export function toHeader(inv: SallaInvoice, order?: SallaOrder | null): InvoiceHeader {
  const currency = invoiceCurrency(inv);
  const total = toMoney(inv.total, currency);
  if (!total) throw new Error(`Salla invoice ${inv.id} has no total`);
  return {
    provider: 'SALLA',
    providerInvoiceId: String(inv.id),
    orderId: String(inv.order_id),
    number: inv.invoice_number ?? null,
    kind: kindOf(inv.type),
    status: statusOf(inv, order),
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

/** A Salla invoice read back with GET /orders/invoices/{id}, and its status and KPIs from its order where read. */
export function toDetails(inv: SallaInvoice, order?: SallaOrder | null): InvoiceDetails {
  const header = toHeader(inv, order);
  const tax = taxLine(inv.tax, header.currencyCode);
  return {
    header,
    lines: (inv.items ?? []).map((i) => toLine(i, header.currencyCode)),
    taxes: tax ? [tax] : [],
    kpis: kpisOf(header, order),
  };
}
