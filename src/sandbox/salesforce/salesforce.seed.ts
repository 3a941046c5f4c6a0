/**
 * The Salesforce sandbox org's order summaries, fulfillment orders and products. Amounts are decimal strings
 * (exact); the emulator prices them with decimal.js. Prices exclude tax, as in US sales tax and as Order
 * Management stores them; each line's tax is rounded half up to the cent.
 */

export interface SalesforceProductSeed {
  /** Product2 id (key prefix 01t). */
  id: string;
  name: string;
  sku: string;
}

export interface SalesforceTaxSeed {
  /** InvoiceLine.TaxName and TaxCode as the org's tax engine names them. */
  name: string;
  code: string;
  /** InvoiceLine.TaxRate, in percent. */
  ratePercent: string;
}

export interface SalesforceFulfillmentLineSeed {
  product: SalesforceProductSeed;
  quantity: string;
  /** Unit price before tax. */
  unitPrice: string;
  /** Price adjustments (promotions) on the whole line, before tax, as a positive amount. */
  adjustment: string;
  tax: SalesforceTaxSeed;
}

/** FulfillmentOrder.Status values of Order Management; Cancelled ones cannot be invoiced. */
export type SalesforceFulfillmentOrderStatus = 'Allocated' | 'Fulfilled' | 'Cancelled';

export interface SalesforceFulfillmentOrderSeed {
  /** FulfillmentOrder id (key prefix 0a3): what callers pass to create an invoice. */
  id: string;
  status: SalesforceFulfillmentOrderStatus;
  lines: readonly SalesforceFulfillmentLineSeed[];
}

export interface SalesforceOrderSummarySeed {
  /** OrderSummary id (key prefix 1Os): the invoice's order. */
  id: string;
  orderNumber: string;
  accountName: string;
  /** CurrencyIsoCode of the order and of its invoices (the sandbox is a multi-currency org). */
  currency: 'USD' | 'EUR';
  /** Invoice.DueDate is the invoice date plus this many days. */
  paymentTermDays: number;
  fulfillmentOrders: readonly SalesforceFulfillmentOrderSeed[];
}

/** The sandbox org's integration user's session id: send it as `Authorization: Bearer`. It never times out. */
export const SALESFORCE_SANDBOX_TOKEN = 'salesforce-sandbox-token';

/** The sandbox org's connected app: its consumer key and secret (client credentials flow, run as the integration user). */
export const SALESFORCE_SANDBOX_CLIENT_ID = '3MVG9sandbox.invoicing.subgraph.connected.app';
export const SALESFORCE_SANDBOX_CLIENT_SECRET = 'salesforce-sandbox-consumer-secret';
/** The integration user: the connected app's client credentials run-as user, and the JWT bearer flow's `sub`. */
export const SALESFORCE_SANDBOX_USERNAME = 'integration@invoicing.sandbox';

const product = (id: string, name: string, sku: string): SalesforceProductSeed => ({ id, name, sku });

export const SALESFORCE_SANDBOX_PRODUCTS = {
  trailShoes: product('01tDn000000WQvRIAW', 'Trail Running Shoes', 'TRS-42'),
  shipping: product('01tDn000000WQvSIAW', 'Standard Shipping', 'SHIP-STD'),
  espressoMachine: product('01tDn000000WQvTIAW', 'Espresso Machine', 'ESP-900'),
  coffeeBeans: product('01tDn000000WQvUIAW', 'Coffee Beans 1 lb', 'COF-1LB'),
  woolCoat: product('01tDn000000WQvVIAW', 'Wool Coat', 'COAT-WL-M'),
  paperback: product('01tDn000000WQvWIAW', 'Paperback Novel', 'BOOK-PB'),
  ceramicMug: product('01tDn000000WQvXIAW', 'Ceramic Mug', 'MUG-CER'),
  tablecloth: product('01tDn000000WQvYIAW', 'Linen Tablecloth', 'LIN-TC'),
  deskLamp: product('01tDn000000WQvZIAW', 'Desk Lamp', 'LAMP-DSK'),
  standingDesk: product('01tDn000000WQvaIAG', 'Standing Desk', 'DESK-STD'),
  stickers: product('01tDn000000WQvbIAG', 'Sticker Pack', 'STK-PK'),
  pencil: product('01tDn000000WQvcIAG', 'Pencil', 'PCL-HB'),
  sketchbook: product('01tDn000000WQvdIAG', 'Sketchbook', 'SKB-A5'),
} as const;

