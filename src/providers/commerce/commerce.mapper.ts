import { EMPTY_KPIS, type InvoiceDetails, type InvoiceHeader, type InvoiceKpis, type InvoiceLine, type InvoiceStatus } from '../../domain/invoice';
import { parseAmount, parseOptionalAmount, type Decimal } from '../../domain/money';
import { referenceId, type CommerceInvoice } from './commerce.wire';

/** The invoice's id: `id` as in the seed, `_id` where a read answers the raw document. */
export function invoiceIdOf(inv: CommerceInvoice): string {
  return (inv.id ?? inv._id)!;
}

/** The order's id as the domain keeps it: ObjectIds compare in lower case. */
export function invoiceOrderId(inv: CommerceInvoice): string {
  const id = referenceId(inv.order);
  if (!id) throw new Error(`Commerce invoice ${invoiceIdOf(inv)} names no order`);
  return id.toLowerCase();
}

/**
 * The one rule of a Commerce invoice's status. Assumption (seed 001 documents no status or payment): a `status`
 * naming a void or a cancellation is VOID; otherwise what was settled (`paid` + `credited`) against the total: all
 * of it PAID, some PARTIALLY_PAID, none (or not reported, as in the seed) ISSUED: an invoice exists once created.
 */
export function statusOf(status: string | null | undefined, total: Decimal, settled: Decimal | null): InvoiceStatus {
  if (/void|cancel/i.test(status ?? '')) return 'VOID';
  if (!settled || !total.greaterThan(0) || !settled.greaterThan(0)) return 'ISSUED';
  return settled.greaterThanOrEqualTo(total) ? 'PAID' : 'PARTIALLY_PAID';
}

/** `paid` + `credited`, or null when the invoice reports neither (the seed's shape). */
function settledOf(inv: CommerceInvoice): Decimal | null {
  const paid = parseOptionalAmount(inv.paid);
  const credited = parseOptionalAmount(inv.credited);
  if (!paid && !credited) return null;
  return (paid ?? parseAmount(0)).plus(credited ?? parseAmount(0));
}

/**
 * A Commerce invoice as the domain sees it. The API knows no number, due date, subtotal, tax or document, and its
 * total carries no currency: `currency` is the configured one. Its status is statusOf's.
 */
export function toHeader(inv: CommerceInvoice, currency: string): InvoiceHeader {
  return {
    provider: 'COMMERCE',
    providerInvoiceId: invoiceIdOf(inv),
    orderId: invoiceOrderId(inv),
    number: null,
    kind: 'INVOICE',
    status: statusOf(inv.status, parseAmount(inv.total), settledOf(inv)),
    // createdAt is an ISO instant in UTC; its date part is the issue date.
    issueDate: inv.createdAt && /^\d{4}-\d{2}-\d{2}/.test(inv.createdAt) ? inv.createdAt.slice(0, 10) : null,
    dueDate: null,
    currencyCode: currency,
    subtotal: null,
    taxTotal: null,
    total: { amount: parseAmount(inv.total), currencyCode: currency },
    documentUrl: null,
  };
}

/** A line carries only the order line it bills and a quantity: no description, SKU, price or tax. */
function toLine(item: NonNullable<CommerceInvoice['lineItems']>[number]): InvoiceLine {
  return { description: null, sku: null, quantity: parseAmount(item.quantity), unitPrice: null, subtotal: null, taxTotal: null, total: null, taxes: [] };
}

/**
 * The KPIs where the invoice reports payments (Assumption: see statusOf): paid, creditApplied, outstanding (`balance`,
 * else the total less both), lastPaymentDate. No due date, so overdue stays unknown. Otherwise none (the seed's shape).
 */
function kpisOf(inv: CommerceInvoice, header: InvoiceHeader): InvoiceKpis {
  const settled = settledOf(inv);
  if (settled === null && !inv.status) return EMPTY_KPIS;
  const money = (amount: Decimal) => ({ amount, currencyCode: header.currencyCode });
  const paid = parseOptionalAmount(inv.paid) ?? parseAmount(0);
  const credited = parseOptionalAmount(inv.credited) ?? parseAmount(0);
  const outstanding = header.status === 'VOID' ? parseAmount(0) : (parseOptionalAmount(inv.balance) ?? header.total.amount.minus(paid).minus(credited));
  const date = inv.lastPaymentDate && /^\d{4}-\d{2}-\d{2}/.test(inv.lastPaymentDate) ? inv.lastPaymentDate.slice(0, 10) : null;
  return { outstanding: money(outstanding), paid: money(paid), overdue: null, lastPaymentDate: date, creditApplied: money(credited) };
}

/** Header, lines and KPIs of a Commerce invoice, from the create answer or a read. The API reports no taxes. */
export function toDetails(inv: CommerceInvoice, currency: string): InvoiceDetails {
  const header = toHeader(inv, currency);
  return { header, lines: (inv.lineItems ?? []).map(toLine), taxes: [], kpis: kpisOf(inv, header) };
}
