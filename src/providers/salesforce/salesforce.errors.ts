import { ProviderError, userError, type FailureDisposition, type InvoiceErrorCode, type UserError } from '../../domain/errors';
import { excerpt } from '../../domain/text';
import { retryAfterSeconds, TransportError, type HttpResponse } from '../shared/http-client';
import { oauthErrorBody, salesforceErrorBody, type FulfillmentOrderInvoiceOutput, type SalesforceErrorItem } from './salesforce.wire';

/** 'token': a request to the OAuth token endpoint, which acts on nothing: its failures never leave an outcome open. */
export type SalesforceOperation = 'create' | 'read' | 'token';

/** A record a query answered without: deleted, never there, or not visible to the integration user. */
export interface MissingRecord {
  missing: 'Invoice' | 'FulfillmentOrder';
  id: string;
}

/** A field the org's describe lacks though invoicing cannot do without it. */
export interface MissingField {
  sobject: string;
  field: string;
}

/** Everything that can fail: an HTTP answer, no answer, a 2xx create output saying `success: false`, an absent record or field. */
export type SalesforceFailure = HttpResponse | TransportError | FulfillmentOrderInvoiceOutput | MissingRecord | MissingField;

const OUR_MESSAGE: Record<InvoiceErrorCode, string> = {
  INVALID_INPUT: 'Salesforce refused the fulfillment order id.',
  ORDER_NOT_FOUND: 'Salesforce has no fulfillment order with this id that the integration user can see.',
  ALREADY_INVOICED: 'The fulfillment order already has an invoice; Salesforce creates one invoice per fulfillment order.',
  DUPLICATE_INVOICE_NUMBER: '',
  NOTHING_TO_CREDIT: '',
  PROVIDER_SETTINGS_MISMATCH: 'The Salesforce org lacks what invoicing needs (Order Management, multiple currencies, or API access).',
  PROVIDER_REFUSED: 'Salesforce refused the request.',
  PROVIDER_UNAUTHORIZED:
    "Salesforce refused this service's session or the integration user's permissions (SALESFORCE_CLIENT_ID with SALESFORCE_CLIENT_SECRET, or with SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY; or SALESFORCE_ACCESS_TOKEN).",
  RATE_LIMITED: "The Salesforce org's API request limit is used up; it frees up over a rolling 24 hours.",
  PROVIDER_UNAVAILABLE: 'Salesforce failed or could not be reached.',
  IDEMPOTENCY_CONFLICT: '',
  IN_PROGRESS: '',
  NEEDS_MANUAL_SETTLEMENT: '',
  PROVIDER_NOT_CONNECTED: '',
  CREDENTIALS_REFUSED: '',
  CONNECTIONS_NOT_CONFIGURED: '',
};

interface Classified {
  code: InvoiceErrorCode;
  field: string[] | null;
  disposition: FailureDisposition;
  /** Instead of OUR_MESSAGE[code]. */
  message?: string;
}

/** Where a failure body came from: the create action itself (Error with Output, a 2xx output), or the platform. */
type Origin = 'action' | 'platform';

const NO_SUCH_RESOURCE = 'Salesforce has no such resource: check SALESFORCE_INSTANCE_URL and SALESFORCE_API_VERSION.';

const SEVERITY: Record<FailureDisposition, number> = { final: 0, retryable: 1, indeterminate: 2 };

/**
 * What one Salesforce error means. Salesforce's error codes come first (they are stable API values); the message
 * only where no code says it, as for a second invoice, whose code Salesforce does not document.
 */
