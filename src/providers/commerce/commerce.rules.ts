import { userError, type UserError } from '../../domain/errors';
import type { CommerceCreateInput } from './commerce.input';

/** A MongoDB ObjectId as text: 12 bytes in hexadecimal. Every id of the Commerce API has this shape. */
export const OBJECT_ID = /^[0-9a-fA-F]{24}$/;

/**
 * Checked before anything is recorded or sent, so that an id the API cannot know costs no call. The API itself
 * documents only "orderId is required"; the shape check is ours.
 */
export function validateCommerceInput(input: CommerceCreateInput): UserError[] {
  if (!input.orderId || input.orderId.trim() === '') return [userError('INVALID_INPUT', 'orderId is required.', ['orderId'])];
  if (!OBJECT_ID.test(input.orderId)) {
    return [userError('INVALID_INPUT', 'Commerce order ids are 24 hexadecimal characters (a MongoDB ObjectId).', ['orderId'])];
  }
  return [];
}
