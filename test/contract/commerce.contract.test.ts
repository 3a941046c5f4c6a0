import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommerceEmulator } from '../../src/sandbox/commerce/commerce.emulator';
import {
  COMMERCE_REQUEST_ORDER_ID,
  COMMERCE_SAMPLE_ORDER_ID,
  COMMERCE_SANDBOX_ADMIN,
  COMMERCE_SANDBOX_FAILING_ORDER_ID,
  COMMERCE_SANDBOX_ORDERS,
  COMMERCE_SANDBOX_TOKEN,
} from '../../src/sandbox/commerce/commerce.seed';
import { objectIdTime } from '../../src/sandbox/commerce/object-id';
import { httpCall, type Answer, type CallOptions } from '../support/http-call';

/**
 * The Commerce emulator against the seed's own examples (seed 001, copied to test/fixtures/commerce), over real
 * HTTP. Each example is replayed with a request that produces it, and the answer must equal it. With the clock and
 * the ObjectId generator pinned to the sample's second, process value and counter, even the ids match.
 * The read endpoints and the refusal of a second invoice are assumed (PROVIDERS.md); they are tested as such below.
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'commerce');

interface ResponseFixture {
  summary: string;
  status: number;
  body: Record<string, any>;
}

interface RequestFixture {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const fixture = <T = ResponseFixture>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;

const sample = fixture('response.201.created.json').body;
/** The sample's createdAt, and its ids' process value and first counter (bytes 4–8 and 9–11 of its invoice id). */
const SAMPLE_AT = new Date(sample.data.createdAt);
const SAMPLE_IDS = { processUnique: sample.data.id.slice(8, 18), counter: parseInt(sample.data.id.slice(18), 16) };

let emulator: CommerceEmulator;
let now = SAMPLE_AT;

function call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const token = options.token === undefined ? COMMERCE_SANDBOX_TOKEN : options.token;
  return httpCall(`${emulator.baseUrl}${path}`, method, token === null ? {} : { accessToken: token }, options);
}

const create = (json: unknown, options: Omit<CallOptions, 'json'> = {}) => call('POST', '/invoices', { ...options, json });

const created = (a: Answer) => {
  if (a.status !== 201) throw new Error(`expected 201, got ${a.status}: ${a.text}`);
  return a.body.data;
};

beforeAll(async () => {
  emulator = new CommerceEmulator({ now: () => now, objectIds: SAMPLE_IDS });
  await emulator.start();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(() => {
  emulator.reset();
  now = SAMPLE_AT;
});

describe('the seed examples, replayed', () => {
  const request = fixture<RequestFixture>('request.create-invoice.json');

  it("the sample request, with the Example Request's headers: creates the order's invoice", async () => {
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, v.replace('<ACCESS-TOKEN>', COMMERCE_SANDBOX_TOKEN)]));
    const answer = await call(request.method, request.path, { token: null, headers, raw: { contentType: headers['Content-Type']!, body: JSON.stringify(request.body) } });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      success: true,
      data: {
        order: COMMERCE_REQUEST_ORDER_ID,
        entityId: '1',
        lineItems: [
          { lineItemId: '69ab24db449866373d5e3e36', quantity: 1, id: '693738682fa9114d9af87d2a' },
          { lineItemId: '69ab24db449866373d5e3e37', quantity: 2, id: '693738682fa9114d9af87d2b' },
        ],
        total: 104.89,
        createdBy: { id: '6852dc137d290c8e310f258e', name: 'Sam Nabahani', type: 'admin' },
        metaFields: [],
        createdAt: '2025-12-08T20:43:20.608Z',
        updatedAt: '2025-12-08T20:43:20.608Z',
        id: '693738682fa9114d9af87d29',
      },
    });
  });

  // Each entry: the fixture, and the request that produces it.
  const scenarios: Record<string, () => Promise<Answer>> = {
    'response.201.created.json': () => create({ orderId: sample.data.order }),
    'response.400.validation-error.json': () => create({}),
    'response.401.unauthorized.json': () => create({ orderId: COMMERCE_SAMPLE_ORDER_ID }, { token: null }),
    'response.404.order-not-found.json': () => create({ orderId: '0123456789abcdef01234567' }),
    'response.500.internal-server-error.json': () => create({ orderId: COMMERCE_SANDBOX_FAILING_ORDER_ID }),
  };

  it('covers every response fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.startsWith('response.'));
    expect(Object.keys(scenarios).sort()).toEqual(files.sort());
  });

  it.each(Object.keys(scenarios))('%s', async (name) => {
    const expected = fixture(name);
    const answer = await scenarios[name]!();
    expect(answer.status).toBe(expected.status);
    expect(answer.body).toEqual(expected.body);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('writes the total as a JSON number and the members in the sample\'s order', async () => {
    const answer = await create({ orderId: COMMERCE_SAMPLE_ORDER_ID });
    expect(answer.text).toContain('"total":3684.78,');
    expect(Object.keys(answer.body.data)).toEqual(Object.keys(sample.data));
  });
});

