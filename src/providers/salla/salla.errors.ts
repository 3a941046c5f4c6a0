import { ProviderError, userError, type InvoiceErrorCode, type UserError } from '../../domain/errors';
import { excerpt } from '../../domain/text';
import { retryAfterSeconds, TransportError, type HttpResponse } from '../shared/http-client';
import { SessionEnded, SessionUnavailable } from '../shared/rotating-token-source';
import { oauthErrorBody, sallaErrorEnvelope } from './salla.wire';
import { WIRE_FIELD_TO_INPUT } from './salla.input';

export type SallaOperation = 'create' | 'read';

/** Which kind of 422 a field message is. Matched in English (we ask for it) and in Arabic (Salla's default). */
function classifyField(field: string, message: string): InvoiceErrorCode {
  const m = message.toLowerCase();
  const required = /required|مطلوب/.test(m);
  switch (field) {
    case 'order_id':
      // A mistyped id ("must be an integer") is our input's fault; any other refusal of a well-formed id is the order.
      return required || /integer|عدد/.test(m) ? 'INVALID_INPUT' : 'ORDER_NOT_FOUND';
    case 'order':
      return 'ALREADY_INVOICED';
    case 'type':
      if (/already|previously|سابقا|مسبق/.test(m)) return 'ALREADY_INVOICED';
      if (/credit|tax invoice|before|دائن|ضريبية|قبل/.test(m)) return 'NOTHING_TO_CREDIT';
      return 'INVALID_INPUT';
    case 'invoice_number':
      return /duplicate|already|taken|used|مكرر/.test(m) ? 'DUPLICATE_INVOICE_NUMBER' : 'INVALID_INPUT';
    case 'invoice_provider':
      return 'PROVIDER_SETTINGS_MISMATCH';
    case 'data_type':
      return required || /invalid|غير صالح/.test(m) ? 'INVALID_INPUT' : 'PROVIDER_SETTINGS_MISMATCH';
    default:
      return field in WIRE_FIELD_TO_INPUT ? 'INVALID_INPUT' : 'PROVIDER_REFUSED';
  }
}

const OUR_MESSAGE: Record<InvoiceErrorCode, string> = {
  INVALID_INPUT: 'Salla rejected this field.',
  ORDER_NOT_FOUND: 'Salla does not know this order.',
  ALREADY_INVOICED: 'Salla already has an invoice of this type for the order.',
  DUPLICATE_INVOICE_NUMBER: 'Salla already has an invoice with this number.',
  NOTHING_TO_CREDIT: 'Salla needs a tax invoice on the order before a credit note.',
  PROVIDER_SETTINGS_MISMATCH: "The Salla store's invoice issuer setting does not allow this data type (ORDER needs Salla as issuer; DATA, URL and FILE need a custom issuer).",
  PROVIDER_REFUSED: 'Salla refused the request.',
  PROVIDER_UNAUTHORIZED: "Salla refused this service's access token or its scope (orders.read_write is needed to create).",
  RATE_LIMITED: 'Salla is rate limiting this store; retry after the delay.',
  PROVIDER_UNAVAILABLE: 'Salla failed or could not be reached.',
  IDEMPOTENCY_CONFLICT: '',
  IN_PROGRESS: '',
  NEEDS_MANUAL_SETTLEMENT: '',
  PROVIDER_NOT_CONNECTED: '',
  CREDENTIALS_REFUSED: '',
  CONNECTIONS_NOT_CONFIGURED: '',
};

const OUR_MESSAGE_BLOCKED = 'Salla has temporarily blocked this store\'s API access after many failed requests; retry after the delay.';

/** Whether a 401 says the token itself is no good (expired, revoked), so that a renewed one may pass; a scope refusal is not. */
export function sallaTokenRefused(res: HttpResponse): boolean {
  if (res.status !== 401) return false;
  const parsed = sallaErrorEnvelope.safeParse(res.json);
  return !(parsed.success && /scope/i.test(parsed.data.error.message ?? ''));
}

/**
 * A failure of the token endpoint (RFC 6749 §5.2 errors) on a refresh: nothing reached Salla's API, so a create that
 * waited for the token is retryable. `invalid_grant` never comes here: the session source ends the session on it.
 */
export function mapSallaTokenFailure(failure: HttpResponse | TransportError): ProviderError {
  const unavailable = (cause: string, providerMessage: string | null) =>
    new ProviderError([userError('PROVIDER_UNAVAILABLE', "Salla's token endpoint failed or could not be reached while renewing the session.", null, { providerMessage })], 'retryable', cause);
  if (failure instanceof TransportError) return unavailable(`token:transport:${failure.kind}`, failure.message);
  const parsed = oauthErrorBody.safeParse(failure.json);
  const providerCode = parsed.success ? parsed.data.error : null;
  const providerMessage = parsed.success ? (parsed.data.error_description ?? null) : excerpt(failure.text) || null;
  if (failure.status === 429) {
    return new ProviderError([userError('RATE_LIMITED', OUR_MESSAGE.RATE_LIMITED, null, { providerCode, providerMessage, retryAfterSeconds: retryAfterSeconds(failure.headers['retry-after']) })], 'retryable', 'token:http:429');
  }
  if (failure.status >= 500 || (failure.status >= 200 && failure.status < 300)) return unavailable(`token:http:${failure.status}`, providerMessage);
  return new ProviderError(
    [userError('PROVIDER_UNAUTHORIZED', "Salla's token endpoint refused this service's app credentials (SALLA_CLIENT_ID, SALLA_CLIENT_SECRET) or request.", null, { providerCode, providerMessage })],
    'final',
    `token:http:${failure.status}${providerCode ? `:${providerCode}` : ''}`,
  );
}

