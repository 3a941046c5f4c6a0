/**
 * The SOQL reads the data source makes (PROVIDERS.md), in the exact forms the emulator parses. Each takes
 * many ids at once: one query serves a whole batch of invoices.
 */

export const FULFILLMENT_ORDER_FIELDS = ['Id', 'OrderSummaryId', 'InvoiceId', 'Status'] as const;

export const INVOICE_FIELDS = [
  'Id',
  'DocumentNumber',
  'Status',
  'InvoiceDate',
  'DueDate',
  'CurrencyIsoCode',
  'TotalAmount',
  'TotalTaxAmount',
  'TotalAmountWithTax',
  'Balance',
  'ReferenceEntityId',
  'CreatedDate',
] as const;

export const INVOICE_LINE_FIELDS = [
  'Id',
  'InvoiceId',
  'RelatedLineId',
  'Type',
  'Description',
  'Product2Id',
  'Quantity',
  'UnitPrice',
  'LineAmount',
  'ChargeAmount',
  'AdjustmentAmount',
  'TaxAmount',
  'TaxRate',
  'TaxCode',
  'TaxName',
] as const;

/**
 * Ids per query. A GET carries the SOQL in its URL, which Salesforce caps at 16,384 characters; 200 ids take about
 * 5,500 of them once percent-encoded.
 */
export const MAX_IDS_PER_QUERY = 200;

const RECORD_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** `('id1','id2')`. Ids are checked to be record ids first: nothing else is ever spliced into a query. */
function idList(ids: readonly string[]): string {
  if (ids.length === 0) throw new Error('a SOQL IN list needs at least one id');
  for (const id of ids) if (!RECORD_ID.test(id)) throw new Error(`not a Salesforce record id: ${JSON.stringify(id)}`);
  return `(${ids.map((id) => `'${id}'`).join(',')})`;
}

export const fulfillmentOrdersById = (ids: readonly string[]) => `SELECT ${FULFILLMENT_ORDER_FIELDS.join(', ')} FROM FulfillmentOrder WHERE Id IN ${idList(ids)}`;

/** `fields`: those of INVOICE_FIELDS the org has (describe); a single-currency org has no CurrencyIsoCode. */
export const invoicesById = (ids: readonly string[], fields: readonly string[] = INVOICE_FIELDS) => `SELECT ${fields.join(', ')} FROM Invoice WHERE Id IN ${idList(ids)}`;

/** `fields`: those of INVOICE_LINE_FIELDS the org has at the configured version (LineAmount from 55.0). */
export const invoiceLinesByInvoiceId = (ids: readonly string[], fields: readonly string[] = INVOICE_LINE_FIELDS) =>
  `SELECT ${fields.join(', ')} FROM InvoiceLine WHERE InvoiceId IN ${idList(ids)}`;

/** The org's currency, for a single-currency org (whose records carry no CurrencyIsoCode). */
export const ORGANIZATION_CURRENCY = 'SELECT DefaultCurrencyIsoCode FROM Organization';

/** Fields without which an invoice cannot be read at all: an org lacking one is not an Order Management org. */
export const REQUIRED_INVOICE_FIELDS = ['Id', 'TotalAmountWithTax'] as const;
export const REQUIRED_INVOICE_LINE_FIELDS = ['Id', 'InvoiceId'] as const;

export const isRecordId = (value: string): boolean => RECORD_ID.test(value);

/** Splits ids into groups of at most MAX_IDS_PER_QUERY. */
export function chunks<T>(items: readonly T[], size = MAX_IDS_PER_QUERY): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The fields read of PaymentLineInvoice ("a payment allocated to or unallocated from an invoice") and of
 * CreditMemoInvApplication ("an amount applied from a credit memo to an invoice"): both have InvoiceId, Amount, Type
 * (Applied or Unapplied) and AppliedDate.
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_paymentlineinvoice.htm
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_creditmemoinvapplication.htm
 */
export const APPLICATION_FIELDS = ['Id', 'InvoiceId', 'Amount', 'Type', 'AppliedDate'] as const;

/** Every payment application of the invoices: one query for a whole batch. */
export const paymentLinesByInvoiceId = (ids: readonly string[]) => `SELECT ${APPLICATION_FIELDS.join(', ')} FROM PaymentLineInvoice WHERE InvoiceId IN ${idList(ids)}`;

/** Every credit memo application of the invoices: one query for a whole batch. */
export const creditApplicationsByInvoiceId = (ids: readonly string[]) => `SELECT ${APPLICATION_FIELDS.join(', ')} FROM CreditMemoInvApplication WHERE InvoiceId IN ${idList(ids)}`;
