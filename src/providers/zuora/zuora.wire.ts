import { z } from 'zod';

/**
 * Zuora's JSON as documented, parsed once at the edge. Amounts are JSON numbers in the document's `currency` and
 * stay raw here for the mapper's money helpers. Unknown members pass through: Zuora adds fields with minor versions.
 */
const rawAmount = z.union([z.number(), z.string()]);
const optionalAmount = rawAmount.optional().nullable();
const optionalText = z.string().optional().nullable();

/** POST /oauth/token. */
export const zuoraToken = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive(),
  scope: z.string().max(10_000).optional(),
});

/** One reason of a failure; the documentation shows numeric codes, some schemas say string. */
export const zuoraReason = z.looseObject({
  code: z.union([z.number(), z.string()]).optional().nullable(),
  message: optionalText,
});
export type ZuoraReason = z.infer<typeof zuoraReason>;

/** Zuora's failure envelope, on HTTP 200 as on 4xx. */
export const zuoraFailureEnvelope = z.looseObject({
  success: z.literal(false),
  processId: optionalText,
  reasons: z.array(zuoraReason).optional().nullable(),
});

/** POST /v1/fulfillments, when it succeeded. */
export const zuoraCreateResponse = z.looseObject({
  success: z.literal(true),
  fulfillments: z.array(z.looseObject({ id: z.string(), fulfillmentNumber: optionalText })).optional().nullable(),
  invoiceNumbers: z.array(z.string()).optional().nullable(),
  creditMemoNumbers: z.array(z.string()).optional().nullable(),
  paidAmount: optionalAmount,
  paymentNumber: optionalText,
});
export type ZuoraCreateResponse = z.infer<typeof zuoraCreateResponse>;

export const zuoraTaxationItem = z.looseObject({
  id: optionalText,
  name: optionalText,
  taxAmount: rawAmount,
  /** A fraction (0.0625 is 6.25 %) when taxRateType is Percentage, an amount when FlatFee. */
  taxRate: optionalAmount,
  taxRateType: optionalText,
  taxCode: optionalText,
  jurisdiction: optionalText,
});
export type ZuoraTaxationItem = z.infer<typeof zuoraTaxationItem>;

/**
 * Taxation items of an item; `nextPage` is the "URL to retrieve the next page of the response if it exists; otherwise
 * absent" (Zuora's GETInvoiceItemTypeAllOfTaxationItems / GETCreditMemoItemTypeAllOfTaxationItems).
 */
const taxationItems = z.looseObject({ data: z.array(zuoraTaxationItem), nextPage: optionalText }).optional().nullable();

/** GET /v1/invoices/{invoiceKey}. */
export const zuoraInvoice = z.looseObject({
  success: z.literal(true),
  id: z.string(),
  invoiceNumber: optionalText,
  accountId: optionalText,
  status: z.string(),
  currency: z.string(),
  invoiceDate: optionalText,
  dueDate: optionalText,
  amount: rawAmount,
  amountWithoutTax: optionalAmount,
  taxAmount: optionalAmount,
  balance: rawAmount,
  creditMemoAmount: optionalAmount,
  paymentAmount: optionalAmount,
  /** Set once "Reverse an invoice" settled it with a credit memo; absent where Invoice Settlement is off. */
  reversed: z.boolean().optional().nullable(),
});
export type ZuoraInvoice = z.infer<typeof zuoraInvoice>;

/** An item of GET /v1/invoices/{invoiceKey}/items. `chargeAmount` never includes tax, whatever the tax mode. */
export const zuoraInvoiceItem = z.looseObject({
  id: z.string(),
  chargeName: optionalText,
  productName: optionalText,
  description: optionalText,
  sku: optionalText,
  quantity: rawAmount,
  unitPrice: optionalAmount,
  chargeAmount: rawAmount,
  taxAmount: optionalAmount,
  orderLineItemId: optionalText,
  taxationItems,
});
export type ZuoraInvoiceItem = z.infer<typeof zuoraInvoiceItem>;

export const zuoraInvoiceItems = z.looseObject({ success: z.literal(true), invoiceItems: z.array(zuoraInvoiceItem), nextPage: optionalText });