const tax = (name: string, code: string, ratePercent: string): SalesforceTaxSeed => ({ name, code, ratePercent });
const TAX = {
  california: tax('California Sales Tax', 'US-CA', '8.25'),
  massachusetts: tax('Massachusetts Sales Tax', 'US-MA', '6.25'),
  massachusettsFood: tax('Massachusetts Sales Tax', 'US-MA-FOOD', '0'),
  germany: tax('Umsatzsteuer', 'DE-VAT-19', '19'),
  germanyReduced: tax('Umsatzsteuer', 'DE-VAT-7', '7'),
  france: tax('TVA', 'FR-VAT-20', '20'),
  texas: tax('Texas Sales Tax', 'US-TX', '8.25'),
  newYorkCity: tax('New York City Sales Tax', 'US-NY-NYC', '8.875'),
} as const;

const line = (p: SalesforceProductSeed, quantity: string, unitPrice: string, t: SalesforceTaxSeed, adjustment = '0.00'): SalesforceFulfillmentLineSeed => ({
  product: p,
  quantity,
  unitPrice,
  adjustment,
  tax: t,
});

const P = SALESFORCE_SANDBOX_PRODUCTS;

/** A fulfillment order that was cancelled: create-invoice answers 2xx with `success: false`. */
export const SALESFORCE_SANDBOX_CANCELLED_FULFILLMENT_ORDER_ID = '0a3Dn000000cEXLIA2';

/**
 * Every order summary of the sandbox org, with its fulfillment orders (net + tax = total, per invoice):
 * - 1OsDn000000KCduKAG (USD): 0a3Dn000000cEXFIA2: 2 × Trail Running Shoes at 129.99, shipping 9.95, CA 8.25 % → 269.93 + 22.27 = 292.20
 * - 1OsDn000000KCdvKAG (USD): 0a3Dn000000cEXGIA2: 1 × Espresso Machine at 499.00 less 50.00, MA 6.25 % → 449.00 + 28.06 = 477.06;
 *   0a3Dn000000cEXHIA2: 4 × Coffee Beans 1 lb at 18.50 (food, 0 %), shipping 5.00 at 6.25 % → 79.00 + 0.31 = 79.31
 * - 1OsDn000000KCdwKAG (EUR): 0a3Dn000000cEXIIA2: 1 × Wool Coat at 249.00 (19 %), 2 × Paperback Novel at 12.99 (7 %), shipping 4.90 (19 %) → 279.88 + 50.06 = 329.94
 * - 1OsDn000000KCdxKAG (EUR): 0a3Dn000000cEXJIA2: 3 × Ceramic Mug at 14.90 less 4.47, TVA 20 % → 40.23 + 8.05 = 48.28;
 *   0a3Dn000000cEXKIA2: 1 × Linen Tablecloth at 59.00, shipping 6.90, TVA 20 % → 65.90 + 13.18 = 79.08
 * - 1OsDn000000KCdyKAG (USD): 0a3Dn000000cEXLIA2: cancelled (1 × Desk Lamp at 39.99), cannot be invoiced;
 *   0a3Dn000000cEXMIA2: 1 × Standing Desk at 649.00 less 65.00, shipping 49.00, TX 8.25 % → 633.00 + 52.22 = 685.22
 * - 1OsDn000000KCdzKAG (USD): 0a3Dn000000cEXNIA2: 3 × Sticker Pack at 0.10, 7 × Pencil at 0.20, 1 × Sketchbook at 12.95, NYC 8.875 % → 14.65 + 1.30 = 15.95
 */
