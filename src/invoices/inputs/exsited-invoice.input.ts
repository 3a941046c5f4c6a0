import { Field, ID, InputType } from 'type-graphql';
import type { UserError } from '../../domain/errors';
import type { ExsitedCreateInput } from '../../providers/exsited/exsited.input';

@InputType('ExsitedInvoiceInput', {
  description: "Creates an Exsited invoice with POST /api/v3/orders/{order_id}/invoices. Exsited builds it from the order's lines for the current billing period, in the account's currency.",
})
export class ExsitedInvoiceInput {
  @Field(() => ID, { description: 'The Exsited order id (such as ORD-7K2M4P). Exsited invoices an order once per billing period.' })
  orderId!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'The id to give the invoice (1 to 40 letters, digits, hyphens or underscores); Exsited refuses an id already used. When omitted, one is derived from the idempotency key, so a retry never creates a second invoice.',
  })
  invoiceId?: string | null;

  @Field(() => String, { nullable: true, description: 'A note printed on the invoice.' })
  invoiceNote?: string | null;

  /** The provider input and its JSON form for the attempt's fingerprint; nothing here needs decoding. */
  toDomain(): { input: ExsitedCreateInput; recorded: Record<string, unknown> } | { userErrors: UserError[] } {
    const input: ExsitedCreateInput = {
      orderId: this.orderId.trim(),
      invoiceId: this.invoiceId?.trim() || null,
      invoiceNote: this.invoiceNote ?? null,
    };
    return { input, recorded: { ...input } };
  }
}
