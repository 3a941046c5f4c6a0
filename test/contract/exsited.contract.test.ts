import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExsitedEmulator } from '../../src/sandbox/exsited/exsited.emulator';
import {
  EXSITED_SANDBOX_CLIENT_ID,
  EXSITED_SANDBOX_CLIENT_SECRET,
  EXSITED_SANDBOX_ORDERS,
  EXSITED_SANDBOX_READONLY_CLIENT_ID,
  EXSITED_SANDBOX_READONLY_CLIENT_SECRET,
} from '../../src/sandbox/exsited/exsited.seed';

/**
 * The Exsited emulator against Exsited's documented examples (seed 002 and PROVIDERS.md, copied to
 * test/fixtures/exsited), over real HTTP. Every value in those examples is a placeholder ("SUBTOTAL",
 * "MESSAGE"), so an answer must have exactly the example's members, nested the same way, with a value of the
 * example's type in each; the values a request determines (id, note, order) must be the request's.
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'exsited');

interface ResponseFixture {
  summary: string;
  status: number;
  body: Record<string, any>;
}

const fixture = <T = ResponseFixture>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;

/** A value's structure: objects by member, arrays by their elements' (common) structure, leaves by type. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) {
    const shapes = value.map(shape);
    const distinct = [...new Set(shapes.map((s) => JSON.stringify(s)))];
    return distinct.length <= 1 ? (shapes.length ? [shapes[0]] : []) : { mixedArray: distinct };
  }
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  return value === null ? 'null' : typeof value;
}

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

let emulator: ExsitedEmulator;
let now = new Date('2024-05-10T09:00:00Z');

async function call(method: string, path: string, options: { token?: string | null; json?: unknown; raw?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined || options.raw !== undefined) {
    headers['content-type'] = 'application/json';
    body = options.raw ?? JSON.stringify(options.json);
  }
  const res = await fetch(`${emulator.baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const tokenFor = (clientId: string, clientSecret: string) =>
  call('POST', '/api/v1/oauth2/token', { json: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, redirect_uri: 'https://app.example/callback' } });

async function token(clientId = EXSITED_SANDBOX_CLIENT_ID, clientSecret = EXSITED_SANDBOX_CLIENT_SECRET): Promise<string> {
  const answer = await tokenFor(clientId, clientSecret);
  if (answer.status !== 200) throw new Error(`token: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.access_token;
}

const create = async (orderId: string, invoice: Record<string, unknown> = {}, t?: string) =>
  call('POST', `/api/v3/orders/${orderId}/invoices`, { token: t ?? (await token()), json: { invoice } });

const expectOk = (a: Answer) => {
  if (a.status !== 200) throw new Error(`expected 200, got ${a.status}: ${JSON.stringify(a.body)}`);
  return a.body;
};

const refusal = (status: number, message: string) => ({ status, body: { errors: [{ message }] } });
const statusAndBody = (a: Answer) => ({ status: a.status, body: a.body });

beforeAll(async () => {
  emulator = new ExsitedEmulator({ now: () => now });
  await emulator.start();
});

afterAll(() => emulator.stop());

beforeEach(() => {
  emulator.reset();
  now = new Date('2024-05-10T09:00:00Z');
});

describe('the documented examples, replayed', () => {
  const request = fixture<{ body: { invoice: Record<string, unknown> } }>('request.create-invoice.json').body;

  const scenarios: Record<string, () => Promise<Answer>> = {
    'response.200.token.json': () => tokenFor(EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET),
    'response.200.create-invoice.json': () => create('ORD-7K2M4P', request.invoice),
    'response.200.read-invoice.json': async () => {
      expectOk(await create('ORD-7K2M4P', request.invoice));
      return call('GET', '/api/v3/invoices/UNIQUE_INVOICE_ID', { token: await token() });
    },
    'response.200.order-invoices.json': async () => {
      expectOk(await create('ORD-7K2M4P', request.invoice));
      return call('GET', '/api/v3/orders/ORD-7K2M4P/invoices', { token: await token() });
    },
    'response.400.validation.json': async () => {
      expectOk(await create('ORD-7K2M4P', request.invoice));
      return create('ORD-8N3Q5R', request.invoice);
    },
    'response.401.unauthorized.json': () => create('ORD-7K2M4P', request.invoice, 'not-a-token'),
    'response.403.access-denied.json': async () => create('ORD-7K2M4P', request.invoice, await token(EXSITED_SANDBOX_READONLY_CLIENT_ID, EXSITED_SANDBOX_READONLY_CLIENT_SECRET)),
    'response.404.not-found.json': async () => call('GET', '/api/v3/invoices/INV-404', { token: await token() }),
  };

  it('covers every response fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.startsWith('response.'));
    expect(Object.keys(scenarios).sort()).toEqual(files.sort());
  });

  it.each(Object.keys(scenarios))('%s: same status, same members, same value types', async (name) => {
    const expected = fixture(name);
    const answer = await scenarios[name]!();
    expect(answer.status).toBe(expected.status);
    expect(shape(answer.body)).toEqual(shape(expected.body));
  });

  it('the request example: the invoice takes the id and note it was given, and the order it was created for', async () => {
    const { invoice } = expectOk(await create('ORD-7K2M4P', request.invoice));
    expect(invoice).toMatchObject({ id: 'UNIQUE_INVOICE_ID', invoice_note: 'INVOICE_NOTE', order_id: 'ORD-7K2M4P', account_id: 'ACC-000101' });
    const read = expectOk(await call('GET', '/api/v3/invoices/UNIQUE_INVOICE_ID', { token: await token() }));
    expect(read).toEqual({ invoice });
  });

  it('the token example: expires_in is 3600', async () => {
    expect(expectOk(await tokenFor(EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET))).toEqual({
      access_token: expect.stringMatching(/^\S{20,}$/),
      refresh_token: expect.stringMatching(/^\S{20,}$/),
      expires_in: 3600,
    });
  });
});

describe('tokens', () => {
  it('a new token for the same client ends the previous one; another client keeps its own', async () => {
    const first = await token();
    const readonly = await token(EXSITED_SANDBOX_READONLY_CLIENT_ID, EXSITED_SANDBOX_READONLY_CLIENT_SECRET);
    expect((await call('GET', '/api/v3/orders/ORD-7K2M4P/invoices', { token: first })).status).toBe(200);
    const second = await token();
    expect(statusAndBody(await call('GET', '/api/v3/orders/ORD-7K2M4P/invoices', { token: first }))).toEqual(
      refusal(401, 'The access token was revoked: a newer token was issued for this client.'),
    );
    expect((await call('GET', '/api/v3/orders/ORD-7K2M4P/invoices', { token: second })).status).toBe(200);
    expect((await call('GET', '/api/v3/orders/ORD-7K2M4P/invoices', { token: readonly })).status).toBe(200);
  });

  it('expires a token after expires_in seconds', async () => {
    const t = await token();
    now = new Date(now.getTime() + 3_599_000);
    expect((await call('GET', '/api/v3/orders/ORD-7K2M4P/invoices', { token: t })).status).toBe(200);
    now = new Date(now.getTime() + 1_000);
    expect(statusAndBody(await call('GET', '/api/v3/orders/ORD-7K2M4P/invoices', { token: t }))).toEqual(refusal(401, 'The access token has expired.'));
  });

  it('refuses wrong credentials, another grant and a missing token', async () => {
    expect(statusAndBody(await tokenFor(EXSITED_SANDBOX_CLIENT_ID, 'wrong'))).toEqual(refusal(401, 'Invalid client credentials.'));
    const password = await call('POST', '/api/v1/oauth2/token', { json: { grant_type: 'password', client_id: EXSITED_SANDBOX_CLIENT_ID, client_secret: EXSITED_SANDBOX_CLIENT_SECRET } });
    expect(statusAndBody(password)).toEqual(refusal(400, 'grant_type must be client_credentials.'));
    expect(statusAndBody(await call('GET', '/api/v3/invoices/INV-0001'))).toEqual(
      refusal(401, 'Authentication required: send an access token as Authorization: Bearer <token>.'),
    );
  });

  it('lets the read-only client read what another client created, and nothing else', async () => {
    expectOk(await create('ORD-7K2M4P', { id: 'INV-R1' }));
    const readonly = await token(EXSITED_SANDBOX_READONLY_CLIENT_ID, EXSITED_SANDBOX_READONLY_CLIENT_SECRET);
    expect(expectOk(await call('GET', '/api/v3/invoices/INV-R1', { token: readonly })).invoice.created_by).toBe('Invoicing subgraph (sandbox)');
    expect(statusAndBody(await create('ORD-8N3Q5R', {}, readonly))).toEqual(refusal(403, 'Access denied: this API client may not create invoices.'));
    expect(emulator.invoices().map((i) => i.id)).toEqual(['INV-R1']);
  });
});

describe('creating invoices', () => {
  it('answers 404 for an unknown order', async () => {
    expect(statusAndBody(await create('ORD-NOPE00', {}))).toEqual(refusal(404, 'Order ORD-NOPE00 was not found.'));
  });

  it('refuses a malformed id or note, all reported together, and a body without the invoice object', async () => {
    expect(statusAndBody(await create('ORD-7K2M4P', { id: 'INV 1', invoice_note: 7 }))).toEqual({
      status: 400,
      body: {
        errors: [
          { message: 'The invoice id must be 1 to 40 letters, digits, hyphens or underscores, starting with a letter or digit.' },
          { message: 'The invoice note must be a string.' },
        ],
      },
    });
    const t = await token();
    expect(statusAndBody(await call('POST', '/api/v3/orders/ORD-7K2M4P/invoices', { token: t, json: { id: 'INV-1' } }))).toEqual(
      refusal(400, 'The request body must include the invoice object.'),
    );
    expect(statusAndBody(await call('POST', '/api/v3/orders/ORD-7K2M4P/invoices', { token: t, raw: '{"invoice": {' }))).toEqual(
      refusal(400, 'The request body is not valid JSON.'),
    );
    expect(emulator.invoices()).toEqual([]);
  });

  it('refuses an id already used, on any order, before the order is checked for being invoiced', async () => {
    expectOk(await create('ORD-7K2M4P', { id: 'INV-DUP' }));
    expect(statusAndBody(await create('ORD-2V5X7Z', { id: 'INV-DUP' }))).toEqual(refusal(400, 'An invoice with id INV-DUP already exists.'));
    expect(statusAndBody(await create('ORD-7K2M4P', { id: 'INV-DUP' }))).toEqual(refusal(400, 'An invoice with id INV-DUP already exists.'));
  });

  it('invoices a one-off order once', async () => {
    expectOk(await create('ORD-4X7Z9C', {}));
    expect(statusAndBody(await create('ORD-4X7Z9C', { id: 'INV-OTHER' }))).toEqual(refusal(400, 'Order ORD-4X7Z9C has already been fully invoiced.'));
  });

  it('invoices a monthly order once per calendar month', async () => {
    const may = expectOk(await create('ORD-9P4S6T', {})).invoice;
    expect([may.billing_start_date, may.billing_end_date, may.lines[0].charging_start_date, may.lines[0].charging_end_date]).toEqual([
      '2024-05-01',
      '2024-05-31',
      '2024-05-01',
      '2024-05-31',
    ]);
    expect(statusAndBody(await create('ORD-9P4S6T', {}))).toEqual(refusal(400, 'Order ORD-9P4S6T has already been invoiced for the billing period 2024-05-01 to 2024-05-31.'));
    now = new Date('2024-06-01T00:30:00Z');
    const june = expectOk(await create('ORD-9P4S6T', {})).invoice;
    expect([june.billing_start_date, june.billing_end_date, june.total]).toEqual(['2024-06-01', '2024-06-30', '576.17']);
  });

  it('has nothing to invoice before an order starts', async () => {
    now = new Date('2024-05-03T08:00:00Z');
    expect(statusAndBody(await create('ORD-2V5X7Z', {}))).toEqual(refusal(400, 'Order ORD-2V5X7Z starts on 2024-05-06: there is nothing to invoice yet.'));
  });

  it('numbers invoices INV-0001, INV-0002, … when the client chooses no id, skipping ids clients chose', async () => {
    expectOk(await create('ORD-8N3Q5R', { id: 'INV-0001' }));
    expect(expectOk(await create('ORD-7K2M4P', {})).invoice.id).toBe('INV-0002');
    expect(expectOk(await create('ORD-2V5X7Z', { id: null, invoice_note: null })).invoice).toMatchObject({ id: 'INV-0003', invoice_note: '' });
  });
});

describe('what an invoice holds', () => {
  /** Hand-computed: tax half up to the cent per line; on inclusive prices, the tax fraction rate / (100 + rate). */
  const expected: Record<string, { currency: string; inclusive: string; due: string; subtotal: string; tax: string; total: string; discount: string; lines: string[][] }> = {
    'ORD-7K2M4P': {
      currency: 'AUD', inclusive: 'false', due: '2024-05-24', subtotal: '474.75', tax: '47.48', total: '522.23', discount: '12.75',
      lines: [['SVC-ESPRESSO', '2', '360.00', '36.00', '396.00', 'GST', '10'], ['BEANS-1KG', '3', '114.75', '11.48', '126.23', 'GST', '10']],
    },
    'ORD-8N3Q5R': {
      currency: 'AUD', inclusive: 'true', due: '2024-05-24', subtotal: '580.75', tax: '58.07', total: '638.82', discount: '15.98',
      lines: [['TRAINING-BARISTA', '1', '450.00', '45.00', '495.00', 'GST', '10'], ['CUPSET-CERAMIC', '4', '130.75', '13.07', '143.82', 'GST', '10']],
    },
    'ORD-9P4S6T': {
      currency: 'USD', inclusive: 'false', due: '2024-06-09', subtotal: '529.20', tax: '46.97', total: '576.17', discount: '58.80',
      lines: [['SEAT-ANALYTICS', '12', '529.20', '46.97', '576.17', 'NY-SALES', '8.875']],
    },
    'ORD-2V5X7Z': {
      currency: 'USD', inclusive: 'false', due: '2024-06-09', subtotal: '4065.00', tax: '360.77', total: '4425.77', discount: '185.00',
      lines: [['SETUP-DWH', '1', '2400.00', '213.00', '2613.00', 'NY-SALES', '8.875'], ['CONSULT-HOUR', '10', '1665.00', '147.77', '1812.77', 'NY-SALES', '8.875']],
    },
    'ORD-3W6Y8B': {
      currency: 'NZD', inclusive: 'true', due: '2024-05-30', subtotal: '773.44', tax: '116.01', total: '889.45', discount: '19.35',
      lines: [['PACK-65L', '2', '678.09', '101.71', '779.80', 'GST-NZ', '15'], ['MERINO-BASE', '1', '95.35', '14.30', '109.65', 'GST-NZ', '15']],
    },
    'ORD-4X7Z9C': {
      currency: 'NZD', inclusive: 'false', due: '2024-05-30', subtotal: '445.00', tax: '54.00', total: '499.00', discount: '0.00',
      lines: [['KAYAK-HIRE-DAY', '3', '360.00', '54.00', '414.00', 'GST-NZ', '15'], ['FREIGHT-EXPORT', '1', '85.00', '0.00', '85.00', 'ZERO', '0']],
    },
  };

  it('seeds exactly the six documented orders', () => {
    expect(EXSITED_SANDBOX_ORDERS.map((o) => o.id)).toEqual(Object.keys(expected));
  });

  it.each(Object.keys(expected))('%s: the invoice is built from the order, every amount a string, exactly', async (orderId) => {
    const e = expected[orderId]!;
    const { invoice } = expectOk(await create(orderId, {}));
    expect(invoice).toMatchObject({
      status: 'ACTIVE',
      type: 'INVOICE',
      currency: { name: e.currency },
      issue_date: '2024-05-10',
      due_date: e.due,
      subtotal: e.subtotal,
      tax: e.tax,
      total: e.total,
      paid: '0.00',
      due: e.total,
      payment_status: 'UNPAID',
      discount_amount: e.discount,
      price_tax_inclusive: e.inclusive,
      order_id: orderId,
      kpis: { outstanding: e.total, overdue: '0.00', payment_applied: '0.00', credit_applied: '0.00', last_payment_date: '' },
    });
    expect(invoice.lines.map((l: any) => [l.item_id, l.item_order_quantity, l.subtotal, l.tax.amount, l.total, l.tax.code, l.tax.rate])).toEqual(e.lines);
  });

  it('keeps the KPIs consistent as payments and credits arrive: outstanding = total − paid − credit', async () => {
    // A fresh token per read: the clock moves past the first one's hour.
    const read = async () => expectOk(await call('GET', '/api/v3/invoices/INV-K1', { token: await token() })).invoice;
    expectOk(await create('ORD-7K2M4P', { id: 'INV-K1' }));
    emulator.recordPayment('INV-K1', '200.00', new Date('2024-05-12T10:00:00Z'));
    expect(await read()).toMatchObject({
      paid: '200.00',
      due: '322.23',
      payment_status: 'PARTIALLY_PAID',
      last_payment: '200.00',
      version: '2',
      kpis: { outstanding: '322.23', payment_applied: '200.00', credit_applied: '0.00', last_payment_date: '2024-05-12', overdue: '0.00' },
    });
    emulator.applyCredit('INV-K1', '22.23');
    now = new Date('2024-05-25T09:00:00Z'); // past the due date of 24 May
    expect(await read()).toMatchObject({ due: '300.00', payment_status: 'PARTIALLY_PAID', kpis: { outstanding: '300.00', overdue: '300.00', credit_applied: '22.23' } });
    emulator.recordPayment('INV-K1', '300.00');
    expect(await read()).toMatchObject({ paid: '500.00', due: '0.00', payment_status: 'PAID', kpis: { outstanding: '0.00', overdue: '0.00' } });
    expect(() => emulator.recordPayment('INV-K1', '0.01')).toThrow(/outstanding/);
  });
});