/** GET /v1/creditmemos/{creditMemoKey} (Zuora's docs; PROVIDERS.md names only the invoice reads). */
export const zuoraCreditMemo = z.looseObject({
  success: z.literal(true),
  id: z.string(),
  number: optionalText,
  accountId: optionalText,
  status: z.string(),
  currency: z.string(),
  creditMemoDate: optionalText,
  amount: rawAmount,
  taxAmount: optionalAmount,
  appliedAmount: optionalAmount,
  refundAmount: optionalAmount,
  unappliedAmount: optionalAmount,
});
export type ZuoraCreditMemo = z.infer<typeof zuoraCreditMemo>;

/** An item of GET /v1/creditmemos/{creditMemoKey}/items; `taxationItems` needs Zuora-Version 239.0 or later. */
export const zuoraCreditMemoItem = z.looseObject({
  id: z.string(),
  skuName: optionalText,
  description: optionalText,
  sku: optionalText,
  quantity: rawAmount,
  unitPrice: optionalAmount,
  amount: rawAmount,
  amountWithoutTax: optionalAmount,
  taxMode: optionalText,
  sourceItemId: optionalText,
  sourceItemType: optionalText,
  taxationItems,
});
export type ZuoraCreditMemoItem = z.infer<typeof zuoraCreditMemoItem>;

export const zuoraCreditMemoItems = z.looseObject({ success: z.literal(true), items: z.array(zuoraCreditMemoItem), nextPage: optionalText });

/**
 * GET /v1/order-line-items/{itemId}: the order is named by `orderId`, the one order field of Zuora's documented response
 * (https://developer.zuora.com/v1-api-reference/api/operation/GET_OrderLineItem/).
 */
export const zuoraOrderLineItem = z.looseObject({
  success: z.literal(true),
  orderLineItem: z.looseObject({
    id: z.string(),
    itemNumber: optionalText,
    orderId: optionalText,
  }),
});
export type ZuoraOrderLineItem = z.infer<typeof zuoraOrderLineItem>['orderLineItem'];

/**
 * GET /v1/invoices/{invoiceKey}/items/{itemId}/taxation-items and GET /v1/credit-memos/{creditMemoId}/items/{cmitemid}/taxation-items
 * (https://developer.zuora.com/v1-api-reference/api/operation/GET_TaxationItemsOfInvoiceItem/): a page of an item's taxation items.
 */
export const zuoraTaxationItemsPage = z.looseObject({ success: z.literal(true), data: z.array(zuoraTaxationItem), nextPage: optionalText });

/**
 * GET /v1/invoices/{invoiceKey}/files and GET /v1/credit-memos/{creditMemoKey}/files: generated PDF files, newest first
 * (https://developer.zuora.com/v1-api-reference/api/operation/GET_InvoiceFiles/, .../GET_CreditMemoFiles/).
 */
const documentFile = z.looseObject({ id: optionalText, pdfFileUrl: optionalText, versionNumber: z.number().optional().nullable() });
export const zuoraInvoiceFiles = z.looseObject({ success: z.literal(true), invoiceFiles: z.array(documentFile).optional().nullable() });
export const zuoraCreditMemoFiles = z.looseObject({ success: z.literal(true), creditMemoFiles: z.array(documentFile).optional().nullable() });

/** An Object Query list: `data` and, while more remain, `nextPage` (the next call's `cursor`) (https://developer.zuora.com/docs/guides/expand-filter-fields-sort). */
const objectQueryPage = <T extends z.ZodType>(row: T) => z.looseObject({ data: z.array(row), nextPage: optionalText });

/** GET /object-query/fulfillments (https://developer.zuora.com/v1-api-reference/api/operation/queryFulfillments/). */
export const zuoraFulfillmentRow = z.looseObject({ id: z.string(), orderLineItemId: optionalText, externalId: optionalText, fulfillmentNumber: optionalText });
export const zuoraFulfillmentsPage = objectQueryPage(zuoraFulfillmentRow);
export type ZuoraFulfillmentRow = z.infer<typeof zuoraFulfillmentRow>;

/** GET /object-query/invoice-items and /object-query/credit-memo-items, filtered by `fulfillmentid` (.../queryInvoiceItems/, .../queryCreditMemoItems/). */
export const zuoraInvoiceItemsPage = objectQueryPage(z.looseObject({ id: z.string(), invoiceId: optionalText, fulfillmentId: optionalText }));
export const zuoraCreditMemoItemsPage = objectQueryPage(z.looseObject({ id: z.string(), creditMemoId: optionalText, fulfillmentId: optionalText }));

/** GET /object-query/orders/{key} (https://developer.zuora.com/v1-api-reference/api/operation/queryOrdersByKey/). */
export const zuoraOrder = z.looseObject({ id: z.string(), orderNumber: optionalText });
