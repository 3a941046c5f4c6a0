import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ProviderChange, WebhookHeaders } from '../../domain/provider-change';
import type { ProviderWebhooks } from '../provider';

/**
 * Zuora's callout notifications (Events & Notifications): the tenant defines which events call out, to which URL, with
 * which body and which authentication; nothing about them is fixed by Zuora except what is below.
 *
 * What Zuora documents, and this module relies on:
 * - Callout templates take merge fields in the request body, and authenticate with Basic/NTLM, OAuth 2.0 and, on top
 *   of either, HMAC: "Zuora uses a specified hash function and secret key to generate signed data of a given message,
 *   and then sends the signed data in callout headers"
 *   (https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/callout-templates/callout-template-overview).
 *   The HMAC's algorithm (MD5 to SHA-512), output format (BASE64 or HEX), secret, signed data (merge fields such as
 *   `{{Request.Body}}`) and the header's key and value (`{{Request.HMAC.Signed}}`) are all the tenant's choice
 *   (https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/callout-templates/create-a-callout-template;
 *   REST fields hmacAlgorithm, hmacOutputFormat, hmacSecret, hmacData, hmacKey, hmacValue:
 *   https://developer.zuora.com/v1-api-reference/api/operation/CreateCalloutTemplate/). Zuora has no fixed signature
 *   header of its own.
 * - Every callout carries `Zuora-Notification-Id`, "the same ... in any type of retrials for the same notification
 *   context", and `Zuora-Request-Id`, different on every try; order is not guaranteed; a callout succeeds only on
 *   HTTP 200 and is retried on 1xx, 403, 408, 429 and 5xx (default three retries 30 minutes apart), not on 400 or 401
 *   (https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/notifications/callout-notification-overview).
 * - The events: Invoice Posted (1110) has the Invoice data source, Payment Processed (2120) the Payment data source
 *   (https://docs.zuora.com/zuora-platform/extensibility/events-and-notifications/standard-events/parent-and-event-category-code-for-events-and-notifications,
 *   https://docs.zuora.com/zuora-platform/extensibility/events-and-notifications/merge-fields-for-email-and-callout-templates/data-source-merge-fields);
 *   a payment's invoices are listed with `{{#Payment.PaymentParts}}{{Invoice.…}}{{/Payment.PaymentParts}}` (Invoice
 *   Settlement on) or `{{#Payment.InvoicePayments}}…{{/Payment.InvoicePayments}}` (off)
 *   (https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/merge-fields-for-email-and-callout-templates/examples-of-using-merge-fields).
 *   Payment Processed fires for electronic payments only, not external ones
 *   (https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/standard-events/standard-events-for-zuora-payments);
 *   credit memo applications, payment applications and invoice cancellations have no standard event and take a custom
 *   event on the base objects CreditMemoApplication, PaymentApplication and Invoice
 *   (https://docs.zuora.com/zuora-platform/extensibility/events-and-notifications/custom-events/supported-base-object-for-custom-events;
 *   conditions as in https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/custom-events/sample-code-for-custom-events).
 *
 * ASSUMPTION (the contract our users configure; the README shows it). Every callout template that points at
 * POST /webhooks/zuora:
 * - HTTP method POST, a custom JSON request body as below;
 * - HMAC on: Algorithm SHA-256, Output Text Format HEX (BASE64 is accepted too), Secret Key = ZUORA_WEBHOOK_SECRET
 *   (a tenant's own connection: the webhookSecret given to connectProvider, with the custom header X-Zuora-Tenant-Id),
 *   Data = `{{Request.Body}}`, Header Key = `X-Zuora-Signature`, Header Value = `{{Request.HMAC.Signed}}` (nothing
 *   else in it). We assume `{{Request.Body}}` is exactly the bytes Zuora sends. Basic or OAuth authentication may be
 *   added on top and is not checked here: the HMAC is what authenticates, and it covers the body;
 * - Retriable on (Zuora's own schedule applies; deliveries may repeat and arrive out of order, which is harmless: the
 *   subgraph reads the named invoices again and never applies a body).
 *
 * The bodies (the merge field tags are those the callout template's "Merge Field Tag" helper generates; check them with
 * the template's preview):
 *
 *   Invoice Posted (standard event 1110):
 *     {"event":"InvoicePosted","invoiceId":"{{DataSource.Invoice.Id}}",
 *      "invoiceNumber":"{{DataSource.Invoice.InvoiceNumber}}","accountId":"{{DataSource.Account.Id}}"}
 *   Payment Processed (standard event 2120; with Invoice Settlement; without it, Payment.InvoicePayments):
 *     {"event":"PaymentProcessed","paymentId":"{{DataSource.Payment.Id}}","accountId":"{{DataSource.Account.Id}}",
 *      "invoiceIds":"{{#Payment.PaymentParts}}{{Invoice.Id}},{{/Payment.PaymentParts}}"}
 *   Payment applied (custom event on PaymentApplication, condition `changeType == 'INSERT'`; covers external payments):
 *     {"event":"PaymentApplied","paymentId":"{{DataSource.PaymentApplication.PaymentId}}",
 *      "invoiceId":"{{DataSource.PaymentApplication.InvoiceId}}"}
 *   Credit memo applied (custom event on CreditMemoApplication, condition `changeType == 'INSERT'`; a reversal is one):
 *     {"event":"CreditMemoApplied","creditMemoId":"{{DataSource.CreditMemoApplication.CreditMemoId}}",
 *      "invoiceId":"{{DataSource.CreditMemoApplication.InvoiceId}}"}
 *   Invoice canceled (custom event on Invoice, condition
 *   `changeType == 'UPDATE' && Invoice.Status == 'Canceled' && Invoice.Status_old != 'Canceled'`):
 *     {"event":"InvoiceCanceled","invoiceId":"{{DataSource.Invoice.Id}}","invoiceNumber":"{{DataSource.Invoice.InvoiceNumber}}"}
 *
 * Read rules: `event` is required (a name, for logs); the invoices are `invoiceId` (one id) and/or `invoiceIds` (a JSON
 * array of ids, or the comma-separated string the merge-field loop above renders, trailing comma and empty entries --
 * a payment part on a debit memo -- allowed). Ids are Zuora's 32-hex object ids. Other fields are ignored. A delivery
 * naming more than MAX_INVOICES_PER_DELIVERY invoices is refused. The events named above must name at least one
 * invoice (except PaymentProcessed: a payment applied to no invoice changes none); any other event is mapped by the
 * same rules, or ignored when it names none.
 */