function classify(errorCode: string, message: string, status: number, operation: SalesforceOperation, origin: Origin, conflictingInvoice: boolean): Classified {
  const unknownOutcome: FailureDisposition = operation === 'create' ? 'indeterminate' : 'retryable';
  // The create's only input is the fulfillment order: whatever Salesforce refuses there is about it.
  const onInput = operation === 'create' ? ['fulfillmentOrderId'] : null;
  const final = (code: InvoiceErrorCode, field: string[] | null = null): Classified => ({ code, field, disposition: 'final' });
  // The action answers an unknown fulfillment order with an Error with Output; the platform's classic 404 means
  // that the path itself is unknown (a wrong instance URL or an API version the org does not serve).
  const notFound = (): Classified =>
    operation === 'create' && origin === 'action' ? final('ORDER_NOT_FOUND', onInput) : { ...final('PROVIDER_REFUSED'), message: NO_SUCH_RESOURCE };

  switch (errorCode) {
    case 'INVALID_SESSION_ID':
      return final('PROVIDER_UNAUTHORIZED');
    case 'REQUEST_LIMIT_EXCEEDED':
      return { code: 'RATE_LIMITED', field: null, disposition: 'retryable' };
    case 'INVALID_ID_FIELD':
    case 'MALFORMED_ID':
      return operation === 'create' ? final('INVALID_INPUT', onInput) : final('PROVIDER_REFUSED');
    case 'NOT_FOUND':
      return notFound();
    case 'DUPLICATE_VALUE':
      return operation === 'create' ? final('ALREADY_INVOICED', onInput) : final('PROVIDER_REFUSED');
    // The org has no such object or field: Order Management is off, or the org has a single currency (no CurrencyIsoCode).
    case 'INVALID_TYPE':
    case 'INVALID_FIELD':
    case 'FUNCTIONALITY_NOT_ENABLED':
    case 'API_DISABLED_FOR_ORG':
      return final('PROVIDER_SETTINGS_MISMATCH');
    case 'INSUFFICIENT_ACCESS':
    case 'INSUFFICIENT_ACCESS_OR_READONLY':
    case 'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY':
      return final('PROVIDER_UNAUTHORIZED');
    case 'UNKNOWN_EXCEPTION':
    case 'SERVER_UNAVAILABLE':
      return { code: 'PROVIDER_UNAVAILABLE', field: null, disposition: unknownOutcome };
  }
  if (operation === 'create' && (conflictingInvoice || /already (?:has|have) an invoice|already (?:been )?invoiced/i.test(message))) {
    return final('ALREADY_INVOICED', onInput);
  }
  if (status === 401 || status === 403) return final('PROVIDER_UNAUTHORIZED');
  if (status === 404) return notFound();
  if (status === 429) return { code: 'RATE_LIMITED', field: null, disposition: 'retryable' };
  if (status >= 500) return { code: 'PROVIDER_UNAVAILABLE', field: null, disposition: unknownOutcome };
  return final('PROVIDER_REFUSED', onInput);
}

/** The errors of a failure body, top-level and `output.errors`, each once; and whether the output names an invoice. */
function errorsOf(body: unknown): { items: Array<{ errorCode: string; message: string }>; origin: Origin; conflictingInvoice: boolean } | null {
  const parsed = salesforceErrorBody.safeParse(body);
  if (!parsed.success) return null;
  const tops = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const all: SalesforceErrorItem[] = tops.flatMap((top) => [...(top.errorCode || top.message ? [top] : []), ...(top.output?.errors ?? [])]);
  const seen = new Set<string>();
  const items = all
    .map((e) => ({ errorCode: e.errorCode ?? '', message: (e.message ?? '').trim() }))
    .filter((e) => {
      const key = `${e.errorCode}\u0000${e.message}`;
      return !seen.has(key) && seen.add(key);
    });
  return { items, origin: tops.some((top) => top.output) ? 'action' : 'platform', conflictingInvoice: tops.some((top) => Boolean(top.output?.invoiceId)) };
}

/** `Sforce-Limit-Info: api-usage=15000/15000`, as sent, for the rate-limit message. */
function apiUsage(res: HttpResponse): string | null {
  const match = /api-usage=\d+\/\d+/.exec(res.headers['sforce-limit-info'] ?? '');
  return match ? match[0] : null;
}

function build(
  items: Array<{ errorCode: string; message: string }>,
  status: number,
  operation: SalesforceOperation,
  origin: Origin,
  conflictingInvoice: boolean,
  cause: string,
  res?: HttpResponse,
): ProviderError {
  const list = items.length > 0 ? items : [{ errorCode: '', message: '' }];
  let disposition: FailureDisposition = 'final';
  const errors: UserError[] = list.map((item) => {
    const c = classify(item.errorCode, item.message, status, operation, origin, conflictingInvoice);
    if (SEVERITY[c.disposition] > SEVERITY[disposition]) disposition = c.disposition;
    const usage = c.code === 'RATE_LIMITED' && res ? apiUsage(res) : null;
    return userError(c.code, usage ? `${OUR_MESSAGE.RATE_LIMITED} (${usage})` : (c.message ?? OUR_MESSAGE[c.code]), c.field, {
      providerCode: item.errorCode || null,
      providerMessage: item.message || null,
      ...(c.code === 'RATE_LIMITED' ? { retryAfterSeconds: res ? retryAfterSeconds(res.headers['retry-after']) : null } : {}),
    });
  });
  return new ProviderError(errors, disposition, cause);
}

