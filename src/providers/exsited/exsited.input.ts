/**
 * A create request for Exsited in the domain's terms. The GraphQL input maps to this; field names follow the
 * GraphQL input so that error paths read the same to the caller.
 */
export interface ExsitedCreateInput {
  /** The Exsited order to invoice (ORD-…); Exsited builds the invoice from the order's lines. */
  orderId: string;
  /** The invoice id to give the new invoice; when null we derive one from the idempotency key. */
  invoiceId?: string | null;
  invoiceNote?: string | null;
}