/** The header our contract tells users to put the HMAC in (Header Key of the callout template's HMAC settings). */
export const ZUORA_SIGNATURE_HEADER = 'x-zuora-signature';
/**
 * The header naming the Zuora tenant a callout comes from, on the callout templates of a tenant's own connection
 * (connectProvider with a webhookSecret): a custom callout header whose value is the Zuora tenant id. Callout templates
 * take custom headers (https://docs.zuora.com/en/zuora-platform/extensibility/events-and-notifications/callout-templates/callout-template-overview,
 * "Custom callout headers"). ASSUMPTION: the value is typed as a literal (we found no documented merge field for the
 * tenant id); it is the connection's accountId that providerConnections shows. It only chooses the secret: the HMAC
 * over the body is what proves the callout.
 */
export const ZUORA_TENANT_HEADER = 'x-zuora-tenant-id';
/** Zuora tenant ids are numbers; anything else here names no tenant. */
const TENANT_ID = /^[0-9]{1,20}$/;
/** Zuora's delivery id: the same on every retry of one notification. */
export const ZUORA_NOTIFICATION_ID_HEADER = 'zuora-notification-id';
/** More invoices than this in one delivery is refused (a payment applied to a hundred invoices is already unusual). */
export const MAX_INVOICES_PER_DELIVERY = 100;
/** The comma-separated form is refused above this length before it is split (100 ids and separators fit well). */
const MAX_ID_LIST_CHARS = 8192;

/** The events of the contract above; other names are accepted and read by the same rules. */
export const ZUORA_CALLOUT_EVENTS = ['InvoicePosted', 'PaymentProcessed', 'PaymentApplied', 'CreditMemoApplied', 'InvoiceCanceled'] as const;
export type ZuoraCalloutEvent = (typeof ZUORA_CALLOUT_EVENTS)[number];

/** The hex HMAC-SHA256 of the raw body under the secret: what Zuora sends with the contract's settings (and the emulator). */
export function zuoraSignature(rawBody: Buffer | string, secret: string, format: 'hex' | 'base64' = 'hex'): string {
  return createHmac('sha256', secret).update(rawBody).digest(format);
}