describe('creating: the documented failures in their other forms', () => {
  const required = fixture('response.400.validation-error.json').body;
  const unauthorized = fixture('response.401.unauthorized.json').body;
  const notFound = fixture('response.404.order-not-found.json').body;

  it.each<[string, CallOptions]>([
    ['a null orderId', { json: { orderId: null } }],
    ['an empty orderId', { json: { orderId: '  ' } }],
    ['a number', { json: { orderId: 42 } }],
    ['a JSON array', { json: [COMMERCE_SAMPLE_ORDER_ID] }],
    ['a malformed JSON body', { raw: { contentType: 'application/json', body: '{"orderId": "6932f96b8cd64c28a4fb5873",' } }],
    ['a form body', { raw: { contentType: 'application/x-www-form-urlencoded', body: `orderId=${COMMERCE_SAMPLE_ORDER_ID}` } }],
  ])('400 for %s', async (_what, options) => {
    const answer = await call('POST', '/invoices', options);
    expect([answer.status, answer.body]).toEqual([400, required]);
  });

  it('401 for an unknown token, or for the token sent as Authorization; a `Bearer ` prefix is tolerated', async () => {
    expect((await create({ orderId: COMMERCE_SAMPLE_ORDER_ID }, { token: 'not-a-token' })).body).toEqual(unauthorized);
    const viaAuthorization = await create({ orderId: COMMERCE_SAMPLE_ORDER_ID }, { token: null, headers: { authorization: `Bearer ${COMMERCE_SANDBOX_TOKEN}` } });
    expect([viaAuthorization.status, viaAuthorization.body]).toEqual([401, unauthorized]);
    expect((await call('GET', '/invoices', { token: null })).status).toBe(401);
    expect(created(await create({ orderId: COMMERCE_SAMPLE_ORDER_ID }, { token: `Bearer ${COMMERCE_SANDBOX_TOKEN}` })).order).toBe(COMMERCE_SAMPLE_ORDER_ID);
    expect(emulator.invoices()).toHaveLength(1);
  });

  it('404 for an id that is not an ObjectId; upper-case hex finds the order, as MongoDB does', async () => {
    expect((await create({ orderId: 'ORDER-1' })).body).toEqual(notFound);
    expect((await create({ orderId: ` ${COMMERCE_SAMPLE_ORDER_ID}` })).body).toEqual(notFound);
    expect(created(await create({ orderId: COMMERCE_SAMPLE_ORDER_ID.toUpperCase() })).order).toBe(COMMERCE_SAMPLE_ORDER_ID);
  });

  it('the 500 stores nothing and happens again on a retry', async () => {
    const expected = fixture('response.500.internal-server-error.json');
    for (let i = 0; i < 2; i++) {
      const answer = await create({ orderId: COMMERCE_SANDBOX_FAILING_ORDER_ID });
      expect([answer.status, answer.body]).toEqual([expected.status, expected.body]);
    }
    expect(emulator.invoices()).toEqual([]);
  });
});

describe('ids and totals', () => {
  it('makes ObjectIds as MongoDB does when not pinned: the creation second, then a counter', async () => {
    const free = new CommerceEmulator({ now: () => new Date('2026-03-06T18:22:51.250Z') });
    await free.start();
    try {
      const post = (orderId: string) =>
        fetch(`${free.baseUrl}/invoices`, { method: 'POST', headers: { accessToken: COMMERCE_SANDBOX_TOKEN, 'content-type': 'application/json' }, body: JSON.stringify({ orderId }) }).then(
          (r) => r.json() as Promise<any>,
        );
      const a = (await post(COMMERCE_SAMPLE_ORDER_ID)).data;
      const b = (await post(COMMERCE_REQUEST_ORDER_ID)).data;
      const ids: string[] = [a.id, ...a.lineItems.map((l: any) => l.id), b.id, ...b.lineItems.map((l: any) => l.id)];
      for (const id of ids) {
        expect(id).toMatch(/^[0-9a-f]{24}$/);
        expect(objectIdTime(id).toISOString()).toBe('2026-03-06T18:22:51.000Z');
      }
      const counters = ids.map((id) => parseInt(id.slice(18), 16));
      expect(counters).toEqual(counters.map((_, i) => (counters[0]! + i) % 0x1000000));
      expect(new Set(ids.map((id) => id.slice(8, 18))).size).toBe(1);
    } finally {
      await free.stop();
    }
  });

  it('totals each order exactly from its lines, and bills every line with its quantity', async () => {
    const totals: Record<string, number> = {};
    for (const order of COMMERCE_SANDBOX_ORDERS.filter((o) => o.id !== COMMERCE_SANDBOX_FAILING_ORDER_ID)) {
      const data = created(await create({ orderId: order.id }));
      totals[order.id] = data.total;
      expect(data.lineItems.map((l: any) => [l.lineItemId, l.quantity])).toEqual(order.items.map((i) => [i.id, i.quantity]));
      expect(data.createdBy).toEqual(COMMERCE_SANDBOX_ADMIN);
    }
    expect(totals).toEqual({
      '6932f96b8cd64c28a4fb5873': 3684.78,
      '69ab24db449866373d5e3e35': 104.89,
      '69ab2a10449866373d5e3e40': 14.65,
      '69ab2b77449866373d5e3e50': 1334,
    });
    expect(emulator.invoices().map((i) => i.total)).toEqual(['3684.78', '104.89', '14.65', '1334']);
  });
});

