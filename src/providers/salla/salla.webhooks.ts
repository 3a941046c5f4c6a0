import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { AccountEvent, ProviderChange, WebhookHeaders } from '../../domain/provider-change';
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
  /** app.store.authorize (a store's tokens for the app) and app.uninstalled (https://docs.salla.dev/421413m0). */
  accountEventOf(body: unknown): AccountEvent | null {
    const authorized = sallaAuthorizationOf(body);
    if (authorized) return { kind: 'authorized', accountId: authorized.merchantId, accessToken: authorized.accessToken, refreshToken: authorized.refreshToken, expiresAt: authorized.expiresAt };
    const gone = sallaUninstallOf(body);
    return gone ? { kind: 'revoked', accountId: gone, reason: 'the merchant uninstalled the app (app.uninstalled)' } : null;
  },

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

/** What Salla's `app.store.authorize` delivers: a store's tokens for the app (Easy Mode). */
export interface SallaAuthorization {
  merchantId: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  scopes: string[];
}

const token = z.string().min(1).max(4096).regex(/^[\x21-\x7e]+$/, 'a token is printable ASCII without spaces');
const authorizeEvent = z.object({
  event: z.literal('app.store.authorize'),
  merchant: id,
  data: z
    .object({
      access_token: token,
      refresh_token: token,
      // Unix seconds; bounded so that no value makes a date out of range (year 1970 to 2100).
      expires: z.number().int().min(0).max(4_102_444_800),
      scope: z.string().max(4096).optional(),
    })
    .passthrough(),
});

/**
 * The store's tokens from an `app.store.authorize` event (https://docs.salla.dev/421413m0, App Events; Easy Mode:
 * https://docs.salla.dev/421118m0), or null for any other event. Throws on an authorize event it cannot read (a
 * missing or malformed token, an `expires` out of range). Pure; called after the delivery verified.
 */
export function sallaAuthorizationOf(body: unknown): SallaAuthorization | null {
  if ((body as { event?: unknown } | null)?.event !== 'app.store.authorize') return null;
  const e = authorizeEvent.parse(body);
  return {
    merchantId: e.merchant,
    accessToken: e.data.access_token,
    refreshToken: e.data.refresh_token,
    expiresAt: new Date(e.data.expires * 1000),
    scopes: (e.data.scope ?? '').split(/\s+/).filter(Boolean),
  };
}

/** The store of an `app.uninstalled` event (https://docs.salla.dev/421413m0), or null for any other event. Pure. */
export function sallaUninstallOf(body: unknown): string | null {
  if ((body as { event?: unknown } | null)?.event !== 'app.uninstalled') return null;
  return z.object({ merchant: id }).passthrough().parse(body).merchant;
}
