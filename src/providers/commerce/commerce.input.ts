/**
 * A create request for the Commerce API in the domain's terms. The API builds the invoice from the order (its line
 * items and total), so the order is all a caller chooses; the field name follows the GraphQL input.
 */
export interface CommerceCreateInput {
  /** The order's MongoDB ObjectId, lower-case hex (the GraphQL input normalises it). */
  orderId: string;
}
