/**
 * The Salla sandbox's stores and orders. Amounts are decimal strings (exact); the emulator prices them with
 * decimal.js. Prices exclude VAT, as in the seed's example (90.50 + 15 % = 104.08).
 */

export type SallaInvoiceIssuer = 'salla' | 'custom';
export type SallaItemType = 'product' | 'service' | 'group_products' | 'codes' | 'digital' | 'food' | 'donating';
export type SallaScope = 'orders.read' | 'orders.read_write';

export interface SallaOrderItemSeed {
  /** The order item's id (`item_id` on an invoice line). */
  itemId: number;
  productId: number;
  name: string;
  sku: string;
  quantity: number;
  /** Unit price before VAT. */
  price: string;
  /** Discount on the whole line, before VAT. */
  discount: string;
  type: SallaItemType;
}

export interface SallaOrderSeed {
  id: number;
  currency: 'SAR';
  /** VAT rate in percent, applied to items, shipping and cash-on-delivery fees. */
  taxPercent: string;
  paymentMethod: string;
  items: readonly SallaOrderItemSeed[];
  /** Order-level discount (a coupon), before VAT. */
  discount: string;
  shippingCost: string;
  cashOnDeliveryCost: string;
}

export interface SallaTokenSeed {
  token: string;
  scopes: readonly SallaScope[];
}

export interface SallaStoreSeed {
  id: number;
  name: string;
  /** Who issues the store's invoices (Store Settings): Salla (data_type `order`) or the merchant (`data`, `url`, `file`). */
  invoiceIssuer: SallaInvoiceIssuer;
  /** Printed in the ZATCA QR code of invoices Salla issues. */
  vatNumber: string;
  tokens: readonly SallaTokenSeed[];
  /**
   * Refresh tokens the store's merchant granted the sandbox app (what Salla's `app.store.authorize` event carries):
   * each starts a chain of single-use refresh tokens at the emulator's OAuth token endpoint.
   */
  refreshTokens?: readonly SallaTokenSeed[];
  orders: readonly SallaOrderSeed[];
}

/** Store with a custom invoice issuer: `data`, `url` and `file` invoices are accepted, `order` is refused. */
export const SALLA_SANDBOX_TOKEN = 'salla-sandbox-token';
/** Store whose invoices Salla issues: only data_type `order` is accepted. */
export const SALLA_SANDBOX_SALLA_ISSUER_TOKEN = 'salla-sandbox-salla-issuer-token';
/** Same store as SALLA_SANDBOX_TOKEN with scope `orders.read` only: it reads invoices, creating one gives 401. */
export const SALLA_SANDBOX_READONLY_TOKEN = 'salla-sandbox-readonly-token';
/** The sandbox app's OAuth client (Salla Partners Portal: App Keys), accepted by the emulator's token endpoint. */
export const SALLA_SANDBOX_CLIENT_ID = 'salla-sandbox-client-id';
export const SALLA_SANDBOX_CLIENT_SECRET = 'salla-sandbox-client-secret';
/** A refresh token of the custom-invoices store (orders.read_write, offline_access): single use, as Salla's are. */
export const SALLA_SANDBOX_REFRESH_TOKEN = 'salla-sandbox-refresh-token';

const item = (
  itemId: number,
  productId: number,
  name: string,
  sku: string,
  quantity: number,
  price: string,
  discount = '0.00',
  type: SallaItemType = 'product',
): SallaOrderItemSeed => ({ itemId, productId, name, sku, quantity, price, discount, type });

const order = (
  id: number,
  paymentMethod: string,
  items: SallaOrderItemSeed[],
  costs: { discount?: string; shippingCost?: string; cashOnDeliveryCost?: string } = {},
): SallaOrderSeed => ({
  id,
  currency: 'SAR',
  taxPercent: '15',
  paymentMethod,
  items,
  discount: costs.discount ?? '0.00',
  shippingCost: costs.shippingCost ?? '0.00',
  cashOnDeliveryCost: costs.cashOnDeliveryCost ?? '0.00',
});

