/**
 * The Zuora sandbox tenant: OAuth clients, customer accounts and sales orders with their order line items.
 * Amounts are decimal strings (exact); the emulator prices them with decimal.js. Prices exclude tax; tax rates are
 * fractions, as Zuora's taxation items carry them (0.04 is 4 %).
 */

export type ZuoraCurrency = 'USD' | 'EUR';
export type ZuoraItemType = 'Product' | 'Fee' | 'Services';

export interface ZuoraClientSeed {
  clientId: string;
  clientSecret: string;
}

/** One tax a jurisdiction levies on a line; Zuora rounds each one per invoice item. */
export interface ZuoraTaxSeed {
  name: string;
  jurisdiction: string;
  /** A fraction: 0.19 is 19 %. */
  rate: string;
}

export interface ZuoraAccountSeed {
  id: string;
  accountNumber: string;
  name: string;
  currency: ZuoraCurrency;
  /** Days from the invoice date to its due date (Net 30 is 30). */
  paymentTermDays: number;
  /** The account's default payment method; without one, `collectPayment` is refused. */
  defaultPaymentMethod: 'CreditCard' | 'ACH' | null;
}

export interface ZuoraOrderLineItemSeed {
  /** Zuora's 32-hex id, what a fulfillment names as `orderLineItemId`. */
  id: string;
  itemNumber: string;
  itemName: string;
  productCode: string;
  itemType: ZuoraItemType;
  quantity: string;
  /** Price per unit before tax. */
  amountPerUnit: string;
  taxCode: string | null;
  taxes: readonly ZuoraTaxSeed[];
}

export interface ZuoraOrderSeed {
  id: string;
  orderNumber: string;
  accountNumber: string;
  orderDate: string;
  lineItems: readonly ZuoraOrderLineItemSeed[];
}

export interface ZuoraTenantSeed {
  clients: readonly ZuoraClientSeed[];
  accounts: readonly ZuoraAccountSeed[];
  orders: readonly ZuoraOrderSeed[];
}

/** The sandbox's OAuth client (Zuora client ids are UUIDs; secrets are at most 42 characters). */
export const ZUORA_SANDBOX_CLIENT_ID = '5f2b4c1e-9a7d-4e3b-8c6f-2d1a0b9e7c54';
export const ZUORA_SANDBOX_CLIENT_SECRET = 'zuora-sandbox-secret-Q7vN2pX8kR4m';

const OREGON: readonly ZuoraTaxSeed[] = []; // Oregon levies no sales tax.
const NEW_YORK_CITY: readonly ZuoraTaxSeed[] = [
  { name: 'NY STATE TAX', jurisdiction: 'NEW YORK', rate: '0.04' },
  { name: 'NYC LOCAL TAX', jurisdiction: 'NEW YORK CITY', rate: '0.045' },
  { name: 'MCTD SURCHARGE', jurisdiction: 'METROPOLITAN COMMUTER TRANSPORTATION DISTRICT', rate: '0.00375' },
];
const GERMANY_STANDARD: readonly ZuoraTaxSeed[] = [{ name: 'UMSATZSTEUER 19%', jurisdiction: 'DE', rate: '0.19' }];
const GERMANY_REDUCED: readonly ZuoraTaxSeed[] = [{ name: 'UMSATZSTEUER 7%', jurisdiction: 'DE', rate: '0.07' }];

const item = (
  id: string,
  itemNumber: string,
  itemName: string,
  productCode: string,
  quantity: string,
  amountPerUnit: string,
  taxCode: string | null,
  taxes: readonly ZuoraTaxSeed[],
  itemType: ZuoraItemType = 'Product',
): ZuoraOrderLineItemSeed => ({ id, itemNumber, itemName, productCode, itemType, quantity, amountPerUnit, taxCode, taxes });

export const ZUORA_SANDBOX_ACCOUNTS: readonly ZuoraAccountSeed[] = [
  { id: '8ad0887e8a0f4f2c018a10a1b2c30001', accountNumber: 'A00000001', name: 'Evergreen Outfitters (Portland, OR)', currency: 'USD', paymentTermDays: 30, defaultPaymentMethod: 'CreditCard' },
  { id: '8ad0887e8a0f4f2c018a10a1b2c30002', accountNumber: 'A00000002', name: 'Brooklyn Coffee Roasters (New York, NY)', currency: 'USD', paymentTermDays: 15, defaultPaymentMethod: 'CreditCard' },
  { id: '8ad0887e8a0f4f2c018a10a1b2c30003', accountNumber: 'A00000003', name: 'Rheinwerk Maschinenbau GmbH (Köln)', currency: 'EUR', paymentTermDays: 30, defaultPaymentMethod: null },
];

/**
 * The orders every sandbox tenant holds, with the totals of billing every line item in full (tax rounded per
 * item and per tax, half up):
 * - O-00000101 (A00000001, USD, no sales tax): 20 × Trail Water Filter at 10.00 (line item
 *   4028828c82819b740182821bb23e15c4, the one Zuora's documentation fulfills), 2 × Ultralight Tent 2P at 349.00 → total 898.00
 * - O-00000102 (A00000001, USD, no sales tax): 6 × Merino Base Layer at 64.50, 3 × Trekking Poles (pair) at 89.95 → total 656.85
 * - O-00000201 (A00000002, USD, NY 4 % + NYC 4.5 % + MCTD 0.375 %): 24 × Espresso Beans 1 lb at 18.50, 4 × Ceramic Pour-Over Dripper at 32.00 → subtotal 572.00, tax 50.77, total 622.77
 * - O-00000202 (A00000002, USD, same taxes): 1 × Commercial Grinder Burr Set at 1249.99, 2 × Barista Training Session at 150.00 → subtotal 1549.99, tax 137.57, total 1687.56
 * - O-00000301 (A00000003, EUR, 19 % / 7 % VAT): 8 × CNC Spindle Bearing at 142.30 (19 %), 8 × Maintenance Manual (print) at 24.90 (7 %) → subtotal 1337.60, tax 230.24, total 1567.84
 * - O-00000302 (A00000003, EUR, 19 % VAT): 3 × Servo Motor 750 W at 612.00, 1 × Calibration Service at 480.00 → subtotal 2316.00, tax 440.04, total 2756.04
 * A00000003 has no default payment method: `collectPayment` is refused for its line items.
 */
