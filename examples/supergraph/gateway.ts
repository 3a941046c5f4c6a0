import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

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

export interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a plain @apollo/gateway (nothing patched, as a user would run it) over a static supergraph on one port. With `routerSecret`, every subgraph request carries
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
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}

