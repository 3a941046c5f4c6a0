import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decimal } from '../../src/domain/money';
import { priceZuoraOrder, ZuoraEmulator } from '../../src/sandbox/zuora/zuora.emulator';
import { ZUORA_SANDBOX_CLIENT_ID, ZUORA_SANDBOX_CLIENT_SECRET, ZUORA_SANDBOX_ORDERS, zuoraSandboxTenant } from '../../src/sandbox/zuora/zuora.seed';
import { httpCall, type Answer, type CallOptions } from '../support/http-call';

/**
 * The Zuora emulator against Zuora's own examples (seed 004 and the documentation pages named in each fixture,
 * copied to test/fixtures/zuora), over real HTTP. Each example is replayed with a request that produces it; the
 * answer must equal the example except for values no emulator can reproduce (generated ids, tokens, process ids).
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'zuora');

interface ResponseFixture {
  summary: string;
  status: number;
  body: Record<string, any>;
}

const fixture = <T = ResponseFixture>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;

const FILTER = '4028828c82819b740182821bb23e15c4'; // O-00000101 (A00000001, USD, no tax): 20 × 10.00
const BEANS = '8ad0887e8a0f4f2c018a10a1d6e70301'; // O-00000201 (A00000002, USD, NYC): 24 × 18.50
const BEARING = '8ad0887e8a0f4f2c018a10a1d6e70501'; // O-00000301 (A00000003, EUR, 19 %, no payment method): 8 × 142.30
const MANUAL = '8ad0887e8a0f4f2c018a10a1d6e70502'; // O-00000301: 8 × 24.90 at 7 %

let emulator: ZuoraEmulator;
let now = new Date('2024-05-01T09:00:00Z');
let token: string | undefined;

async function call(method: string, path: string, options: CallOptions = {}, target: ZuoraEmulator = emulator): Promise<Answer> {
  const bearer = options.token === undefined ? await sandboxToken(target) : options.token;
  return httpCall(`${target.baseUrl}${path}`, method, bearer === null ? {} : { authorization: `Bearer ${bearer}` }, options);
}

function tokenRequest(form: Record<string, string>, target: ZuoraEmulator = emulator): Promise<Answer> {
  return call('POST', '/oauth/token', { token: null, raw: { contentType: 'application/x-www-form-urlencoded', body: new URLSearchParams(form).toString() } }, target);
}

const SANDBOX_CLIENT = { client_id: ZUORA_SANDBOX_CLIENT_ID, client_secret: ZUORA_SANDBOX_CLIENT_SECRET, grant_type: 'client_credentials' };

async function sandboxToken(target: ZuoraEmulator): Promise<string> {
  if (target === emulator && token) return token;
  const answer = await tokenRequest(SANDBOX_CLIENT, target);
  if (answer.status !== 200) throw new Error(`token: ${answer.status} ${JSON.stringify(answer.body)}`);
  if (target === emulator) token = answer.body.access_token;
  return answer.body.access_token;
}

const fulfill = (fulfillments: Array<Record<string, unknown>>, processingOptions: Record<string, unknown> = { runBilling: true }, headers: Record<string, string> = {}) =>
  call('POST', '/v1/fulfillments', { json: { fulfillments, processingOptions }, headers });
const delivery = (orderLineItemId: string, quantity: number, extra: Record<string, unknown> = {}) => ({
  orderLineItemId,
  quantity,
  fulfillmentDate: '2024-05-01',
  fulfillmentType: 'Delivery',
  state: 'SentToBilling',
  ...extra,
});
const ret = (orderLineItemId: string, quantity: number) => delivery(orderLineItemId, quantity, { fulfillmentType: 'Return' });

const expectOk = (a: Answer) => {
  if (a.status !== 200 || a.body?.success !== true) throw new Error(`expected success, got ${a.status}: ${JSON.stringify(a.body)}`);
  return a.body;
};
/** Zuora's failure envelope; its processId is generated. */
const failure = (...reasons: Array<[number, string]>) => ({ success: false, processId: expect.stringMatching(/^[0-9A-F]{16}$/), reasons: reasons.map(([code, message]) => ({ code, message })) });

