import { ProviderError, userError, type FailureDisposition, type InvoiceErrorCode, type UserError } from '../../domain/errors';
import { excerpt } from '../../domain/text';
import { retryAfterSeconds, TransportError, type HttpResponse } from '../shared/http-client';
import type { ZuoraCreateInput } from './zuora.input';
import { zuoraFailureEnvelope, type ZuoraReason } from './zuora.wire';

/** `token` is POST /oauth/token: nothing else was sent yet, so none of its failures can have created anything. */
export type ZuoraOperation = 'token' | 'create' | 'read';

const OUR_MESSAGE: Record<InvoiceErrorCode, string> = {
  INVALID_INPUT: 'Zuora rejected this value.',
  ORDER_NOT_FOUND: 'Zuora does not know this order line item.',
  ALREADY_INVOICED: 'Zuora has already fulfilled the whole quantity of this order line item.',
  DUPLICATE_INVOICE_NUMBER: '',
  NOTHING_TO_CREDIT: 'Zuora has nothing delivered on this order line item that is left to return.',
  PROVIDER_SETTINGS_MISMATCH: 'The Zuora account has no default payment method, so the payment cannot be collected (set collectPayment to false).',
  PROVIDER_REFUSED: 'Zuora refused the request.',
  PROVIDER_UNAUTHORIZED: "Zuora refused this service's OAuth client or token (ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET, or ZUORA_ACCESS_TOKEN).",
  RATE_LIMITED: 'Zuora is rate limiting this tenant; retry after the delay with the same idempotency key.',
  PROVIDER_UNAVAILABLE: 'Zuora failed or could not be reached.',
  IDEMPOTENCY_CONFLICT: 'Zuora has already seen this idempotency key on another kind of request.',
  IN_PROGRESS: 'Zuora is still processing a request with this idempotency key; retry with the same key shortly.',
  NEEDS_MANUAL_SETTLEMENT: '',
  PROVIDER_NOT_CONNECTED: '',
  CREDENTIALS_REFUSED: '',
  CONNECTIONS_NOT_CONFIGURED: '',
};

/** Input fields of a fulfillment, which Zuora names the same on the wire. */
const FULFILLMENT_FIELDS = new Set(['orderLineItemId', 'quantity', 'fulfillmentDate', 'billTargetDate', 'fulfillmentType', 'state', 'externalId', 'trackingNumber', 'carrier', 'description']);
const PROCESSING_FIELDS = new Set(['runBilling', 'collectPayment', 'documentDate', 'targetDate']);

interface Classified {
  code: InvoiceErrorCode;
  field: string[] | null;
  disposition: FailureDisposition;
}

/** The fulfillment a message names by its order line item id ('…32 hex…'), preferring one of the type it speaks of. */
function fulfillmentIndex(message: string, input: ZuoraCreateInput | undefined): number {
  const id = /'([0-9a-f]{32})'/i.exec(message)?.[1]?.toLowerCase();
  if (!id || !input) return -1;
  const returns = /\breturn/i.test(message);
  const sameItem = (i: number) => input.fulfillments[i]!.orderLineItemId.toLowerCase() === id;
  const indexes = input.fulfillments.map((_, i) => i).filter(sameItem);
  return indexes.find((i) => (input.fulfillments[i]!.fulfillmentType === 'Return') === returns) ?? indexes[0] ?? -1;
}

/** The input path a message speaks of: `fulfillments[1].quantity`, `processingOptions.billingOptions.targetDate`, an id. */
function fieldOf(message: string, input: ZuoraCreateInput | undefined, idField = 'orderLineItemId'): string[] | null {
  const f = /fulfillments\[(\d+)\](?:\.(\w+))?/.exec(message);
  if (f) return f[2] && FULFILLMENT_FIELDS.has(f[2]) ? ['fulfillments', f[1]!, f[2]] : ['fulfillments', f[1]!];
  const p = /processingOptions\.(?:billingOptions\.)?(\w+)/.exec(message);
  if (p) return PROCESSING_FIELDS.has(p[1]!) ? ['processingOptions', p[1]!] : ['processingOptions'];
  const i = fulfillmentIndex(message, input);
  if (i >= 0) return ['fulfillments', String(i), idField];
  return /'fulfillments'/.test(message) ? ['fulfillments'] : null;
}

