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

/** The fulfillment orders that have these invoices (FulfillmentOrder.InvoiceId): the order summary of an invoice made from one. */
export const fulfillmentOrdersByInvoiceId = (ids: readonly string[]) => `SELECT ${FULFILLMENT_ORDER_FIELDS.join(', ')} FROM FulfillmentOrder WHERE InvoiceId IN ${idList(ids)}`;

/** `fields`: those of INVOICE_FIELDS the org has (describe); a single-currency org has no CurrencyIsoCode. */
export const invoicesById = (ids: readonly string[], fields: readonly string[] = INVOICE_FIELDS) => `SELECT ${fields.join(', ')} FROM Invoice WHERE Id IN ${idList(ids)}`;

/** `fields`: those of INVOICE_LINE_FIELDS the org has at the configured version (LineAmount from 55.0). */
export const invoiceLinesByInvoiceId = (ids: readonly string[], fields: readonly string[] = INVOICE_LINE_FIELDS) =>
  `SELECT ${fields.join(', ')} FROM InvoiceLine WHERE InvoiceId IN ${idList(ids)}`;

/** The org's currency, for a single-currency org (whose records carry no CurrencyIsoCode). */
export const ORGANIZATION_CURRENCY = 'SELECT DefaultCurrencyIsoCode FROM Organization';
/** The org's id and name (Organization object, SOAP API Developer Guide): who a connection reaches. */
export const ORGANIZATION_IDENTITY = 'SELECT Id, Name FROM Organization';

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

/**
 * A SOQL dateTime literal: unquoted, in UTC (`2026-12-01T10:00:00Z`), whole seconds. The documented forms are
 * YYYY-MM-DDThh:mm:ss followed by Z or an offset, never quoted ("Date Formats and Date Literals in WHERE", SOQL and
 * SOSL Reference:
 * https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-dateformats.md).
 * Milliseconds are dropped (floored), since only whole seconds are documented: the query asks from a little earlier,
 * and changedSince leaves out what it finds at or before its `since`.
 */
export function soqlDateTime(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new Error('not a date');
  return `${at.toISOString().slice(0, 19)}Z`;
}

/**
 * The change feed: every Invoice whose SystemModstamp is after `since`, oldest change first, Id breaking ties so that
 * the order is total ("add the Id ... to the ORDER BY clause", ORDER BY in the SOQL reference:
 * https://developer.salesforce.com/docs/atlas.en-us.258.0.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm).
 * SystemModstamp rather than LastModifiedDate: it is when "a user or automated process" last changed the record
 * (System Fields: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm; LastModifiedDate
 * only a user, and it can be back-dated on import, https://help.salesforce.com/s/articleView?id=000387261&type=1), and
 * it is indexed ("Systemmodstamp (LastModifiedDate)", Indexes, Large Data Volumes Best Practices:
 * https://developer.salesforce.com/docs/platform/salesforce-large-data-volumes-bp/guide/ldv-deployments-infrastructure-indexes.html);
 * sObject Get Updated uses it too
 * (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api/resources_getupdated.htm).
 * A single `>` rather than the keyset form `(SystemModstamp > X) OR (SystemModstamp = X AND Id > Y)`, which SOQL
 * accepts (parentheses are required when AND and OR mix, Logical Operators:
 * https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-logicaloperators.html)
 * but which an OR of two indexed filters can make unselective (SOQL and SOSL, Large Data Volumes Best Practices:
 * https://developer.salesforce.com/docs/platform/salesforce-large-data-volumes-bp/guide/ldv-deployments-best-practices-soql-and-sosl.html);
 * one query's pages come through its query locator instead.
 */
export const invoicesChangedSince = (since: Date) => `SELECT Id, SystemModstamp FROM Invoice WHERE SystemModstamp > ${soqlDateTime(since)} ORDER BY SystemModstamp, Id`;