/** The session source's own refusals: the session ended for good, or could not safely be renewed now. Nothing was sent to Salla's API. */
export function mapSallaSessionFailure(err: SessionEnded | SessionUnavailable): ProviderError {
  if (err instanceof SessionEnded) {
    return new ProviderError(
      [
        userError(
          'PROVIDER_UNAUTHORIZED',
          "Salla refused this service's refresh token (used before, revoked or expired), so its session has ended: the Salla app must be re-authorised by the merchant (reinstalled), and SALLA_REFRESH_TOKEN set to the new refresh token. Nothing was sent.",
          null,
          { providerCode: 'invalid_grant', providerMessage: err.message },
        ),
      ],
      'final',
      'session:ended',
    );
  }
  return new ProviderError(
    [userError('PROVIDER_UNAVAILABLE', "Salla's session needs renewing and the replicas' shared token store cannot be reached now; nothing was sent. Retry shortly.", null, { providerMessage: err.message })],
    'retryable',
    'session:unavailable',
  );
}

const branch = (wireField: string | null): string[] => {
  const input = wireField ? WIRE_FIELD_TO_INPUT[wireField] : null;
  return input ? [input] : [];
};

/** X-RateLimit-Reset is the epoch second at which the bucket has room again. */
function secondsUntilReset(value: string | undefined, now = Date.now()): number | null {
  const at = Number(value);
  return value && Number.isFinite(at) ? Math.max(0, Math.ceil(at - now / 1000)) : null;
}

/**
 * Every Salla failure, mapped in this one place: an HTTP error status with Salla's envelope, a body that is not
 * Salla's, or a transport failure. Field paths are relative to the `salla` input branch.
 */
export function mapSallaFailure(failure: HttpResponse | TransportError, operation: SallaOperation): ProviderError {
  if (failure instanceof TransportError) {
    // A refused connection never reached Salla; anything later on a create may have.
    const disposition = failure.kind === 'unreachable' || operation === 'read' ? 'retryable' : 'indeterminate';
    return new ProviderError(
      [userError('PROVIDER_UNAVAILABLE', `${OUR_MESSAGE.PROVIDER_UNAVAILABLE} (${failure.kind})`, null, { providerMessage: failure.message })],
      disposition,
      `transport:${failure.kind}`,
    );
  }

  const { status } = failure;
  const parsed = sallaErrorEnvelope.safeParse(failure.json);
  const providerMessage = parsed.success ? (parsed.data.error.message ?? null) : excerpt(failure.text) || null;
  const providerCode = parsed.success && parsed.data.error.code != null ? String(parsed.data.error.code) : null;
  const one = (code: InvoiceErrorCode, field: string[] | null, extra: Partial<UserError> = {}) =>
    userError(code, OUR_MESSAGE[code], field, { providerCode, providerMessage, ...extra });

  if (status === 422 && parsed.success && parsed.data.error.fields) {
    const errors = Object.entries(parsed.data.error.fields).flatMap(([field, messages]) =>
      (Array.isArray(messages) ? messages : [messages]).map((message) =>
        userError(classifyField(field, message), OUR_MESSAGE[classifyField(field, message)], branch(field), {
          providerCode: `${providerCode ?? 'error'}:${field}`,
          providerMessage: message.trim(),
        }),
      ),
    );
    if (errors.length > 0) return new ProviderError(errors, 'final', 'http:422');
  }
  if (status === 401) return new ProviderError([one('PROVIDER_UNAUTHORIZED', null)], 'final', 'http:401');
  if (status === 403) {
    // Salla's "Responses" (https://docs.salla.dev/421123m0): 403 is "refusing it (blocked due to many errors in
    // particular time) or the access is not allowed". A block is throttling, to wait out, never a re-authentication;
    // only a refusal that names a scope or permission is about access.
    if (providerMessage && /scope|permission|not allowed|صلاحي/i.test(providerMessage)) return new ProviderError([one('PROVIDER_UNAUTHORIZED', null)], 'final', 'http:403');
    const wait = retryAfterSeconds(failure.headers['retry-after']) ?? secondsUntilReset(failure.headers['x-ratelimit-reset']);
    return new ProviderError([one('RATE_LIMITED', null, { message: OUR_MESSAGE_BLOCKED, retryAfterSeconds: wait })], 'retryable', 'http:403:blocked');
  }
  if (status === 404) {
    // The create endpoint exists, so a 404 there is about the order; on a read it is about the invoice.
    return new ProviderError([one(operation === 'create' ? 'ORDER_NOT_FOUND' : 'PROVIDER_REFUSED', operation === 'create' ? ['orderId'] : null)], 'final', 'http:404');
  }
  if (status === 429) {
    const wait = retryAfterSeconds(failure.headers['retry-after']) ?? secondsUntilReset(failure.headers['x-ratelimit-reset']);
    return new ProviderError([one('RATE_LIMITED', null, { retryAfterSeconds: wait })], 'retryable', 'http:429');
  }
  if (status >= 500) {
    return new ProviderError([one('PROVIDER_UNAVAILABLE', null)], operation === 'create' ? 'indeterminate' : 'retryable', `http:${status}`);
  }
  if (status >= 200 && status < 300) {
    // A success status whose body is not Salla's success envelope: we cannot tell what happened.
    return new ProviderError([one('PROVIDER_UNAVAILABLE', null, { providerMessage: 'unexpected response body' })], operation === 'create' ? 'indeterminate' : 'retryable', `http:${status}:body`);
  }
  return new ProviderError([one('PROVIDER_REFUSED', null)], 'final', `http:${status}`);
}
