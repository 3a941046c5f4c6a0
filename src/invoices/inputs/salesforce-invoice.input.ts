import { Field, ID, InputType } from 'type-graphql';
import type { UserError } from '../../domain/errors';
import type { SalesforceCreateInput } from '../../providers/salesforce/salesforce.input';
import { canonicalSalesforceId } from '../../providers/salesforce/salesforce.rules';

@InputType('SalesforceInvoiceInput', {
  description:
    "Creates a Salesforce Order Management invoice for a fulfillment order (the create-invoice action). Salesforce builds it from the fulfillment order's lines, adjustments and taxes, in the order's currency; the invoice's order is the fulfillment order's OrderSummary. One invoice per fulfillment order.",
})
export class SalesforceInvoiceInput {
  @Field(() => ID, { description: 'The FulfillmentOrder record id: 15 or 18 characters, starting with 0a3.' })
  fulfillmentOrderId!: string;

  /**
   * The provider input and its JSON form for the attempt's fingerprint. A valid id is kept in its 18-character
   * form, so that the 15- and 18-character spellings of one fulfillment order are one request; anything else is
   * kept as given, for the provider's validation to report.
   */
  toDomain(): { input: SalesforceCreateInput; recorded: Record<string, unknown> } | { userErrors: UserError[] } {
    const given = this.fulfillmentOrderId.trim();
    const input: SalesforceCreateInput = { fulfillmentOrderId: canonicalSalesforceId(given) ?? given };
    return { input, recorded: { ...input } };
  }
}