describe("listing an order's invoices", () => {
  it('pages with limit and offset, oldest first, with links to the neighbouring pages', async () => {
    for (const month of ['05', '06', '07']) {
      now = new Date(`2024-${month}-02T09:00:00Z`);
      expectOk(await create('ORD-9P4S6T', { id: `INV-SEAT-${month}` }));
    }
    const t = await token();
    const page = expectOk(await call('GET', '/api/v3/orders/ORD-9P4S6T/invoices?limit=2&offset=1', { token: t }));
    expect(page.invoices.map((i: any) => i.id)).toEqual(['INV-SEAT-06', 'INV-SEAT-07']);
    expect(page.pagination).toEqual({
      records: 3,
      limit: 2,
      offset: 1,
      previous_page: `${emulator.baseUrl}/api/v3/orders/ORD-9P4S6T/invoices?limit=2&offset=0`,
      next_page: '',
    });
    const first = expectOk(await call('GET', '/api/v3/orders/ORD-9P4S6T/invoices', { token: t }));
    expect(first.pagination).toMatchObject({ records: 3, limit: 20, offset: 0, previous_page: '', next_page: '' });
    expect(expectOk(await call('GET', '/api/v3/orders/ORD-7K2M4P/invoices', { token: t }))).toEqual({
      invoices: [],
      pagination: { records: 0, limit: 20, offset: 0, previous_page: '', next_page: '' },
    });
    expect(statusAndBody(await call('GET', '/api/v3/orders/ORD-NOPE00/invoices', { token: t }))).toEqual(refusal(404, 'Order ORD-NOPE00 was not found.'));
  });
});

