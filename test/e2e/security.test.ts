import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { renderSchemaFile } from '../../src/graphql/schema-file';
import { composeSupergraph, startGateway } from '../../examples/supergraph/gateway';

const post = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ __typename }' }) });

describe('only the gateway may call (ROUTER_SECRET)', () => {
  let server: RunningServer;
  const secret = 'a-long-router-secret-of-the-gateway';
  beforeAll(async () => {
    server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent', ROUTER_SECRET: secret }), pino({ level: 'silent' }));
  });
  afterAll(() => server.stop());

  it('refuses a request without the router-authorization header, or with a wrong one, before any GraphQL work', async () => {
    for (const headers of [{}, { 'router-authorization': 'guess' }, { 'router-authorization': `${secret}x` }] as Array<Record<string, string>>) {
      const res = await post(server.url, headers);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('serves the gateway that presents it', async () => {
    const res = await post(server.url, { 'router-authorization': secret });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('a gateway configured with the secret gets through', async () => {
    const supergraph = composeSupergraph([{ name: 'invoicing', url: server.url, sdl: await renderSchemaFile() }]);
    const gateway = await startGateway(supergraph, 0, secret);
    try {
      const res = await post(gateway.url);
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
      const entities = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ invoice(id: "00000000-0000-4000-8000-000000000000") { id } }' }),
      });
      expect(await entities.json()).toEqual({ data: { invoice: null } });
    } finally {
      await gateway.stop();
    }
  });

  it('a secret too short to be one stops the start, naming the variable', () => {
    expect(() => loadConfig({ ROUTER_SECRET: 'short' })).toThrow(/ROUTER_SECRET: ROUTER_SECRET must be at least 16 characters/);
  });
});

describe('production', () => {
  it('turns off introspection and the landing page', async () => {
    const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent', NODE_ENV: 'production' }), pino({ level: 'silent' }));
    try {
      const page = await fetch(server.url, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toMatch(/sandbox|landing/i);
      const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { types { name } } }' }) });
      const body = (await res.json()) as { errors?: Array<{ message: string }> };
      expect(body.errors?.[0]?.message).toMatch(/introspection/i);
    } finally {
      await server.stop();
    }
  });
});
