import { Writable } from 'node:stream';
import pino from 'pino';
import { CommerceEmulator } from '../../src/sandbox/commerce/commerce.emulator';
import { ExsitedEmulator } from '../../src/sandbox/exsited/exsited.emulator';
import { EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/exsited/exsited.seed';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_CLIENT_ID, SALLA_SANDBOX_CLIENT_SECRET, SALLA_SANDBOX_REFRESH_TOKEN } from '../../src/sandbox/salla/salla.seed';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';

/**
 * Provider credentials and our own secrets must never reach a log line or a response, on success or failure.
 * Every log line at debug level and every response body is scanned for them.
 */
describe('secrets stay out of logs and errors', () => {
  const WRONG_COMMERCE_TOKEN = 'commerce-token-that-the-api-refuses-0001';
  const ROUTER_SECRET = 'router-secret-that-must-stay-private';
  const secrets = [SALLA_SANDBOX_CLIENT_SECRET, SALLA_SANDBOX_REFRESH_TOKEN, EXSITED_SANDBOX_CLIENT_SECRET, WRONG_COMMERCE_TOKEN, ROUTER_SECRET];
  const logs: string[] = [];
  const bodies: string[] = [];
  let server: RunningServer;
  const emulators = { salla: new SallaEmulator(), exsited: new ExsitedEmulator(), commerce: new CommerceEmulator() };

  beforeAll(async () => {
    await Promise.all(Object.values(emulators).map((e) => e.start(0)));
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    });
    server = await startServer(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        PGLITE_DATA_DIR: 'memory://',
        LOG_LEVEL: 'debug',
        ROUTER_SECRET,
        SALLA_BASE_URL: emulators.salla.baseUrl,
        // Salla OAuth: the app's secret, the refresh tokens and the access tokens of the session are all secrets.
        SALLA_CLIENT_ID: SALLA_SANDBOX_CLIENT_ID,
        SALLA_CLIENT_SECRET: SALLA_SANDBOX_CLIENT_SECRET,
        SALLA_REFRESH_TOKEN: SALLA_SANDBOX_REFRESH_TOKEN,
        SALLA_TOKEN_URL: emulators.salla.tokenUrl,
        EXSITED_BASE_URL: emulators.exsited.baseUrl,
        EXSITED_CLIENT_ID: EXSITED_SANDBOX_CLIENT_ID,
        EXSITED_CLIENT_SECRET: EXSITED_SANDBOX_CLIENT_SECRET,
        COMMERCE_BASE_URL: emulators.commerce.baseUrl,
        COMMERCE_ACCESS_TOKEN: WRONG_COMMERCE_TOKEN,
        COMMERCE_CURRENCY: 'USD',
      }),
      pino({ level: 'debug' }, sink),
    );
  });
  afterAll(async () => {
    await server.stop();
    await Promise.all(Object.values(emulators).map((e) => e.stop()));
  });

  const send = async (query: string, variables: Record<string, unknown> = {}, routerSecret = ROUTER_SECRET) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'router-authorization': routerSecret },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    bodies.push(text);
    return JSON.parse(text) as { data?: any; errors?: unknown[] };
  };
  const create = 'mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { id lines { quantity } } userErrors { code message providerMessage } } }';

  it('on successes, refusals, outages, bad requests and internal errors', async () => {
    expect((await send(create, { i: { salla: { orderId: '1818813486', dataType: 'URL', url: 'https://x.example/a.pdf' } } })).data.createInvoice.userErrors).toEqual([]);
    expect((await send(create, { i: { exsited: { orderId: 'ORD-7K2M4P' } } })).data.createInvoice.userErrors).toEqual([]);
    // The Commerce API refuses our token: the caller learns so, without the token.
    expect((await send(create, { i: { commerce: { orderId: '69ab24db449866373d5e3e35' } } })).data.createInvoice.userErrors[0].code).toBe('PROVIDER_UNAUTHORIZED');
    // Salla down, then a lazy read failing.
    emulators.salla.server.injectFault({ status: 503, times: 10 });
    await send(create, { i: { salla: { orderId: '389701957', dataType: 'URL', url: 'https://x.example/b.pdf' } } });
    await send('{ _entities(representations: [{ __typename: "Order", id: "1818813486" }]) { ... on Order { invoices { lines { quantity } } } } }');
    emulators.salla.server.clearFaults();
    emulators.exsited.server.injectFault({ reset: true, times: 3 });
    await send(create, { i: { exsited: { orderId: 'ORD-8N3Q5R' } } });
    await send('{ nope }');
    await send('{ __typename }', {}, 'a-wrong-router-secret-for-this-test');

    // The session's rotated refresh tokens and its access tokens, as Salla saw them.
    emulators.salla.server.injectFault({ path: '/admin/v2/orders/invoices', status: 401, body: { status: 401, success: false, error: { code: 'Unauthorized', message: 'The access token is invalid.' } } });
    await send(create, { i: { salla: { orderId: '213320125', dataType: 'URL', url: 'https://x.example/c.pdf' } } });
    const sessionTokens = [
      ...emulators.salla.tokenRequests.map((r) => r.refreshToken!),
      ...emulators.salla.server.calls.map((c) => String(c.headers.authorization ?? '').replace(/^Bearer /, '')).filter(Boolean),
    ];
    expect(emulators.salla.tokenRequests.length).toBe(2);

    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [...secrets, ...new Set(sessionTokens)]) {
      expect(logs.filter((l) => l.includes(secret))).toEqual([]);
      expect(bodies.filter((b) => b.includes(secret))).toEqual([]);
    }
  });
});
