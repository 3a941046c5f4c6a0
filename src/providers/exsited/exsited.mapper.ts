import type { InvoiceDetails, InvoiceHeader, InvoiceKpis, InvoiceLine, InvoiceStatus, TaxLine } from '../../domain/invoice';
import { parseAmount, parseCurrency, parseOptionalAmount, type Money } from '../../domain/money';
import type { ExsitedInvoice } from './exsited.wire';

type Line = NonNullable<ExsitedInvoice['lines']>[number];
type Raw = string | number | null | undefined;

function toMoney(value: Raw, currencyCode: string): Money | null {
  const amount = parseOptionalAmount(value);
  return amount ? { amount, currencyCode } : null;
}

/** Exsited's dates, "2024-05-01" or a timestamp; an empty string is no date. */
function toDate(value: string | null | undefined): string | null {
  const match = value ? /^\d{4}-\d{2}-\d{2}/.exec(value.trim()) : null;
  return match ? match[0] : null;
}

const word = (value: string | null | undefined): string => (value ?? '').trim().toUpperCase().replace(/[\s-]+/g, '_');

/**
 * The one rule of an Exsited invoice's status: its `status` (ACTIVE, DRAFT, VOIDED, CANCELLED, …) first, then its
 * `payment_status` (UNPAID, PARTIALLY_PAID, PAID), which Exsited moves as payments and credit are applied to the
 * invoice (POST /api/v3/invoices/{id}/payments with payment_applied / credit_applied, official SDK:
 * https://github.com/exsited/exsited-php/blob/main/src/AppService/Payment/PaymentData.php). The KPIs are Exsited's
 * own (kpis.outstanding, payment_applied, credit_applied, last_payment_date, overdue). A status we do not know reads
 * as issued: the invoice exists and is not known to be void.
 */
export function statusOf(status: string | null | undefined, paymentStatus: string | null | undefined): InvoiceStatus {
  const s = word(status);
  if (s === 'DRAFT') return 'DRAFT';
  if (/VOID|CANCEL|DELETE|REVERS/.test(s)) return 'VOID';
  const p = word(paymentStatus);
  if (p === 'PAID' || p === 'FULLY_PAID') return 'PAID';
  if (p.startsWith('PARTIAL')) return 'PARTIALLY_PAID';
  return 'ISSUED';
}

/** `kpis.overdue` is the amount past due; a flag is read as such. Empty means Exsited did not say. */
export function overdueOf(value: string | number | boolean | null | undefined): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  const amount = parseOptionalAmount(value);
  return amount ? amount.greaterThan(0) : null;
}

function lineTax(line: Line, currency: string): TaxLine | null {
  const amount = toMoney(line.tax?.amount, currency);
  if (!amount) return null;
  return { name: null, code: line.tax?.code || null, ratePercent: parseOptionalAmount(line.tax?.rate), amount };
}

function toLine(line: Line, currency: string): InvoiceLine {
  const quantity = line.item_order_quantity ?? line.quantity;
  if (quantity === undefined || quantity === null || quantity === '') throw new Error(`Exsited invoice line ${line.item_id ?? '?'} has no quantity`);
  const tax = lineTax(line, currency);
  return {
    description: line.item_name || line.item_description || null,
    sku: line.item_id || null,
    quantity: parseAmount(quantity),
    unitPrice: toMoney(line.item_price, currency),
    subtotal: toMoney(line.subtotal, currency),
    taxTotal: tax?.amount ?? null,
    total: toMoney(line.total, currency),
    taxes: tax ? [tax] : [],
  };
}

/** The invoice's taxes: its lines' taxes summed per code and rate, else the header's tax as one unnamed line. */
function invoiceTaxes(lines: InvoiceLine[], headerTax: Money | null): TaxLine[] {
  const byKey = new Map<string, TaxLine>();
  for (const tax of lines.flatMap((l) => l.taxes)) {
    const key = `${tax.code ?? ''}\u0000${tax.ratePercent?.toFixed() ?? ''}`;
    const seen = byKey.get(key);
    byKey.set(key, seen ? { ...seen, amount: { ...seen.amount, amount: seen.amount.amount.plus(tax.amount.amount) } } : tax);
  }
  if (byKey.size > 0) return [...byKey.values()];
  return headerTax && !headerTax.amount.isZero() ? [{ name: null, code: null, ratePercent: null, amount: headerTax }] : [];
}

function kpisOf(inv: ExsitedInvoice, currency: string): InvoiceKpis {
  const k = inv.kpis;
  return {
    outstanding: toMoney(k?.outstanding ?? inv.due, currency),
    paid: toMoney(inv.paid ?? k?.payment_applied, currency),
    overdue: overdueOf(k?.overdue),
    lastPaymentDate: toDate(k?.last_payment_date),
    creditApplied: toMoney(k?.credit_applied, currency),
  };
}

/**
 * An Exsited invoice as the domain sees it. Its id is the number people see (INV-0001), so it is both the
 * provider id and the number. Exsited has separate credit notes, so every invoice here is of kind INVOICE.
 * The PDF is a separate endpoint, not a field of the invoice: `documentUrl` is that endpoint's URL where the caller
 * gives it (fetched with the same bearer), else null.
 */
export function toHeader(inv: ExsitedInvoice, documentUrl: string | null = null): InvoiceHeader {
  const currency = parseCurrency(inv.currency.name);
  return {
    provider: 'EXSITED',
    providerInvoiceId: inv.id,
    orderId: inv.order_id,
    number: inv.id,
    kind: /credit/i.test(inv.type ?? '') ? 'CREDIT_NOTE' : 'INVOICE',
    status: statusOf(inv.status, inv.payment_status),
    issueDate: toDate(inv.issue_date),
    dueDate: toDate(inv.due_date),
    currencyCode: currency,
    subtotal: toMoney(inv.subtotal, currency),
    taxTotal: toMoney(inv.tax, currency),
    total: { amount: parseAmount(inv.total), currencyCode: currency },
    documentUrl,
  };
}

/** Header, lines, taxes and KPIs of an Exsited invoice: its create answer and its read carry all of them. */
export function toDetails(inv: ExsitedInvoice, documentUrl: string | null = null): InvoiceDetails {
  const header = toHeader(inv, documentUrl);
  const lines = (inv.lines ?? []).map((l) => toLine(l, header.currencyCode));
  return { header, lines, taxes: invoiceTaxes(lines, header.taxTotal), kpis: kpisOf(inv, header.currencyCode) };
}
