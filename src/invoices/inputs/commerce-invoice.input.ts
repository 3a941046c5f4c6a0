import { Field, ID, InputType } from 'type-graphql';
import type { UserError } from '../../domain/errors';
import type { CommerceCreateInput } from '../../providers/commerce/commerce.input';

@InputType('CommerceInvoiceInput', {
  description:
    "Creates an invoice at the Commerce API with POST /invoices. The API builds it from the order's line items and total; amounts are in the configured currency (COMMERCE_CURRENCY). One invoice per order.",
})
export class CommerceInvoiceInput {
  @Field(() => ID, { description: "The order's id at the Commerce API: a MongoDB ObjectId, 24 hexadecimal characters." })
  orderId!: string;

  /** The provider input; an ObjectId is case-insensitive, so it is kept in lower case (as the API writes ids). */
  toDomain(): { input: CommerceCreateInput; recorded: Record<string, unknown> } | { userErrors: UserError[] } {
    const input: CommerceCreateInput = { orderId: this.orderId.trim().toLowerCase() };
    return { input, recorded: { ...input } };
  }
}
