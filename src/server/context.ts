import type { InvoiceLoaders } from '../invoices/invoice.loaders';
import type { InvoiceService } from '../invoices/invoice.service';
import type { InvoiceRefresher } from '../sync/invoice-refresher';
import type { InvoiceList } from '../ledger/invoice-list';
import type { Caller } from './auth';
import type { ConnectionsContext } from '../connections/connection.resolver';

/** Everything a resolver may use, built once per request before any resolver runs. */
export interface Context {
  /** Scopes every ledger read and write. */
  tenantId: string;
  /** The verified caller (tenant and scopes); scopes are null when no token verification is configured. */
  caller: Caller;
  loaders: InvoiceLoaders;
  invoices: InvoiceService;
  /** Refreshes stale status and kpis in the background; shared by every request of the process. */
  refresher: InvoiceRefresher;
  /** Pages of the tenant's invoices from the ledger (Query.invoices). */
  invoiceList: InvoiceList;
  /** The tenant's provider connections (connectProvider, providerConnections). */
  connections: ConnectionsContext;
}
