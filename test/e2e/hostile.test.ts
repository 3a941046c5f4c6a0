import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { loadConfig } from '../../src/server/config';
import { createLogger } from '../../src/server/logger';
import { startServer, type RunningServer } from '../../src/server/main';
import { dropTestSchema, storeName } from '../support/store';

/**
 * Issue 10: the subgraph as an attacker or a careless client meets it, over a real HTTP server. Each test names the
 * finding it reproduces; each failed on the main of 2026-11-29.
 */

interface Answer {
  status: number;
  body: { data?: any; errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }> };
}

/** Log lines as the server writes them, at debug level, to check what reaches an operator's log. */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('debug', stream), lines };
}

function storeVars(prefix: string): Record<string, string> {
  const schema = `${prefix}_${Date.now().toString(36)}`;
  return process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: (typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)) as string });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

const CREATE = 'mutation ($input: CreateInvoiceInput!, $key: String) { createInvoice(input: $input, idempotencyKey: $key) { invoice { id } userErrors { field code message } } }';

describe(`hostile requests over HTTP (${storeName()})`, () => {
  let server: RunningServer;
  const log = capturedLogger();
  const vars = storeVars('hostile');
  const attempts = async () => Number((await server.db.query<{ n: string }>('SELECT count(*) AS n FROM invoice_attempts'))[0]!.n);
  const providerCalls = () => Object.values(server.emulators).reduce((n, e) => n + e!.server.calls.length, 0);
  const errorLines = () => log.lines.filter((l) => (l.level as number) >= 50);

  beforeAll(async () => {
    server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...vars }), log.logger);
  });
  afterAll(async () => {
    await server.stop();
    await dropTestSchema(vars.DATABASE_SCHEMA);
  });
  beforeEach(() => {
    log.lines.length = 0;
    for (const e of Object.values(server.emulators)) e!.server.resetCalls();
  });

  describe('no request can take the process down (point 1)', () => {
    // The failures guarded against held the loop 7 to 12 s. Alone these requests hold it well under 100 ms, but CI
    // runs two jest workers and PostgreSQL on two cores, and a 300 ms limit failed there at 552 ms: a second still
    // fails every one of those bugs by a factor of seven.
    const LOOP_HELD_LIMIT_MS = 1_000;
    /** Runs the request while measuring how long the server's event loop (this process's) was held at most. */
    async function measured<T>(send: () => Promise<T>): Promise<{ answer: T; took: number; loopHeldMs: number; healthy: boolean }> {
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const started = performance.now();
      const answer = await send();
      const took = performance.now() - started;
      delay.disable();
      const healthy = (await fetch(server.url.replace('/graphql', '/health'))).status === 200;
      return { answer, took, loopHeldMs: delay.max / 1e6, healthy };
    }
    const entitiesBody = (n: number) => {
      const representations = Array.from({ length: n }, (_, i) => ({ __typename: 'Order', id: String(1_000_000 + i) }));
      const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: _entities(representations: $r) { ... on Order { id invoices { id total { amount } } } }`).join(' ');
      return JSON.stringify({ query: `query ($r: [_Any!]!) { ${aliases} }`, variables: { r: representations } });
    };

    it('4 MB of 15 _entities aliases over 100,000 Order representations (it ran the heap out of memory): refused in well under a second, the event loop held briefly, /health answering', async () => {
      const body = entitiesBody(100_000);
      expect(body.length).toBeGreaterThan(3_500_000);
      const { answer, took, loopHeldMs, healthy } = await measured(() => post(server.url, body));
      expect(answer.status).toBe(400);
      expect(answer.body.errors![0]).toMatchObject({ message: 'request body holds more than 250000 JSON values', extensions: { code: 'BAD_REQUEST' } });
      expect(took).toBeLessThan(1_000);
      expect(loopHeldMs).toBeLessThan(LOOP_HELD_LIMIT_MS);
      expect(healthy).toBe(true);
      expect(errorLines()).toEqual([]);
    });

    it('1.5 MB of them (they held the event loop and /health 12 s): BAD_USER_INPUT naming the list cap, the loop held briefly', async () => {
      const body = entitiesBody(37_000);
      expect(body.length).toBeGreaterThan(1_400_000);
      const { answer, took, loopHeldMs, healthy } = await measured(() => post(server.url, body));
      expect(answer.status).toBe(400);
      expect(answer.body.errors![0]).toMatchObject({ message: 'variables.r holds 37000 items; a list takes at most 1000.', extensions: { code: 'BAD_USER_INPUT' } });
      expect(took).toBeLessThan(1_000);
      expect(loopHeldMs).toBeLessThan(LOOP_HELD_LIMIT_MS);
      expect(healthy).toBe(true);
    });

    it('14 MiB of tiny JSON values in a variable the operation does not declare: refused before parsing, the loop held briefly', async () => {
      const body = `{"query":"{ __typename }","variables":{"junk":[${'[],'.repeat(4_800_000)}[]]}}`;
      const { answer, loopHeldMs } = await measured(() => post(server.url, body));
      expect(answer.status).toBe(400);
      expect(answer.body.errors![0]!.message).toBe('request body holds more than 250000 JSON values');
      expect(loopHeldMs).toBeLessThan(LOOP_HELD_LIMIT_MS);
    });

    it('an input object with 100,000 fields it does not have (graphql-js quoted the whole object once per field: 7 s, 54 MB): BAD_USER_INPUT naming the first', async () => {
      const input: Record<string, number> = {};
      for (let i = 0; i < 100_000; i++) input[`k${i}`] = 0;
      // Serialised first: what is measured is the server's work, not this test's JSON.stringify of 100,000 fields.
      const body = JSON.stringify({ query: CREATE, variables: { input } });
      const { answer, took, loopHeldMs } = await measured(() => post(server.url, body));
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^variables\.input\.k\d+ is not a field of CreateInvoiceInput\.$/), extensions: { code: 'BAD_USER_INPUT' } })]);
      expect(took).toBeLessThan(1_000);
      expect(loopHeldMs).toBeLessThan(LOOP_HELD_LIMIT_MS);
    });

    it('more than 50 coercion errors (graphql-js then adds one of its own without a code): all BAD_USER_INPUT, nothing logged as an error', async () => {
      const res = await post(server.url, { query: CREATE, variables: { input: { zuora: { fulfillments: Array.from({ length: 20 }, () => ({})) } } } });
      expect(res.status).toBe(400);
      expect(res.body.errors!.length).toBeGreaterThan(50);
      expect(new Set(res.body.errors!.map((e) => e.extensions?.code))).toEqual(new Set(['BAD_USER_INPUT']));
      expect(errorLines()).toEqual([]);
    });

    it('a request target that is no URL (`GET //[` ended the process): 400, and the server goes on', async () => {
      const { port } = new URL(server.url);
      const answer = await new Promise<string>((resolve) => {
        let received = '';
        const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        socket.on('data', (d) => (received += String(d)));
        socket.on('close', () => resolve(received));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
      expect((await fetch(server.url.replace('/graphql', '/health'))).status).toBe(200);
    });

    it('a default value is counted as if sent: 15 aliases over a default list of 250 representations are refused', async () => {
      const reps = Array.from({ length: 250 }, (_, i) => `{ __typename: "Order", id: "${i}" }`).join(', ');
      const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: _entities(representations: $r) { ... on Order { id } }`).join(' ');
      const res = await post(server.url, { query: `query ($r: [_Any!]! = [${reps}]) { ${aliases} }` });
      expect(res.status).toBe(400);
      expect(res.body.errors![0]!.message).toMatch(/asks for 3750 entity representations; at most 1000/);
    });

    it('an explicit null for a variable whose default stands where a value is required (it was an internal error): BAD_USER_INPUT', async () => {
      for (const [query, variables] of [
        ['query ($id: ID = "x") { invoice(id: $id) { id } }', { id: null }],
        ['query ($v: Boolean = false) { __typename @skip(if: $v) }', { v: null }],
      ] as const) {
        const res = await post(server.url, { query, variables });
        expect(res.status).toBe(400);
        expect(res.body.errors![0]).toMatchObject({ message: expect.stringMatching(/^variables\.\w+ is null, but \$\w+ is used where a value is required\.$/), extensions: { code: 'BAD_USER_INPUT' } });
      }
      expect(errorLines()).toEqual([]);
    });

    it('representations are counted across aliases: 15 × 100 is refused, 10 × 100 is served', async () => {
      const r = Array.from({ length: 100 }, (_, i) => ({ __typename: 'Order', id: `o-${i}` }));
      const query = (n: number) => `query ($r: [_Any!]!) { ${Array.from({ length: n }, (_, i) => `a${i}: _entities(representations: $r) { ... on Order { id } }`).join(' ')} }`;
      const refused = await post(server.url, { query: query(15), variables: { r } });
      expect(refused.status).toBe(400);
      expect(refused.body.errors![0]).toMatchObject({
        message: 'This request asks for 1500 entity representations; at most 1000 are served in one request (counted across every _entities field).',
        extensions: { code: 'BAD_USER_INPUT' },
      });
      const served = await post(server.url, { query: query(10), variables: { r } });
      expect(served.status).toBe(200);
      expect(served.body.data.a9).toHaveLength(100);
    });

    it('the sizes of lists sent in variables are priced by the cost limit', async () => {
      const r = Array.from({ length: 300 }, (_, i) => ({ __typename: 'Order', id: `o-${i}` }));
      const deep = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Order { invoices { lines { taxes { amount { amount } } total { amount } } taxes { amount { amount } } kpis { paid { amount } } } } } }';
      const res = await post(server.url, { query: deep, variables: { r } });
      expect(res.status).toBe(400);
      expect(res.body.errors![0]!.extensions!.code).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
      expect(res.body.errors![0]!.message).toMatch(/estimated cost is \d+, over the limit of 500000/);
      // The same selection for a page of 100 orders is what a router sends: served.
      const page = await post(server.url, { query: deep, variables: { r: r.slice(0, 100) } });
      expect(page.status).toBe(200);
      expect(page.body.errors).toBeUndefined();
    });

    it("input lists are bounded to what the provider accepts: Zuora's 100 fulfillments", async () => {
      const fulfillment = { orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70201', quantity: '1', fulfillmentDate: '2024-05-01' };
      const res = await post(server.url, { query: CREATE, variables: { input: { zuora: { fulfillments: Array.from({ length: 101 }, () => fulfillment) } } } });
      expect(res.status).toBe(200);
      expect(res.body.data.createInvoice.userErrors).toEqual([
        { field: ['zuora', 'fulfillments'], code: 'INVALID_INPUT', message: 'Give at most 100 fulfillments in one call (Zuora allows 100 fulfillments per order line item).' },
      ]);
      expect(providerCalls()).toBe(0);
    });

    it('variables nested deeper than any input type are refused, not a stack overflow', async () => {
      const depth = 100_000;
      const body = `{"query":${JSON.stringify(CREATE)},"variables":{"input":{"salla":${'['.repeat(depth)}"x"${']'.repeat(depth)}}}}`;
      const res = await post(server.url, body);
      expect(res.status).toBe(400);
      expect(res.body.errors![0]!.message).toMatch(/nested more than 16 levels deep/);
    });
  });

  describe('decimals are bounded (point 2)', () => {
    it.each([
      ['a Zuora quantity of 1e100000000 (it held the event loop 15 s at 3.6 GB)', { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70201', quantity: '1e100000000', fulfillmentDate: '2024-05-01' }] } }, 'input.zuora.fulfillments[0].quantity'],
      ['a Salla subTotal of 1e-10000000 (it reached Salla as a 10 MB amount)', { salla: { orderId: '1371877152', dataType: 'DATA', invoiceNumber: 'INV-H1', subTotal: '1e-10000000', total: '1', shippingCost: '0', cashOnDeliveryCost: '0' } }, 'input.salla.subTotal'],
      ['a Salla total with 19 digits', { salla: { orderId: '1371877152', dataType: 'DATA', invoiceNumber: 'INV-H2', subTotal: '1', total: '1234567890123456789', shippingCost: '0', cashOnDeliveryCost: '0' } }, 'input.salla.total'],
    ])('%s: refused before any arithmetic, with the limits in the message', async (_name, input, at) => {
      const before = await attempts();
      const started = performance.now();
      const res = await post(server.url, { query: CREATE, variables: { input } });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(res.status).toBe(400);
      expect(res.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(res.body.errors![0]!.message).toContain(`at "${at}"`);
      expect(res.body.errors![0]!.message).toMatch(/at most 18 digits before the decimal point and 12 after it, in at most 64 characters/);
      expect(await attempts()).toBe(before);
      expect(providerCalls()).toBe(0);
    });

    it('a JSON number past 15 significant digits (1234567890123456.78 reached Salla as 1234567890123456.8): refused, asking for a string', async () => {
      const body = `{"query":${JSON.stringify(CREATE)},"variables":{"input":{"salla":{"orderId":"1371877152","dataType":"DATA","invoiceNumber":"INV-N","subTotal":1234567890123456.78,"total":"1","shippingCost":"0","cashOnDeliveryCost":"0"}}}}`;
      const res = await post(server.url, body);
      expect(res.status).toBe(400);
      expect(res.body.errors![0]!.message).toMatch(/arrived as a JSON number, which holds at most 15 significant digits exactly: write it as a string/);
      expect(providerCalls()).toBe(0);
      const exact = await post(server.url, { query: CREATE, variables: { input: { salla: { orderId: '213320125', dataType: 'DATA', invoiceNumber: 'INV-N2', subTotal: 90.5, total: 104.08, shippingCost: 0, cashOnDeliveryCost: 0 } } } });
      expect(exact.body.data.createInvoice.userErrors).toEqual([]);
    });

    it('the same in a literal: a validation error with the limits', async () => {
      const res = await post(server.url, {
        query: 'mutation { createInvoice(input: { zuora: { fulfillments: [{ orderLineItemId: "8ad0887e8a0f4f2c018a10a1d6e70201", quantity: "1e100000000", fulfillmentDate: "2024-05-01" }] } }) { userErrors { code } } }',
      });
      expect(res.status).toBe(400);
      expect(res.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.body.errors![0]!.message).toMatch(/at most 18 digits before the decimal point/);
    });
  });

  describe('no input is an internal error (point 3)', () => {
    it.each([
      ['idempotencyKey', { input: { commerce: { orderId: '69ab24db449866373d5e3e35' } }, key: 'k\u0000' }, 'variables.key'],
      ['invoiceNote', { input: { exsited: { orderId: 'ORD-7K2M4P', invoiceNote: 'a\u0000b' } } }, 'variables.input.exsited.invoiceNote'],
      ['url', { input: { salla: { orderId: '1371877152', dataType: 'URL', url: 'https://x.example/\u0000.pdf' } } }, 'variables.input.salla.url'],
      ['invoiceNumber', { input: { salla: { orderId: '1371877152', dataType: 'DATA', invoiceNumber: 'INV\u0000', subTotal: '1', total: '1', shippingCost: '0', cashOnDeliveryCost: '0' } } }, 'variables.input.salla.invoiceNumber'],
    ])('a NUL in %s (it was INTERNAL_SERVER_ERROR from the database): BAD_USER_INPUT naming where, nothing recorded', async (_field, variables, at) => {
      const before = await attempts();
      const res = await post(server.url, { query: CREATE, variables });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ message: `${at} holds the character U+0000 (NUL), which this API does not accept.`, extensions: { code: 'BAD_USER_INPUT' } })]);
      expect(await attempts()).toBe(before);
      expect(providerCalls()).toBe(0);
      expect(errorLines()).toEqual([]);
    });

    it("a NUL in an Order representation's id, or in a literal: BAD_USER_INPUT", async () => {
      const entities = await post(server.url, { query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Order { invoices { id } } } }', variables: { r: [{ __typename: 'Order', id: 'o\u0000' }] } });
      expect(entities.status).toBe(400);
      expect(entities.body.errors![0]).toMatchObject({ message: 'variables.r[0].id holds the character U+0000 (NUL), which this API does not accept.', extensions: { code: 'BAD_USER_INPUT' } });
      const literal = await post(server.url, { query: '{ invoice(id: "a\\u0000") { id } }' });
      expect(literal.status).toBe(400);
      expect(literal.body.errors![0]).toMatchObject({ message: 'The string at line 1 holds the character U+0000 (NUL), which this API does not accept.', extensions: { code: 'BAD_USER_INPUT' } });
    });

    it('keys are compared exactly: three keys with different lone surrogates (they replayed one invoice) are refused, and keys differing only in an astral character stay distinct', async () => {
      for (const key of ['key-\uD800', 'key-\uDBFF', 'key-\uDC00']) {
        const res = await post(server.url, { query: CREATE, variables: { input: { commerce: { orderId: '69ab2b77449866373d5e3e50' } }, key } });
        expect(res.status).toBe(400);
        expect(res.body.errors![0]!.message).toBe('variables.key holds an unpaired UTF-16 surrogate (not valid Unicode), which this API does not accept.');
      }
      expect(server.emulators.COMMERCE!.server.countCalls('POST')).toBe(0);
      const first = await post(server.url, { query: CREATE, variables: { input: { commerce: { orderId: '69ab2b77449866373d5e3e50' } }, key: 'key-\u{1D49C}' } });
      expect(first.body.data.createInvoice.userErrors).toEqual([]);
      const second = await post(server.url, { query: CREATE, variables: { input: { commerce: { orderId: '69ab2b77449866373d5e3e50' } }, key: 'key-\u{1D49D}' } });
      // Not a replay of the first key's invoice: a new attempt, which the Commerce API refuses as a second invoice.
      expect(second.body.data.createInvoice).toEqual({ invoice: null, userErrors: [expect.objectContaining({ code: 'ALREADY_INVOICED' })] });
      expect(server.emulators.COMMERCE!.server.countCalls('POST')).toBe(2);
    });

    it("a provider's answer holding NUL or a lone surrogate is recorded with U+FFFD, not an internal error", async () => {
      const salla = server.emulators.SALLA!;
      const fixture = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'salla', 'response.200.example-1.data-data-type-response.json'), 'utf8')).body;
      fixture.data.order_id = 1371877152;
      fixture.data.invoice_number = 'INV\u0000-7';
      fixture.data.items[0].name = 'Dress \uD800';
      salla.server.injectFault({ method: 'GET', path: /\/orders\/invoices\/\d+$/, status: 200, body: fixture });
      const res = await post(server.url, {
        query: 'mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { invoice { number lines { description } } userErrors { code } } }',
        variables: { input: { salla: { orderId: '1371877152', dataType: 'URL', url: 'https://files.example.com/1371877152.pdf' } } },
      });
      salla.server.clearFaults();
      expect(res.status).toBe(200);
      expect(res.body.data.createInvoice).toEqual({ invoice: { number: 'INV\uFFFD-7', lines: [{ description: 'Dress \uFFFD' }] }, userErrors: [] });
      expect(errorLines()).toEqual([]);
    });

    it.each([
      ['a NUL', 'refused\u0000here', 'refused\uFFFDhere'],
      ['an emoji cut in two at 500 characters', `${'x'.repeat(499)}\u{1F600}`, 'x'.repeat(499)],
    ])("a provider's error text with %s (it was an internal error, the attempt left open): a userError keeping its words", async (_name, text, kept) => {
      const salla = server.emulators.SALLA!;
      salla.server.injectFault({ method: 'POST', path: '/admin/v2/orders/invoices', status: 422, headers: { 'content-type': 'text/plain' }, body: text });
      const res = await post(server.url, { query: 'mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { invoice { id } userErrors { code providerMessage } } }', variables: { input: { salla: { orderId: '1818813486', dataType: 'URL', url: 'https://files.example.com/x.pdf' } } } });
      salla.server.clearFaults();
      expect(res.status).toBe(200);
      expect(res.body.data.createInvoice.invoice).toBeNull();
      expect(res.body.data.createInvoice.userErrors).toEqual([expect.objectContaining({ providerMessage: kept })]);
      const open = await server.db.query<{ n: string }>("SELECT count(*) AS n FROM invoice_attempts WHERE state = 'pending'");
      expect(Number(open[0]!.n)).toBe(0);
      expect(errorLines()).toEqual([]);
    });

    it('an idempotency key with a control character: a userError on idempotencyKey', async () => {
      const res = await post(server.url, { query: CREATE, variables: { input: { commerce: { orderId: '69ab24db449866373d5e3e35' } }, key: 'line\nbreak' } });
      expect(res.status).toBe(200);
      expect(res.body.data.createInvoice.userErrors).toEqual([
        { field: ['idempotencyKey'], code: 'INVALID_INPUT', message: 'idempotencyKey holds a control character: it must be 1 to 255 characters of text without control characters.' },
      ]);
    });
  });

  describe('a refused request is a 4xx, never a 500 (point 4)', () => {
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    it.each([
      ['a syntax error', { query: '{ a' }, 400, 'GRAPHQL_PARSE_FAILED', /Syntax Error: Expected Name, found <EOF>/],
      ['the token limit', { query: `{ ${'a '.repeat(3_100)}}` }, 400, 'GRAPHQL_PARSE_FAILED', /Document contains more that 3000 tokens/],
      ['an APQ hash mismatch', { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: sha('{ other }') } } }, 400, 'BAD_REQUEST', /provided sha does not match query/],
      ['a subscription', { query: 'subscription { __typename }' }, 400, 'GRAPHQL_VALIDATION_FAILED', /does not support subscription operations/],
    ])('%s (it was HTTP 500 or INTERNAL_SERVER_ERROR)', async (_name, body, status, code, message) => {
      const res = await post(server.url, body);
      expect(res.status).toBe(status);
      expect(res.body.errors![0]!.extensions!.code).toBe(code);
      expect(res.body.errors![0]!.message).toMatch(message);
      expect(errorLines()).toEqual([]);
    });

    it('invalid UTF-8 in the body: 400 BAD_REQUEST, not a syntax error on U+FFFD', async () => {
      const bytes = Buffer.concat([Buffer.from('{"query":"{ __typename '), Buffer.from([0xff, 0xfe]), Buffer.from(' }"}')]);
      const res = await post(server.url, new Uint8Array(bytes));
      expect(res.status).toBe(400);
      expect(res.body.errors![0]).toMatchObject({ message: 'request body is not valid UTF-8', extensions: { code: 'BAD_REQUEST' } });
      expect(errorLines()).toEqual([]);
    });

    it('an aborted upload is not logged at error level (it was one line per abort)', async () => {
      const { port } = new URL(server.url);
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":');
          setTimeout(() => socket.destroy(), 50);
        });
        socket.on('close', () => resolve());
      });
      await new Promise((r) => setTimeout(r, 100));
      expect(errorLines()).toEqual([]);
      expect(log.lines.some((l) => l.msg === 'client closed the connection before the answer')).toBe(true);
    });
  });

  describe('production hides what clients need not see (point 6)', () => {
    let production: RunningServer;
    beforeAll(async () => {
      production = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', NODE_ENV: 'production', SANDBOX_PROVIDERS: 'all', PGLITE_DATA_DIR: 'memory://' }), createLogger('silent'));
    });
    afterAll(() => production.stop());

    it.each([
      ['a field', '{ invoice(id: "x") { statuss } }', 'Cannot query field "statuss" on type "Invoice".'],
      ['an enum value', 'mutation { createInvoice(input: { salla: { orderId: "1", dataType: URLL } }) { userErrors { code } } }', 'Value "URLL" does not exist in "SallaInvoiceDataType" enum.'],
      ['an argument', '{ invoice(idd: "x") { id } }', 'Unknown argument "idd" on field "Query.invoice".'],
      ['a type', 'query ($i: Invoce) { __typename }', 'Unknown type "Invoce".'],
    ])('development suggests names for %s; production does not', async (_name, query, bare) => {
      const dev = await post(server.url, { query });
      expect(dev.body.errors![0]!.message).toMatch(/Did you mean/);
      const res = await post(production.url, { query });
      expect(res.status).toBe(400);
      expect(res.body.errors![0]!.message).toBe(bare);
    });

    it('stack traces only with NODE_ENV=development (they reached clients, with file paths, through every gateway)', async () => {
      // As `npm start` runs: no NODE_ENV at all (jest sets "test", which Apollo's own default treats as production).
      const saved = process.env.NODE_ENV;
      delete process.env.NODE_ENV;
      try {
        for (const [nodeEnv, shown] of [[undefined, false], ['production', false], ['development', true]] as const) {
          const s = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SANDBOX_PROVIDERS: 'none', PGLITE_DATA_DIR: 'memory://', ...(nodeEnv ? { NODE_ENV: nodeEnv } : {}) }), createLogger('silent'));
          try {
            const body = JSON.stringify((await post(s.url, { query: '{ a' })).body);
            expect([nodeEnv, /stacktrace/.test(body)]).toEqual([nodeEnv, shown]);
          } finally {
            await s.stop();
          }
        }
      } finally {
        process.env.NODE_ENV = saved;
      }
    });
  });
});

describe('production starts no sandbox in place of a real provider (point 6)', () => {
  it('without base URLs nothing is emulated: creates answer PROVIDER_NOT_CONNECTED, and the start warns about ROUTER_SECRET and JWT', async () => {
    const log = capturedLogger();
    const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production', PGLITE_DATA_DIR: 'memory://' }), log.logger);
    try {
      expect(server.sandboxes).toEqual({});
      const res = await post(server.url, { query: CREATE, variables: { input: { salla: { orderId: '1818813486', dataType: 'URL', url: 'https://x.example/a.pdf' } } } });
      expect(res.body.data.createInvoice.userErrors).toEqual([
        { field: ['salla'], code: 'PROVIDER_NOT_CONNECTED', message: 'This service has no connection to SALLA: an operator must configure it before invoices can be created or read there.' },
      ]);
      const warnings = log.lines.filter((l) => l.level === 40).map((l) => l.msg);
      expect(warnings).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^providers not connected/),
          expect.stringMatching(/^ROUTER_SECRET is not set/),
          expect.stringMatching(/^JWT verification is not configured/),
        ]),
      );
    } finally {
      await server.stop();
    }
  });

  it('SANDBOX_PROVIDERS asks for one explicitly', async () => {
    const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production', SANDBOX_PROVIDERS: 'salla', LOG_LEVEL: 'silent', PGLITE_DATA_DIR: 'memory://' }), createLogger('silent'));
    try {
      expect(Object.keys(server.sandboxes)).toEqual(['SALLA']);
    } finally {
      await server.stop();
    }
  });

  it('SANDBOX_PROVIDERS may not name a provider that has a base URL', () => {
    expect(() => loadConfig({ SANDBOX_PROVIDERS: 'salla', SALLA_BASE_URL: 'https://api.salla.dev/admin/v2', SALLA_ACCESS_TOKEN: 't' })).toThrow(/SANDBOX_PROVIDERS: salla has a base URL configured/);
    expect(() => loadConfig({ SANDBOX_PROVIDERS: 'paypal' })).toThrow(/SANDBOX_PROVIDERS must be all, none, or a comma-separated list/);
  });
});

describe('tokens and connections are bounded in time (point 5)', () => {
  const SECRET = 'a-development-hs256-secret-of-32-chars!';
  let server: RunningServer;
  const sign = (claims: Record<string, unknown>, build: (j: SignJWT) => SignJWT = (j) => j.setIssuedAt().setExpirationTime('5m')) =>
    build(new SignJWT({ scope: 'invoices:read', ...claims }).setProtectedHeader({ alg: 'HS256' }).setIssuer('iss').setAudience('aud')).sign(new TextEncoder().encode(SECRET));
  const read = (token: string) => post(server.url, { query: '{ invoice(id: "x") { id } }' }, { authorization: `Bearer ${token}` });

  beforeAll(async () => {
    server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', PGLITE_DATA_DIR: 'memory://', JWT_ISSUER: 'iss', JWT_AUDIENCE: 'aud', JWT_SECRET: SECRET, JWT_MAX_AGE_SECONDS: '3600' }),
      createLogger('silent'),
    );
  });
  afterAll(() => server.stop());

  it('a token without exp (it was accepted forever) is refused with 401', async () => {
    const res = await read(await sign({ tenant_id: 't' }, (j) => j.setIssuedAt()));
    expect(res.status).toBe(401);
    expect(res.body.errors![0]).toMatchObject({ message: 'The bearer token was refused (ERR_JWT_CLAIM_VALIDATION_FAILED).', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('a token older than JWT_MAX_AGE_SECONDS is refused even when its exp is far away; a small clock skew is tolerated', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = await read(await sign({ tenant_id: 't' }, (j) => j.setIssuedAt(now - 3_700).setExpirationTime(now + 86_400 * 365)));
    expect(old.status).toBe(401);
    const skewed = await read(await sign({ tenant_id: 't' }, (j) => j.setIssuedAt(now + 10).setExpirationTime(now + 300)));
    expect(skewed.status).toBe(200);
    const justExpired = await read(await sign({ tenant_id: 't' }, (j) => j.setIssuedAt(now - 120).setExpirationTime(now - 10)));
    expect(justExpired.status).toBe(200);
  });

  it.each([
    ['a NUL', 'tenant\u0000a'],
    ['thousands of characters', 't'.repeat(5_000)],
    ['a lone surrogate', 'tenant-\uD800'],
  ])('a tenant claim with %s (it was INTERNAL_SERVER_ERROR): 401 UNAUTHENTICATED', async (_name, tenant) => {
    const res = await read(await sign({ tenant_id: tenant }));
    expect(res.status).toBe(401);
    expect(res.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(res.body.errors![0]!.message).toMatch(/^The bearer token's "tenant_id" claim /);
  });

  it('a body sent a byte at a time cannot hold a connection past the request timeout', async () => {
    const slow = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', PGLITE_DATA_DIR: 'memory://', HTTP_REQUEST_TIMEOUT_MS: '1500', HTTP_HEADERS_TIMEOUT_MS: '1000' }),
      createLogger('silent'),
    );
    try {
      const { port } = new URL(slow.url);
      const started = performance.now();
      const answer = await new Promise<string>((resolve) => {
        let received = '';
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n');
          const drip = setInterval(() => socket.writable && socket.write('{'), 200);
          socket.on('close', () => clearInterval(drip));
        });
        socket.on('data', (d) => (received += String(d)));
        socket.on('close', () => resolve(received));
        socket.on('error', () => undefined);
      });
      const took = performance.now() - started;
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(took).toBeGreaterThan(1_400);
      expect(took).toBeLessThan(4_000);
    } finally {
      await slow.stop();
    }
  });
});