/**
 * Every Salesforce failure, mapped in this one place: the create action's Error with Output and the classic
 * `[{ errorCode, message }]` array on an error status; a 2xx create output with `success: false`; a record a query
 * did not return; a body that is not Salesforce's; a transport failure. Field paths are relative to the
 * `salesforce` input branch. A daily-limit 403 is a rate limit, never a reason to re-authenticate.
 */
export function mapSalesforceFailure(failure: SalesforceFailure, operation: SalesforceOperation): ProviderError {
  const unknownOutcome: FailureDisposition = operation === 'create' ? 'indeterminate' : 'retryable';

  if (operation === 'token' && !(failure instanceof TransportError) && 'status' in failure && 'headers' in failure) return tokenFailure(failure as HttpResponse);

  if ('sobject' in failure) {
    return new ProviderError(
      [userError('PROVIDER_SETTINGS_MISMATCH', `${OUR_MESSAGE.PROVIDER_SETTINGS_MISMATCH} (${failure.sobject} has no ${failure.field} for the integration user)`, null, { providerCode: null, providerMessage: null })],
      'final',
      `describe:${failure.sobject}.${failure.field}`,
    );
  }

  if (failure instanceof TransportError) {
    // A refused connection never reached Salesforce; anything later on a create may have.
    const disposition = failure.kind === 'unreachable' ? 'retryable' : unknownOutcome;
    return new ProviderError(
      [userError('PROVIDER_UNAVAILABLE', `${OUR_MESSAGE.PROVIDER_UNAVAILABLE} (${failure.kind})`, null, { providerMessage: failure.message })],
      disposition,
      `transport:${failure.kind}`,
    );
  }

  if ('missing' in failure) {
    return new ProviderError(
      [userError('PROVIDER_REFUSED', `Salesforce has no ${failure.missing} ${failure.id} that the integration user can see.`, null, { providerCode: null, providerMessage: null })],
      'final',
      `missing:${failure.missing}`,
    );
  }

  if ('success' in failure) {
    // Salesforce processed the request and says why it did not invoice: a refusal, not an unknown outcome.
    const items = (failure.errors ?? []).map((e) => ({ errorCode: e.errorCode ?? '', message: (e.message ?? '').trim() }));
    return build(items, 400, operation, 'action', false, 'output:success-false');
  }

  const { status } = failure;
  const parsed = errorsOf(failure.json);
  if (status >= 200 && status < 300) {
    // A success status whose body is not the documented output: we cannot tell what happened.
    return new ProviderError(
      [userError('PROVIDER_UNAVAILABLE', OUR_MESSAGE.PROVIDER_UNAVAILABLE, null, { providerMessage: 'unexpected response body' })],
      unknownOutcome,
      `http:${status}:body`,
    );
  }
  const items = parsed?.items ?? [{ errorCode: '', message: excerpt(failure.text) }];
  return build(items, status, operation, parsed?.origin ?? 'platform', parsed?.conflictingInvoice ?? false, `http:${status}`, failure);
}

/**
 * The token endpoint's answer other than a session: OAuth's `{ error, error_description }` (invalid_client,
 * invalid_grant, ...) on a 400 or 401 means the credentials or the connected app's setup, final until an operator
 * acts; a 5xx or 429 is worth another try later. Nothing was created either way.
 */
function tokenFailure(res: HttpResponse): ProviderError {
  const body = oauthErrorBody.safeParse(res.json);
  const details = { providerCode: body.success ? body.data.error : null, providerMessage: body.success ? (body.data.error_description ?? null) : excerpt(res.text) };
  if (res.status >= 500 || res.status === 429) {
    return new ProviderError([userError('PROVIDER_UNAVAILABLE', OUR_MESSAGE.PROVIDER_UNAVAILABLE, null, details)], 'retryable', `token:http:${res.status}`);
  }
  if (res.status >= 200 && res.status < 300) {
    return new ProviderError([userError('PROVIDER_UNAVAILABLE', OUR_MESSAGE.PROVIDER_UNAVAILABLE, null, { ...details, providerMessage: 'unexpected token response body' })], 'retryable', `token:http:${res.status}:body`);
  }
  return new ProviderError([userError('PROVIDER_UNAUTHORIZED', OUR_MESSAGE.PROVIDER_UNAUTHORIZED, null, details)], 'final', `token:http:${res.status}`);
}
