import { registerEnumType } from 'type-graphql';
import { INVOICE_ERROR_CODES } from '../domain/errors';

export enum InvoiceProviderEnum {
  SALESFORCE = 'SALESFORCE',
  SALLA = 'SALLA',
  ZUORA = 'ZUORA',
  EXSITED = 'EXSITED',
  COMMERCE = 'COMMERCE',
}
registerEnumType(InvoiceProviderEnum, {
  name: 'InvoiceProvider',
  description: 'The billing provider that holds an invoice.',
  valuesConfig: {
    SALESFORCE: { description: 'Salesforce Order Management.' },
    SALLA: { description: 'Salla (Merchant API).' },
    ZUORA: { description: 'Zuora Billing.' },
    EXSITED: { description: 'Exsited.' },
    COMMERCE: { description: 'The Commerce API.' },
  },
});

export enum InvoiceKindEnum {
  INVOICE = 'INVOICE',
  CREDIT_NOTE = 'CREDIT_NOTE',
}
registerEnumType(InvoiceKindEnum, {
  name: 'InvoiceKind',
  description: 'Whether the document bills the customer or credits them.',
  valuesConfig: {
    INVOICE: { description: 'An invoice (a tax invoice at Salla).' },
    CREDIT_NOTE: { description: 'A credit note or credit memo, reversing all or part of an invoice.' },
  },
});

export enum InvoiceStatusEnum {
  DRAFT = 'DRAFT',
  ISSUED = 'ISSUED',
  PARTIALLY_PAID = 'PARTIALLY_PAID',
  PAID = 'PAID',
  VOID = 'VOID',
}
registerEnumType(InvoiceStatusEnum, {
  name: 'InvoiceStatus',
  description: 'The document\'s state at its provider when it was last read, normalised across providers.',
  valuesConfig: {
    DRAFT: { description: 'Not yet posted; it can still change.' },
    ISSUED: { description: 'Posted or issued, with no payment known to us.' },
    PARTIALLY_PAID: { description: 'Some of the total has been paid.' },
    PAID: { description: 'Fully paid or settled.' },
    VOID: { description: 'Cancelled or voided.' },
  },
});

export enum InvoiceOriginEnum {
  CREATED_HERE = 'CREATED_HERE',
  EXTERNAL = 'EXTERNAL',
}
registerEnumType(InvoiceOriginEnum, {
  name: 'InvoiceOrigin',
  description: 'Where an invoice was made.',
  valuesConfig: {
    CREATED_HERE: { description: 'Through createInvoice.' },
    EXTERNAL: { description: 'At the provider, outside this service (found by its sync).' },
  },
});

type ErrorCode = keyof typeof INVOICE_ERROR_CODES;
export const InvoiceErrorCodeEnum = Object.fromEntries(Object.keys(INVOICE_ERROR_CODES).map((k) => [k, k])) as { [K in ErrorCode]: K };
registerEnumType(InvoiceErrorCodeEnum, {
  name: 'InvoiceErrorCode',
  description: 'Why createInvoice did not create an invoice; an expected outcome, returned as data.',
  valuesConfig: Object.fromEntries(Object.entries(INVOICE_ERROR_CODES).map(([k, description]) => [k, { description }])),
});
