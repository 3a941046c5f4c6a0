import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { composeServices } from '@apollo/composition';
import { isInputObjectType, parse, visit, type GraphQLSchema } from 'graphql';

export interface SubgraphSource {
  name: string;
  url: string;
  sdl: string;
}

/** Composes subgraphs the way rover and GraphOS do (Apollo's composition); throws with every composition error. */
export function composeSupergraph(subgraphs: SubgraphSource[]): string {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  return result.supergraphSdl;
}

/** Input types that the supergraph marks `@oneOf` (carried there by @composeDirective). */
export function oneOfInputs(supergraphSdl: string): Set<string> {
  const names = new Set<string>();
  visit(parse(supergraphSdl), {
    InputObjectTypeDefinition(node) {
      if (node.directives?.some((d) => d.name.value === 'oneOf')) names.add(node.name.value);
    },
  });
  return names;
}

/**
 * @apollo/gateway builds its API schema without custom directives, so it would plan a request that names zero or
 * two providers and pass the subgraph's 400 back as an opaque "400: Bad Request". Marking those inputs oneOf
 * again makes the gateway's own validation refuse the request with graphql-js's clear message. A router that
 * implements @oneOf natively needs none of this.
 */
export function enforceOneOf(schema: GraphQLSchema, names: Set<string>): void {
  for (const name of names) {
    const type = schema.getType(name);
    if (isInputObjectType(type)) (type as { isOneOf: boolean }).isOneOf = true;
  }
}

export interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts @apollo/gateway over a static supergraph on one port. With `routerSecret`, every subgraph request carries
 * it in `router-authorization` (what a subgraph started with ROUTER_SECRET demands). Development and tests only.
 */
export async function startGateway(supergraphSdl: string, port = 0, routerSecret?: string): Promise<RunningGateway> {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource({
        url,
        willSendRequest: ({ request }) => {
          if (routerSecret) request.http?.headers.set('router-authorization', routerSecret);
        },
      }),
  });
  const oneOf = oneOfInputs(supergraphSdl);
  // Registered before the server starts, so the schema is patched before the server first validates against it.
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => enforceOneOf(apiSchema, oneOf));
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}

