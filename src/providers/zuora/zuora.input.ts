import type { Decimal } from '../../domain/money';

/** Zuora's wire values (the GraphQL enums map to these). */
export type ZuoraFulfillmentType = 'Delivery' | 'Return';
export type ZuoraFulfillmentState = 'Executing' | 'Booked' | 'SentToBilling' | 'Complete' | 'Cancelled';

/** One fulfillment of an order line item; field names follow the GraphQL input so that error paths read the same. */
export interface ZuoraFulfillment {
  /** Zuora's 32-hex order line item id. */
  orderLineItemId: string;
  quantity: Decimal;
  /** ISO dates (YYYY-MM-DD). */
  fulfillmentDate: string;
  billTargetDate: string | null;
  /** Null lets Zuora apply its default (Delivery). */
  fulfillmentType: ZuoraFulfillmentType | null;
  state: ZuoraFulfillmentState;
  externalId: string | null;
  trackingNumber: string | null;
  carrier: string | null;
  description: string | null;
}

export interface ZuoraProcessingOptions {
  runBilling: boolean;
  collectPayment: boolean;
  /** The invoice date printed on the documents; Zuora's default is today. */
  documentDate: string | null;
  /** Bills fulfillments whose bill target date is on or before it; Zuora's default is today. */
  targetDate: string | null;
}

/** A create request for Zuora (POST /v1/fulfillments) in the domain's terms. */
export interface ZuoraCreateInput {
  fulfillments: ZuoraFulfillment[];
  processingOptions: ZuoraProcessingOptions;
}

