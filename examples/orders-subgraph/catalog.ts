import { commerceOrderTotal } from '../../src/sandbox/commerce/commerce.emulator';
import { COMMERCE_SANDBOX_CURRENCY, COMMERCE_SANDBOX_ORDERS } from '../../src/sandbox/commerce/commerce.seed';
import { priceExsitedOrder } from '../../src/sandbox/exsited/exsited.emulator';
import { EXSITED_SANDBOX_ACCOUNTS, EXSITED_SANDBOX_ORDERS, EXSITED_SANDBOX_TAX_CODES } from '../../src/sandbox/exsited/exsited.seed';
import { priceFulfillmentOrder } from '../../src/sandbox/salesforce/salesforce.emulator';
import { SALESFORCE_SANDBOX_ORDER_SUMMARIES } from '../../src/sandbox/salesforce/salesforce.seed';
import { priceSallaOrder } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_ORDERS } from '../../src/sandbox/salla/salla.seed';
import { priceZuoraOrder } from '../../src/sandbox/zuora/zuora.emulator';
import { ZUORA_SANDBOX_ACCOUNTS, ZUORA_SANDBOX_ORDERS } from '../../src/sandbox/zuora/zuora.seed';

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

function exsitedOrders(): CatalogOrder[] {
  return EXSITED_SANDBOX_ORDERS.map((o, i) => {
    const account = EXSITED_SANDBOX_ACCOUNTS.find((a) => a.id === o.accountId)!;
    return {
      id: o.id,
      number: o.id,
      provider: 'EXSITED',
      total: priceExsitedOrder(o, account, EXSITED_SANDBOX_TAX_CODES).total.toFixed(2),
      currencyCode: account.currency,
      createdAt: dated(100 + i),
    };
  });
}

/** A Salesforce order is its OrderSummary (CONTRACT's Order.id); its total spans its fulfillment orders. */
function salesforceOrders(): CatalogOrder[] {
  return SALESFORCE_SANDBOX_ORDER_SUMMARIES.map((o, i) => ({
    id: o.id,
    number: o.orderNumber,
    provider: 'SALESFORCE',
    total: o.fulfillmentOrders
      .map((fo) => priceFulfillmentOrder(fo).totalAmountWithTax)
      .reduce((a, b) => a.plus(b))
      .toFixed(2),
    currencyCode: o.currency,
    createdAt: dated(300 + i),
  }));
}

function zuoraOrders(): CatalogOrder[] {
  return ZUORA_SANDBOX_ORDERS.map((o, i) => ({
    id: o.orderNumber,
    number: o.orderNumber,
    provider: 'ZUORA',
    total: priceZuoraOrder(o).total.toFixed(2),
    currencyCode: ZUORA_SANDBOX_ACCOUNTS.find((a) => a.accountNumber === o.accountNumber)!.currency,
    createdAt: `${o.orderDate}T09:00:00.000Z`,
  }));
}

function commerceOrders(): CatalogOrder[] {
  // The order whose product was deleted cannot be priced: it has no total to show.
  return COMMERCE_SANDBOX_ORDERS.filter((o) => o.items.every((i) => i.unitPrice !== null)).map((o, i) => ({
    id: o.id,
    number: o.id.slice(-8).toUpperCase(),
    provider: 'COMMERCE',
    total: commerceOrderTotal(o).toFixed(2),
    currencyCode: COMMERCE_SANDBOX_CURRENCY,
    createdAt: dated(200 + i),
  }));
}

/** Every sandbox order of every provider's emulator, as the orders subgraph serves them. */
export function sandboxOrders(): CatalogOrder[] {
  return [...salesforceOrders(), ...sallaOrders(), ...zuoraOrders(), ...exsitedOrders(), ...commerceOrders()];
}
