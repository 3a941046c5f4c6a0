/**
 * The Commerce sandbox's orders, admin and token. Amounts are decimal strings (exact); the emulator totals them
 * with decimal.js. The API's invoices show only quantities and a total, so names and prices live here only.
 */

export interface CommerceLineItemSeed {
  /** The order line's ObjectId (`lineItemId` on an invoice line). */
  id: string;
  name: string;
  quantity: number;
  /** Unit price in the sandbox currency; null: the product was deleted, and the API fails with its 500 on create. */
  unitPrice: string | null;
}

export interface CommerceOrderSeed {
  id: string;
  items: readonly CommerceLineItemSeed[];
}

export interface CommerceAdminSeed {
  id: string;
  name: string;
  type: 'admin';
}

/** The only sandbox credential, sent as the `accessToken` header. */
export const COMMERCE_SANDBOX_TOKEN = 'commerce-sandbox-token';
/** What the sandbox's amounts are in (COMMERCE_CURRENCY for the real API). */
export const COMMERCE_SANDBOX_CURRENCY = 'USD';
/** The account (tenant) the token belongs to, as the seed's `entityId`. */
export const COMMERCE_SANDBOX_ENTITY_ID = '1';
/** The admin the token acts as: the seed's `createdBy`. */
export const COMMERCE_SANDBOX_ADMIN: CommerceAdminSeed = Object.freeze({ id: '6852dc137d290c8e310f258e', name: 'Sam Nabahani', type: 'admin' });

/** The seed's sample response bills this order; its line ids and quantities are the sample's. */
export const COMMERCE_SAMPLE_ORDER_ID = '6932f96b8cd64c28a4fb5873';
/** The seed's sample request names this order. */
export const COMMERCE_REQUEST_ORDER_ID = '69ab24db449866373d5e3e35';
/** An order whose product was deleted: creating its invoice fails with the documented 500, every time. */
export const COMMERCE_SANDBOX_FAILING_ORDER_ID = '69ab2c00449866373d5e3e60';

const item = (id: string, name: string, quantity: number, unitPrice: string | null): CommerceLineItemSeed => ({ id, name, quantity, unitPrice });

/**
 * Every sandbox order, totals in USD (Σ quantity × unit price, exact):
 * - 6932f96b8cd64c28a4fb5873: 30 × Cotton T-Shirt at 49.99, 20 × Denim Jacket at 64.50, 10 × Leather Belt at 45.99, 5 × Wool Sweater at 69.90, 2 × Canvas Backpack at 42.84 → 3684.78 (the seed's sample)
 * - 69ab24db449866373d5e3e35: 1 × Wireless Mouse at 24.99, 2 × USB-C Hub at 39.95 → 104.89 (the seed's request)
 * - 69ab2a10449866373d5e3e40: 3 × Sticker Sheet at 0.10, 7 × Pencil at 0.20, 1 × Sketchbook at 12.95 → 14.65 (binary floats would not say so)
 * - 69ab2b77449866373d5e3e50: 1 × Espresso Machine at 1299.00, 4 × Espresso Cup at 8.75 → 1334.00 (the API writes 1334)
 * - 69ab2c00449866373d5e3e60: 1 × Discontinued Lamp, product deleted → 500 on create
 */
export const COMMERCE_SANDBOX_ORDERS: readonly CommerceOrderSeed[] = [
  {
    id: COMMERCE_SAMPLE_ORDER_ID,
    items: [
      item('6932f96b8cd64c28a4fb5876', 'Cotton T-Shirt', 30, '49.99'),
      item('6932f96b8cd64c28a4fb5877', 'Denim Jacket', 20, '64.50'),
      item('6932f96b8cd64c28a4fb5878', 'Leather Belt', 10, '45.99'),
      item('6932f96b8cd64c28a4fb5879', 'Wool Sweater', 5, '69.90'),
      item('6932f96b8cd64c28a4fb587a', 'Canvas Backpack', 2, '42.84'),
    ],
  },
  {
    id: COMMERCE_REQUEST_ORDER_ID,
    items: [item('69ab24db449866373d5e3e36', 'Wireless Mouse', 1, '24.99'), item('69ab24db449866373d5e3e37', 'USB-C Hub', 2, '39.95')],
  },
  {
    id: '69ab2a10449866373d5e3e40',
    items: [
      item('69ab2a10449866373d5e3e41', 'Sticker Sheet', 3, '0.10'),
      item('69ab2a10449866373d5e3e42', 'Pencil', 7, '0.20'),
      item('69ab2a10449866373d5e3e43', 'Sketchbook', 1, '12.95'),
    ],
  },
  {
    id: '69ab2b77449866373d5e3e50',
    items: [item('69ab2b77449866373d5e3e51', 'Espresso Machine', 1, '1299.00'), item('69ab2b77449866373d5e3e52', 'Espresso Cup', 4, '8.75')],
  },
  {
    id: COMMERCE_SANDBOX_FAILING_ORDER_ID,
    items: [item('69ab2c00449866373d5e3e61', 'Discontinued Lamp', 1, null)],
  },
];
