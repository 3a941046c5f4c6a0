import { userError, type UserError } from '../../domain/errors';
import type { SalesforceCreateInput } from './salesforce.input';

/** The key prefix of FulfillmentOrder record ids (the first three characters of every such id). */
export const FULFILLMENT_ORDER_KEY_PREFIX = '0a3';
/** The key prefix of OrderSummary ids: callers sometimes pass the order instead of its fulfillment order. */
const ORDER_SUMMARY_KEY_PREFIX = '1Os';

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID_TEXT = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** The three characters Salesforce appends to a 15-character id: which of its letters are upper case, 5 at a time. */
export function caseSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15[chunk * 5 + i]!;
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return suffix;
}

/**
 * The 18-character form of a Salesforce record id, or null when the text is not one. A 15-character id is
 * case-sensitive and gets its suffix; an 18-character id is case-insensitive (its suffix records the case), so
 * `0A3…` typed in capitals is restored, and one whose suffix does not match its letters is refused, as Salesforce does.
 */
export function canonicalSalesforceId(text: string): string | null {
  if (!ID_TEXT.test(text)) return null;
  if (text.length === 15) return text + caseSuffix(text);
  const suffix = text.slice(15).toUpperCase();
  let id15 = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    const bits = SUFFIX_ALPHABET.indexOf(suffix[chunk]!);
    if (bits < 0) return null;
    for (let i = 0; i < 5; i++) {
      const c = text[chunk * 5 + i]!;
      id15 += bits & (1 << i) ? c.toUpperCase() : c.toLowerCase();
    }
  }
  const canonical = id15 + caseSuffix(id15);
  return canonical.slice(15) === suffix ? canonical : null;
}

/**
 * Checked before anything is recorded or sent, so that an id Salesforce cannot know costs no call: the shape of a
 * Salesforce id and the FulfillmentOrder key prefix. Whether the fulfillment order exists, and whether it already
 * has an invoice, only Salesforce can say.
 */
export function validateSalesforceInput(input: SalesforceCreateInput): UserError[] {
  const id = input.fulfillmentOrderId;
  const bad = (message: string) => [userError('INVALID_INPUT', message, ['fulfillmentOrderId'])];
  if (!id || id.trim() === '') return bad('fulfillmentOrderId is required.');
  const canonical = canonicalSalesforceId(id);
  if (!canonical) return bad('Salesforce record ids are 15 or 18 letters and digits (an 18-character id ends in the checksum of its letter case).');
  const prefix = canonical.slice(0, 3);
  if (prefix === ORDER_SUMMARY_KEY_PREFIX) return bad('This is an OrderSummary id: pass the id of one of its fulfillment orders (they start with 0a3).');
  if (prefix !== FULFILLMENT_ORDER_KEY_PREFIX) return bad(`This is not a FulfillmentOrder id: those start with 0a3, this one with ${prefix}.`);
  return [];
}