/** Zuora's rule restrictions (category 30) this API tells apart; messages are matched in English, Zuora's language. */
function classifyRule(message: string, input: ZuoraCreateInput | undefined): Classified {
  if (/payment method/i.test(message)) return { code: 'PROVIDER_SETTINGS_MISMATCH', field: ['processingOptions', 'collectPayment'], disposition: 'final' };
  if (/quantity/i.test(message)) {
    const nothingLeft = /\(0(\.0*)?\)/.test(message);
    const code: InvoiceErrorCode = !nothingLeft ? 'INVALID_INPUT' : /\breturn/i.test(message) ? 'NOTHING_TO_CREDIT' : 'ALREADY_INVOICED';
    return { code, field: fieldOf(message, input, 'quantity'), disposition: 'final' };
  }
  return { code: 'PROVIDER_REFUSED', field: fieldOf(message, input), disposition: 'final' };
}

/**
 * One reason by its category, the last two digits of Zuora's 8-digit code: 10/11 access, 20-23 invalid or missing
 * values, 30 rule restriction, 40 not found, 45 unsupported, 50 lock contention, 60 internal, 61 temporary,
 * 70 limit exceeded, 90 malformed request, 99 integration error.
 */
function classifyReason(reason: ZuoraReason, operation: ZuoraOperation, input: ZuoraCreateInput | undefined): Classified {
  const message = reason.message ?? '';
  const numeric = Number(reason.code);
  const category = Number.isInteger(numeric) ? numeric % 100 : null;
  switch (category) {
    case 10:
    case 11:
      return { code: 'PROVIDER_UNAUTHORIZED', field: null, disposition: 'final' };
    case 20:
    case 21:
    case 22:
    case 23:
      return { code: 'INVALID_INPUT', field: fieldOf(message, input), disposition: 'final' };
    case 30:
      return classifyRule(message, input);
    case 40: {
      // On a create, what Zuora cannot find is a line item the input names; on a read, the document itself.
      const i = operation === 'create' ? fulfillmentIndex(message, input) : -1;
      return i >= 0 ? { code: 'ORDER_NOT_FOUND', field: ['fulfillments', String(i), 'orderLineItemId'], disposition: 'final' } : { code: 'PROVIDER_REFUSED', field: null, disposition: 'final' };
    }
    case 50:
    case 61:
      return { code: 'PROVIDER_UNAVAILABLE', field: null, disposition: 'retryable' };
    case 60:
      return { code: 'PROVIDER_UNAVAILABLE', field: null, disposition: operation === 'create' ? 'indeterminate' : 'retryable' };
    case 70:
      return { code: 'RATE_LIMITED', field: null, disposition: 'retryable' };
    case 45:
    case 90:
    case 99:
      return { code: 'PROVIDER_REFUSED', field: fieldOf(message, input), disposition: 'final' };
    default:
      // A category Zuora does not document proves nothing about a create: calling it
      // a refusal would let a retry's lookup take "nothing was created" for an answer and lose the invoice.
      return operation === 'create'
        ? { code: 'PROVIDER_UNAVAILABLE', field: null, disposition: 'indeterminate' }
        : { code: 'PROVIDER_REFUSED', field: fieldOf(message, input), disposition: 'final' };
  }
}

/** May have acted beats refused beats may be retried: the safest reading of a mixed answer. */
function combined(dispositions: FailureDisposition[]): FailureDisposition {
  if (dispositions.includes('indeterminate')) return 'indeterminate';
  return dispositions.includes('final') ? 'final' : 'retryable';
}

/** Zuora's RateLimit-Reset is the number of seconds until the quota resets (IETF rate-limit headers). */
function waitSeconds(headers: HttpResponse['headers']): number | null {
  const reset = Number(headers['ratelimit-reset']);
  return retryAfterSeconds(headers['retry-after']) ?? (headers['ratelimit-reset'] && Number.isFinite(reset) && reset >= 0 ? Math.ceil(reset) : null);
}

/** The OAuth endpoint's own error shape (`{ error, error_description }`), or text. */
function tokenErrorMessage(res: HttpResponse): string | null {
  const body = res.json as { error?: unknown; error_description?: unknown; message?: unknown } | undefined;
  const text = [body?.error, body?.error_description ?? body?.message].filter((v) => typeof v === 'string' && v).join(': ');
  return text || excerpt(res.text) || null;
}

/**
 * Every Zuora failure, mapped in this one place: a transport failure, an error status, or Zuora's `success: false`
 * envelope on any status (HTTP 200 included). `input` lets a create's reasons point at the fulfillment they concern;
 * field paths are relative to the `zuora` input branch.
 */
