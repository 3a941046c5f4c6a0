import { z } from 'zod';

/**
 * Salla's JSON as documented, parsed once at the edge. Amounts arrive as numbers or strings ("90.50") and
 * currencies as codes or symbols ("ر.س"); both stay raw here and are read by the mapper's money helpers.
 * Unknown members pass through: Salla adds fields without notice.
 */
const rawAmount = z.union([z.number(), z.string()]);

export const sallaAmount = z.looseObject({
  amount: rawAmount,
  currency: z.string().optional().nullable(),
  taxable: z.boolean().optional().nullable(),
});

export const sallaTax = z.looseObject({
  percent: rawAmount.optional().nullable(),
  amount: sallaAmount.optional().nullable(),
});

export const sallaItem = z.looseObject({
  id: z.union([z.string(), z.number()]).optional().nullable(),
  name: z.string().optional().nullable(),
  sku: z.string().optional().nullable(),
  quantity: rawAmount,
  price: sallaAmount.optional().nullable(),
  discount: sallaAmount.optional().nullable(),
  tax: sallaTax.optional().nullable(),
  total: sallaAmount.optional().nullable(),
});

export const sallaInvoice = z.looseObject({
  id: z.union([z.number(), z.string()]),
  order_id: z.union([z.number(), z.string()]),
  invoice_number: z.string().optional().nullable(),
  type: z.string(),
  date: z.string().optional().nullable(),
  url: z.string().optional().nullable(),
  // The read endpoint says `subtotal`; the create example says `sub_total`.
  subtotal: sallaAmount.optional().nullable(),
  sub_total: sallaAmount.optional().nullable(),
  shipping_cost: sallaAmount.optional().nullable(),
  cod_cost: sallaAmount.optional().nullable(),
  discount: sallaAmount.optional().nullable(),
  tax: sallaTax.optional().nullable(),
  total: sallaAmount.optional().nullable(),
  items: z.array(sallaItem).optional().nullable(),
});
export type SallaInvoice = z.infer<typeof sallaInvoice>;

export const sallaInvoiceEnvelope = z.looseObject({ success: z.literal(true), data: sallaInvoice });

export const sallaInvoiceListEnvelope = z.looseObject({
  success: z.literal(true),
  data: z.array(sallaInvoice),
  pagination: z
    .looseObject({ total: z.number().optional(), currentPage: z.number().optional(), totalPages: z.number().optional() })
    .optional()
    .nullable(),
});

export const sallaErrorEnvelope = z.looseObject({
  success: z.literal(false).optional(),
  error: z.looseObject({
    code: z.union([z.string(), z.number()]).optional().nullable(),
    message: z.string().optional().nullable(),
    fields: z.record(z.string(), z.union([z.array(z.string()), z.string()])).optional().nullable(),
  }),
});
export type SallaErrorEnvelope = z.infer<typeof sallaErrorEnvelope>;
