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

export enum InvoiceOrderFieldEnum {
  ISSUE_DATE = 'ISSUE_DATE',
  DUE_DATE = 'DUE_DATE',
  CREATED_AT = 'CREATED_AT',
  TOTAL = 'TOTAL',
}
registerEnumType(InvoiceOrderFieldEnum, {
  name: 'InvoiceOrderField',
  description: 'What Query.invoices sorts by. Ties are broken by the order in which invoices were recorded, so every ordering is total and its cursors exact.',
  valuesConfig: {
    ISSUE_DATE: { description: 'The issue date. Invoices without one (drafts) sort as the earliest: last newest-first, first oldest-first.' },
    DUE_DATE: { description: 'The due date. Invoices without one sort as the latest: last soonest-first, first latest-first.' },
    CREATED_AT: { description: 'When the invoice was recorded here (the order of recording).' },
    TOTAL: { description: 'The total amount, compared as a number whatever the currency (filter by currencyCode to compare like with like).' },
  },
});

export enum OrderDirectionEnum {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(OrderDirectionEnum, {
  name: 'OrderDirection',
  description: 'The direction of an ordering.',
  valuesConfig: {
    ASC: { description: 'Smallest (earliest) first.' },
    DESC: { description: 'Largest (latest) first.' },
  },
});