export const SALESFORCE_SANDBOX_ORDER_SUMMARIES: readonly SalesforceOrderSummarySeed[] = [
  {
    id: '1OsDn000000KCduKAG',
    orderNumber: '00000101',
    accountName: 'Sierra Trail Co.',
    currency: 'USD',
    paymentTermDays: 30,
    fulfillmentOrders: [{ id: '0a3Dn000000cEXFIA2', status: 'Fulfilled', lines: [line(P.trailShoes, '2', '129.99', TAX.california), line(P.shipping, '1', '9.95', TAX.california)] }],
  },
  {
    id: '1OsDn000000KCdvKAG',
    orderNumber: '00000102',
    accountName: 'Beacon Hill Roasters',
    currency: 'USD',
    paymentTermDays: 30,
    fulfillmentOrders: [
      { id: '0a3Dn000000cEXGIA2', status: 'Fulfilled', lines: [line(P.espressoMachine, '1', '499.00', TAX.massachusetts, '50.00')] },
      { id: '0a3Dn000000cEXHIA2', status: 'Fulfilled', lines: [line(P.coffeeBeans, '4', '18.50', TAX.massachusettsFood), line(P.shipping, '1', '5.00', TAX.massachusetts)] },
    ],
  },
  {
    id: '1OsDn000000KCdwKAG',
    orderNumber: '00000103',
    accountName: 'Kreuzberg Leseecke GmbH',
    currency: 'EUR',
    paymentTermDays: 14,
    fulfillmentOrders: [
      {
        id: '0a3Dn000000cEXIIA2',
        status: 'Fulfilled',
        lines: [line(P.woolCoat, '1', '249.00', TAX.germany), line(P.paperback, '2', '12.99', TAX.germanyReduced), line(P.shipping, '1', '4.90', TAX.germany)],
      },
    ],
  },
  {
    id: '1OsDn000000KCdxKAG',
    orderNumber: '00000104',
    accountName: 'Maison Lumière SARL',
    currency: 'EUR',
    paymentTermDays: 45,
    fulfillmentOrders: [
      { id: '0a3Dn000000cEXJIA2', status: 'Fulfilled', lines: [line(P.ceramicMug, '3', '14.90', TAX.france, '4.47')] },
      { id: '0a3Dn000000cEXKIA2', status: 'Allocated', lines: [line(P.tablecloth, '1', '59.00', TAX.france), line(P.shipping, '1', '6.90', TAX.france)] },
    ],
  },
  {
    id: '1OsDn000000KCdyKAG',
    orderNumber: '00000105',
    accountName: 'Lone Star Workspaces',
    currency: 'USD',
    paymentTermDays: 30,
    fulfillmentOrders: [
      { id: SALESFORCE_SANDBOX_CANCELLED_FULFILLMENT_ORDER_ID, status: 'Cancelled', lines: [line(P.deskLamp, '1', '39.99', TAX.texas)] },
      { id: '0a3Dn000000cEXMIA2', status: 'Fulfilled', lines: [line(P.standingDesk, '1', '649.00', TAX.texas, '65.00'), line(P.shipping, '1', '49.00', TAX.texas)] },
    ],
  },
  {
    id: '1OsDn000000KCdzKAG',
    orderNumber: '00000106',
    accountName: 'Union Square Stationers',
    currency: 'USD',
    paymentTermDays: 30,
    fulfillmentOrders: [
      {
        id: '0a3Dn000000cEXNIA2',
        status: 'Fulfilled',
        lines: [line(P.stickers, '3', '0.10', TAX.newYorkCity), line(P.pencil, '7', '0.20', TAX.newYorkCity), line(P.sketchbook, '1', '12.95', TAX.newYorkCity)],
      },
    ],
  },
];