/**
 * The orders every sandbox store holds. Totals (VAT 15 % on items net of their discounts, less the order
 * discount, plus shipping and cash on delivery):
 * - 1371877152: 1 × فستان فراولة at 90.50 → subtotal 90.50, VAT 13.58, total 104.08 (the seed's example item)
 * - 389701957: 2 × Cotton T-Shirt at 45.00, 1 × Denim Jeans at 120.00 less 10.00, shipping 25.00 → total 258.75
 * - 213320125: 1 × Leather Wallet at 150.00, 3 × Steel Key Chain at 12.50, order discount 20.00, shipping 18.00 → total 213.33
 * - 1818813486: 1 × Wireless Earbuds at 249.00 less 24.90, 2 × USB-C Charging Cable at 29.95, shipping 30.00, cash on delivery 15.00 → total 378.35
 * - 1056403210: 2 × Arabic Coffee Beans 1 kg at 85.00 less 5.00, 1 × Brass Dallah Coffee Pot at 175.00, 4 × Sukkari Dates 500 g at 32.75, order discount 50.00, cash on delivery 10.00 → total 495.65
 * - 1124455667: 1 × Yoga Mat at 99.99, 1 × Resistance Bands Set at 64.50 less 6.45, 2 × Insulated Water Bottle at 39.90, order discount 15.00, shipping 22.50 → total 282.14
 */
export const SALLA_SANDBOX_ORDERS: readonly SallaOrderSeed[] = [
  order(1371877152, 'credit_card', [item(50114011, 1906433311, 'فستان فراولة', 'DRESS-STRAWBERRY-M', 1, '90.50')]),
  order(
    389701957,
    'mada',
    [
      item(50114021, 1906433321, 'Cotton T-Shirt', 'TSHIRT-COTTON-M', 2, '45.00'),
      item(50114022, 1906433322, 'Denim Jeans', 'JEANS-DENIM-32', 1, '120.00', '10.00'),
    ],
    { shippingCost: '25.00' },
  ),
  order(
    213320125,
    'credit_card',
    [
      item(50114031, 1906433331, 'Leather Wallet', 'WALLET-LEATHER-BR', 1, '150.00'),
      item(50114032, 1906433332, 'Steel Key Chain', 'KEYCHAIN-STEEL', 3, '12.50'),
    ],
    { discount: '20.00', shippingCost: '18.00' },
  ),
  order(
    1818813486,
    'cod',
    [
      item(50114041, 1906433341, 'Wireless Earbuds', 'EARBUDS-WL-BLACK', 1, '249.00', '24.90'),
      item(50114042, 1906433342, 'USB-C Charging Cable', 'CABLE-USBC-1M', 2, '29.95'),
    ],
    { shippingCost: '30.00', cashOnDeliveryCost: '15.00' },
  ),
  order(
    1056403210,
    'cod',
    [
      item(50114051, 1906433351, 'Arabic Coffee Beans 1 kg', 'COFFEE-ARABIC-1KG', 2, '85.00', '5.00', 'food'),
      item(50114052, 1906433352, 'Brass Dallah Coffee Pot', 'DALLAH-BRASS', 1, '175.00'),
      item(50114053, 1906433353, 'Sukkari Dates 500 g', 'DATES-SUKKARI-500', 4, '32.75', '0.00', 'food'),
    ],
    { discount: '50.00', cashOnDeliveryCost: '10.00' },
  ),
  order(
    1124455667,
    'apple_pay',
    [
      item(50114061, 1906433361, 'Yoga Mat', 'YOGA-MAT-6MM', 1, '99.99'),
      item(50114062, 1906433362, 'Resistance Bands Set', 'BANDS-SET-5', 1, '64.50', '6.45'),
      item(50114063, 1906433363, 'Insulated Water Bottle', 'BOTTLE-SS-750', 2, '39.90'),
    ],
    { discount: '15.00', shippingCost: '22.50' },
  ),
];

/** A fresh copy of the sandbox's two stores, each holding every order of SALLA_SANDBOX_ORDERS. */
export function sallaSandboxStores(): SallaStoreSeed[] {
  const orders = () => SALLA_SANDBOX_ORDERS.map((o) => ({ ...o, items: o.items.map((i) => ({ ...i })) }));
  return [
    {
      id: 1305146709,
      name: 'Salla Sandbox Store (custom invoices)',
      invoiceIssuer: 'custom',
      vatNumber: '300000000000003',
      tokens: [
        { token: SALLA_SANDBOX_TOKEN, scopes: ['orders.read_write'] },
        { token: SALLA_SANDBOX_READONLY_TOKEN, scopes: ['orders.read'] },
      ],
      refreshTokens: [{ token: SALLA_SANDBOX_REFRESH_TOKEN, scopes: ['orders.read_write'] }],
      orders: orders(),
    },
    {
      id: 1305146710,
      name: 'Salla Sandbox Store (Salla invoices)',
      invoiceIssuer: 'salla',
      vatNumber: '310122393500003',
      tokens: [{ token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN, scopes: ['orders.read_write'] }],
      orders: orders(),
    },
  ];
}
