/**
 * The Exsited sandbox: one company with three customer accounts (AUD, USD, NZD), their tax codes, six orders and
 * the API clients allowed in. Amounts are decimal strings (exact); the emulator prices them with decimal.js.
 */

export interface ExsitedTaxCodeSeed {
  uuid: string;
  /** What Exsited prints on a line (`tax.code`). */
  code: string;
  /** Percent, as a decimal string ("10", "8.875"). */
  rate: string;
}

export interface ExsitedAccountSeed {
  id: string;
  name: string;
  /** ISO 4217 code; Exsited's currency object carries it as `name`. */
  currency: 'AUD' | 'USD' | 'NZD';
  currencyUuid: string;
  /** The tax code of lines that name none. */
  taxCode: string;
  /** Days from issue to due date. */
  paymentTermDays: number;
}

export interface ExsitedOrderLineSeed {
  itemId: string;
  itemUuid: string;
  quantity: string;
  uom: string;
  /** Unit price: excluding tax, or including it when the order's prices are tax inclusive. */
  price: string;
  /** Discount on the whole line, on the same basis as the price. */
  discount: string;
  /** Overrides the account's tax code (a zero-rated export line, say). */
  taxCode?: string;
  warehouse: string;
  accountingCode: string;
}

export interface ExsitedOrderSeed {
  id: string;
  accountId: string;
  priceTaxInclusive: boolean;
  /** First day of the first billing period (YYYY-MM-DD). */
  startDate: string;
  /** `one_off` orders are invoiced once; `monthly` orders once per calendar month from startDate. */
  billing: 'one_off' | 'monthly';
  customerPurchaseOrderId: string;
  channel: string;
  lines: readonly ExsitedOrderLineSeed[];
}

export interface ExsitedClientSeed {
  clientId: string;
  clientSecret: string;
  /** Shown as `created_by` on what the client creates. */
  name: string;
  /** A read-only client is refused writes with 403 "access denied". */
  canWrite: boolean;
}

export interface ExsitedSandboxSeed {
  taxCodes: readonly ExsitedTaxCodeSeed[];
  accounts: readonly ExsitedAccountSeed[];
  orders: readonly ExsitedOrderSeed[];
  clients: readonly ExsitedClientSeed[];
}

/** The sandbox's read-write API client (what `npm start` uses when EXSITED_BASE_URL is unset). */
export const EXSITED_SANDBOX_CLIENT_ID = 'exsited-sandbox-client';
export const EXSITED_SANDBOX_CLIENT_SECRET = 'exsited-sandbox-secret';
/** A client that may read invoices but not create them: creating answers 403. */
export const EXSITED_SANDBOX_READONLY_CLIENT_ID = 'exsited-sandbox-readonly-client';
export const EXSITED_SANDBOX_READONLY_CLIENT_SECRET = 'exsited-sandbox-readonly-secret';

export const EXSITED_SANDBOX_TAX_CODES: readonly ExsitedTaxCodeSeed[] = [
  { uuid: '6f1c2a3e-0b7d-4c1a-9e52-1d0a7b3c4e01', code: 'GST', rate: '10' },
  { uuid: '6f1c2a3e-0b7d-4c1a-9e52-1d0a7b3c4e02', code: 'NY-SALES', rate: '8.875' },
  { uuid: '6f1c2a3e-0b7d-4c1a-9e52-1d0a7b3c4e03', code: 'GST-NZ', rate: '15' },
  { uuid: '6f1c2a3e-0b7d-4c1a-9e52-1d0a7b3c4e04', code: 'ZERO', rate: '0' },
];

export const EXSITED_SANDBOX_ACCOUNTS: readonly ExsitedAccountSeed[] = [
  { id: 'ACC-000101', name: 'Harbour Coffee Roasters Pty Ltd', currency: 'AUD', currencyUuid: '3a9e7c11-52b4-4d0e-8f6a-0c2d1e4b5a01', taxCode: 'GST', paymentTermDays: 14 },
  { id: 'ACC-000102', name: 'Lakeside Analytics Inc.', currency: 'USD', currencyUuid: '3a9e7c11-52b4-4d0e-8f6a-0c2d1e4b5a02', taxCode: 'NY-SALES', paymentTermDays: 30 },
  { id: 'ACC-000103', name: 'Kauri Outdoor Ltd', currency: 'NZD', currencyUuid: '3a9e7c11-52b4-4d0e-8f6a-0c2d1e4b5a03', taxCode: 'GST-NZ', paymentTermDays: 20 },
];

const line = (itemId: string, n: number, quantity: string, price: string, extra: Partial<ExsitedOrderLineSeed> = {}): ExsitedOrderLineSeed => ({
  itemId,
  itemUuid: `9d4b0e2c-7a61-4f3b-b8c5-2e6f0a1d${String(n).padStart(4, '0')}`,
  quantity,
  uom: 'Each',
  price,
  discount: '0.00',
  warehouse: 'Main Warehouse',
  accountingCode: '4000 Sales',
  ...extra,
});