beforeAll(async () => {
  emulator = new ZuoraEmulator({ now: () => now, tokenTtlSeconds: 3599 });
  await emulator.start();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(() => {
  emulator.reset();
  token = undefined;
  now = new Date('2024-05-01T09:00:00Z');
});

describe('the examples, replayed', () => {
  const request = fixture<{ body: Record<string, unknown> }>('request.create-fulfillments.json').body;

  // Each entry: the fixture, the request that produces it, and the generated values of the answer.
  const scenarios: Record<string, { run: () => Promise<Answer>; generated?: (body: any) => Record<string, unknown> }> = {
    'response.200.create-fulfillments.json': {
      run: () => call('POST', '/v1/fulfillments', { json: request }),
      generated: (body) => ({ fulfillments: body.fulfillments.map((f: any, i: number) => ({ ...fixture('response.200.create-fulfillments.json').body.fulfillments[i], id: f.id })) }),
    },
    'response.200.oauth-token.json': {
      run: () => tokenRequest(SANDBOX_CLIENT),
      generated: (body) => ({ access_token: body.access_token, jti: body.jti, scope: body.scope }),
    },
    'response.401.unauthorized.json': {
      run: () => call('GET', '/v1/invoices/INV00000001', { token: null }),
      generated: (body) => ({ processId: body.processId }),
    },
    'response.200.not-found.json': {
      run: () => call('GET', '/v1/invoices/INV99999999'),
      generated: (body) => ({ processId: body.processId }),
    },
  };

  it('covers every response fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.startsWith('response.'));
    expect(Object.keys(scenarios).sort()).toEqual(files.sort());
  });

  it.each(Object.keys(scenarios))('%s', async (name) => {
    const expected = fixture(name);
    const scenario = scenarios[name]!;
    const answer = await scenario.run();
    expect(answer.status).toBe(expected.status);
    expect(answer.body).toEqual({ ...expected.body, ...scenario.generated?.(answer.body) });
  });

  it('the seed request: its two fulfillments of line item 4028…15c4 bill 10 × 10.00 on one invoice, paid in full', async () => {
    expectOk(await call('POST', '/v1/fulfillments', { json: request }));
    expect(emulator.documents()).toEqual([
      expect.objectContaining({ kind: 'invoice', number: 'INV00000001', accountNumber: 'A00000001', currency: 'USD', date: '2022-01-01', amount: '100.00', taxAmount: '0.00', balance: '0.00', orderLineItemIds: [FILTER, FILTER] }),
    ]);
    const generated = (await call('POST', '/v1/fulfillments', { json: request })).body;
    // A second identical request without an Idempotency-Key is a new one: 10 more units remain on the line item.
    expect(generated).toMatchObject({ invoiceNumbers: ['INV00000002'], paymentNumber: 'P-00000002' });
  });

  it('issues tokens that live an hour by default', async () => {
    const plain = new ZuoraEmulator();
    await plain.start();
    try {
      expect((await tokenRequest(SANDBOX_CLIENT, plain)).body).toMatchObject({ token_type: 'bearer', expires_in: 3600, access_token: expect.stringMatching(/^[0-9a-f]{32}$/) });
    } finally {
      await plain.stop();
    }
  });
});

describe('authentication', () => {
  it('takes only form-encoded client credentials', async () => {
    const json = await call('POST', '/oauth/token', { token: null, json: SANDBOX_CLIENT });
    expect(json.status).toBe(400);
    expect(json.body).toEqual({ error: 'invalid_request', error_description: 'The token request must be application/x-www-form-urlencoded.' });
    expect((await tokenRequest({ ...SANDBOX_CLIENT, grant_type: 'password' })).body).toEqual({ error: 'unsupported_grant_type', error_description: 'Unsupported grant type: only client_credentials is allowed.' });
    const wrong = await tokenRequest({ ...SANDBOX_CLIENT, client_secret: 'nope' });
    expect([wrong.status, wrong.body]).toEqual([401, { error: 'invalid_client', error_description: 'Bad client credentials' }]);
  });

  it('refuses an unknown, expired or revoked token with the 401 envelope', async () => {
    const unauthorized = { status: 401, body: failure([90000011, 'this resource is protected, please sign in first']) };
    const check = async (bearer: string) => {
      const a = await call('GET', `/v1/order-line-items/${FILTER}`, { token: bearer });
      expect({ status: a.status, body: a.body }).toEqual(unauthorized);
    };
    await check('not-a-token');
    const fresh = await sandboxToken(emulator);
    expect((await call('GET', `/v1/order-line-items/${FILTER}`, { token: fresh })).status).toBe(200);
    now = new Date(now.getTime() + 3_599_000);
    await check(fresh);

    const another = (await tokenRequest(SANDBOX_CLIENT)).body.access_token;
    emulator.revokeTokens();
    await check(another);
    expect((await call('GET', `/v1/order-line-items/${FILTER}`, { token: (await tokenRequest(SANDBOX_CLIENT)).body.access_token })).status).toBe(200);
  });
});

describe('creating fulfillments', () => {
  it('bills only fulfillments sent to billing, once their bill target date is reached', async () => {
    const body = expectOk(
      await fulfill(
        [delivery(FILTER, 1, { state: 'Booked' }), delivery(FILTER, 1, { billTargetDate: '2024-06-01' }), delivery(FILTER, 1), delivery(FILTER, 1, { state: 'Cancelled' })],
        { runBilling: true, billingOptions: { targetDate: '2024-05-31' } },
      ),
    );
    expect(body).toEqual({
      success: true,
      fulfillments: ['F-00000001', 'F-00000002', 'F-00000003', 'F-00000004'].map((n) => ({ fulfillmentNumber: n, id: expect.stringMatching(/^[0-9a-f]{32}$/) })),
      invoiceNumbers: ['INV00000001'],
      creditMemoNumbers: null,
    });
    expect(emulator.documents().map((d) => d.amount)).toEqual(['10.00']);
    // The cancelled one does not count against the line item.
    expect((await call('GET', `/v1/order-line-items/${FILTER}`)).body.orderLineItem).toMatchObject({ quantityFulfilled: 3, quantityPendingFulfillment: 17 });
  });

  it('without runBilling: fulfillments only', async () => {
    expect(expectOk(await fulfill([delivery(FILTER, 2)], { runBilling: false }))).toMatchObject({ invoiceNumbers: null, creditMemoNumbers: null });
    expect(emulator.documents()).toEqual([]);
  });

  it('one invoice per account, one credit memo per account for returns', async () => {
    expectOk(await fulfill([delivery(BEARING, 3)]));
    const body = expectOk(await fulfill([delivery(FILTER, 2), delivery(BEANS, 1), delivery(FILTER, 1), ret(BEARING, 2), delivery(MANUAL, 1)]));
    expect(body).toMatchObject({ invoiceNumbers: ['INV00000002', 'INV00000003', 'INV00000004'], creditMemoNumbers: ['CM00000001'] });
    expect(emulator.documents().slice(1).map((d) => [d.number, d.accountNumber, d.currency, d.amount, d.orderLineItemIds.length])).toEqual([
      ['INV00000002', 'A00000001', 'USD', '30.00', 2],
      ['INV00000003', 'A00000002', 'USD', '20.14', 1],
      ['INV00000004', 'A00000003', 'EUR', '26.64', 1],
      ['CM00000001', 'A00000003', 'EUR', '338.67', 1],
    ]);
  });

  it('refuses more than remains to fulfil, and returns beyond what was delivered, creating nothing', async () => {
    expectOk(await fulfill([delivery(BEANS, 20)]));
    const answer = await fulfill([delivery(BEANS, 3), delivery(BEANS, 2), ret(BEANS, 21), delivery(FILTER, 1)]);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(
      failure(
        [59100230, `The quantity 5 of the delivery fulfillments for order line item '${BEANS}' exceeds the quantity pending fulfillment (4).`],
        [59100230, `The quantity 21 of the return fulfillments for order line item '${BEANS}' exceeds the quantity available for return (20).`],
      ),
    );
    expect(emulator.documents()).toHaveLength(1);
    expect((await call('GET', `/v1/order-line-items/${FILTER}`)).body.orderLineItem.quantityFulfilled).toBe(0);
  });

  it('answers an unknown line item with a not-found reason', async () => {
    const answer = await fulfill([delivery('0123456789abcdef0123456789abcdef', 1), delivery(FILTER, 1)]);
    expect([answer.status, answer.body]).toEqual([200, failure([59100140, "Cannot find entity by key: '0123456789abcdef0123456789abcdef'."])]);
    expect(emulator.documents()).toEqual([]);
  });

  it('collects payment only from accounts with a default payment method', async () => {
    const answer = await fulfill([delivery(FILTER, 1), delivery(BEARING, 1)], { runBilling: true, collectPayment: true });
    expect(answer.body).toEqual(failure([53010030, "Cannot collect payment: account 'A00000003' has no default payment method."]));
    expect(expectOk(await fulfill([delivery(FILTER, 1), delivery(BEANS, 1)], { runBilling: true, collectPayment: true }))).toMatchObject({ paidAmount: 30.14, paymentNumber: 'P-00000001' });
  });

  it('refuses a malformed request with 400 and every problem at once, each naming its field', async () => {
    const answer = await call('POST', '/v1/fulfillments', {
      json: {
        fulfillments: [
          { orderLineItemId: FILTER, quantity: 0, fulfillmentDate: '2024-13-01', fulfillmentType: 'Shipment', state: 'Sent', colour: 'red' },
          { quantity: '2', billTargetDate: 'soon' },
        ],
        processingOptions: { runBilling: 'yes', collectPayment: true, billingOptions: { documentDate: '01/05/2024' } },
      },
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual(
      failure(
        [59100021, "'fulfillments[0].colour' is not a known field."],
        [59100220, "'fulfillments[0].quantity' value should be a number greater than 0."],
        [59100320, "'fulfillments[0].fulfillmentDate' value should be a date in yyyy-MM-dd format."],
        [59100520, "'fulfillments[0].fulfillmentType' value should be one of: Delivery, Return"],
        [59100620, "'fulfillments[0].state' value should be one of: Executing, Booked, SentToBilling, Complete, Cancelled"],
        [59100122, "'fulfillments[1].orderLineItemId' is required."],
        [59100220, "'fulfillments[1].quantity' value should be a number greater than 0."],
        [59100322, "'fulfillments[1].fulfillmentDate' is required."],
        [59100420, "'fulfillments[1].billTargetDate' value should be a date in yyyy-MM-dd format."],
        [59100720, "'processingOptions.runBilling' value should be a boolean."],
        [59100720, "'processingOptions.billingOptions.documentDate' value should be a date in yyyy-MM-dd format."],
        [59100720, "'processingOptions.collectPayment' requires 'processingOptions.runBilling' to be true."],
      ),
    );
    expect((await call('POST', '/v1/fulfillments', { json: { fulfillments: [] } })).body).toEqual(failure([59100022, "'fulfillments' must contain at least one fulfillment."]));
    const malformed = await call('POST', '/v1/fulfillments', { raw: { contentType: 'application/json', body: '{"fulfillments": [' } });
    expect([malformed.status, malformed.body]).toEqual([400, failure([50000090, 'Malformed JSON request body.'])]);
  });
});

describe('Idempotency-Key', () => {
  const key = (k: string) => ({ 'Idempotency-Key': k });

  it('replays the stored answer, status and body, for 24 hours, whether it succeeded or failed', async () => {
    const first = await fulfill([delivery(FILTER, 10)], { runBilling: true }, key('ship-1'));
    const again = await fulfill([delivery(FILTER, 10)], { runBilling: true }, key('ship-1'));
    expect([again.status, again.body]).toEqual([first.status, first.body]);
    expect(emulator.documents()).toHaveLength(1);

    const refused = await fulfill([delivery(FILTER, 99)], { runBilling: true }, key('ship-2'));
    const refusedAgain = await fulfill([delivery(FILTER, 1)], { runBilling: true }, key('ship-2'));
    // Even its processId: the stored answer, not a new refusal of the new body.
    expect(refusedAgain.body).toEqual(refused.body);

    now = new Date(now.getTime() + 24 * 3600 * 1000);
    token = undefined;
    const later = await fulfill([delivery(FILTER, 10)], { runBilling: true }, key('ship-1'));
    expect(later.body.invoiceNumbers).toEqual(['INV00000002']);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    let release: () => void = () => undefined;
    let holding = true;
    emulator.server.use(async (req, next) => {
      if (holding && req.path === '/v1/fulfillments') await new Promise<void>((r) => (release = r));
      return next();
    });
    const first = fulfill([delivery(FILTER, 1)], { runBilling: true }, key('busy'));
    await new Promise((r) => setTimeout(r, 50));
    holding = false;
    const second = await fulfill([delivery(FILTER, 1)], { runBilling: true }, key('busy'));
    expect([second.status, second.body]).toEqual([409, failure([50000150, 'A request with the same Idempotency-Key is still in progress.'])]);
    release();
    expect((await first).body.invoiceNumbers).toEqual(['INV00000001']);
    expect((await fulfill([delivery(FILTER, 1)], { runBilling: true }, key('busy'))).body.invoiceNumbers).toEqual(['INV00000001']);
  });

  it('answers 422 for a key used on another URL, and refuses keys longer than 255 characters', async () => {
    expectOk(await fulfill([delivery(FILTER, 1)], { runBilling: true }, key('k')));
    const other = await call('POST', '/v1/invoices/INV00000001/emails', { json: {}, headers: key('k') });
    expect([other.status, other.body]).toEqual([422, failure([50000130, 'The Idempotency-Key was used with another request URL or HTTP method.'])]);
    const long = await fulfill([delivery(FILTER, 1)], { runBilling: true }, key('x'.repeat(256)));
    expect([long.status, long.body]).toEqual([400, failure([50000120, 'The Idempotency-Key header must be 1 to 255 characters long.'])]);
  });
});

describe('reading documents', () => {
  /** Hand-computed: each tax of each line rounded half up to the cent on its own. */
  const expectedTotals: Record<string, [string, string, string]> = {
    'O-00000101': ['898.00', '0.00', '898.00'],
    'O-00000102': ['656.85', '0.00', '656.85'],
    'O-00000201': ['572.00', '50.77', '622.77'],
    'O-00000202': ['1549.99', '137.57', '1687.56'],
    'O-00000301': ['1337.60', '230.24', '1567.84'],
    'O-00000302': ['2316.00', '440.04', '2756.04'],
  };

  it('seeds exactly the six documented orders', () => {
    expect(ZUORA_SANDBOX_ORDERS.map((o) => o.orderNumber)).toEqual(Object.keys(expectedTotals));
    for (const o of ZUORA_SANDBOX_ORDERS) {
      const p = priceZuoraOrder(o);
      expect([p.subtotal.toFixed(2), p.tax.toFixed(2), p.total.toFixed(2)]).toEqual(expectedTotals[o.orderNumber]);
    }
  });

  it.each(ZUORA_SANDBOX_ORDERS.map((o) => [o.orderNumber, o] as const))('order %s billed in full: the invoice read back matches the hand-computed totals', async (number, order) => {
    const created = expectOk(await fulfill(order.lineItems.map((li) => delivery(li.id, Number(li.quantity)))));
    const inv = expectOk(await call('GET', `/v1/invoices/${created.invoiceNumbers[0]}`));
    const [subtotal, tax, total] = expectedTotals[number]!;
    expect([inv.amountWithoutTax.toFixed(2), inv.taxAmount.toFixed(2), inv.amount.toFixed(2), inv.balance.toFixed(2)]).toEqual([subtotal, tax, total, total]);
    const items = expectOk(await call('GET', `/v1/invoices/${inv.id}/items`)).invoiceItems;
    expect(items.map((i: any) => [i.orderLineItemId, i.sku, i.quantity])).toEqual(order.lineItems.map((li) => [li.id, li.productCode, Number(li.quantity)]));
    // Every item's taxes add up to its tax, and the items' taxes to the invoice's, exactly.
    const sum = (values: number[]) => values.reduce((s, v) => s.plus(String(v)), new Decimal(0));
    for (const i of items) expect(sum(i.taxationItems.data.map((t: any) => t.taxAmount)).toFixed(2)).toBe(new Decimal(String(i.taxAmount)).toFixed(2));
    expect(sum(items.map((i: any) => i.taxAmount)).toFixed(2)).toBe(tax);
  });

  it('an invoice by id or number, with its items and their taxation items', async () => {
    now = new Date('2024-05-03T09:00:00Z');
    expectOk(await fulfill([delivery(BEANS, 3, { description: 'first roast' })], { runBilling: true, billingOptions: { documentDate: '2024-05-02' } }));
    const byNumber = expectOk(await call('GET', '/v1/invoices/INV00000001'));
    expect(byNumber).toEqual({
      accountId: '8ad0887e8a0f4f2c018a10a1b2c30002',
      adjustmentAmount: 0,
      amount: 60.43,
      amountWithoutTax: 55.5,
      balance: 60.43,
      creditMemoAmount: 0,
      currency: 'USD',
      dueDate: '2024-05-17',
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      invoiceDate: '2024-05-02',
      invoiceNumber: 'INV00000001',
      paymentAmount: 0,
      refundAmount: 0,
      source: 'API',
      status: 'Posted',
      success: true,
      targetDate: '2024-05-03',
      taxAmount: 4.93,
    });
    expect((await call('GET', `/v1/invoices/${byNumber.id}`)).body).toEqual(byNumber);
    const items = expectOk(await call('GET', `/v1/invoices/${byNumber.id}/items`));
    expect(items.invoiceItems).toEqual([
      expect.objectContaining({
        chargeAmount: 55.5,
        chargeName: 'Espresso Beans 1 lb',
        description: 'first roast',
        orderLineItemId: BEANS,
        quantity: 3,
        sku: 'BEANS-ESP-1LB',
        taxAmount: 4.93,
        unitPrice: 18.5,
        taxationItems: {
          data: [
            expect.objectContaining({ name: 'NY STATE TAX', jurisdiction: 'NEW YORK', taxRate: 0.04, taxRateType: 'Percentage', taxAmount: 2.22, taxCode: 'NY-NYC', taxDate: '2024-05-02' }),
            expect.objectContaining({ name: 'NYC LOCAL TAX', taxRate: 0.045, taxAmount: 2.5 }),
            expect.objectContaining({ name: 'MCTD SURCHARGE', taxRate: 0.00375, taxAmount: 0.21 }),
          ],
        },
      }),
    ]);
    expect(items).not.toHaveProperty('nextPage');
  });

  it('pages items by pageSize (at most 40)', async () => {
    expectOk(await fulfill(Array.from({ length: 5 }, () => delivery(FILTER, 1))));
    const first = expectOk(await call('GET', '/v1/invoices/INV00000001/items?pageSize=2'));
    expect([first.invoiceItems.length, first.nextPage]).toEqual([2, '/v1/invoices/INV00000001/items?page=2&pageSize=2']);
    const last = expectOk(await call('GET', '/v1/invoices/INV00000001/items?pageSize=2&page=3'));
    expect([last.invoiceItems.length, last.nextPage]).toEqual([1, undefined]);
    expect((await call('GET', '/v1/invoices/INV00000001/items?pageSize=41')).status).toBe(400);
  });

  it('a credit memo and its items; taxationItems from Zuora-Version 239.0, creditTaxItems before', async () => {
    expectOk(await fulfill([delivery(BEARING, 2)]));
    expectOk(await fulfill([ret(BEARING, 1)]));
    const memo = expectOk(await call('GET', '/v1/creditmemos/CM00000001'));
    expect(memo).toEqual({
      accountId: '8ad0887e8a0f4f2c018a10a1b2c30003',
      amount: 169.34,
      appliedAmount: 0,
      creditMemoDate: '2024-05-01',
      currency: 'EUR',
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      number: 'CM00000001',
      reasonCode: 'Return',
      referredInvoiceId: null,
      refundAmount: 0,
      source: 'API',
      status: 'Posted',
      success: true,
      targetDate: '2024-05-01',
      taxAmount: 27.04,
      unappliedAmount: 169.34,
    });
    const modern = expectOk(await call('GET', `/v1/creditmemos/${memo.id}/items`, { headers: { 'Zuora-Version': '239.0' } })).items[0];
    expect(modern).toMatchObject({ amount: 142.3, amountWithoutTax: 142.3, quantity: 1, sku: 'BRG-SPINDLE-7014', skuName: 'CNC Spindle Bearing', sourceItemType: 'OrderLineItem', sourceItemId: BEARING });
    expect(modern.taxationItems.data).toEqual([expect.objectContaining({ name: 'UMSATZSTEUER 19%', taxRate: 0.19, taxAmount: 27.04 })]);
    const legacy = expectOk(await call('GET', `/v1/creditmemos/${memo.id}/items`)).items[0];
    expect(legacy).not.toHaveProperty('taxationItems');
    expect(legacy.creditTaxItems).toEqual(modern.taxationItems.data);
  });

  it("an order's number through Object Query, by id or number (queryOrdersByKey)", async () => {
    const byId = await call('GET', '/object-query/orders/8ad0887e8a0f4f2c018a10a1c4d50301');
    expect([byId.status, byId.body]).toEqual([200, expect.objectContaining({ id: '8ad0887e8a0f4f2c018a10a1c4d50301', orderNumber: 'O-00000301' })]);
    expect((await call('GET', '/object-query/orders/O-00000301')).body).toMatchObject({ id: '8ad0887e8a0f4f2c018a10a1c4d50301' });
    expect((await call('GET', '/object-query/orders/nope')).status).toBe(404);
    expect((await call('GET', '/object-query/orders/O-00000301', { token: null })).status).toBe(401);
  });

  it('an order line item, with what is fulfilled, pending and returnable', async () => {
    expectOk(await fulfill([delivery(BEARING, 5)]));
    expectOk(await fulfill([ret(BEARING, 2)]));
    expect(expectOk(await call('GET', `/v1/order-line-items/${BEARING}`)).orderLineItem).toEqual({
      id: BEARING,
      // Zuora's documented response names the order by its id only (GET_OrderLineItem).
      orderId: '8ad0887e8a0f4f2c018a10a1c4d50301',
      itemName: 'CNC Spindle Bearing',
      itemNumber: '1',
      itemState: 'Executing',
      itemType: 'Product',
      itemCategory: 'Sales',
      billingRule: 'TriggerAsFulfillmentOccurs',
      productCode: 'BRG-SPINDLE-7014',
      amount: 1354.7,
      amountWithoutTax: 1138.4,
      quantity: 8,
      amountPerUnit: 142.3,
      quantityFulfilled: 5,
      quantityPendingFulfillment: 3,
      quantityAvailableForReturn: 3,
      taxCode: 'DE-VAT-19',
      taxMode: 'TaxExclusive',
      transactionDate: '2024-04-11',
      invoiceOwnerAccountId: '8ad0887e8a0f4f2c018a10a1b2c30003',
      invoiceOwnerAccountNumber: 'A00000003',
      invoiceOwnerAccountName: 'Rheinwerk Maschinenbau GmbH (Köln)',
    });
  });

  it.each(['/v1/invoices/INV00000009', '/v1/invoices/INV00000009/items', '/v1/creditmemos/CM00000009', '/v1/creditmemos/x/items', '/v1/order-line-items/abc'])(
    '%s: an unknown key is HTTP 200 with a not-found reason',
    async (path) => {
      const key = path.split('/')[3]!;
      const answer = await call('GET', path);
      expect([answer.status, answer.body]).toEqual([200, failure([50000040, `Cannot find entity by key: '${key}'.`])]);
    },
  );

  it('an unknown path is a 404 envelope', async () => {
    const answer = await call('GET', '/v1/nothing-here');
    expect([answer.status, answer.body]).toEqual([404, failure([50000040, 'The requested resource does not exist.'])]);
  });
});

describe('failures Zuora stores under a key (failCreates)', () => {
  // https://developer.zuora.com/docs/guides/idempotent-requests: the answer is saved "regardless of whether it
  // succeeded or failed. Subsequent requests with the same key return the same result."
  it('a lock contention or internal error is replayed to the key for 24 hours; another key is performed', async () => {
    emulator.failCreates({ status: 500, reasons: [{ code: 50000060, message: 'Internal Server Error' }] });
    const first = await fulfill([delivery(FILTER, 1)], { runBilling: true }, { 'Idempotency-Key': 'stored-500' });
    expect([first.status, first.body.reasons]).toEqual([500, [{ code: 50000060, message: 'Internal Server Error' }]]);
    const again = await fulfill([delivery(FILTER, 1)], { runBilling: true }, { 'Idempotency-Key': 'stored-500' });
    expect([again.status, again.body]).toEqual([first.status, first.body]);
    expect(emulator.documents()).toEqual([]);
    expect(expectOk(await fulfill([delivery(FILTER, 1)], { runBilling: true }, { 'Idempotency-Key': 'stored-500.2' })).invoiceNumbers).toEqual(['INV00000001']);
    now = new Date(now.getTime() + 24 * 3600 * 1000);
    token = undefined;
    expect(expectOk(await fulfill([delivery(FILTER, 1)], { runBilling: true }, { 'Idempotency-Key': 'stored-500' })).invoiceNumbers).toEqual(['INV00000002']);
  });
});

describe('Object Query (queryFulfillments, queryInvoiceItems, queryCreditMemoItems)', () => {
  it('finds fulfillments by externalid, then the items billing them by fulfillmentid; pages by cursor', async () => {
    expectOk(await fulfill([delivery(FILTER, 1, { externalId: 'ext-1' }), delivery(BEANS, 1, { externalId: 'ext-1' }), delivery(BEARING, 1, { externalId: 'ext-2' })]));
    const q = (path: string, filter: string, extra = '') => call('GET', `${path}?filter%5B%5D=${encodeURIComponent(filter)}${extra}`);
    const f = await q('/object-query/fulfillments', 'externalid.EQ:ext-1');
    expect(f.status).toBe(200);
    expect(f.body.data.map((r: any) => [r.orderLineItemId, r.externalId, r.fulfillmentNumber])).toEqual([
      [FILTER, 'ext-1', 'F-00000001'],
      [BEANS, 'ext-1', 'F-00000002'],
    ]);
    expect(f.body.nextPage).toBeUndefined();
    const first = await q('/object-query/fulfillments', 'externalid.EQ:ext-1', '&pageSize=1');
    const second = await q('/object-query/fulfillments', 'externalid.EQ:ext-1', `&pageSize=1&cursor=${encodeURIComponent(first.body.nextPage)}`);
    expect([first.body.data[0].id, second.body.data[0].id, second.body.nextPage]).toEqual([f.body.data[0].id, f.body.data[1].id, undefined]);
    const items = await q('/object-query/invoice-items', `fulfillmentid.IN:[${f.body.data.map((r: any) => r.id).join(',')}]`);
    expect(items.body.data.map((r: any) => r.fulfillmentId)).toEqual(f.body.data.map((r: any) => r.id));
    expect(new Set(items.body.data.map((r: any) => r.invoiceId)).size).toBe(2);
    expect((await q('/object-query/credit-memo-items', `fulfillmentid.IN:[${f.body.data[0].id}]`)).body.data).toEqual([]);
    expect((await q('/object-query/fulfillments', 'description.EQ:x')).status).toBe(400);
    expect((await q('/object-query/fulfillments', 'externalid.EQ:ext-1', '&pageSize=100')).status).toBe(400);
    expect((await call('GET', '/object-query/fulfillments', { token: null })).status).toBe(401);
  });
});

describe('taxation items and files', () => {
  it("an item's taxation-items list pages (GET_TaxationItemsOfInvoiceItem); a posted invoice has a PDF file (GET_InvoiceFiles, GET_Files)", async () => {
    const created = expectOk(await fulfill([delivery(BEANS, 3)]));
    const inv = expectOk(await call('GET', `/v1/invoices/${created.invoiceNumbers[0]}`));
    const [item] = expectOk(await call('GET', `/v1/invoices/${inv.id}/items`, { headers: { 'Zuora-Version': '239.0' } })).invoiceItems;
    const page1 = expectOk(await call('GET', `/v1/invoices/${inv.id}/items/${item.id}/taxation-items?page=1&pageSize=2`));
    expect([page1.data.length, page1.nextPage]).toEqual([2, `/v1/invoices/${inv.id}/items/${item.id}/taxation-items?page=2&pageSize=2`]);
    const page2 = expectOk(await call('GET', page1.nextPage));
    expect([page2.data.map((t: any) => t.name), page2.nextPage]).toEqual([['MCTD SURCHARGE'], undefined]);
    const files = expectOk(await call('GET', `/v1/invoices/${inv.invoiceNumber}/files`));
    expect(files.invoiceFiles).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{32}$/), pdfFileUrl: expect.stringMatching(/^\/v1\/files\/[0-9a-f]{32}$/), versionNumber: expect.any(Number) }]);
    const pdf = await call('GET', files.invoiceFiles[0].pdfFileUrl);
    expect(pdf.status).toBe(200);
  });
});

