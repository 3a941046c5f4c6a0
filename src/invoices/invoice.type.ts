import { Directive, Field, ID, ObjectType } from 'type-graphql';
import type { Invoice, InvoiceKpis, InvoiceLine, TaxLine } from '../domain/invoice';
import { InvoiceKindEnum, InvoiceOriginEnum, InvoiceProviderEnum, InvoiceStatusEnum } from '../graphql/enums';
import { MoneyType, presentMoney } from '../graphql/money.type';
import type { InvoiceLineJson, MoneyJson, TaxLineJson } from '../domain/invoice.codec';
import { formatAmountText, formatMoneyAmountText } from '../domain/money';
import { storedContentJson, storedKpisJson } from '../ledger/invoice-row';
import { DateScalar, DateTimeScalar, DecimalScalar } from '../graphql/scalars';

@Directive('@cacheControl(inheritMaxAge: true)')
@ObjectType('TaxLine', { simpleResolvers: true, description: 'One tax applied to an invoice or to one of its lines.' })
export class TaxLineType {
  @Field(() => String, { nullable: true, description: 'The tax\'s name at the provider (e.g. "VAT"); null when the provider does not name it.' })
  name!: string | null;

  @Field(() => String, { nullable: true, description: 'The provider\'s tax code; null when it has none.' })
  code!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'The rate in percent ("15.00" for 15 %); null when the provider does not report it.' })
  ratePercent!: string | null;

  @Field(() => MoneyType, { description: 'The tax amount.' })
  amount!: MoneyType;
}

@Directive('@cacheControl(inheritMaxAge: true)')
@ObjectType('InvoiceLine', { simpleResolvers: true, description: 'One billed item of an invoice, as the provider reports it.' })
export class InvoiceLineType {
  @Field(() => String, { nullable: true, description: 'What was billed (product or charge name).' })
  description!: string | null;

  @Field(() => String, { nullable: true, description: 'The product\'s SKU, when the provider reports one.' })
  sku!: string | null;

  @Field(() => DecimalScalar, { description: 'Quantity billed, exact.' })
  quantity!: string;

  @Field(() => MoneyType, { nullable: true, description: 'Price of one unit before tax.' })
  unitPrice!: MoneyType | null;

  @Field(() => MoneyType, { nullable: true, description: 'The line before tax, after line discounts.' })
  subtotal!: MoneyType | null;

  @Field(() => MoneyType, { nullable: true, description: 'Tax on this line.' })
  taxTotal!: MoneyType | null;

  @Field(() => MoneyType, { nullable: true, description: 'The line including tax.' })
  total!: MoneyType | null;

  @Field(() => [TaxLineType], { description: 'Taxes applied to this line.' })
  taxes!: TaxLineType[];
}

@Directive('@cacheControl(inheritMaxAge: true)')
@ObjectType('InvoiceKpis', { simpleResolvers: true, description: 'Payment figures of an invoice as its provider last reported them. A figure the provider does not report is null.' })
export class InvoiceKpisType {
  @Field(() => MoneyType, { nullable: true, description: 'Amount still to be paid.' })
  outstanding!: MoneyType | null;

  @Field(() => MoneyType, { nullable: true, description: 'Amount paid so far.' })
  paid!: MoneyType | null;

  @Field(() => Boolean, { nullable: true, description: 'Whether the invoice is past its due date and not fully paid.' })
  overdue!: boolean | null;

  @Field(() => DateScalar, { nullable: true, description: 'Date of the latest payment applied.' })
  lastPaymentDate!: string | null;

  @Field(() => MoneyType, { nullable: true, description: 'Credit (notes, memos) applied to the invoice.' })
  creditApplied!: MoneyType | null;
}

/**
 * The invoice as GraphQL serves it. Header fields come from the ledger's snapshot (no provider call); `lines`,
 * `taxes`, `kpis` and `order` are field resolvers (InvoiceResolver).
 */