describe('[assumed] one invoice per order', () => {
  it('refuses a second invoice for the order with 409 and the failure envelope, storing nothing', async () => {
    const first = created(await create({ orderId: COMMERCE_SAMPLE_ORDER_ID }));
    const again = await create({ orderId: COMMERCE_SAMPLE_ORDER_ID.toUpperCase() });
    expect([again.status, again.body]).toEqual([409, { success: false, message: 'Invoice already exists for this order' }]);
    expect(emulator.invoices().map((i) => i.id)).toEqual([first.id]);
  });
});

describe('[assumed] reading invoices', () => {
  it('GET /invoices/{id} answers the invoice exactly as the create did', async () => {
    const data = created(await create({ orderId: COMMERCE_SAMPLE_ORDER_ID }));
    const read = await call('GET', `/invoices/${data.id}`);
    expect([read.status, read.body]).toEqual([200, { success: true, data }]);
    expect(read.body.data).toEqual(sample.data);
  });

  it('GET /invoices/{id} of an unknown id: 404 with the failure envelope', async () => {
    for (const id of ['0123456789abcdef01234567', 'nope']) {
      const read = await call('GET', `/invoices/${id}`);
      expect([read.status, read.body]).toEqual([404, { success: false, message: 'Invoice not found' }]);
    }
  });

  it('GET /invoices?orderId= lists the order\'s invoices; without the filter, all of them, newest first', async () => {
    const a = created(await create({ orderId: COMMERCE_SAMPLE_ORDER_ID }));
    now = new Date(SAMPLE_AT.getTime() + 60_000);
    const b = created(await create({ orderId: COMMERCE_REQUEST_ORDER_ID }));
    const one = { page: 1, limit: 20, total: 1, totalPages: 1 };
    expect((await call('GET', `/invoices?orderId=${COMMERCE_REQUEST_ORDER_ID}`)).body).toEqual({ success: true, data: [b], pagination: one });
    expect((await call('GET', `/invoices?orderId=${COMMERCE_SAMPLE_ORDER_ID.toUpperCase()}`)).body).toEqual({ success: true, data: [a], pagination: one });
    expect((await call('GET', '/invoices?orderId=69ab2b77449866373d5e3e50')).body).toEqual({ success: true, data: [], pagination: { ...one, total: 0 } });
    expect((await call('GET', '/invoices')).body.data.map((i: any) => i.id)).toEqual([b.id, a.id]);
    // [assumed] page and limit: newest first, page from 1.
    expect((await call('GET', '/invoices?page=2&limit=1')).body).toMatchObject({ data: [a], pagination: { page: 2, limit: 1, total: 2, totalPages: 2 } });
  });

  it("a read's own failure answers the failure envelope with a read's wording", async () => {
    // Middleware outlives reset(): a broken emulator of its own.
    const broken = new CommerceEmulator();
    broken.server.use(() => Promise.reject(new Error('database down')));
    await broken.start();
    try {
      const res = await fetch(`${broken.baseUrl}/invoices`, { headers: { accessToken: COMMERCE_SANDBOX_TOKEN } });
      expect([res.status, await res.json()]).toEqual([500, { success: false, message: 'An error occurred while fetching the invoice' }]);
    } finally {
      await broken.stop();
    }
  });
});

describe('emulator controls', () => {
  it('answers an unknown route as Express does, in text, after authentication', async () => {
    const answer = await call('GET', '/orders');
    expect([answer.status, answer.text]).toEqual([404, 'Cannot GET /api/v1/orders']);
    expect((await call('GET', '/orders', { token: null })).status).toBe(401);
  });

  it('reset() drops created invoices and restarts the pinned ids', async () => {
    const first = created(await create({ orderId: COMMERCE_SAMPLE_ORDER_ID }));
    emulator.reset();
    expect(emulator.invoices()).toEqual([]);
    expect((await call('GET', `/invoices/${first.id}`)).status).toBe(404);
    expect(created(await create({ orderId: COMMERCE_SAMPLE_ORDER_ID }))).toEqual(first);
  });

  it('exposes the call log and fault injection of its server', async () => {
    emulator.server.injectFault({ method: 'POST', path: '/api/v1/invoices', status: 503, body: 'upstream unavailable' });
    const failed = await create({ orderId: COMMERCE_SAMPLE_ORDER_ID });
    expect([failed.status, failed.text]).toEqual([503, 'upstream unavailable']);
    expect(emulator.invoices()).toEqual([]);
    created(await create({ orderId: COMMERCE_SAMPLE_ORDER_ID }));
    expect(emulator.server.countCalls('POST', '/api/v1/invoices')).toBe(2);
    expect(emulator.server.calls.map((c) => c.status)).toEqual([503, 201]);
  });
});
