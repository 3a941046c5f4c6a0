import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import { recordOf, refKey, type Invoice, type InvoiceDetails, type ProviderCode, type ProviderInvoiceRef } from '../domain/invoice';
import { ProviderError } from '../domain/errors';
import type { Ledger } from '../ledger/ledger';
import type { ProviderRegistry } from '../providers/registry';
import { tenantProvidersOf, type TenantProviders } from '../connections/tenant-providers';

/** Per-request loaders: created for every GraphQL request, so nothing is cached across requests or tenants. */
export interface InvoiceLoaders {
  /** Invoices by id (invoice(id), _entities): one ledger query per batch. */
  invoiceById: DataLoader<string, Invoice | null>;
  /** Invoices of orders (Order.invoices): one ledger query per batch. */
  invoicesByOrderId: DataLoader<string, Invoice[]>;
  /** Provider reads behind lines, taxes and kpis: one read per invoice at most, batched per provider. */
  details: DataLoader<ProviderInvoiceRef, InvoiceDetails, string>;
}

/**
 * `naive` turns batching and per-request caching off: every load is its own ledger query or provider read. It
 * exists only so the benchmark can run the same resolvers as the baseline a DataLoader-less server would be.
 */
export interface LoaderOptions {
  naive?: boolean;
  /** Where a failed write of what a read found is reported (the read itself still answers). */
  logger?: Logger;
}

export function createInvoiceLoaders(ledger: Ledger, providerSource: TenantProviders | ProviderRegistry, tenantId: string, options: LoaderOptions = {}): InvoiceLoaders {
  const providers = tenantProvidersOf(providerSource);
  const mode = options.naive ? { batch: false, cache: false } : {};
  return {
    invoiceById: new DataLoader(async (ids) => {
      const found = new Map((await ledger.invoicesByIds(tenantId, ids)).map((i) => [i.id, i]));
      return ids.map((id) => found.get(id) ?? null);
    }, mode),

    invoicesByOrderId: new DataLoader(async (orderIds) => {
      const byOrder = new Map<string, Invoice[]>(orderIds.map((id) => [id, []]));
      for (const invoice of await ledger.invoicesByOrderIds(tenantId, orderIds)) byOrder.get(invoice.orderId)?.push(invoice);
      return orderIds.map((id) => byOrder.get(id)!);
    }, mode),

    details: new DataLoader<ProviderInvoiceRef, InvoiceDetails, string>(
      async (refs) => {
        const byProvider = new Map<ProviderCode, number[]>();
        refs.forEach((ref, i) => byProvider.set(ref.provider, [...(byProvider.get(ref.provider) ?? []), i]));
        const out: Array<InvoiceDetails | Error> = new Array(refs.length);
        await Promise.all(
          [...byProvider].map(async ([code, indexes]) => {
            // The tenant's own connection (or the deployment's account, where it acts for the tenant).
            const resolved = await providers.of(tenantId, code);
            if ('refusal' in resolved) {
              const err = new ProviderError([resolved.refusal], 'final', 'not connected');
              for (const i of indexes) out[i] = err;
              return;
            }
            const { provider } = resolved;
            const readAt = new Date();
            const loaded: Array<InvoiceDetails | Error> = await provider.loadDetails(indexes.map((i) => refs[i]!)).catch((err: Error) => indexes.map(() => err));
            indexes.forEach((i, j) => (out[i] = loaded[j] ?? new Error(`provider ${code} returned no result`)));
            // What the read found is kept: lines and taxes once final are then never read again, and status and
            // kpis are as fresh as this read. One ledger write per provider batch; its failure costs only that.
            const reads = loaded.filter((d): d is InvoiceDetails => !(d instanceof Error)).map((d) => ({ record: recordOf(d, provider.contentFinal(d.header)), readAt }));
            await ledger.recordReads(reads).catch((err: unknown) => options.logger?.warn({ err, provider: code }, 'could not store what an invoice read found'));
          }),
        );
        return out;
      },
      { cacheKeyFn: refKey, ...mode },
    ),
  };
}