/** Constant-time equality of two byte strings, on their hashes so that different lengths leak nothing either. */
function same(a: Buffer, b: Buffer): boolean {
  const digest = (v: Buffer) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

const HEX_SIGNATURE = /^[0-9a-fA-F]{64}$/;
const BASE64_SIGNATURE = /^[A-Za-z0-9+/]{43}=$/;
/** Zuora's object ids: 32 hex digits. */
const ZUORA_ID = /^[0-9a-fA-F]{32}$/;
/** What Zuora-Notification-Id may look like to be used as the key (Zuora documents no format: any short token). */
const NOTIFICATION_ID = /^[A-Za-z0-9_-]{1,128}$/;
const EVENT_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

/** The signature's bytes, decoded from hex or base64 (Output Text Format), or null when it is neither. */
function signatureBytes(header: string | undefined): Buffer | null {
  const value = header?.trim() ?? '';
  if (HEX_SIGNATURE.test(value)) return Buffer.from(value, 'hex');
  if (BASE64_SIGNATURE.test(value)) return Buffer.from(value, 'base64');
  return null;
}

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** One id, or null for the empty string a merge field renders when the object has none. Throws on anything else. */
function idOf(value: unknown, field: string): string | null {
  if (value === '') return null;
  if (typeof value !== 'string' || !ZUORA_ID.test(value)) {
    throw new Error(`${field} must be a Zuora id (32 hex digits), not ${typeof value === 'string' ? `a string of ${value.length} characters` : kindOf(value)}`);
  }
  return value;
}

function idsOf(value: unknown): string[] {
  let entries: unknown[];
  if (typeof value === 'string') {
    if (value.length > MAX_ID_LIST_CHARS) throw new Error(`invoiceIds is longer than ${MAX_ID_LIST_CHARS} characters`);
    entries = value.split(',').map((s) => s.trim());
  } else if (Array.isArray(value)) {
    if (value.length > MAX_INVOICES_PER_DELIVERY) throw new Error(`invoiceIds names more than ${MAX_INVOICES_PER_DELIVERY} invoices`);
    entries = value;
  } else {
    throw new Error(`invoiceIds must be an array or a comma-separated string, not ${kindOf(value)}`);
  }
  const ids: string[] = [];
  for (const [i, entry] of entries.entries()) {
    const id = idOf(entry, `invoiceIds[${i}]`);
    if (id !== null) ids.push(id);
    if (ids.length > MAX_INVOICES_PER_DELIVERY) throw new Error(`invoiceIds names more than ${MAX_INVOICES_PER_DELIVERY} invoices`);
  }
  return ids;
}

/** The invoices a callout body names, in order, without repeats; throws on a body that is no callout of the contract. */
export function zuoraCalloutInvoices(body: unknown): { event: string; invoiceIds: string[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error(`a Zuora callout body is a JSON object, not ${kindOf(body)}`);
  const b = body as Record<string, unknown>;
  if (typeof b.event !== 'string' || !EVENT_NAME.test(b.event)) throw new Error('a Zuora callout body names its event (a letter, then up to 99 letters, digits, _ . -)');
  const ids: string[] = [];
  if (b.invoiceId !== undefined && b.invoiceId !== null) {
    const id = idOf(b.invoiceId, 'invoiceId');
    if (id !== null) ids.push(id);
  }
  if (b.invoiceIds !== undefined && b.invoiceIds !== null) ids.push(...idsOf(b.invoiceIds));
  const unique = [...new Set(ids)];
  if (unique.length > MAX_INVOICES_PER_DELIVERY) throw new Error(`the callout names more than ${MAX_INVOICES_PER_DELIVERY} invoices`);
  const named = (ZUORA_CALLOUT_EVENTS as readonly string[]).includes(b.event) && b.event !== 'PaymentProcessed';
  if (named && unique.length === 0) throw new Error(`a ${b.event} callout names its invoice (invoiceId)`);
  return { event: b.event, invoiceIds: unique };
}

export const zuoraWebhooks: ProviderWebhooks = {
  /** The contract's HMAC: X-Zuora-Signature is the HMAC-SHA256 of the raw body under the secret, hex or base64. */
  verify(rawBody: Buffer, headers: WebhookHeaders, secret: string): boolean {
    const presented = signatureBytes(headers[ZUORA_SIGNATURE_HEADER]);
    return presented !== null && secret.length > 0 && same(presented, createHmac('sha256', secret).update(rawBody).digest());
  },

  /**
   * Zuora-Notification-Id where it has one (the same on every retry of the notification; Zuora-Request-Id changes per
   * try and is no key), else the body's digest. The header is not covered by the HMAC: a signed body resent under
   * another id is recorded again, which costs one more read and changes nothing.
   */
  deliveryKey(rawBody: Buffer, headers: WebhookHeaders): string {
    const id = headers[ZUORA_NOTIFICATION_ID_HEADER]?.trim() ?? '';
    if (NOTIFICATION_ID.test(id)) return `notification:${id}`;
    return `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
  },

  /** X-Zuora-Tenant-Id: the tenant whose connection's secret verifies the callout; absent, the deployment's does. */
  accountOf(headers: WebhookHeaders): string | null {
    const value = headers[ZUORA_TENANT_HEADER];
    if (value === undefined) return null;
    return TENANT_ID.test(value.trim()) ? value.trim() : '';
  },

  changesOf(body: unknown): ProviderChange[] {
    const { event, invoiceIds } = zuoraCalloutInvoices(body);
    return invoiceIds.map((providerInvoiceId) => ({ provider: 'ZUORA', event, orderId: null, providerInvoiceId }));
  },
};
