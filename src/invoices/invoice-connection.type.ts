import { Directive, Field, ObjectType } from 'type-graphql';
import type { InvoiceFilter } from '../domain/invoice-query';
import { InvoiceType } from './invoice.type';

// Other subgraphs may page their lists the same way: PageInfo is a value type any of them may define.
@Directive('@shareable')
@ObjectType('PageInfo', { simpleResolvers: true, description: 'Where a page sits in its list (Relay cursor connections).' })
export class PageInfoType {
  @Field(() => Boolean, {
    description: 'Whether there are more items after this page. Known exactly for a forward page (first); for a backward page (last), true when it was asked for before a cursor.',
  })
  hasNextPage!: boolean;

  @Field(() => Boolean, {
    description: 'Whether there are items before this page. Known exactly for a backward page (last); for a forward page (first), true when it was asked for after a cursor.',
  })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: "The first edge's cursor; null on an empty page." })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: "The last edge's cursor; null on an empty page." })
  endCursor!: string | null;
}

@ObjectType('InvoiceEdge', { simpleResolvers: true, description: 'One invoice of a page, with its cursor.' })
export class InvoiceEdgeType {
  @Field(() => String, { description: 'Opaque position of this invoice in the ordering: pass it as after (or before) to continue from here. Valid only with the same orderBy.' })
  cursor!: string;

  @Field(() => InvoiceType, { description: 'The invoice.' })
  node!: InvoiceType;
}

@ObjectType('InvoiceConnection', { description: 'A page of invoices (a Relay cursor connection).' })
export class InvoiceConnectionType {
  @Field(() => [InvoiceEdgeType], { description: 'The page\'s invoices with their cursors, in the order asked for.' })
  edges!: InvoiceEdgeType[];

  @Field(() => [InvoiceType], { description: 'The page\'s invoices, in the order asked for (edges without the cursors).' })
  nodes!: InvoiceType[];

  @Field(() => PageInfoType, { description: 'Whether there are more pages, and the cursors to reach them.' })
  pageInfo!: PageInfoType;

  // totalCount is a field resolver (InvoiceListResolver): its count query runs only when it is selected.
  /** The listing's filter, for totalCount. */
  filter!: InvoiceFilter;
  /** The count, once asked for: a query selecting totalCount under two aliases counts once. */
  counted?: Promise<number>;
}
