import type { ProviderCode } from './invoice';

/**
 * What a provider's event (a webhook delivery, a poll) says may have changed. The sync never applies an event's
 * payload: it reads the named invoices (or the order's) again from the provider, so an event that arrives twice or
 * late cannot set an older state over a newer one.
 */
export interface ProviderChange {
  provider: ProviderCode;
  /** The event's name at the provider (`order.payment.updated`), for logs. */
  event: string;
  /** An order whose invoices may have changed, or that may have a new one (discovery); null when only invoices are named. */
  orderId: string | null;
  /** A named invoice, or null when the event is about the order. */
  providerInvoiceId: string | null;
}

/** Header names lowercased (as node gives them), single values; what a webhook verifier sees besides the raw body. */
export type WebhookHeaders = Readonly<Record<string, string | undefined>>;

/**
 * What a provider's event says of an account's access rather than of invoices: the provider delivered an account's
 * tokens to the app (Salla's app.store.authorize), or the merchant took the app's access away (app.uninstalled).
 */
export type AccountEvent =
  | { kind: 'authorized'; accountId: string; accessToken: string; refreshToken: string; expiresAt: Date }
  | { kind: 'revoked'; accountId: string; reason: string };
