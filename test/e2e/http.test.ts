import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';
import { storeName } from '../support/store';

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
  if (!vars.DATABASE_SCHEMA) return;
  const pool = new Pool({ connectionString: vars.DATABASE_URL, max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS ${vars.DATABASE_SCHEMA} CASCADE`).finally(() => pool.end());
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
    expect(invoice.kpis).toEqual({ outstanding: null, paid: null, overdue: null });

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

  it('names zero providers as a validation error over HTTP', async () => {
    const res = await post(server.url, JSON.stringify({ query: 'mutation { createInvoice(input: {}) { userErrors { code } } }' }));
    expect(res.status).toBe(400);
    expect(res.json.errors![0].message).toMatch(/exactly one key/i);
    expect(res.json.errors![0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe(`SALLA_BASE_URL pointed at another server that speaks Salla's API (${storeName()})`, () => {
  it('is reached there and only there: no sandbox is started', async () => {
    const other = new SallaEmulator();
    await other.start(0);
    const vars = env({ SALLA_BASE_URL: other.baseUrl, SALLA_ACCESS_TOKEN: SALLA_SANDBOX_TOKEN });
    const server = await startServer(loadConfig(vars), logger);
    try {
      expect(server.sandboxes.SALLA).toBeUndefined();
      const res = await post(
        server.url,
        JSON.stringify({
          query: 'mutation ($i: SallaInvoiceInput!) { createInvoice(input: { salla: $i }) { invoice { providerInvoiceId lines { sku } } userErrors { code } } }',
          variables: { i: { orderId: '213320125', dataType: 'URL', url: 'https://files.example.com/x.pdf' } },
        }),
      );
      expect(res.json.data.createInvoice.userErrors).toEqual([]);
      expect(res.json.data.createInvoice.invoice.lines.map((l: { sku: string }) => l.sku)).toEqual(['WALLET-LEATHER-BR', 'KEYCHAIN-STEEL']);
      expect(other.server.countCalls('POST', '/admin/v2/orders/invoices')).toBe(1);
    } finally {
      await server.stop();
      await other.stop();
      await dropSchema(vars);
    }
  });
});
