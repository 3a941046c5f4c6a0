import { ProviderError, userError, type FailureDisposition, type InvoiceErrorCode } from '../../domain/errors';
import { excerpt } from '../../domain/text';
import { retryAfterSeconds, TransportError, type HttpResponse } from '../shared/http-client';
import { commerceErrorEnvelope } from './commerce.wire';

export type CommerceOperation = 'create' | 'read';

const OUR_MESSAGE: Record<InvoiceErrorCode, string> = {
  INVALID_INPUT: 'The Commerce API rejected the order id.',
  ORDER_NOT_FOUND: 'The Commerce API does not know this order.',
  ALREADY_INVOICED: 'The Commerce API already has an invoice for this order.',
  DUPLICATE_INVOICE_NUMBER: '',
  NOTHING_TO_CREDIT: '',
  PROVIDER_SETTINGS_MISMATCH: '',
  PROVIDER_REFUSED: 'The Commerce API refused the request.',
  PROVIDER_UNAUTHORIZED: "The Commerce API refused this service's access token (COMMERCE_ACCESS_TOKEN).",
  RATE_LIMITED: 'The Commerce API is rate limiting this service; retry after the delay.',
  PROVIDER_UNAVAILABLE: 'The Commerce API failed or could not be reached.',
  IDEMPOTENCY_CONFLICT: '',
  IN_PROGRESS: '',
  NEEDS_MANUAL_SETTLEMENT: '',
  PROVIDER_NOT_CONNECTED: '',
  CREDENTIALS_REFUSED: '',
  CONNECTIONS_NOT_CONFIGURED: '',
};

/**
 * The status a failure stated only in words would have had: some APIs answer 200 with `success: false`. A message
 * we cannot place counts as a server failure, so that a create stays unknown rather than refused.
 */
function statusOfMessage(message: string): number {
  const m = message.toLowerCase();
  if (/already|exists|duplicate/.test(m)) return 409;
  if (/not found/.test(m)) return 404;
  if (/token|unauthori[sz]ed|forbidden/.test(m)) return 401;
  if (/validation|required|invalid/.test(m)) return 400;
  return 500;
}

/**
 * Every Commerce API failure, mapped in this one place: an error status or a 2xx saying `success: false`, both
 * with the documented `{ success: false, message }`; a body that is not the API's; a transport failure. The API
 * sends no error codes, so `providerCode` stays null and its message travels verbatim. Field paths are relative to
 * the `commerce` input branch.
 */
export function mapCommerceFailure(failure: HttpResponse | TransportError, operation: CommerceOperation): ProviderError {
  const unknownOutcome: FailureDisposition = operation === 'create' ? 'indeterminate' : 'retryable';

  if (failure instanceof TransportError) {
    // A refused connection never reached the API; anything later on a create may have.
    const disposition = failure.kind === 'unreachable' ? 'retryable' : unknownOutcome;
    return new ProviderError(
      [userError('PROVIDER_UNAVAILABLE', `${OUR_MESSAGE.PROVIDER_UNAVAILABLE} (${failure.kind})`, null, { providerMessage: failure.message })],
      disposition,
      `transport:${failure.kind}`,
    );
  }

  const envelope = commerceErrorEnvelope.safeParse(failure.json);
  const providerMessage = envelope.success ? (envelope.data.message ?? null) : excerpt(failure.text) || null;
  const fail = (code: InvoiceErrorCode, disposition: FailureDisposition, field: string[] | null = null, retryAfter?: number | null) =>
    new ProviderError(
      [userError(code, OUR_MESSAGE[code], field, { providerCode: null, providerMessage, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) })],
      disposition,
      `http:${failure.status}${failure.status < 300 ? ':body' : ''}`,
    );

  let status = failure.status;
  if (status >= 200 && status < 300) {
    // A success status whose body is not the API's failure envelope: we cannot tell what happened.
    if (!envelope.success) return fail('PROVIDER_UNAVAILABLE', unknownOutcome, null);
    status = statusOfMessage(providerMessage ?? '');
  }

  switch (status) {
    case 400:
      // The body has one field: any validation failure is about the order id.
      return /already|exists/i.test(providerMessage ?? '') ? fail('ALREADY_INVOICED', 'final', ['orderId']) : fail('INVALID_INPUT', 'final', ['orderId']);
    case 401:
    case 403:
      return fail('PROVIDER_UNAUTHORIZED', 'final');
    case 404:
      // The API's own "Order not found" on a create; any other 404 (a wrong COMMERCE_BASE_URL answers one too, and
      // a read's is about the invoice) is a refusal that names no order.
      return operation === 'create' && envelope.success && /order/i.test(providerMessage ?? '')
        ? fail('ORDER_NOT_FOUND', 'final', ['orderId'])
        : fail('PROVIDER_REFUSED', 'final');
    case 409:
      return fail('ALREADY_INVOICED', 'final', ['orderId']);
    case 429:
      return fail('RATE_LIMITED', 'retryable', null, retryAfterSeconds(failure.headers['retry-after']));
  }
  if (status >= 500) return fail('PROVIDER_UNAVAILABLE', unknownOutcome);
  return fail('PROVIDER_REFUSED', 'final');
}