describe('emulator controls', () => {
  it('answers unknown paths with the errors shape and sends no rate-limit headers (Exsited documents none)', async () => {
    const answer = await call('GET', '/api/v3/nowhere', { token: await token() });
    expect(statusAndBody(answer)).toEqual(refusal(404, 'The requested resource was not found.'));
    expect([...answer.headers.keys()].filter((h) => /rate|retry/i.test(h))).toEqual([]);
  });

  it('reset() forgets invoices and tokens', async () => {
    const t = await token();
    expectOk(await create('ORD-7K2M4P', {}, t));
    emulator.reset();
    expect(emulator.invoices()).toEqual([]);
    expect((await call('GET', '/api/v3/invoices/INV-0001', { token: t })).status).toBe(401);
    expect(expectOk(await create('ORD-7K2M4P', {})).invoice.id).toBe('INV-0001');
  });

  it('exposes the call log and fault injection of its server', async () => {
    const t = await token();
    emulator.server.injectFault({ method: 'POST', path: '/api/v3/orders', status: 503, body: 'upstream unavailable' });
    const failed = await fetch(`${emulator.baseUrl}/api/v3/orders/ORD-7K2M4P/invoices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
      body: JSON.stringify({ invoice: {} }),
    });
    expect(failed.status).toBe(503);
    expect(emulator.invoices()).toEqual([]);
    expectOk(await create('ORD-7K2M4P', {}, t));
    expect(emulator.server.countCalls('POST', '/api/v3/orders')).toBe(2);
  });
});
