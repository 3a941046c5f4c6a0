import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { sallaSignature } from '../../src/providers/salla/salla.webhooks';
import { renderSchemaFile } from '../../src/graphql/schema-file';
import { composeSupergraph, GATEWAY_NAMES, startGatewayOfKind } from '../../examples/supergraph/gateway';
import { GATEWAYS } from '../support/dev-supergraph';

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

  it("lets providers' webhook deliveries through without it: they are verified by their own signature", async () => {
    const body = JSON.stringify({ event: 'order.updated', merchant: 1, created_at: 'now', data: { id: 1 } });
    const hook = new URL('/webhooks/salla', server.url).toString();
    const signed = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'x-salla-signature': sallaSignature(body, server.webhookSecrets.SALLA!) }, body });
    expect([signed.status, await signed.json()]).toEqual([200, { received: true, duplicate: false }]);
    // Unsigned: the signature refuses it (the webhook's own 401), not the router check.
    const forged = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect([forged.status, ((await forged.json()) as { error?: string }).error]).toEqual([401, 'unauthorized']);
  });

  it('answers the probes and the scrape without it: the kubelet and Prometheus call them directly', async () => {
    for (const path of ['/health', '/ready', '/metrics']) {
      const res = await fetch(new URL(path, server.url));
      expect([path, res.status]).toEqual([path, 200]);
    }
  });

  it('serves the gateway that presents it', async () => {
    const res = await post(server.url, { 'router-authorization': secret });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it.each(GATEWAYS.map((kind) => [GATEWAY_NAMES[kind], kind] as const))('%s configured with the secret gets through', async (_name, kind) => {
    const supergraph = composeSupergraph([{ name: 'invoicing', url: server.url, sdl: await renderSchemaFile() }]);
    const gateway = await startGatewayOfKind(kind, supergraph, { routerSecret: secret });
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

describe('limits on what one request may ask', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }), pino({ level: 'silent' }));
  });
  afterAll(() => server.stop());
  const send = async (body: unknown) => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
  };

  it('refuses a query deeper than 12 levels', async () => {
    let selection = 'id';
    for (let i = 0; i < 7; i++) selection = `invoices { order { ${selection} } }`;
    const deep = `{ _entities(representations: []) { ... on Order { ${selection} } } }`;
    const res = await send({ query: deep });
    expect(res.body.errors?.[0]?.message).toMatch(/depth/i);
    expect(res.body.data).toBeUndefined();
  });

  it('refuses more than 15 aliases', async () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: invoice(id: "x") { id }`).join(' ');
    const res = await send({ query: `{ ${aliases} }` });
    expect(res.body.errors?.[0]?.message).toMatch(/alias/i);
  });

  it('refuses more than 3,000 tokens, before parsing the rest', async () => {
    const fields = Array.from({ length: 400 }, (_, i) => `invoice(id: "${i}") { id }`).join(' ');
    const res = await send({ query: `{ ${fields} }` });
    expect(res.body.errors?.[0]?.message).toMatch(/token/i);
    expect(res.body.data).toBeUndefined();
  });

  it('refuses a query whose cost is over the limit, pricing lists by what was sent', async () => {
    // Within depth, alias and token limits, but every level multiplies the work.
    const leaf = 'lines { taxes { amount { amount currencyCode } } subtotal { amount currencyCode } total { amount currencyCode } } kpis { paid { amount } outstanding { amount } }';
    const selection = `invoices { ${leaf} order { invoices { ${leaf} order { invoices { ${leaf} } } } } }`;
    // One order costs about 25,000 (three nested pages of invoices with their lines); 20 orders pass the 500,000 limit.
    const r = Array.from({ length: 20 }, (_, i) => ({ __typename: 'Order', id: String(i) }));
    const res = await send({ query: `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Order { ${selection} } } }`, variables: { r } });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.message).toMatch(/estimated cost is 509600, over the limit of 500000/);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
    expect(res.body.data).toBeUndefined();
  });

  it('refuses a body over 16 MiB with 413, without reading it all', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(17 * 1024 * 1024) } }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
  });

  it('refuses batched requests', async () => {
    const res = await send([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expect(res.status).toBe(400);
  });

  it('still answers the deepest real query (an order page down to line tax amounts)', async () => {
    const res = await send({
      query: '{ _entities(representations: [{ __typename: "Order", id: "1" }]) { ... on Order { invoices { lines { taxes { amount { amount currencyCode } } } kpis { paid { amount } } } } } }',
    });
    expect(res.body.errors).toBeUndefined();
  });
});
