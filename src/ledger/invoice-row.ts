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
  private decodedContent?: InvoiceContent | null;
  private decodedKpis?: InvoiceKpis | null;
  constructor(
    private readonly contentText: string | null,
    private readonly kpisText: string | null,
  ) {}

  get content(): InvoiceContent | null {
    if (this.decodedContent === undefined) this.decodedContent = this.contentText === null ? null : contentFromJson(JSON.parse(this.contentText) as InvoiceContentJson);
    return this.decodedContent;
  }

  get kpis(): InvoiceKpis | null {
    if (this.decodedKpis === undefined) this.decodedKpis = this.kpisText === null ? null : kpisFromJson(JSON.parse(this.kpisText) as InvoiceKpisJson);
    return this.decodedKpis;
  }
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
