import { EMPTY_KPIS, type InvoiceDetails, type InvoiceHeader, type InvoiceLine } from '../../domain/invoice';
import { parseAmount } from '../../domain/money';
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
 * A Commerce invoice as the domain sees it. The API knows no number, due date, subtotal, tax or document, and its
 * total carries no currency: `currency` is the configured one. An invoice exists once created, so it is ISSUED.
 */
export function toHeader(inv: CommerceInvoice, currency: string): InvoiceHeader {
  return {
    provider: 'COMMERCE',
    providerInvoiceId: invoiceIdOf(inv),
    orderId: invoiceOrderId(inv),
    number: null,
    kind: 'INVOICE',
    status: 'ISSUED',
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

/** Header and lines of a Commerce invoice, from the create answer or a read. The API reports no taxes or KPIs. */
export function toDetails(inv: CommerceInvoice, currency: string): InvoiceDetails {
  return { header: toHeader(inv, currency), lines: (inv.lineItems ?? []).map(toLine), taxes: [], kpis: EMPTY_KPIS };
}
