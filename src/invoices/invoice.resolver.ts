import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, Directive, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { InvoiceStatusEnum } from '../graphql/enums';
import { ProviderError } from '../domain/errors';
import type { InvoiceDetails } from '../domain/invoice';
import type { Context } from '../server/context';
import { DateTimeScalar } from '../graphql/scalars';
import { OrderType } from '../orders/order.type';
import { freshFor } from './cache-hints';
import { CreateInvoiceInput } from './inputs/create-invoice.input';
import { CreateInvoicePayload } from './invoice.payload';
import { InvoiceKpisType, InvoiceLineType, InvoiceType, TaxLineType, presentInvoice, presentKpis, presentLine, presentTax, storedKpis, storedLines, storedTaxes, type InvoiceRoot } from './invoice.type';

/** Reads one invoice's provider details through the request's loader; a failed read becomes a coded GraphQL error. */
async function detailsOf(invoice: InvoiceRoot, ctx: Context): Promise<InvoiceDetails> {
  try {
    return await ctx.loaders.details.load({ provider: invoice.provider, providerInvoiceId: invoice.providerInvoiceId, orderId: invoice.orderId });
  } catch (err) {
    const first = err instanceof ProviderError ? err.userErrors[0] : undefined;
    // The provider's own words say what our code cannot, e.g. that it no longer knows the invoice.
    const theirs = first?.providerMessage ? ` The provider said: ${first.providerMessage}` : '';
    throw new GraphQLError(`Could not read invoice ${invoice.id} from ${invoice.provider}: ${first?.message ?? 'the provider failed'}${theirs}`, {
      extensions: { code: first?.code ?? 'PROVIDER_UNAVAILABLE', provider: invoice.provider, retryAfterSeconds: first?.retryAfterSeconds ?? undefined },
    });
  }
}

@Resolver(() => InvoiceType)
export class InvoiceResolver {
  @Query(() => InvoiceType, { nullable: true, description: 'An invoice created through this service, by its id; null when there is none. Costs one ledger read, batched.' })
  async invoice(@Arg('id', () => ID, { description: 'The invoice\'s id (Invoice.id).' }) id: string, @Ctx() ctx: Context): Promise<InvoiceType | null> {
    const invoice = await ctx.loaders.invoiceById.load(id);
    return invoice && presentInvoice(invoice);
  }

