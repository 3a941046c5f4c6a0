import { salesforceId } from '../src/sandbox/salesforce/salesforce.ids';
import { SALESFORCE_SANDBOX_PRODUCTS, type SalesforceOrderSummarySeed } from '../src/sandbox/salesforce/salesforce.seed';
import type { SallaOrderSeed, SallaStoreSeed } from '../src/sandbox/salla/salla.seed';
import { SALLA_SANDBOX_TOKEN } from '../src/sandbox/salla/salla.seed';

/** Bench orders' ids start here, far from the sandbox's own. */
export const FIRST_BENCH_ORDER = 7_000_000_000;
/** Salla orders in the bench's store; each create in (c) uses one up. */
export const SALLA_BENCH_ORDERS = 150_000;

/** `count` Salla orders of two or three items each, with shipping and VAT like the sandbox's. */
export function sallaBenchStore(count: number): SallaStoreSeed {
  const orders: SallaOrderSeed[] = [];
  for (let i = 0; i < count; i++) {
    const id = FIRST_BENCH_ORDER + i;
    orders.push({
      id,
      currency: 'SAR',
      taxPercent: '15',
      paymentMethod: 'credit_card',
      discount: i % 3 === 0 ? '5.00' : '0.00',
      shippingCost: '20.00',
      cashOnDeliveryCost: '0.00',
      items: Array.from({ length: 2 + (i % 2) }, (_, j) => ({
        itemId: id * 10 + j,
        productId: 1_900_000_000 + j,
        name: `Bench item ${j + 1}`,
        sku: `BENCH-${j + 1}`,
        quantity: 1 + j,
        price: `${(19.95 + j * 10).toFixed(2)}`,
        discount: '0.00',
        type: 'product' as const,
      })),
    });
  }
  return {
    id: 1305146799,
    name: 'Salla bench store',
    invoiceIssuer: 'custom',
    vatNumber: '300000000000003',
    tokens: [{ token: SALLA_SANDBOX_TOKEN, scopes: ['orders.read_write'] }],
    orders,
  };
}

/** `count` Salesforce order summaries of one fulfillment order each (two lines, CA sales tax). */
export function salesforceBenchOrders(count: number): SalesforceOrderSummarySeed[] {
  const P = SALESFORCE_SANDBOX_PRODUCTS;
  const tax = { name: 'California Sales Tax', code: 'US-CA', ratePercent: '8.25' };
  return Array.from({ length: count }, (_, i) => ({
    id: salesforceId('1Os', 900_000 + i),
    orderNumber: String(90_000_000 + i),
    accountName: `Bench account ${i}`,
    currency: 'USD' as const,
    paymentTermDays: 30,
    fulfillmentOrders: [
      {
        id: salesforceId('0a3', 900_000 + i),
        status: 'Fulfilled' as const,
        lines: [
          { product: P.trailShoes, quantity: String(1 + (i % 3)), unitPrice: '129.99', adjustment: '0.00', tax },
          { product: P.shipping, quantity: '1', unitPrice: '9.95', adjustment: '0.00', tax },
        ],
      },
    ],
  }));
}
