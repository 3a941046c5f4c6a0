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

/** An invoice recorded in the ledger: the header snapshot taken when it was created through us. */
export interface Invoice extends InvoiceHeader {
  /** Opaque id, stable and unique across providers and tenants. */
  id: string;
  tenantId: string;
  createdAt: Date;
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
