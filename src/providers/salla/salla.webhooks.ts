import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ProviderChange, WebhookHeaders } from '../../domain/provider-change';
import type { ProviderWebhooks } from '../provider';

/**
 * Salla's webhooks (https://docs.salla.dev/421119m0, "Webhooks"): the app's webhook secret signs each delivery.
 * Strategy `Signature` (the default): `X-Salla-Signature` is the hex HMAC-SHA256 of the raw body under the secret,
 * and `X-Salla-Security-Strategy: Signature`. Strategy `Token`: the `Authorization` header carries the secret itself
 * (SallaApp/laravel-starter-kit, WebhookRequest). The envelope is `{event, merchant, created_at, data}`.
 */

/** The hex HMAC-SHA256 Salla sends in X-Salla-Signature; the emulator signs with it too. */
export function sallaSignature(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

/** Constant-time equality of two strings, on their hashes so that different lengths leak nothing either. */
function same(a: string, b: string): boolean {
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

const id = z.union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/)]).transform(String);
const envelope = z.object({
  event: z.string().min(1).max(200),
  merchant: z.union([z.number(), z.string()]).optional(),
  data: z
    .object({ id: id.optional(), order_id: id.optional(), order: z.object({ id: id.optional() }).passthrough().optional() })
    .passthrough(),
});

export const sallaWebhooks: ProviderWebhooks = {
  verify(rawBody: Buffer, headers: WebhookHeaders, secret: string): boolean {
    const strategy = (headers['x-salla-security-strategy'] ?? 'Signature').trim().toLowerCase();
    if (strategy === 'token') {
      const presented = headers.authorization?.replace(/^Bearer\s+/i, '') ?? '';
      return presented.length > 0 && same(presented, secret);
    }
    if (strategy !== 'signature') return false;
    const signature = headers['x-salla-signature']?.trim().toLowerCase() ?? '';
    return /^[0-9a-f]{64}$/.test(signature) && same(signature, sallaSignature(rawBody, secret));
  },

  // Salla sends no delivery id; a retried delivery is the same body (ASSUMPTION: its `created_at` is the event's, not
  // the try's), so the body's digest names it.
  deliveryKey(rawBody: Buffer): string {
    return createHash('sha256').update(rawBody).digest('hex');
  },

  /**
   * Order events (order.created, order.updated, order.status.updated, order.payment.updated, order.cancelled,
   * order.refunded, ...) carry the order as `data` (https://docs.salla.dev/433811m0, Order events): its invoices' status
   * follows it. `invoice.created` carries the invoice, with its `order_id`. Other events (products, customers, the app's
   * own) say nothing about invoices.
   */
  changesOf(body: unknown): ProviderChange[] {
    const e = envelope.parse(body);
    if (e.event === 'invoice.created') {
      const orderId = e.data.order_id ?? e.data.order?.id ?? null;
      return e.data.id ? [{ provider: 'SALLA', event: e.event, orderId, providerInvoiceId: e.data.id }] : [];
    }
    if (e.event.startsWith('order.')) {
      const orderId = e.data.order?.id ?? e.data.id ?? null;
      return orderId ? [{ provider: 'SALLA', event: e.event, orderId, providerInvoiceId: null }] : [];
    }
    return [];
  },
};