describe('headers and limits', () => {
  it('echoes Zuora-Track-Id and sends a Zuora-Request-Id with every answer', async () => {
    const answer = await call('GET', `/v1/order-line-items/${FILTER}`, { headers: { 'Zuora-Track-Id': 'invoicing-abc' } });
    expect(answer.headers.get('zuora-track-id')).toBe('invoicing-abc');
    expect(answer.headers.get('zuora-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call('GET', `/v1/order-line-items/${FILTER}`)).headers.get('zuora-track-id')).toBeNull();
  });

  it('counts API requests per minute in RateLimit-* headers and answers 429 past the limit', async () => {
    let clock = new Date('2024-05-01T09:00:00Z');
    const limited = new ZuoraEmulator({ now: () => clock, rateLimitPerMinute: 3 });
    await limited.start();
    try {
      const get = () => call('GET', `/v1/order-line-items/${FILTER}`, {}, limited);
      const first = await get();
      expect(['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'].map((h) => first.headers.get(h))).toEqual(['3', '2', '60']);
      clock = new Date(clock.getTime() + 15_000);
      await get();
      // Failures count too; the token endpoint does not.
      expect((await call('GET', '/v1/invoices/nope', {}, limited)).headers.get('ratelimit-remaining')).toBe('0');
      const refused = await get();
      expect(refused.status).toBe(429);
      expect(['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'].map((h) => refused.headers.get(h))).toEqual(['3', '0', '45']);
      expect(refused.body).toEqual(failure([50000070, 'You have exceeded the limit of 3 API requests per minute.']));
      clock = new Date(clock.getTime() + 45_000);
      expect((await get()).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

describe('emulator controls', () => {
  it('reset() forgets documents, fulfillments, tokens and idempotency keys', async () => {
    const first = expectOk(await fulfill([delivery(FILTER, 20)], { runBilling: true }, { 'Idempotency-Key': 'k' }));
    const stale = token!;
    emulator.reset();
    token = undefined;
    expect(emulator.documents()).toEqual([]);
    expect((await call('GET', `/v1/order-line-items/${FILTER}`, { token: stale })).status).toBe(401);
    const again = expectOk(await fulfill([delivery(FILTER, 20)], { runBilling: true }, { 'Idempotency-Key': 'k' }));
    expect(again.fulfillments[0].id).not.toBe(first.fulfillments[0].id);
  });

  it('takes its orders from the tenant it is given', async () => {
    const tenant = zuoraSandboxTenant();
    const small = new ZuoraEmulator({ tenant: { ...tenant, orders: tenant.orders.slice(0, 1) } });
    await small.start();
    try {
      expect((await call('GET', `/v1/order-line-items/${FILTER}`, {}, small)).body.success).toBe(true);
      expect((await call('GET', `/v1/order-line-items/${BEANS}`, {}, small)).body.success).toBe(false);
    } finally {
      await small.stop();
    }
  });
});
