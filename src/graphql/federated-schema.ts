import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import {
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLEnumType,
  GraphQLError,
  GraphQLInt,
  isInputObjectType,
  parse,
  specifiedDirectives,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import { InvoiceListResolver } from '../invoices/invoice-list.resolver';
import { ConnectionResolver } from '../connections/connection.resolver';
import { InvoiceResolver, resolveInvoiceReference } from '../invoices/invoice.resolver';
import { OrderResolver, resolveOrderReference } from '../orders/order.resolver';
import { OrderType } from '../orders/order.type';

/**
 * Federation 2 features this subgraph uses. v2.9 is the newest both Apollo's and The Guild's composition accept,
 * and the first with @cost and @listSize for a router's demand control.
 */
const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@composeDirective", "@cost", "@listSize"])';

/**
 * `@oneOf` is built into graphql-js, but Apollo's composition only keeps a directive it is told to compose:
 * declaring it under a custom spec link and @composeDirective lets both composers accept it and carry it into
 * the supergraph, so a router enforces it too.
 */
const ONE_OF_LINK = [
  'extend schema @link(url: "https://specs.graphql.org/oneOf/v0.1", import: ["@oneOf"]) @composeDirective(name: "@oneOf")',
  'directive @oneOf on INPUT_OBJECT',
].join('\n');

/**
 * Apollo Server's cache hints (the @cacheControl directive, which it reads from the schema): they set each response's
 * Cache-Control header, from which a router's entity cache takes its TTLs. Not composed: the router reads the header.
 */
const CACHE_CONTROL = new GraphQLDirective({
  name: 'cacheControl',
  description: 'How long a response holding this field or type may be cached (Apollo Server computes Cache-Control from it).',
  locations: [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT, DirectiveLocation.INTERFACE, DirectiveLocation.UNION],
  args: {
    maxAge: { type: GraphQLInt, description: 'Seconds the value stays valid.' },
    scope: {
      type: new GraphQLEnumType({
        name: 'CacheControlScope',
        description: 'Who may share a cached value.',
        values: { PUBLIC: { description: 'Any caller.' }, PRIVATE: { description: 'Only the caller it was answered to.' } },
      }),
      description: 'PRIVATE: for one caller only.',
    },
    inheritMaxAge: { type: GraphQLBoolean, description: "Take the parent field's maxAge." },
  },
});

/** The code-first schema's SDL, with directives, as the subgraph serves it to composition. */
export async function buildSubgraphSdl(): Promise<{ sdl: string; schema: GraphQLSchema }> {
  const schema = await buildSchema({
    resolvers: [InvoiceResolver, InvoiceListResolver, OrderResolver, ConnectionResolver],
    // Order has no root field here; without this it would be dropped from the schema.
    orphanedTypes: [OrderType],
    directives: [...specifiedDirectives, CACHE_CONTROL],
    // Input rules are checked by the service and returned as userErrors, not thrown by the framework.
    validate: false,
  });
  // type-graphql has no option for root type descriptions; graphql-js types allow setting them before printing.
  const query = schema.getQueryType();
  if (query) query.description = 'Reads of invoices created through this service.';
  const mutation = schema.getMutationType();
  if (mutation) mutation.description = 'Creating invoices at the billing providers.';
  const printed = printSchemaWithDirectives(schema).replace(/^directive @oneOf on INPUT_OBJECT\n*/m, '');
  return { sdl: `${FEDERATION_LINK}\n\n${ONE_OF_LINK}\n\n${printed}`, schema };
}

/** Builds the executable subgraph schema: type-graphql resolvers plus entity reference resolvers. Called once at start. */
export async function buildFederatedSchema(): Promise<{ schema: GraphQLSchema; sdl: string }> {
  const { sdl, schema: typeGraphqlSchema } = await buildSubgraphSdl();
  const resolvers = createResolversMap(typeGraphqlSchema) as GraphQLResolverMap<unknown>;
  const withReferences: GraphQLResolverMap<unknown> = {
    ...resolvers,
    Invoice: { ...(resolvers.Invoice as object), __resolveReference: resolveInvoiceReference },
    Order: { ...(resolvers.Order as object), __resolveReference: resolveOrderReference },
  } as GraphQLResolverMap<unknown>;
  const schema = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: withReferences }]);
  answerOneOfAsData(schema);
  guardRepresentations(schema);
  return { schema, sdl };
}

/**
 * The SDL declares `@oneOf` (composed into the supergraph, so Hive Gateway and Apollo Router refuse a request that
 * names zero or two branches themselves). Enforced by graphql-js here too, such a request would be refused with HTTP
 * 400, which @apollo/gateway, whose API schema drops the directive, turns into an opaque "400: Bad Request" /
 * INTERNAL_SERVER_ERROR. The subgraph checks the rule in the resolver instead and answers it as a userError, which
 * every gateway forwards as it is. The input types keep `@oneOf` in `_service { sdl }`.
 */
function answerOneOfAsData(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (isInputObjectType(type) && type.isOneOf) (type as { isOneOf: boolean }).isOneOf = false;
  }
}

/** Entity types this subgraph resolves, and their one key field. */
const ENTITY_TYPES = new Set(['Invoice', 'Order']);
const MAX_KEY_LENGTH = 255;

/**
 * Checks every `_entities` representation before any is resolved: a router only sends well-formed ones, so a bad
 * one means a caller other than the router, and it gets a BAD_USER_INPUT naming the slot rather than an internal
 * error or a guess.
 */
function guardRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  if (!field?.resolve) throw new Error('the subgraph schema has no _entities resolver');
  const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve;
  field.resolve = (source, args: { representations: unknown[] }, context, info) => {
    args.representations.forEach((r: unknown, i: number) => {
      const problem = representationProblem(r);
      if (problem) throw new GraphQLError(`representations[${i}]: ${problem}`, { extensions: { code: 'BAD_USER_INPUT' } });
    });
    return resolve(source, args, context, info);
  };
}

function representationProblem(r: unknown): string | null {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'a representation is an object';
  const { __typename: type, id } = r as Record<string, unknown>;
  if (typeof type !== 'string' || !ENTITY_TYPES.has(type)) return `this subgraph resolves only ${[...ENTITY_TYPES].join(' and ')} entities, not ${JSON.stringify(type)}`;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_KEY_LENGTH) return `${type}.id must be a string of 1 to ${MAX_KEY_LENGTH} characters`;
  return null;
}
