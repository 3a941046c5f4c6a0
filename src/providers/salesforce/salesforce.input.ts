/**
 * A create request for Salesforce Order Management in the domain's terms. Salesforce builds the invoice from the
 * fulfillment order (its lines, prices, adjustments and taxes), so the fulfillment order is all a caller chooses;
 * the field name follows the GraphQL input so that error paths read the same to the caller.
 */
export interface SalesforceCreateInput {
  /** The FulfillmentOrder's record id; the GraphQL input turns a valid 15-character id into its 18-character form. */
  fulfillmentOrderId: string;
}