@Directive('@key(fields: "id")')
// A router's entity cache may keep what never changes for a day; status, kpis, syncedAt and the lines of a draft
// say (dynamically) that they are good only for INVOICE_FRESHNESS_MS. Private: an invoice is one tenant's.
@Directive('@cacheControl(maxAge: 86400, scope: PRIVATE)')
// simpleResolvers: plain fields are read by graphql-js's default resolver, not through type-graphql's middleware
// wrapper (no field here has middleware or auth); on a 100-representation _entities that is 1,700 calls saved.
@ObjectType('Invoice', { simpleResolvers: true, description: 'An invoice or credit note created through this service at one of the billing providers.' })
export class InvoiceType {
  @Field(() => ID, { description: 'Opaque id, stable and unique across providers. Use it with `invoice(id)` and as the entity key.' })
  id!: string;

  @Field(() => InvoiceProviderEnum, { description: 'The provider that holds the invoice.' })
  provider!: InvoiceProviderEnum;

  @Field({ description: 'The invoice\'s id at its provider.' })
  providerInvoiceId!: string;

  @Field(() => String, { nullable: true, description: 'The invoice number printed on the document; null when the provider assigns none.' })
  number!: string | null;

  @Field(() => InvoiceKindEnum, { description: 'Invoice or credit note.' })
  kind!: InvoiceKindEnum;

  /** Resolved by `status` (InvoiceResolver), which refreshes it when stale. */
  status!: InvoiceStatusEnum;

  @Field(() => DateScalar, { nullable: true, description: 'Issue date.' })
  issueDate!: string | null;

  @Field(() => DateScalar, { nullable: true, description: 'Due date; null when the provider has none.' })
  dueDate!: string | null;

  @Field(() => MoneyType, { nullable: true, description: 'Total before tax.' })
  subtotal!: MoneyType | null;

  @Field(() => MoneyType, { nullable: true, description: 'Total tax.' })
  taxTotal!: MoneyType | null;

  @Field(() => MoneyType, { description: 'Amount of the invoice including tax.' })
  total!: MoneyType;

  @Field(() => String, { nullable: true, description: 'Link to the invoice document (PDF) at the provider, when it has one.' })
  documentUrl!: string | null;

  @Field(() => InvoiceOriginEnum, { description: 'Whether the invoice was made through createInvoice or found at its provider.' })
  origin!: InvoiceOriginEnum;

  /** Resolved by `syncedAt` (InvoiceResolver). */
  syncedAt!: Date | null;

  @Field(() => DateTimeScalar, { description: 'When the invoice was recorded here: created through this service, or found at its provider.' })
  createdAt!: Date;

  /** The order at its provider; resolved by `order`. */
  orderId!: string;

  /** The ledger's invoice, for the fields resolved from what it stores (lines, taxes, kpis, status freshness). */
  readonly source!: Invoice;
}

/**
 * The GraphQL view of a ledger invoice. Money is formatted only when a query selects it, through getters on the
 * prototype: an object literal with getters would cost three closures and a slow object shape per invoice, which
 * showed on a 100-representation `_entities`.
 */
class PresentedInvoice implements InvoiceType {
  readonly id: string;
  readonly provider: InvoiceProviderEnum;
  readonly providerInvoiceId: string;
  readonly number: string | null;
  readonly kind: InvoiceKindEnum;
  readonly status: InvoiceStatusEnum;
  readonly issueDate: string | null;
  readonly dueDate: string | null;
  readonly documentUrl: string | null;
  readonly origin: InvoiceOriginEnum;
  readonly syncedAt: Date | null;
  readonly createdAt: Date;
  readonly orderId: string;

  constructor(readonly source: Invoice) {
    this.id = source.id;
    this.provider = source.provider as InvoiceProviderEnum;
    this.providerInvoiceId = source.providerInvoiceId;
    this.number = source.number;
    this.kind = source.kind as InvoiceKindEnum;
    this.status = source.status as InvoiceStatusEnum;
    this.issueDate = source.issueDate;
    this.dueDate = source.dueDate;
    this.documentUrl = source.documentUrl;
    this.origin = source.origin as InvoiceOriginEnum;
    this.syncedAt = source.syncedAt;
    this.createdAt = source.createdAt;
    this.orderId = source.orderId;
  }

  get subtotal(): MoneyType | null {
    return presentMoney(this.source.subtotal);
  }

