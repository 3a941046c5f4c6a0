import { z } from 'zod';

/**
 * Salesforce's JSON as documented, parsed once at the edge. Currency fields are JSON numbers (currency(18,2)) and
 * stay raw here for the mapper's money helpers; strings are accepted too, so that a proxy that stringifies
 * decimals does not break the read. Unknown members pass through: Salesforce adds fields with every release.
 */
const rawAmount = z.union([z.number(), z.string()]);
const amount = rawAmount.optional().nullable();
const text = z.string().optional().nullable();

/** One error of the classic REST array, of `output.errors`, or the top of an Error with Output. */
export const salesforceErrorItem = z.looseObject({
  errorCode: text,
  message: text,
  fields: z.array(z.string()).optional().nullable(),
});
export type SalesforceErrorItem = z.infer<typeof salesforceErrorItem>;

/** Fulfillment Order Invoice Output: the 2xx answer of create-invoice, and the `output` of its failures. */
export const fulfillmentOrderInvoiceOutput = z.looseObject({
  invoiceId: text,
  success: z.boolean(),
  errors: z.array(salesforceErrorItem).optional().nullable(),
});
export type FulfillmentOrderInvoiceOutput = z.infer<typeof fulfillmentOrderInvoiceOutput>;

/** Error with Output: the create action's 4xx/5xx body. Its `enhancedErrorType` can be ignored (Salesforce says so). */
export const errorWithOutput = z.looseObject({
  errorCode: text,
  message: text,
  enhancedErrorType: text,
  output: fulfillmentOrderInvoiceOutput.partial().optional().nullable(),
});
export type ErrorWithOutput = z.infer<typeof errorWithOutput>;

/** Any failure body Salesforce documents: an Error with Output object, or an array of errors (of either shape). */
export const salesforceErrorBody = z.union([errorWithOutput, z.array(errorWithOutput).min(1)]);

/** GET …/query and GET of a nextRecordsUrl. */
export const queryResult = z.looseObject({
  totalSize: z.number(),
  done: z.boolean(),
  nextRecordsUrl: text,
  records: z.array(z.unknown()),
});

const attributes = z.looseObject({ type: z.string(), url: text }).optional();

export const fulfillmentOrderRecord = z.looseObject({
  attributes,
  Id: z.string(),
  OrderSummaryId: text,
  InvoiceId: text,
  Status: text,
});
export type FulfillmentOrderRecord = z.infer<typeof fulfillmentOrderRecord>;

export const invoiceRecord = z.looseObject({
  attributes,
  Id: z.string(),
  DocumentNumber: text,
  Status: text,
  InvoiceDate: text,
  DueDate: text,
  CurrencyIsoCode: text,
  TotalAmount: amount,
  TotalTaxAmount: amount,
  TotalAmountWithTax: amount,
  Balance: amount,
  ReferenceEntityId: text,
  CreatedDate: text,
});
export type InvoiceRecord = z.infer<typeof invoiceRecord>;

/**
 * A dateTime as Salesforce's JSON writes it (2024-05-01T09:00:00.000+0000), or with a Z or an hh:mm offset, as its
 * instant; null for anything else.
 */
export function salesforceDateTimeMs(text: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})$/.exec(text);
  if (!m) return null;
  const zone = m[2] === 'Z' ? 'Z' : `${m[2]!.slice(0, 3)}:${m[2]!.slice(-2)}`;
  const ms = Date.parse(`${m[1]}${zone}`);
  return Number.isNaN(ms) ? null : ms;
}

/** A row of the change feed (invoicesChangedSince): the invoice and when it last changed. */
export const changedInvoiceRecord = z.looseObject({
  attributes,
  Id: z.string(),
  SystemModstamp: z.string().refine((s) => salesforceDateTimeMs(s) !== null, 'not a Salesforce dateTime'),
});
export type ChangedInvoiceRecord = z.infer<typeof changedInvoiceRecord>;

/** A PaymentLineInvoice or CreditMemoInvApplication row: an amount applied to (or unapplied from) an invoice. */
export const applicationRecord = z.looseObject({
  attributes,
  Id: z.string(),
  InvoiceId: z.string(),
  Amount: amount,
  Type: text,
  AppliedDate: text,
});
export type ApplicationRecord = z.infer<typeof applicationRecord>;

export const invoiceLineRecord = z.looseObject({
  attributes,
  Id: z.string(),
  InvoiceId: z.string(),
  RelatedLineId: text,
  Type: text,
  Description: text,
  Product2Id: text,
  Quantity: amount,
  UnitPrice: amount,
  LineAmount: amount,
  ChargeAmount: amount,
  AdjustmentAmount: amount,
  TaxAmount: amount,
  TaxRate: amount,
  TaxCode: text,
  TaxName: text,
});
export type InvoiceLineRecord = z.infer<typeof invoiceLineRecord>;

/** GET …/sobjects/{sObject}/describe: only the field names are read. */
export const describeResult = z.looseObject({
  name: z.string(),
  fields: z.array(z.looseObject({ name: z.string() })),
});

/** SELECT DefaultCurrencyIsoCode FROM Organization. */
export const organizationRecord = z.looseObject({ attributes, DefaultCurrencyIsoCode: text });

/** SELECT Id, Name FROM Organization: the org a session belongs to. */
export const organizationIdentity = z.looseObject({ attributes, Id: z.string().min(15).max(18), Name: text });

/** The token endpoint's answer (both flows): no expires_in, the session lasts the org's timeout. */
export const tokenResponse = z.looseObject({
  access_token: z.string().min(1),
  instance_url: text,
  id: text,
  token_type: text,
  issued_at: text,
  signature: text,
});

/** The token endpoint's failure: `{ error, error_description }` (OAuth 2.0). */
export const oauthErrorBody = z.looseObject({ error: z.string(), error_description: text });
