import type { SallaOrderSeed, SallaStoreSeed } from '../src/sandbox/salla/salla.seed';
import { SALLA_SANDBOX_TOKEN } from '../src/sandbox/salla/salla.seed';

/** Bench orders' ids start here, far from the sandbox's own. */
export const FIRST_BENCH_ORDER = 7_000_000_000;

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