export const ZUORA_SANDBOX_ORDERS: readonly ZuoraOrderSeed[] = [
  {
    id: '8ad0887e8a0f4f2c018a10a1c4d50101',
    orderNumber: 'O-00000101',
    accountNumber: 'A00000001',
    orderDate: '2024-04-02',
    lineItems: [
      item('4028828c82819b740182821bb23e15c4', '1', 'Trail Water Filter', 'FLT-TRAIL-01', '20', '10.00', 'OR-EXEMPT', OREGON),
      item('8ad0887e8a0f4f2c018a10a1d6e70102', '2', 'Ultralight Tent 2P', 'TENT-UL-2P', '2', '349.00', 'OR-EXEMPT', OREGON),
    ],
  },
  {
    id: '8ad0887e8a0f4f2c018a10a1c4d50102',
    orderNumber: 'O-00000102',
    accountNumber: 'A00000001',
    orderDate: '2024-04-05',
    lineItems: [
      item('8ad0887e8a0f4f2c018a10a1d6e70201', '1', 'Merino Base Layer', 'MERINO-BL-M', '6', '64.50', 'OR-EXEMPT', OREGON),
      item('8ad0887e8a0f4f2c018a10a1d6e70202', '2', 'Trekking Poles (pair)', 'POLES-CARBON', '3', '89.95', 'OR-EXEMPT', OREGON),
    ],
  },
  {
    id: '8ad0887e8a0f4f2c018a10a1c4d50201',
    orderNumber: 'O-00000201',
    accountNumber: 'A00000002',
    orderDate: '2024-04-08',
    lineItems: [
      item('8ad0887e8a0f4f2c018a10a1d6e70301', '1', 'Espresso Beans 1 lb', 'BEANS-ESP-1LB', '24', '18.50', 'NY-NYC', NEW_YORK_CITY),
      item('8ad0887e8a0f4f2c018a10a1d6e70302', '2', 'Ceramic Pour-Over Dripper', 'DRIP-CERAMIC', '4', '32.00', 'NY-NYC', NEW_YORK_CITY),
    ],
  },
  {
    id: '8ad0887e8a0f4f2c018a10a1c4d50202',
    orderNumber: 'O-00000202',
    accountNumber: 'A00000002',
    orderDate: '2024-04-10',
    lineItems: [
      item('8ad0887e8a0f4f2c018a10a1d6e70401', '1', 'Commercial Grinder Burr Set', 'BURR-SET-83', '1', '1249.99', 'NY-NYC', NEW_YORK_CITY),
      item('8ad0887e8a0f4f2c018a10a1d6e70402', '2', 'Barista Training Session', 'SVC-BARISTA-2H', '2', '150.00', 'NY-NYC', NEW_YORK_CITY, 'Services'),
    ],
  },
  {
    id: '8ad0887e8a0f4f2c018a10a1c4d50301',
    orderNumber: 'O-00000301',
    accountNumber: 'A00000003',
    orderDate: '2024-04-11',
    lineItems: [
      item('8ad0887e8a0f4f2c018a10a1d6e70501', '1', 'CNC Spindle Bearing', 'BRG-SPINDLE-7014', '8', '142.30', 'DE-VAT-19', GERMANY_STANDARD),
      item('8ad0887e8a0f4f2c018a10a1d6e70502', '2', 'Maintenance Manual (print)', 'DOC-MANUAL-PRINT', '8', '24.90', 'DE-VAT-7', GERMANY_REDUCED),
    ],
  },
  {
    id: '8ad0887e8a0f4f2c018a10a1c4d50302',
    orderNumber: 'O-00000302',
    accountNumber: 'A00000003',
    orderDate: '2024-04-15',
    lineItems: [
      item('8ad0887e8a0f4f2c018a10a1d6e70601', '1', 'Servo Motor 750 W', 'SERVO-750W', '3', '612.00', 'DE-VAT-19', GERMANY_STANDARD),
      item('8ad0887e8a0f4f2c018a10a1d6e70602', '2', 'Calibration Service', 'SVC-CALIBRATION', '1', '480.00', 'DE-VAT-19', GERMANY_STANDARD, 'Services'),
    ],
  },
];

/** A fresh copy of the sandbox tenant: one OAuth client, three accounts, the orders of ZUORA_SANDBOX_ORDERS. */
export function zuoraSandboxTenant(): ZuoraTenantSeed {
  return {
    clients: [{ clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: ZUORA_SANDBOX_CLIENT_SECRET }],
    accounts: ZUORA_SANDBOX_ACCOUNTS.map((a) => ({ ...a })),
    orders: ZUORA_SANDBOX_ORDERS.map((o) => ({ ...o, lineItems: o.lineItems.map((i) => ({ ...i, taxes: i.taxes.map((t) => ({ ...t })) })) })),
  };
}