export function mapZuoraFailure(failure: HttpResponse | TransportError, operation: ZuoraOperation, input?: ZuoraCreateInput): ProviderError {
  if (failure instanceof TransportError) {
    // A refused connection never reached Zuora, and a token request creates nothing; a create's later failure may have.
    const disposition = operation === 'create' && failure.kind !== 'unreachable' ? 'indeterminate' : 'retryable';
    return new ProviderError(
      [userError('PROVIDER_UNAVAILABLE', `${OUR_MESSAGE.PROVIDER_UNAVAILABLE} (${failure.kind})`, null, { providerMessage: failure.message })],
      disposition,
      `transport:${failure.kind}`,
    );
  }

  const { status } = failure;
  const envelope = zuoraFailureEnvelope.safeParse(failure.json);
  const reasons = envelope.success ? (envelope.data.reasons ?? []) : [];
  const first = reasons[0];
  const providerCode = first?.code != null ? String(first.code) : null;
  const providerMessage = operation === 'token' ? tokenErrorMessage(failure) : (first?.message ?? (excerpt(failure.text) || null));
  const one = (code: InvoiceErrorCode, disposition: FailureDisposition, extra: Partial<UserError> = {}) =>
    new ProviderError([userError(code, OUR_MESSAGE[code], null, { providerCode, providerMessage, ...extra })], disposition, `http:${status}`);
  const mayHaveActed: FailureDisposition = operation === 'create' ? 'indeterminate' : 'retryable';

  if (status === 401 || status === 403 || (operation === 'token' && status === 400)) return one('PROVIDER_UNAUTHORIZED', 'final');
  if (status === 429) return one('RATE_LIMITED', 'retryable', { retryAfterSeconds: waitSeconds(failure.headers) });
  // A token request creates nothing, and short of refused credentials its failure says nothing about an invoice: a
  // lookup must not read it as "nothing was created".
  if (operation === 'token') return one('PROVIDER_UNAVAILABLE', 'retryable');
  // With an Idempotency-Key: 409 while the first request with the key runs, 422 when the key served another URL or method.
  if (operation === 'create' && status === 409) return one('IN_PROGRESS', 'indeterminate');
  if (operation === 'create' && status === 422) return one('IDEMPOTENCY_CONFLICT', 'final');
  if (status >= 500) return one('PROVIDER_UNAVAILABLE', mayHaveActed);

  if (envelope.success && reasons.length > 0) {
    const classified = reasons.map((r) => ({ reason: r, ...classifyReason(r, operation, input) }));
    const errors = classified.map(({ reason, code, field }) =>
      userError(code, OUR_MESSAGE[code], field, { providerCode: reason.code != null ? String(reason.code) : null, providerMessage: reason.message ?? null }),
    );
    return new ProviderError(errors, combined(classified.map((c) => c.disposition)), `http:${status}:reasons`);
  }
  if (status >= 200 && status < 300 && !envelope.success) {
    // A success status whose body is neither Zuora's success nor its failure: we cannot tell what happened.
    return one('PROVIDER_UNAVAILABLE', mayHaveActed, { providerMessage: 'unexpected response body' });
  }
  return one('PROVIDER_REFUSED', 'final');
}

/**
 * Whether a read failed because Zuora has no such object in this tenant: every reason in category 40 ("not found"),
 * on HTTP 404 or on the 200 with `success: false` that Zuora's v1 API answers its failures with ("HTTP 200 doesn't
 * mean your call succeeded", https://developer.zuora.com/docs/guides/error-handling; the eight-digit code's last two
 * digits are its category, https://developer.zuora.com/docs/guides/error-codes; the emulator does the same). Anything
 * else (a 5xx naming a missing record, a mixed answer) may be passing and is no answer. Pure.
 */
export function isNotFound(err: unknown): boolean {
  return (
    err instanceof ProviderError &&
    /^http:(200|404):reasons$/.test(err.cause_) &&
    err.userErrors.length > 0 &&
    err.userErrors.every((e) => typeof e.providerCode === 'string' && /^\d{6}40$/.test(e.providerCode))
  );
}

/**
 * An attempt older than Zuora's idempotency window cannot be checked by resending it: Zuora would take the resend
 * for a new request. It stays open (indeterminate) for a person to settle in Zuora.
 */
export function idempotencyWindowPassed(startedAt: Date): ProviderError {
  return new ProviderError(
    [
      userError(
        'NEEDS_MANUAL_SETTLEMENT',
        `This attempt began ${startedAt.toISOString()}, past the 24 hours Zuora keeps an Idempotency-Key: whether it billed can only be checked in Zuora itself, so nothing was sent.`,
      ),
    ],
    'indeterminate',
    'Zuora idempotency window passed',
  );
}
