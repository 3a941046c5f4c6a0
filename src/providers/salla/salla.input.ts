import type { Decimal } from '../../domain/money';

export type SallaInvoiceType = 'tax_invoice' | 'credit_note';
export type SallaDataType = 'data' | 'url' | 'file' | 'order';

/**
 * A create request for Salla in the domain's terms (exact decimals, decoded file). The GraphQL input maps to this;
 * field names follow the GraphQL input so that error paths read the same to the caller.
 */
export interface SallaCreateInput {
  orderId: string;
  type: SallaInvoiceType;
  dataType: SallaDataType;
  url?: string | null;
  /** The PDF for dataType `file`, decoded from the caller's base64. */
  pdf?: Buffer | null;
  /** The PDF's SHA-256 (hex), as the attempt recorded it: all a lookup restored from the ledger has of the file. */
  pdfSha256?: string | null;
  invoiceNumber?: string | null;
  subTotal?: Decimal | null;
  total?: Decimal | null;
  shippingCost?: Decimal | null;
  cashOnDeliveryCost?: Decimal | null;
  taxPercent?: Decimal | null;
  taxValue?: Decimal | null;
}

/** The input's field that Salla calls by another name on the wire. */
export const WIRE_FIELD_TO_INPUT: Record<string, string | null> = {
  order_id: 'orderId',
  order: 'orderId',
  type: 'type',
  data_type: 'dataType',
  invoice_provider: 'dataType',
  url: 'url',
  file: 'pdfBase64',
  invoice_number: 'invoiceNumber',
  sub_total: 'subTotal',
  total: 'total',
  shipping_cost: 'shippingCost',
  cash_on_delivery_cost: 'cashOnDeliveryCost',
  tax: 'taxPercent',
  tax_value: 'taxValue',
};
