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

/**
 * The part of Order Details (GET /orders/{order_id}) the invoice's status is read from: `status.slug` (Salla's base
 * statuses, or a store's own status under one of them), `is_pending_payment`, `payment_method`.
 */
export const sallaOrder = z.looseObject({
  id: z.union([z.number(), z.string()]),
  status: z.looseObject({ slug: z.string().optional().nullable(), name: z.string().optional().nullable() }).optional().nullable(),
  is_pending_payment: z.boolean().optional().nullable(),
  payment_method: z.string().optional().nullable(),
});
export type SallaOrder = z.infer<typeof sallaOrder>;

export const sallaOrderEnvelope = z.looseObject({ success: z.literal(true), data: sallaOrder });

/** Store Details (GET /store/info): the store a token belongs to; only its id and name are read. */
export const sallaStoreEnvelope = z.looseObject({ success: z.literal(true), data: z.looseObject({ id: z.union([z.number(), z.string()]), name: z.string().max(500).nullish() }) });

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

/**
 * The token endpoint's answer to a refresh (https://docs.salla.dev/421118m0, "Authorization"). Salla's own token
 * payloads say `expires`, a Unix time in seconds (the `app.store.authorize` event, https://docs.salla.dev/421413m0;
 * SallaApp/salla-partners-agent-kit's refresh guide reads the endpoint's `data.expires * 1000` as a date); standard
 * OAuth servers say `expires_in`, seconds to live. Both are read (see sallaExpiresInMs).
 */
export const sallaTokenResponse = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional().nullable(),
  expires_in: z.number().positive().optional().nullable(),
  expires: z.number().positive().optional().nullable(),
  token_type: z.string().optional().nullable(),
  scope: z.string().optional().nullable(),
});
export type SallaTokenResponse = z.infer<typeof sallaTokenResponse>;

/** RFC 6749 §5.2: the token endpoint's error answer. */
export const oauthErrorBody = z.looseObject({ error: z.string(), error_description: z.string().optional().nullable() });

/** Salla's documented access-token life, for an answer that names none (SallaApp/oauth2-merchant: 14 days). */
const DEFAULT_TOKEN_LIFE_MS = 14 * 86_400_000;
/**
 * The PHP League's test (league/oauth2-client AccessToken::isExpirationTimestamp, used by Salla's own
 * salla/ouath2-merchant): an `expires` past 2012-10-01 in Unix seconds is a time, a smaller one a duration.
 */
const OAUTH2_INCEPTION = 1_349_067_600;

/** How long the access token of a token answer lives, in ms by our clock. */
export function sallaExpiresInMs(t: SallaTokenResponse, now = Date.now()): number {
  const ms = t.expires_in ? t.expires_in * 1000 : t.expires ? (t.expires > OAUTH2_INCEPTION ? t.expires * 1000 - now : t.expires * 1000) : DEFAULT_TOKEN_LIFE_MS;
  // A time already past by our clock (clock skew): taken as a second's life, renewed soon, not refused on arrival.
  return ms > 0 ? ms : 1_000;
}