  get taxTotal(): MoneyType | null {
    return presentMoney(this.source.taxTotal);
  }

  get total(): MoneyType {
    return presentMoney(this.source.total);
  }
}

/**
 * The root InvoiceType's field resolvers take: the presented invoice as it is. An interface, not the class: a
 * `@Root()` parameter typed with the class makes type-graphql copy the root into a new InvoiceType on every field
 * resolver call (seventeen fields defined, then assigned; the money getters lost), 150 times on a page of 50 invoices
 * with lines, taxes and kpis.
 */
export interface InvoiceRoot extends InvoiceType {}

export function presentInvoice(i: Invoice): InvoiceType {
  return new PresentedInvoice(i);
}

export function presentTax(t: TaxLine): TaxLineType {
  return { name: t.name, code: t.code, ratePercent: t.ratePercent?.toFixed() ?? null, amount: presentMoney(t.amount) };
}

export function presentLine(l: InvoiceLine): InvoiceLineType {
  return {
    description: l.description,
    sku: l.sku,
    quantity: l.quantity.toFixed(),
    unitPrice: presentMoney(l.unitPrice),
    subtotal: presentMoney(l.subtotal),
    taxTotal: presentMoney(l.taxTotal),
    total: presentMoney(l.total),
    taxes: l.taxes.map(presentTax),
  };
}

export function presentKpis(k: InvoiceKpis): InvoiceKpisType {
  return {
    outstanding: presentMoney(k.outstanding),
    paid: presentMoney(k.paid),
    overdue: k.overdue,
    lastPaymentDate: k.lastPaymentDate,
    creditApplied: presentMoney(k.creditApplied),
  };
}

/*
 * The same presentation from what the ledger stores (amounts as decimal text), with no Decimal built per amount: on a
 * page of 50 stored invoices with lines, taxes and kpis, that is some 600 amounts parsed only to be written out again.
 * Each gives exactly what its counterpart above gives for the decoded value (invoice.type.spec.ts).
 */
const presentStoredMoney = (m: MoneyJson | null): MoneyType | null => (m ? { amount: formatMoneyAmountText(m.amount, m.currencyCode), currencyCode: m.currencyCode } : null);

function presentStoredTax(t: TaxLineJson): TaxLineType {
  return { name: t.name, code: t.code, ratePercent: t.ratePercent === null ? null : formatAmountText(t.ratePercent), amount: presentStoredMoney(t.amount)! };
}

function presentStoredLine(l: InvoiceLineJson): InvoiceLineType {
  return {
    description: l.description,
    sku: l.sku,
    quantity: formatAmountText(l.quantity),
    unitPrice: presentStoredMoney(l.unitPrice),
    subtotal: presentStoredMoney(l.subtotal),
    taxTotal: presentStoredMoney(l.taxTotal),
    total: presentStoredMoney(l.total),
    taxes: l.taxes.map(presentStoredTax),
  };
}

/** The invoice's stored lines, presented; null when the ledger holds none (read them from the provider). */
export function storedLines(i: Invoice): InvoiceLineType[] | null {
  const json = storedContentJson(i);
  if (json !== undefined) return json && json.lines.map(presentStoredLine);
  return i.content && i.content.lines.map(presentLine);
}

/** The invoice's stored invoice-level taxes, presented; null when the ledger holds none. */
export function storedTaxes(i: Invoice): TaxLineType[] | null {
  const json = storedContentJson(i);
  if (json !== undefined) return json && json.taxes.map(presentStoredTax);
  return i.content && i.content.taxes.map(presentTax);
}

/** The invoice's stored kpis, presented; null when the ledger holds none. */
export function storedKpis(i: Invoice): InvoiceKpisType | null {
  const json = storedKpisJson(i);
  if (json === undefined) return i.kpis && presentKpis(i.kpis);
  return (
    json && {
      outstanding: presentStoredMoney(json.outstanding),
      paid: presentStoredMoney(json.paid),
      overdue: json.overdue,
      lastPaymentDate: json.lastPaymentDate,
      creditApplied: presentStoredMoney(json.creditApplied),
    }
  );
}
