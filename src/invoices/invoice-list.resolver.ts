import { GraphQLError } from 'graphql';
import { Args, Ctx, Directive, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { DEFAULT_INVOICE_ORDER, encodeCursor, InvalidListArgument, invoiceListRequest, type InvoiceListRequest } from '../domain/invoice-query';
import type { Context } from '../server/context';
import { InvoiceFilterInput, InvoiceOrderInput, InvoicesArgs } from './inputs/invoice-filter.input';
import { InvoiceConnectionType } from './invoice-connection.type';
import { presentInvoice } from './invoice.type';

/** A listing argument refused as the request guard refuses bad input: BAD_USER_INPUT, HTTP 400, naming the argument. */
function refused(err: InvalidListArgument): GraphQLError {
  return new GraphQLError(err.message, { extensions: { code: 'BAD_USER_INPUT', argument: err.argument, http: { status: 400 } } });
}

@Resolver(() => InvoiceConnectionType)
export class InvoiceListResolver {
  /** Called for Query.invoices: one ledger query per page, one more when totalCount is selected. */
  // Demand control: a page holds as many invoices as first or last asks for (20 when neither is given).
  @Directive('@listSize(assumedSize: 20, slicingArguments: ["first", "last"], sizedFields: ["edges", "nodes"], requireOneSlicingArgument: false)')
  @Query(() => InvoiceConnectionType, {
    description:
      "The tenant's invoices, a page at a time (a Relay cursor connection), filtered and sorted; read from the ledger, no provider call. Costs one ledger query per page, one more when totalCount is selected. Page forward with first/after or backward with last/before; mixing the two is refused. Cursors stay valid while invoices are added.",
  })
  async invoices(@Args(() => InvoicesArgs) { filter, orderBy, first, after, last, before }: InvoicesArgs, @Ctx() ctx: Context): Promise<InvoiceConnectionType> {
    let request: InvoiceListRequest;
    try {
      request = invoiceListRequest(InvoiceFilterInput.toFilter(filter), InvoiceOrderInput.toOrder(orderBy, DEFAULT_INVOICE_ORDER), { first, after, last, before });
    } catch (err) {
      throw err instanceof InvalidListArgument ? refused(err) : err;
    }
    const page = await ctx.invoiceList.page(ctx.tenantId, request);
    const edges = page.edges.map(({ invoice, key }) => {
      // invoice(id) and _entities resolved after the page, with this request's loaders, need no ledger query.
      ctx.loaders.invoiceById.prime(invoice.id, invoice);
      return { cursor: encodeCursor(request.order, key), node: presentInvoice(invoice) };
    });
    return {
      edges,
      nodes: edges.map((e) => e.node),
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: page.hasPreviousPage,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
      filter: request.filter,
    };
  }

  /** Called only when a query selects totalCount: one count query, shared by aliases of the same connection. */
  @FieldResolver(() => Int, { description: 'How many invoices the filter matches in all pages together (one more ledger query, made only when this field is selected).' })
  totalCount(@Root() connection: InvoiceConnectionType, @Ctx() ctx: Context): Promise<number> {
    connection.counted ??= ctx.invoiceList.count(ctx.tenantId, connection.filter);
    return connection.counted;
  }
}
