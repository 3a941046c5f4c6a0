import type { InvoiceLoaders } from '../invoices/invoice.loaders';
import type { InvoiceService } from '../invoices/invoice.service';

/** Everything a resolver may use, built once per request before any resolver runs. */
export interface Context {
  /** Scopes every ledger read and write. */
  tenantId: string;
  loaders: InvoiceLoaders;
  invoices: InvoiceService;
}
