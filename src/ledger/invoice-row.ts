import type { Invoice, InvoiceContent, InvoiceKpis, InvoiceOrigin } from '../domain/invoice';
import {
  contentFromJson,
  headerFromJson,
  kpisFromJson,
  type InvoiceContentJson,
  type InvoiceHeaderJson,
  type InvoiceKpisJson,
} from '../domain/invoice.codec';

/** An invoices row as every read of the ledger selects it (INVOICE_COLUMNS). */
export interface InvoiceRow {
  id: string;
  tenant_id: string;
  snapshot: InvoiceHeaderJson;
  created_at: Date;
  origin: InvoiceOrigin;
  synced_at: Date | null;
  /** JSON text, decoded only when a query selects lines, taxes or kpis. */
  content: string | null;
  kpis: string | null;
}

/** The columns behind InvoiceRow; lines and taxes come as text so that a page that does not select them never decodes them. */
export const INVOICE_COLUMNS = 'id, tenant_id, snapshot, created_at, origin, synced_at, content::text AS content, kpis::text AS kpis';

/** A ledger invoice whose stored lines, taxes and kpis are decoded on first use. */
class LedgerInvoice {
  private parsedContent?: InvoiceContentJson | null;
  private parsedKpis?: InvoiceKpisJson | null;
  private decodedContent?: InvoiceContent | null;
  private decodedKpis?: InvoiceKpis | null;
  constructor(
    private readonly contentText: string | null,
    private readonly kpisText: string | null,
  ) {}

  /** The stored lines and taxes as the ledger keeps them (amounts as text). */
  get contentJson(): InvoiceContentJson | null {
    if (this.parsedContent === undefined) this.parsedContent = this.contentText === null ? null : (JSON.parse(this.contentText) as InvoiceContentJson);
    return this.parsedContent;
  }

  get kpisJson(): InvoiceKpisJson | null {
    if (this.parsedKpis === undefined) this.parsedKpis = this.kpisText === null ? null : (JSON.parse(this.kpisText) as InvoiceKpisJson);
    return this.parsedKpis;
  }

  get content(): InvoiceContent | null {
    if (this.decodedContent === undefined) this.decodedContent = this.contentText === null ? null : contentFromJson(this.contentJson!);
    return this.decodedContent;
  }

  get kpis(): InvoiceKpis | null {
    if (this.decodedKpis === undefined) this.decodedKpis = this.kpisText === null ? null : kpisFromJson(this.kpisJson!);
    return this.decodedKpis;
  }
}

/**
 * What the ledger stores of an invoice's lines and taxes, in its JSON form (amounts as decimal text), for presenting
 * them without building a Decimal per amount; undefined when the invoice was not read from the ledger (use its
 * `content`). Do not change what it returns: it is the invoice's own, decoded once.
 */
export function storedContentJson(invoice: Invoice): InvoiceContentJson | null | undefined {
  return invoice instanceof LedgerInvoice ? invoice.contentJson : undefined;
}

/** What the ledger stores of an invoice's kpis, likewise (see storedContentJson). */
export function storedKpisJson(invoice: Invoice): InvoiceKpisJson | null | undefined {
  return invoice instanceof LedgerInvoice ? invoice.kpisJson : undefined;
}

/** One row as the domain's Invoice; costs no JSON decoding until content or kpis is read. */
export function toInvoice(r: InvoiceRow): Invoice {
  return Object.assign(new LedgerInvoice(r.content ?? null, r.kpis ?? null), headerFromJson(r.snapshot), {
    id: r.id,
    tenantId: r.tenant_id,
    createdAt: new Date(r.created_at),
    origin: r.origin ?? 'CREATED_HERE',
    syncedAt: r.synced_at ? new Date(r.synced_at) : null,
  }) as unknown as Invoice;
}