  // A provider write and its read-back: by far the most expensive operation here.
  @Directive('@cost(weight: 100)')
  @Mutation(() => CreateInvoicePayload, {
    description:
      'Creates an invoice (or credit note) at exactly one provider, chosen by the input\'s one branch. Expected failures come back in userErrors and change nothing. Retrying with the same idempotencyKey and input returns the same invoice without calling the provider again.',
  })
  async createInvoice(
    @Arg('input', () => CreateInvoiceInput, { description: 'One provider\'s branch, with that provider\'s options.' }) input: CreateInvoiceInput,
    @Arg('idempotencyKey', () => String, {
      nullable: true,
      description: 'A key of your choice (up to 255 characters) that makes retries safe: the same key with the same input returns the first result. Keys are kept per tenant.',
    })
    idempotencyKey: string | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<CreateInvoicePayload> {
    const command = input.toCommand(ctx.tenantId, idempotencyKey);
    if ('userErrors' in command) return { invoice: null, invoices: [], userErrors: command.userErrors };
    const outcome = await ctx.invoices.create(command);
    for (const [id, details] of outcome.details) {
      const invoice = outcome.invoices.find((i) => i.id === id)!;
      ctx.loaders.details.prime({ provider: invoice.provider, providerInvoiceId: invoice.providerInvoiceId, orderId: invoice.orderId }, details);
    }
    const invoices = outcome.invoices.map(presentInvoice);
    return { invoice: invoices[0] ?? null, invoices, userErrors: outcome.userErrors };
  }

  @FieldResolver(() => OrderType, { description: 'The order the invoice bills, as an entity of the orders subgraph.' })
  order(@Root() invoice: InvoiceRoot): OrderType {
    return { id: invoice.orderId };
  }

  @FieldResolver(() => InvoiceStatusEnum, {
    description:
      'The state at the provider (paid, partly paid, void, ...) as last read, at most INVOICE_FRESHNESS_MS old when read: an older one is answered at once and refreshed in the background (see syncedAt). No provider call in the request.',
  })
  status(@Root() invoice: InvoiceRoot, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): InvoiceStatusEnum {
    ctx.refresher.touch(invoice.source);
    freshFor(info, ctx);
    return invoice.status;
  }

  @FieldResolver(() => DateTimeScalar, { nullable: true, description: 'When status and kpis were last read from the provider; null: not since the invoice was recorded.' })
  syncedAt(@Root() invoice: InvoiceRoot, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Date | null {
    freshFor(info, ctx);
    return invoice.syncedAt;
  }

  // Demand control: a provider read (shared with taxes and kpis) until the ledger keeps them; a handful of lines.
  @Directive('@cost(weight: 10)')
  @Directive('@listSize(assumedSize: 20)')
  @FieldResolver(() => [InvoiceLineType], {
    nullable: true,
    description:
      'The billed lines. Kept by the ledger once the invoice can no longer change (posted or issued, by its provider\'s rules) and then served without a provider call; before that read from the provider (one read per invoice, shared with taxes and kpis, batched per request). Null, with an error naming the provider, when the provider cannot be read.',
  })
  // Stored lines, taxes and kpis are answered synchronously (no promise for graphql-js to wait on), 150 field
  // resolvers on a page of 50 invoices; only a provider read is awaited.
  lines(@Root() invoice: InvoiceRoot, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): InvoiceLineType[] | Promise<InvoiceLineType[]> {
    const stored = storedLines(invoice.source);
    if (stored) {
      // An amendment (where the provider allows one) reaches the ledger through the age-based refresh.
      ctx.refresher.touch(invoice.source);
      return stored;
    }
    freshFor(info, ctx);
    return detailsOf(invoice, ctx).then((d) => d.lines.map(presentLine));
  }

  @Directive('@cost(weight: 10)')
  @Directive('@listSize(assumedSize: 5)')
  @FieldResolver(() => [TaxLineType], {
    nullable: true,
    description:
      'The invoice-level taxes: from the ledger once final, else from the provider (shared read with lines and kpis). Null, with an error naming the provider, when the provider cannot be read.',
  })
  taxes(@Root() invoice: InvoiceRoot, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): TaxLineType[] | Promise<TaxLineType[]> {
    const stored = storedTaxes(invoice.source);
    if (stored) {
      ctx.refresher.touch(invoice.source);
      return stored;
    }
    freshFor(info, ctx);
    return detailsOf(invoice, ctx).then((d) => d.taxes.map(presentTax));
  }

  @Directive('@cost(weight: 10)')
  @FieldResolver(() => InvoiceKpisType, {
    nullable: true,
    description:
      'Payment figures as last read from the provider, refreshed like status (stale-while-revalidate, see syncedAt); read from the provider in the request only the first time. Null, with an error naming the provider, when that first read fails.',
  })
  kpis(@Root() invoice: InvoiceRoot, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): InvoiceKpisType | Promise<InvoiceKpisType> {
    freshFor(info, ctx);
    const stored = storedKpis(invoice.source);
    if (stored) {
      ctx.refresher.touch(invoice.source);
      return stored;
    }
    return detailsOf(invoice, ctx).then((d) => presentKpis(d.kpis));
  }
}

/** Entity resolution for `_entities`: every Invoice representation of a request costs one ledger query together. */
export async function resolveInvoiceReference(ref: { id: string }, ctx: Context): Promise<InvoiceType | null> {
  const invoice = await ctx.loaders.invoiceById.load(ref.id);
  return invoice && presentInvoice(invoice);
}
