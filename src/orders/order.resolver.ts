import type { GraphQLResolveInfo } from 'graphql';
import { Ctx, Directive, FieldResolver, Info, Resolver, Root } from 'type-graphql';
import { freshFor } from '../invoices/cache-hints';
import type { Context } from '../server/context';
import { InvoiceType, presentInvoice } from '../invoices/invoice.type';
import { OrderType, type OrderRoot } from './order.type';

@Resolver(() => OrderType)
export class OrderResolver {
  // From the ledger, cheap; an order has an invoice and perhaps a credit note or two.
  @Directive('@listSize(assumedSize: 3)')
  @FieldResolver(() => [InvoiceType], {
    description: 'The order\'s invoices and credit notes in the ledger (created through this service, or found at the provider), oldest first. Headers, stored lines, taxes and kpis come from one ledger query for all orders of a request.',
  })
  async invoices(@Root() order: OrderRoot, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<InvoiceType[]> {
    // An order gains invoices (ours, and later those found at the provider): the list is as fresh as status.
    freshFor(info, ctx);
    return (await ctx.loaders.invoicesByOrderId.load(order.id)).map(presentInvoice);
  }
}

/** Entity resolution for `_entities`: the orders subgraph owns orders, so any id is a valid reference. */
export function resolveOrderReference(ref: { id: string }): OrderType {
  return { id: ref.id };
}