/**
 * The orders every sandbox holds. Line tax is rounded half up to the cent per line; on a tax-inclusive order the
 * tax is the price's tax fraction (rate / (100 + rate)). Totals:
 * - ORD-7K2M4P (AUD, GST 10 %): 2 × SVC-ESPRESSO at 180.00, 3 × BEANS-1KG at 42.50 less 12.75 → subtotal 474.75, tax 47.48, total 522.23
 * - ORD-8N3Q5R (AUD, prices include GST 10 %): 1 × TRAINING-BARISTA at 495.00, 4 × CUPSET-CERAMIC at 39.95 less 15.98 → subtotal 580.75, tax 58.07, total 638.82
 * - ORD-9P4S6T (USD, NY sales tax 8.875 %, billed monthly): 12 × SEAT-ANALYTICS at 49.00 less 58.80 → per month subtotal 529.20, tax 46.97, total 576.17
 * - ORD-2V5X7Z (USD, NY sales tax 8.875 %): 1 × SETUP-DWH at 2,400.00, 10 × CONSULT-HOUR at 185.00 less 185.00 → subtotal 4,065.00, tax 360.77, total 4,425.77
 * - ORD-3W6Y8B (NZD, prices include GST 15 %): 2 × PACK-65L at 389.90, 1 × MERINO-BASE at 129.00 less 19.35 → subtotal 773.44, tax 116.01, total 889.45
 * - ORD-4X7Z9C (NZD, GST 15 % and a zero-rated line): 3 × KAYAK-HIRE-DAY at 120.00, 1 × FREIGHT-EXPORT at 85.00 (ZERO) → subtotal 445.00, tax 54.00, total 499.00
 */
export const EXSITED_SANDBOX_ORDERS: readonly ExsitedOrderSeed[] = [
  {
    id: 'ORD-7K2M4P',
    accountId: 'ACC-000101',
    priceTaxInclusive: false,
    startDate: '2024-05-01',
    billing: 'one_off',
    customerPurchaseOrderId: 'PO-4471',
    channel: 'Web store',
    lines: [line('SVC-ESPRESSO', 1, '2', '180.00'), line('BEANS-1KG', 2, '3', '42.50', { discount: '12.75', uom: 'Bag' })],
  },
  {
    id: 'ORD-8N3Q5R',
    accountId: 'ACC-000101',
    priceTaxInclusive: true,
    startDate: '2024-05-03',
    billing: 'one_off',
    customerPurchaseOrderId: '',
    channel: 'Web store',
    lines: [line('TRAINING-BARISTA', 3, '1', '495.00', { uom: 'Seat', accountingCode: '4100 Training' }), line('CUPSET-CERAMIC', 4, '4', '39.95', { discount: '15.98', uom: 'Set' })],
  },
  {
    id: 'ORD-9P4S6T',
    accountId: 'ACC-000102',
    priceTaxInclusive: false,
    startDate: '2024-05-01',
    billing: 'monthly',
    customerPurchaseOrderId: 'LA-2024-017',
    channel: 'Sales team',
    lines: [line('SEAT-ANALYTICS', 5, '12', '49.00', { discount: '58.80', uom: 'Seat', warehouse: '', accountingCode: '4200 Subscriptions' })],
  },
  {
    id: 'ORD-2V5X7Z',
    accountId: 'ACC-000102',
    priceTaxInclusive: false,
    startDate: '2024-05-06',
    billing: 'one_off',
    customerPurchaseOrderId: 'LA-2024-018',
    channel: 'Sales team',
    lines: [
      line('SETUP-DWH', 6, '1', '2400.00', { uom: 'Project', warehouse: '', accountingCode: '4300 Services' }),
      line('CONSULT-HOUR', 7, '10', '185.00', { discount: '185.00', uom: 'Hour', warehouse: '', accountingCode: '4300 Services' }),
    ],
  },
  {
    id: 'ORD-3W6Y8B',
    accountId: 'ACC-000103',
    priceTaxInclusive: true,
    startDate: '2024-05-02',
    billing: 'one_off',
    customerPurchaseOrderId: '',
    channel: 'Web store',
    lines: [line('PACK-65L', 8, '2', '389.90'), line('MERINO-BASE', 9, '1', '129.00', { discount: '19.35' })],
  },
  {
    id: 'ORD-4X7Z9C',
    accountId: 'ACC-000103',
    priceTaxInclusive: false,
    startDate: '2024-05-04',
    billing: 'one_off',
    customerPurchaseOrderId: 'KO-889',
    channel: 'Phone',
    lines: [line('KAYAK-HIRE-DAY', 10, '3', '120.00', { uom: 'Day', warehouse: 'Nelson Depot' }), line('FREIGHT-EXPORT', 11, '1', '85.00', { taxCode: 'ZERO', uom: 'Shipment', warehouse: '' })],
  },
];

export const EXSITED_SANDBOX_CLIENTS: readonly ExsitedClientSeed[] = [
  { clientId: EXSITED_SANDBOX_CLIENT_ID, clientSecret: EXSITED_SANDBOX_CLIENT_SECRET, name: 'Invoicing subgraph (sandbox)', canWrite: true },
  { clientId: EXSITED_SANDBOX_READONLY_CLIENT_ID, clientSecret: EXSITED_SANDBOX_READONLY_CLIENT_SECRET, name: 'Reporting (read only)', canWrite: false },
];

/** A fresh copy of the sandbox seed, safe to change in a test. */
export function exsitedSandboxSeed(): ExsitedSandboxSeed {
  return {
    taxCodes: EXSITED_SANDBOX_TAX_CODES.map((t) => ({ ...t })),
    accounts: EXSITED_SANDBOX_ACCOUNTS.map((a) => ({ ...a })),
    orders: EXSITED_SANDBOX_ORDERS.map((o) => ({ ...o, lines: o.lines.map((l) => ({ ...l })) })),
    clients: EXSITED_SANDBOX_CLIENTS.map((c) => ({ ...c })),
  };
}
