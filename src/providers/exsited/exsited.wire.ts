import { z } from 'zod';

/**
 * Exsited's JSON as documented (seed 002, PROVIDERS.md), parsed once at the edge. Every amount is a string
 * ("522.23"), sometimes empty; numbers are accepted too. Amounts stay raw here and are read by the mapper's money
 * helpers. Unknown members pass through: Exsited returns many we do not use.
 */
const rawAmount = z.union([z.string(), z.number()]);
const optionalText = z.string().optional().nullable();
const optionalAmount = rawAmount.optional().nullable();

export const exsitedTokenResponse = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().optional().nullable(),
  expires_in: z.coerce.number().positive(),
});

export const exsitedTax = z.looseObject({
  amount: optionalAmount,
  uuid: optionalText,
  code: optionalText,
  rate: optionalAmount,
  link: optionalText,
});

export const exsitedLine = z.looseObject({
  subtotal: optionalAmount,
  total: optionalAmount,
  tax: exsitedTax.optional().nullable(),
  item_id: optionalText,
  item_uuid: optionalText,
  // The seed's invoice lines carry neither name nor unit price; Exsited's SDK types name them for order lines.
  item_name: optionalText,
  item_description: optionalText,
  item_price: optionalAmount,
  item_order_quantity: optionalAmount,
  quantity: optionalAmount,
  item_uom: optionalText,
});

export const exsitedKpis = z.looseObject({
  outstanding: optionalAmount,
  // An amount in the emulator and, we read, at Exsited; a flag is accepted too.
  overdue: z.union([rawAmount, z.boolean()]).optional().nullable(),
  last_payment_date: optionalText,
  payment_applied: optionalAmount,
  credit_applied: optionalAmount,
});

export const exsitedInvoice = z.looseObject({
  id: z.string().min(1),
  status: optionalText,
  type: optionalText,
  currency: z.looseObject({ uuid: optionalText, name: z.string(), link: optionalText }),
  issue_date: optionalText,
  due_date: optionalText,
  subtotal: optionalAmount,
  tax: optionalAmount,
  total: rawAmount,
  paid: optionalAmount,
  due: optionalAmount,
  payment_status: optionalText,
  price_tax_inclusive: z.union([z.boolean(), z.string()]).optional().nullable(),
  invoice_note: optionalText,
  account_id: optionalText,
  order_id: z.string().min(1),
  kpis: exsitedKpis.optional().nullable(),
  lines: z.array(exsitedLine).optional().nullable(),
});
export type ExsitedInvoice = z.infer<typeof exsitedInvoice>;

export const exsitedInvoiceEnvelope = z.looseObject({ invoice: exsitedInvoice });

/** Exsited's list paging (PaginationDTO in the Python SDK: records, limit, offset, previous_page, next_page). */
const exsitedPagination = z.looseObject({
  records: z.union([z.number(), z.string()]).optional().nullable(),
  limit: z.union([z.number(), z.string()]).optional().nullable(),
  offset: z.union([z.number(), z.string()]).optional().nullable(),
  previous_page: optionalText,
  next_page: optionalText,
});
const exsitedInvoicePage = z.looseObject({ invoices: z.array(exsitedInvoice), pagination: exsitedPagination.optional().nullable() });

/**
 * GET /api/v3/orders/{order_id}/invoices: one page of the order's invoices. PROVIDERS.md shows `{ invoices, pagination }`
 * (test/fixtures/exsited/response.200.order-invoices.json, what the emulator serves); the official Python SDK reads the
 * same page under `order` (exsited-python, exsited/exsited/invoice/invoice.py `invoice_list_against_order_v3`, into
 * InvoiceOrderListDTO `{ order: { invoices, pagination } }`: https://github.com/exsited/exsited-python). Both are read.
 */
export const exsitedOrderInvoicesEnvelope = z.union([exsitedInvoicePage, z.looseObject({ order: exsitedInvoicePage }).transform((v) => v.order)]);
export type ExsitedInvoicePage = z.infer<typeof exsitedOrderInvoicesEnvelope>;

export const exsitedErrorEnvelope = z.looseObject({
  errors: z.array(z.looseObject({ message: z.string().optional().nullable(), code: z.union([z.string(), z.number()]).optional().nullable() })),
});
