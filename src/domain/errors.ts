/**
 * Expected failures of createInvoice, returned as data (`userErrors`). Anything not listed here is a bug or an
 * auth failure and travels as a GraphQL error instead.
 */
export const INVOICE_ERROR_CODES = {
  INVALID_INPUT: 'The input breaks a rule of the provider or of this API; nothing was sent.',
  ORDER_NOT_FOUND: 'The provider does not know the order.',
  ALREADY_INVOICED: 'The order already has an invoice of this kind at the provider.',
  DUPLICATE_INVOICE_NUMBER: 'The invoice number is already used at the provider.',
  NOTHING_TO_CREDIT: 'A credit note needs an earlier invoice on the order.',
  PROVIDER_SETTINGS_MISMATCH: "The provider account's settings do not allow this kind of invoice.",
  PROVIDER_REFUSED: 'The provider refused the request for another reason; its message says why.',
  PROVIDER_UNAUTHORIZED: "The provider refused this service's credentials or their scope (an operator must fix the configuration).",
  PROVIDER_NOT_CONNECTED: "The caller's tenant has no working connection to the provider (connect it with connectProvider, or reconnect one that needs reauthorization); nothing was sent.",
  CREDENTIALS_REFUSED: 'The provider refused the credentials given to connectProvider; nothing was stored.',
  CONNECTIONS_NOT_CONFIGURED: 'This deployment keeps no tenant connections (CONNECTIONS_KEY is unset): its providers are configured by its operator.',
  RATE_LIMITED: 'The provider asked us to slow down; retry after the given delay with the same idempotency key.',
  PROVIDER_UNAVAILABLE: 'The provider failed or could not be reached; retry with the same idempotency key.',
  IDEMPOTENCY_CONFLICT: 'The idempotency key was already used with a different input.',
  IN_PROGRESS: 'A request with this idempotency key is still running; retry with the same key.',
  NEEDS_MANUAL_SETTLEMENT: 'The outcome is open and the provider can no longer say what happened (too long ago to look up); retrying will not help: settle it at the provider by hand.',
} as const;

export type InvoiceErrorCode = keyof typeof INVOICE_ERROR_CODES;

/** An expected failure, as the caller sees it. `field` is the path in the mutation's input, or null. */
export interface UserError {
  field: string[] | null;
  code: InvoiceErrorCode;
  message: string;
  /** The provider's own code and message, kept verbatim next to ours. */
  providerCode?: string | null;
  providerMessage?: string | null;
  /** Seconds the provider asked us to wait (429 Retry-After). */
  retryAfterSeconds?: number | null;
}

/**
 * What a failed provider call means for a retry:
 * - `final`: the provider refused; nothing happened there, and the same request would be refused again;
 * - `retryable`: nothing happened there; the same request may succeed later;
 * - `indeterminate`: the provider may have acted (timeout or 5xx on a write); check before trying again.
 */
export type FailureDisposition = 'final' | 'retryable' | 'indeterminate';

/** Thrown by a provider's data source; its one error-mapping function builds it. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly userErrors: UserError[],
    readonly disposition: FailureDisposition,
    /** HTTP status or transport failure, for logs. */
    readonly cause_: string,
  ) {
    super(userErrors.map((e) => `${e.code}: ${e.message}`).join('; '));
  }
}

export function userError(code: InvoiceErrorCode, message: string, field: string[] | null = null, extra: Partial<UserError> = {}): UserError {
  return { field, code, message, ...extra };
}

/** Prefixes every error's field path, so that a provider's rule on `url` reads `salla.url` to the caller. */
export function underField(prefix: string[], errors: UserError[]): UserError[] {
  return errors.map((e) => ({ ...e, field: e.field ? [...prefix, ...e.field] : prefix }));
}
