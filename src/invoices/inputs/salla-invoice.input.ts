import { Field, ID, InputType, registerEnumType } from 'type-graphql';
import { userError, type UserError } from '../../domain/errors';
import { createHash } from 'node:crypto';
import type { Decimal } from '../../domain/money';
import type { SallaCreateInput } from '../../providers/salla/salla.input';
import { DecimalScalar } from '../../graphql/scalars';

// Enum values equal their names: the SDL round trip through buildSubgraphSchema keeps names, not internal values.
export enum SallaInvoiceTypeEnum {
  TAX_INVOICE = 'TAX_INVOICE',
  CREDIT_NOTE = 'CREDIT_NOTE',
}
registerEnumType(SallaInvoiceTypeEnum, {
  name: 'SallaInvoiceType',
  description: 'Salla\'s invoice types.',
  valuesConfig: {
    TAX_INVOICE: { description: 'A tax invoice; Salla allows one per order.' },
    CREDIT_NOTE: { description: 'A credit note; Salla needs an earlier tax invoice on the order, and allows one credit note per order.' },
  },
});

export enum SallaInvoiceDataTypeEnum {
  DATA = 'DATA',
  URL = 'URL',
  FILE = 'FILE',
  ORDER = 'ORDER',
}
registerEnumType(SallaInvoiceDataTypeEnum, {
  name: 'SallaInvoiceDataType',
  description: 'Where the invoice\'s content comes from. ORDER needs the store\'s invoice issuer to be Salla; the others need it to be custom (Store Settings).',
  valuesConfig: {
    DATA: { description: 'You give the number and the amounts (invoiceNumber, subTotal, total, shippingCost, cashOnDeliveryCost, optionally taxPercent and taxValue).' },
    URL: { description: 'You give a link to your PDF (url, ending in .pdf).' },
    FILE: { description: 'You upload your PDF (pdfBase64).' },
    ORDER: { description: 'Salla builds the invoice from the order.' },
  },
});

@InputType('SallaInvoiceInput', { description: 'Creates a Salla invoice with POST /orders/invoices. Amounts are in the store\'s currency.' })
export class SallaInvoiceInput {
  @Field(() => ID, { description: 'The Salla order id (a number).' })
  orderId!: string;

  @Field(() => SallaInvoiceTypeEnum, { defaultValue: SallaInvoiceTypeEnum.TAX_INVOICE, description: 'Tax invoice (default) or credit note.' })
  type!: SallaInvoiceTypeEnum;

  @Field(() => SallaInvoiceDataTypeEnum, { description: 'Where the content comes from; it decides which other fields are required.' })
  dataType!: SallaInvoiceDataTypeEnum;

  @Field(() => String, { nullable: true, description: 'For URL: an http(s) link to the invoice PDF; must end in .pdf.' })
  url?: string | null;

  @Field(() => String, { nullable: true, description: 'For FILE: the invoice PDF, base64-encoded (at most 10 MB decoded).' })
  pdfBase64?: string | null;

  @Field(() => String, { nullable: true, description: 'For DATA (required): your invoice number; Salla refuses a number already used in the store.' })
  invoiceNumber?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'For DATA (required): total before shipping, cash on delivery and tax; not negative.' })
  subTotal?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'For DATA (required): the invoice total; not negative.' })
  total?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'For DATA (required): shipping cost; not negative.' })
  shippingCost?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'For DATA (required): cash-on-delivery fee; not negative.' })
  cashOnDeliveryCost?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'For DATA: the tax rate in percent, between 0 and 100 (Salla\'s `tax`).' })
  taxPercent?: Decimal | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'For DATA: the tax amount (Salla\'s `tax_value`); not negative.' })
  taxValue?: Decimal | null;

  /** The provider input, or the userErrors of a field that cannot even be decoded. */
  toDomain(): { input: SallaCreateInput; recorded: Record<string, unknown> } | { userErrors: UserError[] } {
    let pdf: Buffer | null = null;
    if (this.pdfBase64 != null) {
      const b64 = this.pdfBase64.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return { userErrors: [userError('INVALID_INPUT', 'pdfBase64 is not valid base64.', ['salla', 'pdfBase64'])] };
      pdf = Buffer.from(b64, 'base64');
    }
    const input: SallaCreateInput = {
      orderId: this.orderId.trim(),
      type: this.type === SallaInvoiceTypeEnum.CREDIT_NOTE ? 'credit_note' : 'tax_invoice',
      dataType: this.dataType.toLowerCase() as SallaCreateInput['dataType'],
      url: this.url ?? null,
      pdf,
      invoiceNumber: this.invoiceNumber ?? null,
      subTotal: this.subTotal ?? null,
      total: this.total ?? null,
      shippingCost: this.shippingCost ?? null,
      cashOnDeliveryCost: this.cashOnDeliveryCost ?? null,
      taxPercent: this.taxPercent ?? null,
      taxValue: this.taxValue ?? null,
    };
    // The attempt records the file's hash, not the file: enough to tell a retry from a different request.
    const recorded = { ...input, pdf: pdf ? createHash('sha256').update(pdf).digest('hex') : null };
    return { input, recorded };
  }
}
