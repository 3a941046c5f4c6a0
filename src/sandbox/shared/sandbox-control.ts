import Decimal from 'decimal.js';
import type { EmulatorRequest, EmulatorResponse, EmulatorServer } from './emulator-server';

/**
 * The sandbox's own controls over an emulator's invoices: record a payment, a credit or a void the way the provider
 * would after something happened outside our API (a customer paid, an agent issued a credit note). Not part of any
 * provider's API: tests call the methods, people call the `/_sandbox` routes.
 */

/** What a sandbox control changed, in the provider's own words and exact decimal strings. */
export interface SandboxInvoiceState {
  providerInvoiceId: string;
  /** The provider's own status after the change (Posted, ACTIVE, Voided, ...), not the normalised one. */
  status: string;
  total: string;
  paid: string;
  credited: string;
  outstanding: string;
  /** YYYY-MM-DD, or null when no payment was recorded. */
  lastPaymentDate: string | null;
  voided: boolean;
}

export type SandboxEventKind = 'payment' | 'credit' | 'void';

/** One change made through the controls, handed to the emulator's webhooks (ProviderEmulator.onSandboxEvent). */
export interface SandboxEvent {
  kind: SandboxEventKind;
  providerInvoiceId: string;
  /** The payment's or credit's amount; absent for a void. */
  amount?: string;
  /** YYYY-MM-DD; absent for a void. */
  date?: string;
  state: SandboxInvoiceState;
}

/** The same three controls on every emulator, so that a test can drive any provider uniformly. */
export interface SandboxLedgerControl {
  /** A payment of `amount` (exact decimal string) on `date` (YYYY-MM-DD, default today). Throws SandboxError. */
  recordPayment(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState;
  /** A credit (credit note/memo applied) of `amount` on `date`. Throws SandboxError. */
  recordCredit(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState;
  /** A void/cancel, or the provider's documented equivalent. Throws SandboxError. */
  voidInvoice(providerInvoiceId: string): SandboxInvoiceState;
}

/** Why a control was refused: `notFound` answers 404 over HTTP, `invalid` 422. */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  constructor(
    readonly reason: 'notFound' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

const AMOUNT = /^\d{1,15}(?:\.\d{1,2})?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A positive amount with at most two decimals, exactly; anything else is refused (no floats, no rounding). */
export function sandboxAmount(amount: unknown): Decimal {
  if (typeof amount !== 'string' || !AMOUNT.test(amount.trim())) throw new SandboxError('invalid', `amount must be a decimal string such as "10.00", not ${JSON.stringify(amount)}`);
  const value = new Decimal(amount.trim());
  if (value.lte(0)) throw new SandboxError('invalid', `amount must be greater than 0, not ${amount}`);
  return value;
}

/** A YYYY-MM-DD date, or `fallback` when none is given. */
export function sandboxDate(date: unknown, fallback: () => Date): string {
  if (date === undefined || date === null) return fallback().toISOString().slice(0, 10);
  if (typeof date !== 'string' || !DATE.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new SandboxError('invalid', `date must be YYYY-MM-DD, not ${JSON.stringify(date)}`);
  return date;
}

/** Refuses a payment or credit larger than what is outstanding, with the figures in the message. */
export function refuseOverOutstanding(kind: 'payment' | 'credit', amount: Decimal, outstanding: Decimal, providerInvoiceId: string): void {
  if (amount.gt(outstanding)) throw new SandboxError('invalid', `a ${kind} of ${amount.toFixed(2)} is more than the ${outstanding.toFixed(2)} outstanding on invoice ${providerInvoiceId}`);
}

/** The routes' paths, under the emulator's own origin. */
export const SANDBOX_ROUTES = {
  payments: '/_sandbox/invoices/:providerInvoiceId/payments',
  credits: '/_sandbox/invoices/:providerInvoiceId/credits',
  void: '/_sandbox/invoices/:providerInvoiceId/void',
} as const;

/**
 * Registers the three `/_sandbox` routes on an emulator's server, once. They are control routes: no provider auth,
 * no rate limit, no faults, not in the call log. Answers 200 with the invoice's new state, 404 for an unknown
 * invoice, 400 for a body that is not a JSON object, 422 for a refused amount, date or void.
 */
export function registerSandboxRoutes(server: EmulatorServer, control: SandboxLedgerControl): void {
  const id = (req: EmulatorRequest) => req.params.providerInvoiceId!;
  // The amount is checked here too so that a number (a float) is refused before any emulator sees it.
  server.control('POST', SANDBOX_ROUTES.payments, (req) => runSandboxControl(req, (b) => control.recordPayment(id(req), amountOf(b), optionalString(b.date))));
  server.control('POST', SANDBOX_ROUTES.credits, (req) => runSandboxControl(req, (b) => control.recordCredit(id(req), amountOf(b), optionalString(b.date))));
  server.control('POST', SANDBOX_ROUTES.void, (req) => runSandboxControl(req, () => control.voidInvoice(id(req))));
}

/**
 * Runs one `/_sandbox` control with the request's body as a JSON object (an empty body is `{}`): answers `status`
 * with what `act` returns, 400 for a body that is not a JSON object, 404 or 422 for a SandboxError. Emulators use it
 * for their own control routes.
 */
export function runSandboxControl(req: EmulatorRequest, act: (body: Record<string, unknown>) => unknown, status = 200): EmulatorResponse {
  let body: Record<string, unknown> = {};
  if (req.rawBody.length > 0) {
    // `curl -d` sends a form content type: the body is read as JSON whatever the content type says.
    const parsed = req.body !== undefined ? req.body : parseJson(req.rawBody);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { status: 400, body: { error: 'bad_request', message: 'the body must be a JSON object' } };
    body = parsed as Record<string, unknown>;
  }
  try {
    return { status, body: act(body) };
  } catch (err) {
    if (err instanceof SandboxError) return { status: err.reason === 'notFound' ? 404 : 422, body: { error: err.reason === 'notFound' ? 'not_found' : 'invalid', message: err.message } };
    throw err;
  }
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function amountOf(body: Record<string, unknown>): string {
  sandboxAmount(body.amount);
  return (body.amount as string).trim();
}

function optionalString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SandboxError('invalid', `date must be YYYY-MM-DD, not ${JSON.stringify(value)}`);
  return value;
}
