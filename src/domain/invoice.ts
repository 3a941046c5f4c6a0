import type { Decimal, Money } from './money';

/** The billing providers this subgraph speaks to. */
export const PROVIDER_CODES = ['SALESFORCE', 'SALLA', 'ZUORA', 'EXSITED', 'COMMERCE'] as const;
export type ProviderCode = (typeof PROVIDER_CODES)[number];

export type InvoiceKind = 'INVOICE' | 'CREDIT_NOTE';

/** Lifecycle of the document at its provider, normalised across providers. */
export type InvoiceStatus = 'DRAFT' | 'ISSUED' | 'PARTIALLY_PAID' | 'PAID' | 'VOID';

/** An invoice's header as a provider reports it, normalised. Fields the provider does not know are null. */
export interface InvoiceHeader {
  provider: ProviderCode;
  providerInvoiceId: string;
  /** The order's id at the provider (see CONTRACT: Salla order id, Salesforce OrderSummary id, ...). */
  orderId: string;
  number: string | null;
  kind: InvoiceKind;
  status: InvoiceStatus;
  /** ISO dates (YYYY-MM-DD). */
  issueDate: string | null;
  dueDate: string | null;
  currencyCode: string;
  subtotal: Money | null;
  taxTotal: Money | null;
  total: Money;
  documentUrl: string | null;
}

/** Whether an invoice was made through createInvoice or found at its provider. */
export type InvoiceOrigin = 'CREATED_HERE' | 'EXTERNAL';

/**
 * An invoice recorded in the ledger: its header as last read from the provider, and what the ledger keeps of its
 * details (lines and taxes once final, payment figures as last read).
 */
export interface Invoice extends InvoiceHeader {
  /** Opaque id, stable and unique across providers and tenants. */
  id: string;
  tenantId: string;
  createdAt: Date;
  origin: InvoiceOrigin;
  /** When status and kpis were last read from the provider; null: not since the invoice was recorded. */
  syncedAt: Date | null;
  /** Lines and taxes, kept once they can no longer change at the provider; null: read them from the provider. */
  readonly content: InvoiceContent | null;
  /** Payment figures as last read from the provider; null: never read. */
  readonly kpis: InvoiceKpis | null;
}

/** The part of an invoice that stops changing once it is posted or issued. */
export interface InvoiceContent {
  lines: InvoiceLine[];
  taxes: TaxLine[];
}

export interface TaxLine {
  name: string | null;
  code: string | null;
  ratePercent: Decimal | null;
  amount: Money;
}

export interface InvoiceLine {
  description: string | null;
  sku: string | null;
  quantity: Decimal;
  unitPrice: Money | null;
  subtotal: Money | null;
  taxTotal: Money | null;
  total: Money | null;
  taxes: TaxLine[];
}

export interface InvoiceKpis {
  outstanding: Money | null;
  paid: Money | null;
  overdue: boolean | null;
  lastPaymentDate: string | null;
  creditApplied: Money | null;
}

/** What the lazy fields (lines, taxes, kpis) are resolved from: one provider read per invoice at most. */
export interface InvoiceDetails {
  header: InvoiceHeader;
  lines: InvoiceLine[];
  taxes: TaxLine[];
  kpis: InvoiceKpis;
}

export const EMPTY_KPIS: InvoiceKpis = Object.freeze({
  outstanding: null,
  paid: null,
  overdue: null,
  lastPaymentDate: null,
  creditApplied: null,
});

/** Identifies an invoice at its provider; the key of the lazy-field loaders. */
export interface ProviderInvoiceRef {
  provider: ProviderCode;
  providerInvoiceId: string;
  orderId: string;
}

export function refKey(ref: Pick<ProviderInvoiceRef, 'provider' | 'providerInvoiceId'>): string {
  return `${ref.provider}:${ref.providerInvoiceId}`;
}

/**
 * An invoice as read from its provider, as the ledger records it: the header, its lines and taxes once they can no
 * longer change (else null: they are read from the provider each time), and its payment figures when known.
 */
export interface InvoiceRecord {
  header: InvoiceHeader;
  content: InvoiceContent | null;
  kpis: InvoiceKpis | null;
}

/** What the ledger keeps of a provider read: lines and taxes only once they can no longer change. Pure. */
export function recordOf(d: InvoiceDetails, contentFinal: boolean): InvoiceRecord {
  return { header: d.header, content: contentFinal ? { lines: d.lines, taxes: d.taxes } : null, kpis: d.kpis };
}
