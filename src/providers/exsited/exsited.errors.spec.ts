import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TransportError, type HttpResponse } from '../shared/http-client';
import { mapExsitedFailure } from './exsited.errors';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'exsited');
const fixture = (prefix: string): { status: number; body: unknown } => {
  const file = readdirSync(FIXTURES).find((f) => f.startsWith(prefix));
  if (!file) throw new Error(`no fixture ${prefix}`);
  return JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
};
const response = (status: number, json: unknown, headers: Record<string, string> = {}): HttpResponse => ({ status, json, headers, text: json === undefined ? '' : JSON.stringify(json) });
const refusal = (status: number, ...messages: string[]) => response(status, { errors: messages.map((message) => ({ message })) });
const summary = (e: ReturnType<typeof mapExsitedFailure>) => e.userErrors.map((u) => [u.code, u.field?.join('.') ?? null]);

describe("mapExsitedFailure: Exsited's documented error shapes", () => {
  it.each([
    ['response.400.', 'create', 'PROVIDER_REFUSED'],
    ['response.401.', 'create', 'PROVIDER_UNAUTHORIZED'],
    ['response.403.', 'create', 'PROVIDER_UNAUTHORIZED'],
    ['response.404.', 'create', 'ORDER_NOT_FOUND'],
    ['response.404.', 'read', 'PROVIDER_REFUSED'],
  ] as const)('%s on %s: %s, final, with the message kept verbatim', (prefix, operation, code) => {
    const f = fixture(prefix);
    const err = mapExsitedFailure(response(f.status, f.body), operation);
    expect(err.userErrors).toEqual([expect.objectContaining({ code, providerCode: String(f.status), providerMessage: 'MESSAGE' })]);
    expect(err.disposition).toBe('final');
  });

  it("reads each 400 message for its meaning (the emulator's wording, and close variants)", () => {
    const one = (message: string, chosenBy?: 'caller' | 'us') => summary(mapExsitedFailure(refusal(400, message), 'create', { invoiceIdChosenBy: chosenBy }))[0];
    expect(one('Order ORD-4X7Z9C has already been fully invoiced.')).toEqual(['ALREADY_INVOICED', 'orderId']);
    expect(one('Order ORD-9P4S6T has already been invoiced for the billing period 2024-05-01 to 2024-05-31.')).toEqual(['ALREADY_INVOICED', 'orderId']);
    expect(one('An invoice with id INV-DUP already exists.', 'caller')).toEqual(['DUPLICATE_INVOICE_NUMBER', 'invoiceId']);
    expect(one('Duplicate invoice id.', 'caller')).toEqual(['DUPLICATE_INVOICE_NUMBER', 'invoiceId']);
    expect(one('The invoice id must be 1 to 40 letters, digits, hyphens or underscores, starting with a letter or digit.', 'caller')).toEqual(['INVALID_INPUT', 'invoiceId']);
    expect(one('The invoice note must be a string.')).toEqual(['INVALID_INPUT', 'invoiceNote']);
    expect(one('Order ORD-1 does not exist.')).toEqual(['ORDER_NOT_FOUND', 'orderId']);
    expect(one('Order ORD-2V5X7Z starts on 2024-05-06: there is nothing to invoice yet.')).toEqual(['PROVIDER_REFUSED', null]);
  });

  it('a taken id we derived is not on a field the caller set, and says what to do', () => {
    const err = mapExsitedFailure(refusal(400, 'An invoice with id INV-0A1B already exists.'), 'create', { invoiceIdChosenBy: 'us' });
    expect(err.userErrors).toEqual([
      expect.objectContaining({ code: 'DUPLICATE_INVOICE_NUMBER', field: null, message: expect.stringContaining('idempotency key'), providerMessage: 'An invoice with id INV-0A1B already exists.' }),
    ]);
  });

  it('one userError per message, each with its own words', () => {
    const err = mapExsitedFailure(refusal(400, 'The invoice id must be 1 to 40 letters.', 'The invoice note must be a string.'), 'create', { invoiceIdChosenBy: 'caller' });
    expect(err.userErrors.map((e) => [e.field?.join('.'), e.providerMessage])).toEqual([
      ['invoiceId', 'The invoice id must be 1 to 40 letters.'],
      ['invoiceNote', 'The invoice note must be a string.'],
    ]);
  });

  it('the token endpoint refusing us is a configuration problem, whatever its status', () => {
    for (const status of [400, 401, 403]) {
      const err = mapExsitedFailure(refusal(status, 'Invalid client credentials.'), 'token');
      expect(err).toMatchObject({ disposition: 'final', cause_: `token:http:${status}` });
      expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerMessage: 'Invalid client credentials.' });
    }
  });

  it('429: RATE_LIMITED, retryable, with Retry-After in seconds', () => {
    const err = mapExsitedFailure(response(429, { errors: [{ message: 'Too many requests.' }] }, { 'retry-after': '7' }), 'create');
    expect(err.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 7 });
    expect(err.disposition).toBe('retryable');
  });

  it('5xx and unreadable success bodies: unknown outcome on create, retryable on reads and tokens', () => {
    expect(mapExsitedFailure(response(502, undefined), 'create')).toMatchObject({ disposition: 'indeterminate' });
    expect(mapExsitedFailure(response(500, { errors: [{ message: 'Internal server error.' }] }), 'read')).toMatchObject({ disposition: 'retryable' });
    expect(mapExsitedFailure(response(503, undefined), 'token')).toMatchObject({ disposition: 'retryable' });
    const weird = mapExsitedFailure(response(200, { weird: true }), 'create');
    expect(weird).toMatchObject({ disposition: 'indeterminate', cause_: 'http:200:body' });
    expect(weird.userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('transport failures: a refused connection or a token request never created anything, a create timeout may have', () => {
    expect(mapExsitedFailure(new TransportError('unreachable', 'ECONNREFUSED'), 'create')).toMatchObject({ disposition: 'retryable' });
    expect(mapExsitedFailure(new TransportError('timeout', 'timed out'), 'create')).toMatchObject({ disposition: 'indeterminate' });
    expect(mapExsitedFailure(new TransportError('timeout', 'timed out'), 'token')).toMatchObject({ disposition: 'retryable' });
    expect(mapExsitedFailure(new TransportError('reset', 'socket hang up'), 'read')).toMatchObject({ disposition: 'retryable' });
  });

  it("a body that is not Exsited's keeps its text as the provider message", () => {
    const err = mapExsitedFailure({ status: 418, json: undefined, headers: {}, text: "I'm a teapot" }, 'create');
    expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_REFUSED', providerMessage: "I'm a teapot" });
  });
});
