import { priceSallaOrder } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_ORDERS } from '../../src/sandbox/salla/salla.seed';

/** An order as the development orders subgraph serves it. */
export interface CatalogOrder {
  id: string;
  number: string;
  provider: string;
  /** Exact decimal text. */
  total: string;
  currencyCode: string;
  createdAt: string;
}

/** Sandbox orders are undated; give them stable, distinct creation dates so pages have an order. */
const dated = (i: number) => new Date(Date.UTC(2026, 10, 1, 9, 0, 0) - i * 3_600_000).toISOString();

function sallaOrders(): CatalogOrder[] {
  return SALLA_SANDBOX_ORDERS.map((o, i) => ({
    id: String(o.id),
    number: `#${o.id}`,
    provider: 'SALLA',
    total: priceSallaOrder(o).total.toFixed(2),
    currencyCode: o.currency,
    createdAt: dated(i),
  }));
}

/** Every sandbox order of every provider's emulator, as the orders subgraph serves them. */
export function sandboxOrders(): CatalogOrder[] {
  return [...sallaOrders()];
}
