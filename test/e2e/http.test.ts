import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { CommerceEmulator } from '../../src/sandbox/commerce/commerce.emulator';
import { COMMERCE_SANDBOX_TOKEN } from '../../src/sandbox/commerce/commerce.seed';
import { ExsitedEmulator } from '../../src/sandbox/exsited/exsited.emulator';
import { EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/exsited/exsited.seed';
import { SalesforceEmulator } from '../../src/sandbox/salesforce/salesforce.emulator';
import { SALESFORCE_SANDBOX_TOKEN } from '../../src/sandbox/salesforce/salesforce.seed';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';
import { ZuoraEmulator } from '../../src/sandbox/zuora/zuora.emulator';
import { ZUORA_SANDBOX_CLIENT_ID, ZUORA_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/zuora/zuora.seed';
import type { Emulator } from '../../src/server/providers';
import { dropTestSchema, storeName } from '../support/store';

const logger = pino({ level: 'silent' });

/** The JSON bodies of the README's curl commands, in order: what a newcomer copies and pastes. */
function readmeCurlBodies(): string[] {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  return [...readme.matchAll(/curl -s http:\/\/localhost:4001\/graphql[\s\S]*?-d '([^']+)'/g)].map((m) => m[1]!);
}

/** What `npm start` runs, on a free port, with the embedded store in memory or a PostgreSQL schema of its own. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  const schema = `e2e_${randomBytes(5).toString('hex')}`;
  const store: Record<string, string> = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
  return { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...store, ...extra };
}

async function dropSchema(vars: Record<string, string>): Promise<void> {
  await dropTestSchema(vars.DATABASE_SCHEMA);
}

const post = async (url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as { data?: any; errors?: any[] } };
};

describe(`end to end over HTTP, as npm start runs (${storeName()})`, () => {
  let server: RunningServer;
  const vars = env();

  beforeAll(async () => {
    server = await startServer(loadConfig(vars), logger);
  });
  afterAll(async () => {
    await server.stop();
    await dropSchema(vars);
  });

  it("starts the Salla sandbox emulator on a loopback port when SALLA_BASE_URL is unset", () => {
    expect(server.sandboxes.SALLA).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/admin\/v2$/);
  });

  it("the README's curl creates a Salla invoice with lines, taxes and KPIs, and the second reads it back", async () => {
    const [createBody, readBody] = readmeCurlBodies();
    expect(createBody && readBody).toBeTruthy();

    const created = await post(server.url, createBody!);
    expect(created.status).toBe(200);
    expect(created.json.errors).toBeUndefined();
    const payload = created.json.data.createInvoice;
    expect(payload.userErrors).toEqual([]);
    const invoice = payload.invoice;
    expect(invoice).toMatchObject({ kind: 'INVOICE', status: 'ISSUED', total: { amount: '378.35', currencyCode: 'SAR' } });
    expect(invoice.lines.map((l: { sku: string }) => l.sku)).toEqual(['EARBUDS-WL-BLACK', 'CABLE-USBC-1M']);
    expect(invoice.taxes).toEqual([{ ratePercent: '15', amount: { amount: expect.stringMatching(/^\d+\.\d{2}$/), currencyCode: 'SAR' } }]);
    // From the order's status: the sandbox's order awaits payment, so all of it is outstanding.
    expect(invoice.kpis).toEqual({ outstanding: { amount: '378.35' }, paid: { amount: '0.00' }, overdue: null });

    // The same curl again: same invoice (same idempotency key), nothing new at Salla.
    const again = await post(server.url, createBody!);
    expect(again.json.data.createInvoice.invoice.id).toBe(invoice.id);

    const read = await post(server.url, readBody!.replace('"id":"ID"', `"id":"${invoice.id}"`));
    expect(read.json.errors).toBeUndefined();
    expect(read.json.data.invoice).toMatchObject({ id: invoice.id, provider: 'SALLA', order: { id: '1818813486' }, total: invoice.total });
    expect(read.json.data.invoice.lines).toHaveLength(2);
  });

  it('serves the Sandbox landing page to a browser and a health check', async () => {
    const page = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/Apollo Server|embeddable-sandbox|apollo/i);
    expect((await fetch(server.url.replace('/graphql', '/health'))).status).toBe(200);
  });

  it('refuses a simple cross-site request (CSRF prevention) and a malformed body, clearly', async () => {
    const csrf = await post(server.url, '{"query":"{ __typename }"}', { 'content-type': 'text/plain' });
    expect(csrf.status).toBe(400);
    const bad = await post(server.url, '{"query":');
    expect(bad.status).toBe(400);
    expect(bad.json.errors![0].message).toMatch(/not valid JSON/);
  });

  it('answers zero providers with a userError saying exactly one must be named', async () => {
    const res = await post(server.url, JSON.stringify({ query: 'mutation { createInvoice(input: {}) { userErrors { field code message } } }' }));
    expect(res.status).toBe(200);
    expect(res.json.data.createInvoice.userErrors).toEqual([{ field: ['input'], code: 'INVALID_INPUT', message: expect.stringMatching(/^Name exactly one provider/) }]);
  });

  it('still declares @oneOf in the SDL it serves to composition', async () => {
    const res = await post(server.url, JSON.stringify({ query: '{ _service { sdl } }' }));
    expect(res.json.data._service.sdl).toMatch(/input CreateInvoiceInput[^{]*@oneOf/);
  });
});

interface ElsewhereCase {
  provider: string;
  emulator: () => Emulator;
  env: (baseUrl: string) => Record<string, string>;
  input: Record<string, unknown>;
  createPath: string | RegExp;
}

/** Each provider's base URL pointed at another server that speaks its documented API: a separately started emulator. */
const ELSEWHERE: ElsewhereCase[] = [
  {
    provider: 'SALESFORCE',
    emulator: () => new SalesforceEmulator(),
    env: (baseUrl) => ({ SALESFORCE_INSTANCE_URL: baseUrl, SALESFORCE_ACCESS_TOKEN: SALESFORCE_SANDBOX_TOKEN, SALESFORCE_API_VERSION: '60.0' }),
    input: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXGIA2' } },
    createPath: '/services/data/v60.0/commerce/fulfillment/fulfillment-orders/0a3Dn000000cEXGIA2/actions/create-invoice',
  },
  {
    provider: 'SALLA',
    emulator: () => new SallaEmulator(),
    env: (baseUrl) => ({ SALLA_BASE_URL: baseUrl, SALLA_ACCESS_TOKEN: SALLA_SANDBOX_TOKEN }),
    input: { salla: { orderId: '213320125', dataType: 'URL', url: 'https://files.example.com/x.pdf' } },
    createPath: '/admin/v2/orders/invoices',
  },
  {
    provider: 'ZUORA',
    emulator: () => new ZuoraEmulator(),
    env: (baseUrl) => ({ ZUORA_BASE_URL: baseUrl, ZUORA_CLIENT_ID: ZUORA_SANDBOX_CLIENT_ID, ZUORA_CLIENT_SECRET: ZUORA_SANDBOX_CLIENT_SECRET }),
    input: { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70201', quantity: '2', fulfillmentDate: '2024-05-01' }] } },
    createPath: '/v1/fulfillments',
  },
  {
    provider: 'EXSITED',
    emulator: () => new ExsitedEmulator(),
    env: (baseUrl) => ({ EXSITED_BASE_URL: baseUrl, EXSITED_CLIENT_ID: EXSITED_SANDBOX_CLIENT_ID, EXSITED_CLIENT_SECRET: EXSITED_SANDBOX_CLIENT_SECRET }),
    input: { exsited: { orderId: 'ORD-8N3Q5R' } },
    createPath: /\/api\/v3\/orders\/ORD-8N3Q5R\/invoices$/,
  },
  {
    provider: 'COMMERCE',
    emulator: () => new CommerceEmulator(),
    env: (baseUrl) => ({ COMMERCE_BASE_URL: baseUrl, COMMERCE_ACCESS_TOKEN: COMMERCE_SANDBOX_TOKEN, COMMERCE_CURRENCY: 'USD' }),
    input: { commerce: { orderId: '69ab2b77449866373d5e3e50' } },
    createPath: /\/invoices$/,
  },
];

describe.each(ELSEWHERE)(`$provider base URL pointed at another server that speaks its API (${storeName()})`, (c) => {
  it('is reached there and only there: no sandbox is started for it, and the create lands there', async () => {
    const other = c.emulator();
    await other.start(0);
    const vars = env(c.env(other.baseUrl));
    const server = await startServer(loadConfig(vars), logger);
    try {
      expect(server.sandboxes).not.toHaveProperty(c.provider);
      const res = await post(
        server.url,
        JSON.stringify({
          query: 'mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { provider providerInvoiceId lines { quantity } } userErrors { code message } } }',
          variables: { i: c.input },
        }),
      );
      expect(res.json.data.createInvoice.userErrors).toEqual([]);
      expect(res.json.data.createInvoice.invoice.provider).toBe(c.provider);
      expect(res.json.data.createInvoice.invoice.lines.length).toBeGreaterThan(0);
      expect(other.server.countCalls('POST', c.createPath)).toBe(1);
    } finally {
      await server.stop();
      await other.stop();
      await dropSchema(vars);
    }
  });
});
