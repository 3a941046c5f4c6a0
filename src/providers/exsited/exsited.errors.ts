import { ProviderError, userError, type FailureDisposition, type InvoiceErrorCode, type UserError } from '../../domain/errors';
import { excerpt } from '../../domain/text';
import { retryAfterSeconds, TransportError, type HttpResponse } from '../shared/http-client';
import { exsitedErrorEnvelope } from './exsited.wire';

/** `token` is POST /api/v1/oauth2/token: nothing is created there, so its failures never leave an unknown outcome. */
export type ExsitedOperation = 'token' | 'create' | 'read';

export interface ExsitedFailureContext {
  /**
   * Who chose the invoice id a create sent: the caller (a duplicate is then their mistake, on `invoiceId`) or
   * we, from the idempotency key (a duplicate the provider could not trace to our earlier attempt).
   */
  invoiceIdChosenBy?: 'caller' | 'us';
}

const OUR_MESSAGE: Record<InvoiceErrorCode, string> = {
  INVALID_INPUT: 'Exsited rejected this field.',
  ORDER_NOT_FOUND: 'Exsited does not know this order.',
  ALREADY_INVOICED: 'Exsited has already invoiced this order for its current billing period.',
  DUPLICATE_INVOICE_NUMBER: 'Exsited already has an invoice with this id.',
  NOTHING_TO_CREDIT: '',
  PROVIDER_SETTINGS_MISMATCH: '',
  PROVIDER_REFUSED: 'Exsited refused the request.',
  PROVIDER_UNAUTHORIZED: "Exsited refused this service's API client (its credentials, its token or its access rights).",
  RATE_LIMITED: 'Exsited is rate limiting this API client; retry after the delay.',
  PROVIDER_UNAVAILABLE: 'Exsited failed or could not be reached.',
  IDEMPOTENCY_CONFLICT: '',
  IN_PROGRESS: '',
  NEEDS_MANUAL_SETTLEMENT: '',
  PROVIDER_NOT_CONNECTED: '',
  CREDENTIALS_REFUSED: '',
  CONNECTIONS_NOT_CONFIGURED: '',
};

const DERIVED_ID_TAKEN =
  'Exsited already has an invoice, on another order, with the id derived from this idempotency key; retry with a new idempotency key or give invoiceId.';

/**
 * What a 400's message is about. Exsited's validation errors carry a message and no field, so the message is all
 * there is to go on; anything we cannot place is a refusal with Exsited's words.
 */
function classify400(message: string, context: ExsitedFailureContext): { code: InvoiceErrorCode; field: string[] | null; ours?: string } {
  const m = message.toLowerCase();
  const ours = context.invoiceIdChosenBy === 'us';
  if (/already (been )?(fully )?invoiced|fully invoiced/.test(m)) return { code: 'ALREADY_INVOICED', field: ['orderId'] };
  if (/\bid\b/.test(m) && /already exists|already in use|duplicate|taken/.test(m)) {
    return ours ? { code: 'DUPLICATE_INVOICE_NUMBER', field: null, ours: DERIVED_ID_TAKEN } : { code: 'DUPLICATE_INVOICE_NUMBER', field: ['invoiceId'] };
  }
  if (/\border\b/.test(m) && /not found|does not exist|unknown/.test(m)) return { code: 'ORDER_NOT_FOUND', field: ['orderId'] };
  if (/invoice[ _]?id|\bid\b/.test(m)) return { code: 'INVALID_INPUT', field: ours ? null : ['invoiceId'] };
  if (/note/.test(m)) return { code: 'INVALID_INPUT', field: ['invoiceNote'] };
  return { code: 'PROVIDER_REFUSED', field: null };
}

/**
 * Every Exsited failure, mapped in this one place: an HTTP error status with Exsited's `{ errors: [{ message }] }`,
 * a body that is not Exsited's, or a transport failure. Field paths are relative to the `exsited` input branch.
 * Exsited's errors carry no code of their own, so providerCode is the HTTP status.
 */
export function mapExsitedFailure(failure: HttpResponse | TransportError, operation: ExsitedOperation, context: ExsitedFailureContext = {}): ProviderError {
  const whenUnknown: FailureDisposition = operation === 'create' ? 'indeterminate' : 'retryable';

  if (failure instanceof TransportError) {
    // A refused connection never reached Exsited, and a token request creates nothing; anything else on a create may have.
    const disposition = failure.kind === 'unreachable' ? 'retryable' : whenUnknown;
    return new ProviderError(
      [userError('PROVIDER_UNAVAILABLE', `${OUR_MESSAGE.PROVIDER_UNAVAILABLE} (${failure.kind})`, null, { providerMessage: failure.message })],
      disposition,
      `transport:${failure.kind}`,
    );
  }

  const { status } = failure;
  const parsed = exsitedErrorEnvelope.safeParse(failure.json);
  const entries = parsed.success ? parsed.data.errors.filter((e) => e.message) : [];
  const providerCode = (e?: { code?: string | number | null }) => (e?.code != null ? String(e.code) : String(status));
  const providerMessage = entries.length > 0 ? entries.map((e) => e.message!.trim()).join(' ') : excerpt(failure.text) || null;
  const one = (code: InvoiceErrorCode, field: string[] | null, extra: Partial<UserError> = {}) =>
    userError(code, OUR_MESSAGE[code], field, { providerCode: providerCode(entries[0]), providerMessage, ...extra });
  const fail = (errors: UserError[], disposition: FailureDisposition, cause = `http:${status}`) => new ProviderError(errors, disposition, cause);

  // The token endpoint refusing us is a configuration problem whatever the status says.
  if (operation === 'token' && (status === 400 || status === 401 || status === 403)) return fail([one('PROVIDER_UNAUTHORIZED', null)], 'final', `token:http:${status}`);

  if (status === 400) {
    const errors = entries.map((e) => {
      const { code, field, ours } = classify400(e.message!, context);
      return userError(code, ours ?? OUR_MESSAGE[code], field, { providerCode: providerCode(e), providerMessage: e.message!.trim() });
    });
    return fail(errors.length > 0 ? errors : [one('PROVIDER_REFUSED', null)], 'final');
  }
  if (status === 401 || status === 403) return fail([one('PROVIDER_UNAUTHORIZED', null)], 'final');
  if (status === 404) {
    // The create endpoint exists, so a 404 there is about the order; on a read it is about the invoice.
    return fail([operation === 'create' ? one('ORDER_NOT_FOUND', ['orderId']) : one('PROVIDER_REFUSED', null)], 'final');
  }
  if (status === 429) return fail([one('RATE_LIMITED', null, { retryAfterSeconds: retryAfterSeconds(failure.headers['retry-after']) })], 'retryable');
  if (status >= 500) return fail([one('PROVIDER_UNAVAILABLE', null)], whenUnknown);
  if (status >= 200 && status < 300) {
    // A success status whose body is not what Exsited documents: we cannot tell what happened.
    return fail([one('PROVIDER_UNAVAILABLE', null, { providerMessage: 'unexpected response body' })], whenUnknown, `http:${status}:body`);
  }
  return fail([one('PROVIDER_REFUSED', null)], 'final');
}
