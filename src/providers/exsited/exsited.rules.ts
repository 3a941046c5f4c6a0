import { userError, type UserError } from '../../domain/errors';
import { textProblem } from '../../domain/text';
import type { ExsitedCreateInput } from './exsited.input';

/**
 * Exsited publishes no id syntax; this is what its own ids (ORD-…, INV-0001) and the seed's example
 * (UNIQUE_INVOICE_ID) satisfy, kept here in one place so that it is easy to correct.
 */
export const EXSITED_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

/**
 * The create rules we can check before anything is recorded or sent, so that bad input costs no provider call.
 * Exsited checks the invoice id again (a 400); whether the order exists or is already invoiced only it can tell.
 */
export function validateExsitedInput(input: ExsitedCreateInput): UserError[] {
  const errors: UserError[] = [];
  if (!EXSITED_ID.test(input.orderId)) errors.push(userError('INVALID_INPUT', 'orderId must be an Exsited order id such as ORD-7K2M4P.', ['orderId']));
  if (input.invoiceId != null && !EXSITED_ID.test(input.invoiceId)) {
    errors.push(userError('INVALID_INPUT', 'invoiceId must be 1 to 40 letters, digits, hyphens or underscores, starting with a letter or digit.', ['invoiceId']));
  }
  const note = input.invoiceNote == null ? null : textProblem(input.invoiceNote, INVOICE_NOTE);
  if (note) errors.push(userError('INVALID_INPUT', `invoiceNote ${note}.`, ['invoiceNote']));
  return errors;
}

/**
 * Exsited publishes no length for invoice_note (assumption: a note printed on an invoice, bounded here so that no
 * input can send megabytes to Exsited); line breaks and tabs are allowed.
 */
export const INVOICE_NOTE = { maxLength: 2_000, multiline: true };
