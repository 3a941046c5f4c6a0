import { Ctx, Directive, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Context } from '../server/context';
import { InvoiceType, presentInvoice } from '../invoices/invoice.type';
import { OrderType } from './order.type';

@Resolver(() => OrderType)
export class OrderResolver {
  // From the ledger, cheap; an order has an invoice and perhaps a credit note or two.
  @Directive('@listSize(assumedSize: 3)')
  @FieldResolver(() => [InvoiceType], {
    description: 'Invoices and credit notes created through this service for the order, oldest first. Read from the ledger (no provider call); one query for all orders of a request.',
  })
  async invoices(@Root() order: OrderType, @Ctx() ctx: Context): Promise<InvoiceType[]> {
    return (await ctx.loaders.invoicesByOrderId.load(order.id)).map(presentInvoice);
  }
}

/** Entity resolution for `_entities`: the orders subgraph owns orders, so any id is a valid reference. */
export function resolveOrderReference(ref: { id: string }): OrderType {
  return { id: ref.id };
}
