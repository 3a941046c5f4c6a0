import { z } from 'zod';

/**
 * The Commerce API's JSON, parsed once at the edge. The create answer is the seed's; the read endpoints are
 * assumed to answer the same invoice (PROVIDERS.md), so the schemas are lenient where a Mongoose API commonly
 * varies: `_id` for `id`, a populated `order` object for its id, amounts as numbers or strings. Unknown members
 * pass through.
 */
const rawAmount = z.union([z.number(), z.string()]);

/** An id as sent, or a populated reference `{ id | _id, ... }`. */
const reference = z.union([z.string(), z.looseObject({ id: z.string().optional(), _id: z.string().optional() })]);

export const commerceLineItem = z.looseObject({
  /** The order's line item this invoice line bills. */
  lineItemId: reference.optional().nullable(),
  quantity: rawAmount,
  id: z.string().optional().nullable(),
});

export const commerceInvoice = z
  .looseObject({
    id: z.string().optional(),
    _id: z.string().optional(),
    order: reference,
    entityId: z.union([z.string(), z.number()]).optional().nullable(),
    lineItems: z.array(commerceLineItem).optional().nullable(),
    /** A JSON number in the seed, with no currency: the configured currency applies. */
    total: rawAmount,
    createdBy: z.looseObject({ id: z.string().optional().nullable(), name: z.string().optional().nullable(), type: z.string().optional().nullable() }).optional().nullable(),
    metaFields: z.array(z.unknown()).optional().nullable(),
    createdAt: z.string().optional().nullable(),
    updatedAt: z.string().optional().nullable(),
    // Assumption (no public docs): an invoice's payment state, where the API reports one; the sandbox answers it
    // once a payment, credit or void is recorded.
    status: z.string().optional().nullable(),
    paid: rawAmount.optional().nullable(),
    credited: rawAmount.optional().nullable(),
    balance: rawAmount.optional().nullable(),
    lastPaymentDate: z.string().optional().nullable(),
  })
  .refine((inv) => Boolean(inv.id ?? inv._id), { message: 'an invoice needs an id' });
export type CommerceInvoice = z.infer<typeof commerceInvoice>;

/** POST /invoices (201, seed) and GET /invoices/{id} (assumed). The seed's field table adds a `message`. */
export const commerceInvoiceEnvelope = z.looseObject({ success: z.literal(true), data: commerceInvoice, message: z.string().optional().nullable() });

/**
 * GET /invoices?orderId=&page=&limit= (assumed): a page of invoices, with `pagination` where the API pages (absent:
 * the whole list).
 */
export const commerceInvoiceListEnvelope = z.looseObject({
  success: z.literal(true),
  data: z.array(commerceInvoice),
  pagination: z.looseObject({ page: z.number().optional().nullable(), totalPages: z.number().optional().nullable() }).optional().nullable(),
});

/** Every documented failure: `{ success: false, message }`. */
export const commerceErrorEnvelope = z.looseObject({ success: z.literal(false), message: z.string().optional().nullable() });

/** The id of a reference, whether sent as an id or populated. */
export function referenceId(ref: z.infer<typeof reference> | null | undefined): string | null {
  if (ref === null || ref === undefined) return null;
  return typeof ref === 'string' ? ref : (ref.id ?? ref._id ?? null);
}
