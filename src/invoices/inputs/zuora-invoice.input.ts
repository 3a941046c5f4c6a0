import { Field, ID, InputType, registerEnumType } from 'type-graphql';
import type { UserError } from '../../domain/errors';
import { formatAmount, type Decimal } from '../../domain/money';
import { DateScalar, DecimalScalar } from '../../graphql/scalars';
import type { ZuoraCreateInput, ZuoraFulfillmentState, ZuoraFulfillmentType } from '../../providers/zuora/zuora.input';

// Enum values equal their names: the SDL round trip through buildSubgraphSchema keeps names, not internal values.
export enum ZuoraFulfillmentTypeEnum {
  DELIVERY = 'DELIVERY',
  RETURN = 'RETURN',
}
registerEnumType(ZuoraFulfillmentTypeEnum, {
  name: 'ZuoraFulfillmentType',
  description: 'What a Zuora fulfillment records.',
  valuesConfig: {
    DELIVERY: { description: 'Goods delivered to the customer; billed on an invoice.' },
    RETURN: { description: 'Goods the customer returned; credited on a credit memo (a CREDIT_NOTE here).' },
  },
});

export enum ZuoraFulfillmentStateEnum {
  EXECUTING = 'EXECUTING',
  BOOKED = 'BOOKED',
  SENT_TO_BILLING = 'SENT_TO_BILLING',
  COMPLETE = 'COMPLETE',
  CANCELLED = 'CANCELLED',
}
registerEnumType(ZuoraFulfillmentStateEnum, {
  name: 'ZuoraFulfillmentState',
  description: "A Zuora fulfillment's state. Zuora bills only fulfillments sent to billing.",
  valuesConfig: {
    EXECUTING: { description: 'Being prepared; not billed.' },
    BOOKED: { description: 'Booked; not billed.' },
    SENT_TO_BILLING: { description: 'Ready to bill: billed by this call when its bill target date is on or before the target date.' },
    COMPLETE: { description: 'Completed; not billed by this call.' },
    CANCELLED: { description: 'Cancelled; not billed and not counted against the line item.' },
  },
});

const TYPE_WIRE: Record<ZuoraFulfillmentTypeEnum, ZuoraFulfillmentType> = { DELIVERY: 'Delivery', RETURN: 'Return' };
const STATE_WIRE: Record<ZuoraFulfillmentStateEnum, ZuoraFulfillmentState> = {
  EXECUTING: 'Executing',
  BOOKED: 'Booked',
  SENT_TO_BILLING: 'SentToBilling',
  COMPLETE: 'Complete',
  CANCELLED: 'Cancelled',
};

/** The Date scalar gives a Date at UTC midnight; Zuora takes the calendar day. */
const day = (d: Date | null | undefined): string | null => (d ? d.toISOString().slice(0, 10) : null);

@InputType('ZuoraFulfillmentInput', { description: 'One fulfillment of a Zuora order line item (Zuora\'s FulfillmentPost).' })
export class ZuoraFulfillmentInput {
  @Field(() => ID, { description: 'The order line item fulfilled: Zuora\'s 32-hex id. The invoice\'s order is this item\'s order.' })
  orderLineItemId!: string;

  @Field(() => DecimalScalar, { description: 'How many units; more than 0 and at most what remains to fulfil (or, for a return, what was delivered and not returned).' })
  quantity!: Decimal;

  @Field(() => DateScalar, { description: 'When the goods were delivered or returned.' })
  fulfillmentDate!: Date;

  @Field(() => DateScalar, { nullable: true, description: 'The day from which a bill run picks the fulfillment up; must not be after processingOptions.targetDate. Default: the fulfillment date.' })
  billTargetDate?: Date | null;

  @Field(() => ZuoraFulfillmentTypeEnum, { nullable: true, description: 'DELIVERY (Zuora\'s default) or RETURN.' })
  fulfillmentType?: ZuoraFulfillmentTypeEnum | null;

  @Field(() => ZuoraFulfillmentStateEnum, { defaultValue: ZuoraFulfillmentStateEnum.SENT_TO_BILLING, description: 'The fulfillment\'s state; only SENT_TO_BILLING is billed (the default).' })
  state!: ZuoraFulfillmentStateEnum;

  @Field(() => String, { nullable: true, description: 'Your own reference for the fulfillment (an ERP or warehouse id).' })
  externalId?: string | null;

  @Field(() => String, { nullable: true, description: 'The shipment\'s tracking number.' })
  trackingNumber?: string | null;

  @Field(() => String, { nullable: true, description: 'The carrier, as configured in Zuora\'s Fulfillment Settings.' })
  carrier?: string | null;

  @Field(() => String, { nullable: true, description: 'A description of the fulfillment.' })
  description?: string | null;
}

@InputType('ZuoraProcessingOptionsInput', { description: 'How Zuora bills the fulfillments of the call.' })
export class ZuoraProcessingOptionsInput {
  @Field(() => Boolean, { defaultValue: true, description: 'Bill the fulfillments now (must be true: without billing there is no invoice).' })
  runBilling!: boolean;

  @Field(() => Boolean, { defaultValue: false, description: 'Also collect the invoices\' total from each account\'s default payment method.' })
  collectPayment!: boolean;

  @Field(() => DateScalar, { nullable: true, description: 'The invoice and credit memo date printed on the documents. Default: today at Zuora.' })
  documentDate?: Date | null;

  @Field(() => DateScalar, { nullable: true, description: 'Bill fulfillments whose bill target date is on or before this day. Default: today at Zuora.' })
  targetDate?: Date | null;
}

@InputType('ZuoraInvoiceInput', {
  description:
    'Creates Zuora fulfillments and bills them with POST /v1/fulfillments: one invoice per billing account for deliveries, one credit memo per account for returns. Amounts come from the order line items, in their account\'s currency.',
})
export class ZuoraInvoiceInput {
  @Field(() => [ZuoraFulfillmentInput], { description: 'The fulfillments to record and bill, at least one SENT_TO_BILLING.' })
  fulfillments!: ZuoraFulfillmentInput[];

  @Field(() => ZuoraProcessingOptionsInput, { nullable: true, description: 'Billing options; default: bill now, do not collect payment, dates of today.' })
  processingOptions?: ZuoraProcessingOptionsInput | null;

  /** The provider input and its recorded (fingerprinted) form; nothing here fails to decode, so never userErrors. */
  toDomain(): { input: ZuoraCreateInput; recorded: Record<string, unknown> } | { userErrors: UserError[] } {
    const options = this.processingOptions;
    const input: ZuoraCreateInput = {
      fulfillments: this.fulfillments.map((f) => ({
        orderLineItemId: f.orderLineItemId.trim(),
        quantity: f.quantity,
        fulfillmentDate: day(f.fulfillmentDate)!,
        billTargetDate: day(f.billTargetDate),
        fulfillmentType: f.fulfillmentType ? TYPE_WIRE[f.fulfillmentType] : null,
        state: STATE_WIRE[f.state ?? ZuoraFulfillmentStateEnum.SENT_TO_BILLING],
        externalId: f.externalId ?? null,
        trackingNumber: f.trackingNumber ?? null,
        carrier: f.carrier ?? null,
        description: f.description ?? null,
      })),
      processingOptions: {
        runBilling: options?.runBilling ?? true,
        collectPayment: options?.collectPayment ?? false,
        documentDate: day(options?.documentDate),
        targetDate: day(options?.targetDate),
      },
    };
    const recorded = { ...input, fulfillments: input.fulfillments.map((f) => ({ ...f, quantity: formatAmount(f.quantity) })) };
    return { input, recorded };
  }
}
