import { userError, type UserError } from '../../domain/errors';
import { textProblem } from '../../domain/text';
import type { ZuoraCreateInput } from './zuora.input';

/** Zuora object ids are 32 hexadecimal characters. */
const ZUORA_ID = /^[0-9a-f]{32}$/i;
/**
 * "The maximum number of fulfillments that can be created to an order line item is 100"
 * (https://docs.zuora.com/zuora-billing/manage-accounts-subscriptions-and-non-subscriptions/manage-non-subscription-transactions/order-line-items/sales-order-line-items-creation).
 * Assumption: Zuora publishes no limit per request; one call is bounded to what one line item may hold.
 */
export const MAX_FULFILLMENTS = 100;
/** Assumption: Zuora's Fulfillment object publishes no field lengths; these bound what we send (identifiers, and a free-text description). */
const REFERENCE = { maxLength: 255 };
const DESCRIPTION = { maxLength: 2_000, multiline: true };
/** Quantities travel as JSON numbers: 15 significant digits is what a double carries exactly. */
const MAX_QUANTITY_DIGITS = 15;

/**
 * Zuora's create rules that need no call, checked before anything is recorded or sent, plus the one rule of this
 * API: the call must bill something, since createInvoice exists to create invoices. Zuora checks what needs its
 * data (line items, remaining quantities, payment methods) and answers with reasons that the error mapping reads.
 */
export function validateZuoraInput(input: ZuoraCreateInput): UserError[] {
  const errors: UserError[] = [];
  const bad = (field: string[], message: string) => errors.push(userError('INVALID_INPUT', message, field));
  const { fulfillments, processingOptions: options } = input;

  if (fulfillments.length === 0) bad(['fulfillments'], 'Give at least one fulfillment.');
  if (fulfillments.length > MAX_FULFILLMENTS) {
    bad(['fulfillments'], `Give at most ${MAX_FULFILLMENTS} fulfillments in one call (Zuora allows ${MAX_FULFILLMENTS} fulfillments per order line item).`);
    return errors;
  }
  fulfillments.forEach((f, i) => {
    const at = (field: string) => ['fulfillments', String(i), field];
    for (const field of ['externalId', 'trackingNumber', 'carrier', 'description'] as const) {
      const problem = f[field] == null ? null : textProblem(f[field]!, field === 'description' ? DESCRIPTION : REFERENCE);
      if (problem) bad(at(field), `${field} ${problem}.`);
    }
    if (!ZUORA_ID.test(f.orderLineItemId)) bad(at('orderLineItemId'), 'Zuora order line item ids are 32 hexadecimal characters.');
    if (!f.quantity.isPositive() || f.quantity.isZero()) bad(at('quantity'), 'quantity must be greater than 0.');
    else if (f.quantity.precision(true) > MAX_QUANTITY_DIGITS) bad(at('quantity'), `quantity may have at most ${MAX_QUANTITY_DIGITS} significant digits.`);
    if (f.billTargetDate && options.targetDate && f.state === 'SentToBilling' && f.billTargetDate > options.targetDate) {
      bad(at('billTargetDate'), 'billTargetDate is after processingOptions.targetDate: Zuora would not bill this fulfillment in this call.');
    }
  });

  if (!options.runBilling) bad(['processingOptions', 'runBilling'], 'runBilling must be true: without it Zuora records the fulfillments but creates no invoice.');
  else if (fulfillments.length > 0 && !fulfillments.some((f) => f.state === 'SentToBilling')) {
    bad(['fulfillments'], 'At least one fulfillment must be in state SENT_TO_BILLING: Zuora bills only those.');
  }
  return errors;
}
