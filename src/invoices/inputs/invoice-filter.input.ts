import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import type { InvoiceKind, InvoiceOrigin, InvoiceStatus, ProviderCode } from '../../domain/invoice';
import type { InvoiceFilter, InvoiceOrder } from '../../domain/invoice-query';
import { InvoiceKindEnum, InvoiceOrderFieldEnum, InvoiceOriginEnum, InvoiceProviderEnum, InvoiceStatusEnum, OrderDirectionEnum } from '../../graphql/enums';
import { DateScalar } from '../../graphql/scalars';

/** The Date scalar parses to a Date at midnight UTC; the domain speaks YYYY-MM-DD. */
const day = (d: Date | null | undefined): string | undefined => (d ? d.toISOString().slice(0, 10) : undefined);
const list = <T>(values: readonly T[] | null | undefined): T[] | undefined => (values ? [...values] : undefined);

@InputType('InvoiceFilter', {
  description: 'Which invoices Query.invoices lists. Every field is optional and they combine with AND; a list means "any of" (at most 100 values; an empty list matches nothing).',
})
export class InvoiceFilterInput {
  @Field(() => [InvoiceProviderEnum], { nullable: true, description: 'Invoices held by any of these providers.' })
  provider?: InvoiceProviderEnum[] | null;

  @Field(() => [InvoiceStatusEnum], { nullable: true, description: 'Invoices in any of these states (as last read from the provider).' })
  status?: InvoiceStatusEnum[] | null;

  @Field(() => [InvoiceKindEnum], { nullable: true, description: 'Invoices, credit notes, or both.' })
  kind?: InvoiceKindEnum[] | null;

  @Field(() => [InvoiceOriginEnum], { nullable: true, description: 'Invoices made through createInvoice, found at their provider, or both.' })
  origin?: InvoiceOriginEnum[] | null;

  @Field(() => [ID], { nullable: true, description: "Invoices of any of these orders (the order's id at its provider, 1 to 255 characters, no control characters)." })
  orderId?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Invoices in any of these currencies (ISO 4217 codes: three letters A-Z, such as "SAR").' })
  currencyCode?: string[] | null;

  @Field(() => DateScalar, { nullable: true, description: 'Invoices issued on or after this day. Invoices without an issue date never match.' })
  issuedFrom?: Date | null;

  @Field(() => DateScalar, { nullable: true, description: 'Invoices issued on or before this day. Invoices without an issue date never match. After issuedFrom, the page is empty.' })
  issuedTo?: Date | null;

  @Field(() => DateScalar, { nullable: true, description: 'Invoices due strictly before this day. Invoices without a due date never match.' })
  dueBefore?: Date | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'true: invoices due before today (the UTC date) and still ISSUED or PARTIALLY_PAID, by the status last read from the provider. false: all the others, invoices without a due date included.',
  })
  overdue?: boolean | null;

  /** The domain's filter; its values are checked by invoiceListRequest. */
  static toFilter(input: InvoiceFilterInput | null | undefined): InvoiceFilter {
    if (!input) return {};
    const filter: InvoiceFilter = {
      provider: list(input.provider) as ProviderCode[] | undefined,
      status: list(input.status) as InvoiceStatus[] | undefined,
      kind: list(input.kind) as InvoiceKind[] | undefined,
      origin: list(input.origin) as InvoiceOrigin[] | undefined,
      orderId: list(input.orderId),
      currencyCode: list(input.currencyCode),
      issuedFrom: day(input.issuedFrom),
      issuedTo: day(input.issuedTo),
      dueBefore: day(input.dueBefore),
      overdue: input.overdue ?? undefined,
    };
    // Absent and null both mean "no condition": keep only the fields given.
    return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as InvoiceFilter;
  }
}

@InputType('InvoiceOrder', { description: 'How Query.invoices sorts. Default: ISSUE_DATE DESC (newest first).' })
export class InvoiceOrderInput {
  @Field(() => InvoiceOrderFieldEnum, { description: 'What to sort by; ties are broken by the order of recording.' })
  field!: InvoiceOrderFieldEnum;

  @Field(() => OrderDirectionEnum, { description: 'Ascending or descending.' })
  direction!: OrderDirectionEnum;

  static toOrder(input: InvoiceOrderInput | null | undefined, fallback: InvoiceOrder): InvoiceOrder {
    return input ? { field: input.field, direction: input.direction } : fallback;
  }
}

/** Query.invoices' arguments, as a class so that the schema lists them in the contract's order. */
@ArgsType()
export class InvoicesArgs {
  @Field(() => InvoiceFilterInput, { nullable: true, description: "Which invoices to list; all of the tenant's when absent." })
  filter?: InvoiceFilterInput | null;

  @Field(() => InvoiceOrderInput, { nullable: true, description: 'How to sort; ISSUE_DATE DESC (newest first) when absent.' })
  orderBy?: InvoiceOrderInput | null;

  @Field(() => Int, { nullable: true, description: 'A forward page of this many invoices (0 to 100). Default 20 when neither first nor last is given.' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "Start after this cursor (an edge's cursor or pageInfo.endCursor, of the same orderBy); goes with first." })
  after?: string | null;

  @Field(() => Int, { nullable: true, description: 'A backward page of this many invoices (0 to 100): the last ones before `before`, or of the whole list.' })
  last?: number | null;

  @Field(() => String, { nullable: true, description: "End before this cursor (an edge's cursor or pageInfo.startCursor, of the same orderBy); goes with last." })
  before?: string | null;
}
