import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  /** Where clients POST their GraphQL requests. */
  url: string;
  stop(): Promise<void>;
}

/** The header names to forward, lower-cased; never the gateway's own `router-authorization`. */
function forwardable(names: readonly string[]): string[] {
  return names.map((n) => n.toLowerCase()).filter((n) => n !== 'router-authorization');
}

/** What a gateway's context keeps of the client's request: the headers it forwards to subgraphs. */
interface ForwardedContext {
  forwarded?: Record<string, string>;
}

/**
 * Starts a plain @apollo/gateway (nothing patched, as a user would run it) over a static supergraph on one port. With `routerSecret`, every subgraph request carries
 * it in `router-authorization` (what a subgraph started with ROUTER_SECRET demands); `forwardHeaders` are copied from
 * the client's request to every subgraph request (the documented way: the context function keeps them, willSendRequest
 * sets them, https://www.apollographql.com/docs/apollo-server/using-federation/api/apollo-gateway#willsendrequest).
 * Development and tests only.
 */
export async function startGateway(supergraphSdl: string, port = 0, routerSecret?: string, forwardHeaders: readonly string[] = []): Promise<RunningGateway> {
  const forward = forwardable(forwardHeaders);
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<ForwardedContext>({
        url,
        willSendRequest: ({ request, context }) => {
          for (const [name, value] of Object.entries((context as ForwardedContext).forwarded ?? {})) request.http?.headers.set(name, value);
          // Last: no client header stands in for the gateway's secret.
          if (routerSecret) request.http?.headers.set('router-authorization', routerSecret);
        },
      }),
  });
  const server = new ApolloServer<ForwardedContext>({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port, host: '127.0.0.1' },
    context: async ({ req }) => ({
      forwarded: Object.fromEntries(
        forward.flatMap((name) => {
          const value = req.headers[name];
          return typeof value === 'string' ? [[name, value] as const] : [];
        }),
      ),
    }),
  });
  return { url, stop: () => server.stop() };
}

/** The gateways the development supergraph runs on: Hive Gateway with Hive Router's Rust query planner or its own JS one, or @apollo/gateway. */
export type GatewayKind = 'hive-rust' | 'hive-js' | 'apollo';
export const GATEWAY_KINDS: readonly GatewayKind[] = ['hive-rust', 'hive-js', 'apollo'];

/** How a gateway is named in logs, test titles and the bench. */
export const GATEWAY_NAMES: Record<GatewayKind, string> = {
  'hive-rust': 'Hive Gateway (Rust query planner)',
  'hive-js': 'Hive Gateway (JS query planner)',
  apollo: '@apollo/gateway',
};

export interface GatewayOptions {
  /** 0 (the default): a free port. */
  port?: number;
  /** Sent to every subgraph in `router-authorization` (what a subgraph started with ROUTER_SECRET demands). */
  routerSecret?: string;
  /** Client request headers copied to every subgraph request (lower case): `authorization` for a subgraph that verifies JWTs. */
  forwardHeaders?: readonly string[];
  /**
   * Hive only: Hive shares one subgraph fetch among identical queries in flight, on by default (as deployed); off,
   * every client request makes its own subgraph fetches, as @apollo/gateway does.
   */
  deduplicate?: boolean;
  /** Hive only: its log level (default: silent). */
  logLevel?: 'info' | 'warn' | 'error';
}

/** Starts the gateway of that kind over a static supergraph on 127.0.0.1. Development, tests and the bench. */
export function startGatewayOfKind(kind: GatewayKind, supergraphSdl: string, options: GatewayOptions = {}): Promise<RunningGateway> {
  return kind === 'apollo'
    ? startGateway(supergraphSdl, options.port, options.routerSecret, options.forwardHeaders)
    : startHiveGateway(supergraphSdl, { ...options, planner: kind === 'hive-rust' ? 'rust' : 'js' });
}

/**
 * Starts Hive Gateway (@graphql-hive/gateway) over a static supergraph on 127.0.0.1, GraphQL at `/graphql`, as its
 * CLI would serve it (`hive-gateway supergraph`, with `--hive-router-runtime` for the Rust planner): landing page and
 * GraphiQL on, and nothing fetched or reported (no Hive Console, CDN or GraphOS is configured, and a static
 * supergraph is never polled), so every request it makes goes to the subgraphs' URLs in the supergraph. Loading the
 * package takes about 2 s, once per process, so it is imported here rather than by everyone who imports this file.
 */
export async function startHiveGateway(supergraphSdl: string, options: GatewayOptions & { planner: 'rust' | 'js' }): Promise<RunningGateway> {
  const { createGatewayRuntime } = await import('@graphql-hive/gateway');
  const rust = options.planner === 'rust' ? await import('@graphql-hive/router-runtime') : null;
  const secret = options.routerSecret;
  const forward = forwardable(options.forwardHeaders ?? []);
  const runtime = createGatewayRuntime({
    supergraph: supergraphSdl,
    ...(rust ? { unifiedGraphHandler: rust.unifiedGraphHandler } : {}),
    logging: options.logLevel ?? false,
    ...(options.deduplicate === false ? { transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } } } : {}),
    // A plugin rather than the transport's `headers`, which would interpolate `{...}` in the secret. Client headers
    // are forwarded the documented way (https://the-guild.dev/graphql/hive/docs/gateway/other-features/header-propagation).
    ...(secret || forward.length > 0
      ? {
          propagateHeaders: {
            fromClientToSubgraphs: ({ request }: { request: Request }) => ({
              ...Object.fromEntries(forward.flatMap((name) => (request.headers.get(name) !== null ? [[name, request.headers.get(name)!]] : []))),
              ...(secret ? { 'router-authorization': secret } : {}),
            }),
          },
        }
      : {}),
  });
  const server = createServer(runtime);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${runtime.graphqlEndpoint}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections would hold close() open until they time out.
      server.closeIdleConnections();
      await closed;
      await runtime.dispose();
    },
  };
}
