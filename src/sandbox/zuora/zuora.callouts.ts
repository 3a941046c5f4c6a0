import { randomBytes, randomUUID } from 'node:crypto';
import { zuoraSignature } from '../../providers/zuora/zuora.webhooks';
import { WebhookOutbox, type WebhookDelivery } from '../shared/webhook-outbox';

/**
 * The Zuora emulator's callout notifications, sent as a tenant configured by our contract (zuora.webhooks.ts) would
 * send them: a JSON body, `X-Zuora-Signature` = hex HMAC-SHA256 of the body under the secret, and the headers Zuora
 * adds to every callout (https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/notifications/callout-notification-overview):
 * `Zuora-Notification-Id` (the same on every try of one notification), `Zuora-Request-Id` (a hyphenless uuid, new on
 * every try) and `X-Amzn-Trace-Id` (derived from it).
 *
 * Retries follow Zuora's rules -- only HTTP 200 is a success; 1xx, 403, 408, 429, 5xx and no answer at all are retried;
 * any other status is a failure that is not retried -- but not its schedule: ASSUMPTION, Zuora retries on its own
 * (configurable) schedule, by default three times 30 minutes apart; the sandbox retries a few times after short
 * delays so that a test or a local run sees the retry at once. Sends run in the background, never inside the control
 * that caused them; `idle()` waits for them.
 *
 * The sending itself (background, retries, the log, idle) is the shared WebhookOutbox; this file holds Zuora's rules,
 * its headers and the emulator's view of a delivery.
 */

export interface ZuoraCalloutConfig {
  url: string;
  secret: string;
  /**
   * The callout template's custom callout headers, sent as given (a tenant's own connection sets X-Zuora-Tenant-Id):
   * https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/callout-templates/callout-template-overview.
   */
  headers?: Record<string, string>;
}

/** One notification and what became of it; headers are those of its latest try. */
export interface ZuoraCalloutDelivery {
  event: string;
  notificationId: string;
  body: string;
  headers: Record<string, string>;
  /** The latest try's HTTP status, or null when it had no answer (refused, reset, timed out); null before the first. */
  status: number | null;
  attempts: number;
  state: 'pending' | 'delivered' | 'failed';
  /** Why the latest try had no answer. */
  error?: string;
}

export interface ZuoraCalloutOptions {
  /** Waits before each retry; default 50, 200 and 500 ms (three retries, as many as Zuora's default). */
  retryDelaysMs?: readonly number[];
  /** How long a try may take; default 5 s (Zuora allows 25: 10 to connect, 15 for the data). */
  timeoutMs?: number;
}

/** Zuora retries a callout answered with these (a "negative" response code); one not answered at all, too. */
export function zuoraRetriesStatus(status: number): boolean {
  return (status >= 100 && status < 200) || status === 403 || status === 408 || status === 429 || status >= 500;
}

/** An outbox with Zuora's rules: only 200 is a success, zuoraRetriesStatus is retried, a new Zuora-Request-Id per try. */
export function zuoraCalloutOutbox(options: ZuoraCalloutOptions = {}): WebhookOutbox {
  return new WebhookOutbox({
    retryDelaysMs: options.retryDelaysMs ?? [50, 200, 500],
    timeoutMs: options.timeoutMs ?? 5000,
    accepted: (status) => status === 200,
    retryable: zuoraRetriesStatus,
    attemptHeaders: () => {
      const requestId = randomUUID().replace(/-/g, '');
      return { 'Zuora-Request-Id': requestId, 'X-Amzn-Trace-Id': `Root=1-${requestId.slice(0, 8)}-${requestId.slice(8, 32)}` };
    },
  });
}

/** The headers of one notification that stay the same on every try (the outbox adds those of each try). */
export function zuoraCalloutHeaders(body: string, secret: string, custom: Record<string, string> = {}): Record<string, string> {
  return { ...custom, 'Content-Type': 'application/json', 'Zuora-Notification-Id': randomBytes(16).toString('hex'), 'X-Zuora-Signature': zuoraSignature(body, secret) };
}

/** A delivery of the outbox as the emulator shows it (a copy): no answer is status null, held or under way is pending. */
export function zuoraCalloutView(delivery: WebhookDelivery): ZuoraCalloutDelivery {
  const { event, body, headers, status, attempts, state, error } = delivery;
  return {
    event,
    notificationId: headers['Zuora-Notification-Id']!,
    body,
    headers: { ...headers },
    status: status === 0 ? null : status,
    attempts,
    state: state === 'delivered' || state === 'failed' ? state : 'pending',
    ...(error === undefined ? {} : { error }),
  };
}
