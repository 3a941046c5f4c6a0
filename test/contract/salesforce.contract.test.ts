import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { priceFulfillmentOrder, SalesforceEmulator } from '../../src/sandbox/salesforce/salesforce.emulator';
import {
  SALESFORCE_SANDBOX_CANCELLED_FULFILLMENT_ORDER_ID,
  SALESFORCE_SANDBOX_ORDER_SUMMARIES,
  SALESFORCE_SANDBOX_TOKEN,
} from '../../src/sandbox/salesforce/salesforce.seed';
import { httpCall, type Answer, type CallOptions } from '../support/http-call';

/**
 * The Salesforce emulator against the seed's example (seed 000) and the documented shapes around it (copied to
 * test/fixtures/salesforce, each naming its source), over real HTTP. Each example is replayed with a request that
 * produces it, and the answer must equal it except for the ids Salesforce generates (invoices, invoice lines, query
 * locators), which are compared by position: the same generated id must recur wherever the fixture repeats one.
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'salesforce');
const AT = new Date('2024-05-01T09:00:00Z');
const V = '/services/data/v62.0';
const FO = `${V}/commerce/fulfillment/fulfillment-orders`;

const DE_ORDER = '0a3Dn000000cEXIIA2';

interface ResponseFixture {
  source: string;
  summary: string;
  status: number;
  body: any;
}

interface RequestFixture {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const fixture = <T = ResponseFixture>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;

let emulator: SalesforceEmulator;

function call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const token = options.token === undefined ? SALESFORCE_SANDBOX_TOKEN : options.token;
  return httpCall(`${emulator.baseUrl}${path}`, method, token === null ? {} : { authorization: `Bearer ${token}` }, options);
}

const createInvoice = (fulfillmentOrderId: string, options: CallOptions = { json: {} }) => call('POST', `${FO}/${fulfillmentOrderId}/actions/create-invoice`, options);
const soql = (q: string, version = V) => call('GET', `${version}/query?q=${encodeURIComponent(q)}`);

/** Generated ids (Invoice 3tt, InvoiceLine 5TV, query locator 01g) become <3tt#1>, <5TV#2>, … in order of appearance. */
function normalized(body: unknown): unknown {
  const seen = new Map<string, string>();
  const text = JSON.stringify(body).replace(/\b(3tt|5TV|01g)[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?\b/g, (id, prefix: string) => {
    if (!seen.has(id)) seen.set(id, `<${prefix}#${seen.size + 1}>`);
    return seen.get(id)!;
  });
  return JSON.parse(text);
}

const created = async (fulfillmentOrderId: string): Promise<string> => {
  const a = await createInvoice(fulfillmentOrderId);
  if (a.status !== 201 || !a.body.success) throw new Error(`expected an invoice, got ${a.status}: ${a.text}`);
  return a.body.invoiceId;
};

const SELECT_FO = 'SELECT Id, OrderSummaryId, InvoiceId, Status FROM FulfillmentOrder WHERE Id IN';
const SELECT_INVOICE =
  'SELECT Id, DocumentNumber, Status, InvoiceDate, DueDate, CurrencyIsoCode, TotalAmount, TotalTaxAmount, TotalAmountWithTax, Balance, NetPaymentsApplied, NetCreditsApplied, ReferenceEntityId, CreatedDate FROM Invoice WHERE Id IN';
const SELECT_LINES = 'SELECT Id, InvoiceId, Type, Description, Product2Id, Quantity, UnitPrice, LineAmount, ChargeAmount, TaxAmount, TaxRate, TaxCode, TaxName FROM InvoiceLine WHERE InvoiceId IN';

beforeAll(async () => {
  emulator = new SalesforceEmulator({ now: () => AT, queryPageSize: 2 });
  await emulator.start();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(() => emulator.reset());

describe('the seed example and the documented shapes, replayed', () => {
  it("the seed's request (an empty JSON body) creates the fulfillment order's invoice", async () => {
    const request = fixture<RequestFixture>('request.create-invoice.json');
    const path = request.path.replace('{version}', '62.0').replace('{fulfillmentOrderId}', DE_ORDER);
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, v.replace('<ACCESS-TOKEN>', SALESFORCE_SANDBOX_TOKEN)]));
    const answer = await call(request.method, path, { token: null, headers, raw: { contentType: headers['Content-Type']!, body: JSON.stringify(request.body) } });
    expect(answer.status).toBe(201);
    expect(normalized(answer.body)).toEqual(normalized(fixture('response.201.create-invoice.json').body));
    expect(emulator.invoices()).toEqual([expect.objectContaining({ fulfillmentOrderId: DE_ORDER, totalAmountWithTax: '329.94', currency: 'EUR' })]);
  });

  // Each entry: the fixture, and the requests that produce it (the last answer is compared).
  const scenarios: Record<string, () => Promise<Answer>> = {
    'response.201.create-invoice.json': () => createInvoice(DE_ORDER),
    'response.201.create-invoice.processing-errors.json': () => createInvoice(SALESFORCE_SANDBOX_CANCELLED_FULFILLMENT_ORDER_ID),
    'response.400.create-invoice.already-invoiced.json': async () => {
      await created(DE_ORDER);
      return createInvoice(DE_ORDER);
    },
    'response.404.create-invoice.not-found.json': () => createInvoice('0a3Dn000000zzzzIAA'),
    'response.400.create-invoice.invalid-id.json': () => createInvoice('0a3-not-an-id'),
    'response.401.invalid-session.json': () => createInvoice(DE_ORDER, { token: 'expired', json: {} }),
    'response.403.request-limit-exceeded.json': async () => {
      const limited = new SalesforceEmulator({ apiRequestLimit: 0 });
      await limited.start();
      try {
        const res = await fetch(`${limited.baseUrl}${V}/query?q=x`, { headers: { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` } });
        const text = await res.text();
        return { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
      } finally {
        await limited.stop();
      }
    },
    'response.404.not-found.json': () => call('POST', `/services/data/v47.0/commerce/fulfillment/fulfillment-orders/0a3Dn000000cEXFIA2/actions/create-invoice`, { json: {} }),
    'response.200.query.fulfillment-order.json': async () => {
      await created(DE_ORDER);
      return soql(`${SELECT_FO} ('${DE_ORDER}')`);
    },
    'response.200.query.invoice.json': async () => soql(`${SELECT_INVOICE} ('${await created(DE_ORDER)}')`),
    'response.200.query.invoice-lines.first-page.json': async () => soql(`${SELECT_LINES} ('${await created(DE_ORDER)}')`),
    'response.200.query.invoice-lines.next-page.json': async () => {
      const first = await soql(`${SELECT_LINES} ('${await created(DE_ORDER)}')`);
      return call('GET', first.body.nextRecordsUrl);
    },
    'response.400.malformed-query.json': async () => soql(`SELECT Id FORM Invoice WHERE Id IN ('${await created(DE_ORDER)}')`),
    'response.400.invalid-field.json': async () => soql(`SELECT Id, Amount FROM Invoice WHERE Id IN ('${await created(DE_ORDER)}')`),
  };

  it('covers every response fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.startsWith('response.'));
    expect(Object.keys(scenarios).sort()).toEqual(files.sort());
  });

  it.each(Object.keys(scenarios))('%s', async (name) => {
    const expected = fixture(name);
    const answer = await scenarios[name]!();
    expect(answer.status).toBe(expected.status);
    expect(normalized(answer.body)).toEqual(normalized(expected.body));
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    // Every answer to an authenticated request reports the org's API usage.
    if (expected.status !== 401) expect(answer.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/\d+$/);
  });
});

describe('the sandbox org', () => {
  /** The totals the seed lists for each fulfillment order (and the README repeats). */
  const TOTALS: Record<string, [string, string, string, string]> = {
    '0a3Dn000000cEXFIA2': ['USD', '269.93', '22.27', '292.20'],
    '0a3Dn000000cEXGIA2': ['USD', '449.00', '28.06', '477.06'],
    '0a3Dn000000cEXHIA2': ['USD', '79.00', '0.31', '79.31'],
    '0a3Dn000000cEXIIA2': ['EUR', '279.88', '50.06', '329.94'],
    '0a3Dn000000cEXJIA2': ['EUR', '40.23', '8.05', '48.28'],
    '0a3Dn000000cEXKIA2': ['EUR', '65.90', '13.18', '79.08'],
    '0a3Dn000000cEXMIA2': ['USD', '633.00', '52.22', '685.22'],
    '0a3Dn000000cEXNIA2': ['USD', '14.65', '1.30', '15.95'],
  };

  it('invoices every fulfillment order but the cancelled one, at the totals the seed lists', async () => {
    const all = SALESFORCE_SANDBOX_ORDER_SUMMARIES.flatMap((os) => os.fulfillmentOrders.map((fo) => fo.id));
    expect(all.filter((id) => id !== SALESFORCE_SANDBOX_CANCELLED_FULFILLMENT_ORDER_ID).sort()).toEqual(Object.keys(TOTALS).sort());
    for (const id of Object.keys(TOTALS)) await created(id);
    expect(Object.fromEntries(emulator.invoices().map((i) => [i.fulfillmentOrderId, [i.currency, i.totalAmount, i.totalTaxAmount, i.totalAmountWithTax]]))).toEqual(TOTALS);
  });

  it('prices with exact decimals: the NYC order sums to 15.95, not a float near it', () => {
    const fo = SALESFORCE_SANDBOX_ORDER_SUMMARIES[5]!.fulfillmentOrders[0]!;
    expect(priceFulfillmentOrder(fo).totalAmountWithTax.toFixed()).toBe('15.95');
  });

  it('an invoice is dated in UTC, due after the order summary payment terms, numbered in sequence', async () => {
    await created(DE_ORDER);
    await created('0a3Dn000000cEXFIA2');
    expect(emulator.invoices().map((i) => [i.documentNumber, i.invoiceDate, i.dueDate])).toEqual([
      ['INV-0000000001', '2024-05-01', '2024-05-15'],
      ['INV-0000000002', '2024-05-01', '2024-05-31'],
    ]);
  });
});

describe('API versions', () => {
  it('serves create-invoice from v48.0, and nothing under an older version', async () => {
    expect((await call('POST', '/services/data/v48.0/commerce/fulfillment/fulfillment-orders/0a3Dn000000cEXFIA2/actions/create-invoice', { json: {} })).status).toBe(201);
    const old = await soql(`${SELECT_FO} ('${DE_ORDER}')`, '/services/data/v47.0');
    expect([old.status, old.body]).toEqual([404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]]);
    expect((await call('GET', '/services/data/v67.0/query?q=x')).status).toBe(404);
  });

  it('serves create-multiple-invoices from v52.0: invoices what it can and reports the rest', async () => {
    const ids = ['0a3Dn000000cEXFIA2', SALESFORCE_SANDBOX_CANCELLED_FULFILLMENT_ORDER_ID];
    expect((await call('POST', '/services/data/v51.0/commerce/fulfillment/fulfillment-orders/actions/create-multiple-invoices', { json: { fulfillmentOrderIds: ids } })).status).toBe(404);
    const answer = await call('POST', '/services/data/v52.0/commerce/fulfillment/fulfillment-orders/actions/create-multiple-invoices', { json: { fulfillmentOrderIds: ids } });
    expect(answer.status).toBe(201);
    expect(normalized(answer.body)).toEqual({
      errors: [{ errorCode: 'INVALID_STATUS', message: `You can't create an invoice for fulfillment order ${SALESFORCE_SANDBOX_CANCELLED_FULFILLMENT_ORDER_ID} because its status is Cancelled.` }],
      invoiceIds: ['<3tt#1>'],
      success: false,
    });
    // The one it invoiced now refuses a second invoice through the single action too.
    expect((await createInvoice('0a3Dn000000cEXFIA2')).body.errorCode).toBe('DUPLICATE_VALUE');
  });
});

describe('create-invoice requests', () => {
  it('an empty body is the empty input', async () => {
    expect((await createInvoice(DE_ORDER, {})).status).toBe(201);
  });

  it('the 15-character id and an 18-character id in capitals name the same fulfillment order', async () => {
    await created(DE_ORDER.slice(0, 15));
    expect((await createInvoice(DE_ORDER.toUpperCase())).body.errorCode).toBe('DUPLICATE_VALUE');
  });

  it('a property the input does not have, or a body that is not JSON: JSON_PARSER_ERROR, nothing created', async () => {
    const extra = await createInvoice(DE_ORDER, { json: { invoiceDate: '2024-05-01' } });
    expect([extra.status, extra.body]).toEqual([400, [{ errorCode: 'JSON_PARSER_ERROR', message: 'Unrecognized field "invoiceDate"' }]]);
    const broken = await createInvoice(DE_ORDER, { raw: { contentType: 'application/json', body: '{' } });
    expect([broken.status, broken.body[0].errorCode]).toEqual([400, 'JSON_PARSER_ERROR']);
    expect(emulator.invoices()).toEqual([]);
  });

  it('GET on the action: 405 with the allowed method', async () => {
    const answer = await call('GET', `${FO}/${DE_ORDER}/actions/create-invoice`);
    expect([answer.status, answer.body]).toEqual([405, [{ errorCode: 'METHOD_NOT_ALLOWED', message: "HTTP Method 'GET' not allowed. Allowed are POST" }]]);
  });

  it('no session, or an unknown one: 401, and not counted against the limit', async () => {
    expect((await createInvoice(DE_ORDER, { token: null, json: {} })).body).toEqual([{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }]);
    expect(emulator.apiUsage).toBe(0);
  });
});

describe('SOQL', () => {
  it('keywords, object and field names in any case; ids of 15 or 18 characters; fields in the order asked, canonically spelled', async () => {
    const answer = await soql(`select status, ID from fulfillmentorder where id in ('${DE_ORDER.slice(0, 15)}', '0a3Dn000000cEXFIA2')`);
    expect(answer.body).toEqual({
      totalSize: 2,
      done: true,
      records: [
        { attributes: { type: 'FulfillmentOrder', url: `${V}/sobjects/FulfillmentOrder/0a3Dn000000cEXFIA2` }, Status: 'Fulfilled', Id: '0a3Dn000000cEXFIA2' },
        { attributes: { type: 'FulfillmentOrder', url: `${V}/sobjects/FulfillmentOrder/${DE_ORDER}` }, Status: 'Fulfilled', Id: DE_ORDER },
      ],
    });
  });

  it('no match: an empty, finished result', async () => {
    expect((await soql(`${SELECT_INVOICE} ('3ttDn000000AAAAAAA')`)).body).toEqual({ totalSize: 0, done: true, records: [] });
  });

  it.each<[string, string, string, string | RegExp]>([
    ['no query', '', 'MALFORMED_QUERY', 'A query string has to be specified'],
    ['an empty IN list', "SELECT Id FROM Invoice WHERE Id IN ()", 'MALFORMED_QUERY', /Column:37\nunexpected token: \)$/],
    ['an unterminated string', "SELECT Id FROM Invoice WHERE Id IN ('3tt", 'MALFORMED_QUERY', /unexpected token: <EOF>$/],
    ['a field twice', "SELECT Id, id FROM Invoice WHERE Id IN ('3ttDn000000AAAAAAA')", 'MALFORMED_QUERY', 'duplicate field selected: id'],
    ['a clause after the IN list it does not know', "SELECT Id FROM Invoice WHERE Id IN ('3ttDn000000AAAAAAA') GROUP BY Id", 'MALFORMED_QUERY', /unexpected token: GROUP$/],
    ['an unknown object', "SELECT Id FROM Invoices WHERE Id IN ('3ttDn000000AAAAAAA')", 'INVALID_TYPE', /Column:16\nsObject type 'Invoices' is not supported\./],
    ['an unknown filter field', "SELECT Id FROM Invoice WHERE OrderId IN ('3ttDn000000AAAAAAA')", 'INVALID_FIELD', /No such column 'OrderId' on entity 'Invoice'/],
    ['a value that is no id', "SELECT Id FROM Invoice WHERE Id IN ('INV-0000000001')", 'INVALID_QUERY_FILTER_OPERATOR', 'invalid ID field: INV-0000000001'],
  ])('%s: 400 %s', async (_case, q, errorCode, message) => {
    const answer = q === '' ? await call('GET', `${V}/query`) : await soql(q);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual([{ errorCode, message: typeof message === 'string' ? message : expect.stringMatching(message) }]);
  });

  it('a query locator is read page by page to the end, and is unknown past it', async () => {
    await created(DE_ORDER);
    await created('0a3Dn000000cEXFIA2');
    const ids = emulator.invoices().map((i) => `'${i.id}'`);
    const first = await soql(`${SELECT_LINES} (${ids.join(',')})`);
    expect([first.body.totalSize, first.body.done, first.body.records.length]).toEqual([5, false, 2]);
    const second = await call('GET', first.body.nextRecordsUrl);
    const third = await call('GET', second.body.nextRecordsUrl);
    expect([third.body.done, third.body.records.length, 'nextRecordsUrl' in third.body]).toEqual([true, 1, false]);
    const lines = [...first.body.records, ...second.body.records, ...third.body.records];
    expect(new Set(lines.map((l: { Id: string }) => l.Id)).size).toBe(5);
    const past = await call('GET', first.body.nextRecordsUrl.replace(/-\d+$/, '-5'));
    expect([past.status, past.body]).toEqual([400, [{ errorCode: 'INVALID_QUERY_LOCATOR', message: 'invalid query locator' }]]);
  });
});

describe('SOQL over SystemModstamp (the change feed)', () => {
  let clock = new Date('2026-12-01T10:00:00.000Z');
  let org: SalesforceEmulator;
  const at = (iso: string) => (clock = new Date(iso));
  const q = (text: string) => httpCall(`${org.baseUrl}${V}/query?q=${encodeURIComponent(text)}`, 'GET', { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` }, {});
  const invoice = async (fulfillmentOrderId: string): Promise<string> => {
    const a = await httpCall(`${org.baseUrl}${FO}/${fulfillmentOrderId}/actions/create-invoice`, 'POST', { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` }, { json: {} });
    return a.body.invoiceId;
  };
  const CHANGED = 'SELECT Id, SystemModstamp FROM Invoice WHERE SystemModstamp >';

  beforeAll(async () => {
    org = new SalesforceEmulator({ now: () => clock });
    await org.start();
  });
  afterAll(() => org.stop());
  beforeEach(() => {
    org.reset();
    at('2026-12-01T10:00:00.000Z');
  });

  it('an invoice is stamped when created, and again by every payment, credit and void', async () => {
    const a = await invoice(DE_ORDER);
    at('2026-12-01T10:05:00.000Z');
    const b = await invoice('0a3Dn000000cEXFIA2');
    const all = await q('SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp FROM Invoice ORDER BY Id');
    expect(all.body.records.find((r: { Id: string }) => r.Id === a)).toMatchObject({ CreatedDate: '2026-12-01T10:00:00.000+0000', LastModifiedDate: '2026-12-01T10:00:00.000+0000', SystemModstamp: '2026-12-01T10:00:00.000+0000' });

    at('2026-12-01T11:00:00.000Z');
    org.recordPayment(a, '10.00');
    at('2026-12-01T11:30:00.000Z');
    org.recordCredit(a, '5.00');
    at('2026-12-01T12:00:00.000Z');
    org.voidInvoice(b);
    const changed = await q(`${CHANGED} 2026-12-01T10:30:00Z ORDER BY SystemModstamp, Id`);
    expect(changed.status).toBe(200);
    expect(changed.body.records.map((r: { Id: string; SystemModstamp: string }) => [r.Id, r.SystemModstamp])).toEqual([
      [a, '2026-12-01T11:30:00.000+0000'],
      [b, '2026-12-01T12:00:00.000+0000'],
    ]);
    const row = (await q(`SELECT Id, LastModifiedDate, CreatedDate FROM Invoice WHERE Id IN ('${a}')`)).body.records[0];
    expect(row).toMatchObject({ LastModifiedDate: '2026-12-01T11:30:00.000+0000', CreatedDate: '2026-12-01T10:00:00.000+0000' });
    expect((await q(`${CHANGED} 2026-12-01T12:00:00Z`)).body).toEqual({ totalSize: 0, done: true, records: [] });
  });

  it('compares instants whatever the offset written; orders by the fields in turn, DESC reverses; LIMIT cuts', async () => {
    const a = await invoice(DE_ORDER);
    at('2026-12-01T10:00:01.000Z');
    const b = await invoice('0a3Dn000000cEXFIA2');
    const ids = async (text: string) => (await q(text)).body.records.map((r: { Id: string }) => r.Id);
    expect(await ids(`${CHANGED} 2026-12-01T11:00:00.500+01:00 ORDER BY SystemModstamp`)).toEqual([b]);
    expect(await ids(`${CHANGED}= 2026-12-01T05:00:00-05:00 ORDER BY SystemModstamp DESC, Id`)).toEqual([b, a]);
    expect(await ids('SELECT Id FROM Invoice WHERE SystemModstamp<2026-12-01T10:00:01Z')).toEqual([a]);
    expect(await ids(`SELECT Id FROM Invoice WHERE SystemModstamp = 2026-12-01T10:00:01Z`)).toEqual([b]);
    expect(await ids(`${CHANGED} 2026-01-01T00:00:00Z ORDER BY SystemModstamp, Id LIMIT 1`)).toEqual([a]);
    expect(await ids(`SELECT Id FROM Invoice WHERE Id IN ('${a}', '${b}') ORDER BY CreatedDate DESC`)).toEqual([b, a]);
  });

  it('a result longer than a page is read through its locator, in order', async () => {
    const small = new SalesforceEmulator({ now: () => clock, queryPageSize: 1 });
    await small.start();
    try {
      const made: string[] = [];
      for (const [i, fo] of [DE_ORDER, '0a3Dn000000cEXFIA2'].entries()) {
        at(`2026-12-01T10:00:0${i}.000Z`);
        const a = await httpCall(`${small.baseUrl}${FO}/${fo}/actions/create-invoice`, 'POST', { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` }, { json: {} });
        made.push(a.body.invoiceId);
      }
      const first = await httpCall(`${small.baseUrl}${V}/query?q=${encodeURIComponent(`${CHANGED} 2026-01-01T00:00:00Z ORDER BY SystemModstamp, Id`)}`, 'GET', { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` }, {});
      expect([first.body.totalSize, first.body.done, first.body.records[0].Id]).toEqual([2, false, made[0]]);
      const second = await httpCall(`${small.baseUrl}${first.body.nextRecordsUrl}`, 'GET', { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` }, {});
      expect([second.body.done, second.body.records[0].Id]).toEqual([true, made[1]]);
    } finally {
      await small.stop();
    }
  });

  it('describes the audit fields as dateTimes', async () => {
    const d = await httpCall(`${org.baseUrl}${V}/sobjects/Invoice/describe`, 'GET', { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` }, {});
    const types = Object.fromEntries(d.body.fields.map((f: { name: string; type: string }) => [f.name, f.type]));
    expect([types.CreatedDate, types.LastModifiedDate, types.SystemModstamp]).toEqual(['datetime', 'datetime', 'datetime']);
  });

  it.each<[string, string, string, string | RegExp]>([
    ['a thirteenth month', `${CHANGED} 2026-13-01T10:00:00Z`, 'MALFORMED_QUERY', /Column:63\nInvalid datetime: 2026-13-01T10:00:00Z$/],
    ['a 30 February', `${CHANGED} 2026-02-30T10:00:00Z`, 'MALFORMED_QUERY', /Invalid datetime: 2026-02-30T10:00:00Z$/],
    ['an hour 24', `${CHANGED} 2026-12-01T24:00:00Z`, 'MALFORMED_QUERY', /Invalid datetime/],
    ['no time zone', `${CHANGED} 2026-12-01T10:00:00`, 'MALFORMED_QUERY', /Invalid datetime: 2026-12-01T10:00:00$/],
    ['a date only', `${CHANGED} 2026-12-01`, 'MALFORMED_QUERY', /Invalid datetime: 2026-12-01$/],
    ['a quoted dateTime', `${CHANGED} '2026-12-01T10:00:00Z'`, 'INVALID_FIELD', /value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes$/],
    ['a dateTime for an id', 'SELECT Id FROM Invoice WHERE Id > 2026-12-01T10:00:00Z', 'INVALID_FIELD', /must be of type id and should be enclosed in quotes$/],
    ['no value', `${CHANGED} ORDER BY Id`, 'MALFORMED_QUERY', /unexpected token: ORDER$/],
    ['an unknown ORDER BY field', 'SELECT Id FROM Invoice ORDER BY ModStamp', 'INVALID_FIELD', /No such column 'ModStamp' on entity 'Invoice'/],
    ['ORDER without BY', 'SELECT Id FROM Invoice ORDER SystemModstamp', 'MALFORMED_QUERY', /unexpected token: SystemModstamp$/],
    ['a LIMIT that is no number', 'SELECT Id FROM Invoice LIMIT ten', 'MALFORMED_QUERY', /unexpected token: ten$/],
    ['two conditions (not understood here)', `${CHANGED} 2026-12-01T10:00:00Z AND Id > '3ttDn000000AAAAAAA'`, 'MALFORMED_QUERY', /unexpected token: AND$/],
  ])('%s: 400 %s', async (_case, text, errorCode, message) => {
    const answer = await q(text);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual([{ errorCode, message: typeof message === 'string' ? message : expect.stringMatching(message) }]);
  });
});

describe('the daily API request limit', () => {
  it('counts every authenticated request, reports it on each answer, and refuses past the limit without counting', async () => {
    const limited = new SalesforceEmulator({ apiRequestLimit: 2 });
    await limited.start();
    try {
      const get = () => fetch(`${limited.baseUrl}${V}/query?q=x`, { headers: { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` } });
      const answers = [await get(), await get(), await get()];
      expect(answers.map((a) => [a.status, a.headers.get('sforce-limit-info')])).toEqual([
        [400, 'api-usage=1/2'],
        [400, 'api-usage=2/2'],
        [403, 'api-usage=2/2'],
      ]);
      limited.reset();
      expect((await get()).headers.get('sforce-limit-info')).toBe('api-usage=1/2');
    } finally {
      await limited.stop();
    }
  });
});
