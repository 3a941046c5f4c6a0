import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decimal } from '../../domain/money';
import { TransportError, type HttpResponse } from '../shared/http-client';
import { isNotFound, mapZuoraFailure } from './zuora.errors';
import type { ZuoraCreateInput, ZuoraFulfillment } from './zuora.input';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'zuora');
const fixture = (name: string): { status: number; body: unknown } => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const response = (status: number, json: unknown, headers: Record<string, string> = {}): HttpResponse => ({ status, json, headers, text: json === undefined ? '' : JSON.stringify(json) });
const envelope = (...reasons: Array<[number | string, string]>) => ({ success: false, processId: 'A1B2C3D4E5F60718', reasons: reasons.map(([code, message]) => ({ code, message })) });

const OLI_A = '4028828c82819b740182821bb23e15c4';
const OLI_B = '8ad0887e8a0f4f2c018a10a1d6e70301';
const f = (orderLineItemId: string, fulfillmentType: ZuoraFulfillment['fulfillmentType'] = 'Delivery'): ZuoraFulfillment => ({
  orderLineItemId,
  quantity: new Decimal(1),
  fulfillmentDate: '2024-05-01',
  billTargetDate: null,
  fulfillmentType,
  state: 'SentToBilling',
  externalId: null,
  trackingNumber: null,
  carrier: null,
  description: null,
});
const input: ZuoraCreateInput = {
  fulfillments: [f(OLI_A), f(OLI_B), f(OLI_B, 'Return')],
  processingOptions: { runBilling: true, collectPayment: true, documentDate: null, targetDate: null },
};
const createFailure = (...reasons: Array<[number | string, string]>) => mapZuoraFailure(response(200, envelope(...reasons)), 'create', input);
const codes = (err: ReturnType<typeof mapZuoraFailure>) => err.userErrors.map((e) => [e.code, e.field?.join('.') ?? null]);

describe("mapZuoraFailure: Zuora's envelope, by reason category", () => {
  it('HTTP 200 with success false is a failure; an unknown line item points at the fulfillment naming it', () => {
    const err = createFailure([59100140, `Cannot find entity by key: '${OLI_B}'.`]);
    expect(codes(err)).toEqual([['ORDER_NOT_FOUND', 'fulfillments.1.orderLineItemId']]);
    expect(err.userErrors[0]).toMatchObject({ providerCode: '59100140', providerMessage: `Cannot find entity by key: '${OLI_B}'.` });
    expect(err.disposition).toBe('final');
  });

  it("a read's not found (the fixture) is a refusal, not an order problem", () => {
    const { status, body } = fixture('response.200.not-found.json');
    const err = mapZuoraFailure(response(status, body), 'read');
    expect(codes(err)).toEqual([['PROVIDER_REFUSED', null]]);
    expect(err.userErrors[0]).toMatchObject({ providerCode: '50000040', providerMessage: "Cannot find entity by key: 'INV99999999'." });
  });

  it('invalid and missing values (20-23) are INVALID_INPUT on the path the message names', () => {
    const err = mapZuoraFailure(
      response(
        400,
        envelope(
          [59100220, "'fulfillments[2].quantity' value should be a number greater than 0."],
          [59100322, "'fulfillments[0].fulfillmentDate' is required."],
          [59100020, "'processingOptions.billingOptions.targetDate' value should be a date in yyyy-MM-dd format."],
          [59100021, "'fulfillments[1].colour' is not a known field."],
          [53100320, "'termType' value should be one of: TERMED, EVERGREEN"],
        ),
      ),
      'create',
      input,
    );
    expect(codes(err)).toEqual([
      ['INVALID_INPUT', 'fulfillments.2.quantity'],
      ['INVALID_INPUT', 'fulfillments.0.fulfillmentDate'],
      ['INVALID_INPUT', 'processingOptions.targetDate'],
      ['INVALID_INPUT', 'fulfillments.1'],
      ['INVALID_INPUT', null],
    ]);
    expect(err.disposition).toBe('final');
  });

  it('rule restrictions (30): quantities, what is left, payment methods', () => {
    const pending = (n: string) => `The quantity 3 of the delivery fulfillments for order line item '${OLI_B}' exceeds the quantity pending fulfillment (${n}).`;
    const returnable = (n: string) => `The quantity 1 of the return fulfillments for order line item '${OLI_B}' exceeds the quantity available for return (${n}).`;
    expect(codes(createFailure([59100230, pending('2')]))).toEqual([['INVALID_INPUT', 'fulfillments.1.quantity']]);
    expect(codes(createFailure([59100230, pending('0')]))).toEqual([['ALREADY_INVOICED', 'fulfillments.1.quantity']]);
    expect(codes(createFailure([59100230, returnable('0')]))).toEqual([['NOTHING_TO_CREDIT', 'fulfillments.2.quantity']]);
    expect(codes(createFailure([59100230, returnable('0.5')]))).toEqual([['INVALID_INPUT', 'fulfillments.2.quantity']]);
    expect(codes(createFailure([53010030, "Cannot collect payment: account 'A00000003' has no default payment method."]))).toEqual([
      ['PROVIDER_SETTINGS_MISMATCH', 'processingOptions.collectPayment'],
    ]);
    expect(codes(createFailure([53010030, 'The order is cancelled.']))).toEqual([['PROVIDER_REFUSED', null]]);
  });

  it('one error per reason, with its own code and message', () => {
    const err = createFailure([59100140, `Cannot find entity by key: '${OLI_A}'.`], [53010030, "Cannot collect payment: account 'A00000003' has no default payment method."]);
    expect(err.userErrors.map((e) => e.providerCode)).toEqual(['59100140', '53010030']);
  });

  it('codes sent as strings (as some Zuora schemas declare them) classify the same', () => {
    expect(codes(createFailure(['59100140', `Cannot find entity by key: '${OLI_A}'.`]))).toEqual([['ORDER_NOT_FOUND', 'fulfillments.0.orderLineItemId']]);
  });

  it.each<[number, string, 'create' | 'read', string, string]>([
    [50000010, 'No permission', 'create', 'PROVIDER_UNAUTHORIZED', 'final'],
    [90000011, 'this resource is protected, please sign in first', 'read', 'PROVIDER_UNAUTHORIZED', 'final'],
    [50000045, 'Unsupported', 'create', 'PROVIDER_REFUSED', 'final'],
    [50000050, 'Operation failed due to lock competition', 'create', 'PROVIDER_UNAVAILABLE', 'retryable'],
    [50000060, 'Internal error', 'create', 'PROVIDER_UNAVAILABLE', 'indeterminate'],
    [50000060, 'Internal error', 'read', 'PROVIDER_UNAVAILABLE', 'retryable'],
    [50000061, 'Temporary error', 'create', 'PROVIDER_UNAVAILABLE', 'retryable'],
    [50000070, 'Request exceeded limit', 'create', 'RATE_LIMITED', 'retryable'],
    [50000090, 'Malformed JSON request body.', 'create', 'PROVIDER_REFUSED', 'final'],
    [50000099, 'Tax engine integration error', 'create', 'PROVIDER_REFUSED', 'final'],
    // A category Zuora does not document: on a create it may hide an invoice, so it is not a refusal.
    [50000000, 'Something went wrong', 'create', 'PROVIDER_UNAVAILABLE', 'indeterminate'],
    [50000000, 'Something went wrong', 'read', 'PROVIDER_REFUSED', 'final'],
  ])('category of %s (%s) on %s: %s, %s', (code, message, operation, expected, disposition) => {
    const err = mapZuoraFailure(response(200, envelope([code, message])), operation, input);
    expect(err.userErrors[0]!.code).toBe(expected);
    expect(err.disposition).toBe(disposition);
  });

  it('a mixed answer takes the safest disposition: may have acted, then refused', () => {
    expect(createFailure([50000060, 'Internal error'], [59100220, "'fulfillments[0].quantity' bad"]).disposition).toBe('indeterminate');
    expect(createFailure([50000050, 'lock'], [59100220, "'fulfillments[0].quantity' bad"]).disposition).toBe('final');
  });
});

describe('mapZuoraFailure: statuses and transport', () => {
  it('401 (the fixture): PROVIDER_UNAUTHORIZED, final, with Zuora\'s code', () => {
    const { status, body } = fixture('response.401.unauthorized.json');
    const err = mapZuoraFailure(response(status, body), 'read');
    expect(err.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAUTHORIZED', providerCode: '90000011', providerMessage: 'this resource is protected, please sign in first' })]);
    expect(err.disposition).toBe('final');
  });

  it('429: RATE_LIMITED, retryable, waiting what RateLimit-Reset says (seconds from now)', () => {
    const err = mapZuoraFailure(response(429, envelope([50000070, 'limit']), { 'ratelimit-limit': '50000', 'ratelimit-remaining': '0', 'ratelimit-reset': '17' }), 'create', input);
    expect(err.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 17 });
    expect(err.disposition).toBe('retryable');
    expect(mapZuoraFailure(response(429, undefined, { 'retry-after': '3', 'ratelimit-reset': '40' }), 'read').userErrors[0]!.retryAfterSeconds).toBe(3);
  });

  it("the Idempotency-Key's own statuses: 409 still in progress (may act), 422 key used on another request", () => {
    const inFlight = mapZuoraFailure(response(409, envelope([50000150, 'A request with the same Idempotency-Key is still in progress.'])), 'create', input);
    expect([inFlight.userErrors[0]!.code, inFlight.disposition]).toEqual(['IN_PROGRESS', 'indeterminate']);
    const mismatch = mapZuoraFailure(response(422, envelope([50000130, 'The Idempotency-Key was used with another request URL or HTTP method.'])), 'create', input);
    expect([mismatch.userErrors[0]!.code, mismatch.disposition]).toEqual(['IDEMPOTENCY_CONFLICT', 'final']);
  });

  it('5xx: PROVIDER_UNAVAILABLE; the create may have happened, a read may be retried', () => {
    expect(mapZuoraFailure(response(502, undefined), 'create', input)).toMatchObject({ disposition: 'indeterminate' });
    expect(mapZuoraFailure(response(500, envelope([50000060, 'boom'])), 'read')).toMatchObject({ disposition: 'retryable' });
  });

  it('a success status with a body that is neither success nor failure: unknown outcome, never a success', () => {
    const err = mapZuoraFailure(response(200, { weird: true }), 'create', input);
    expect([err.userErrors[0]!.code, err.disposition]).toEqual(['PROVIDER_UNAVAILABLE', 'indeterminate']);
    expect(mapZuoraFailure(response(200, { success: false }), 'create', input)).toMatchObject({ disposition: 'final' });
  });

  it('transport failures: a refused connection never reached Zuora, a timeout on create may have', () => {
    expect(mapZuoraFailure(new TransportError('unreachable', 'ECONNREFUSED'), 'create', input)).toMatchObject({ disposition: 'retryable' });
    expect(mapZuoraFailure(new TransportError('timeout', 'timed out'), 'create', input)).toMatchObject({ disposition: 'indeterminate' });
    expect(mapZuoraFailure(new TransportError('reset', 'socket hang up'), 'read')).toMatchObject({ disposition: 'retryable' });
  });

  it('the token endpoint: bad credentials are final; its outages are retryable, since nothing else was sent', () => {
    const bad = mapZuoraFailure(response(401, { error: 'invalid_client', error_description: 'Bad client credentials' }), 'token');
    expect(bad.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerMessage: 'invalid_client: Bad client credentials' });
    expect(bad.disposition).toBe('final');
    expect(mapZuoraFailure(response(400, { error: 'unsupported_grant_type' }), 'token').userErrors[0]!.code).toBe('PROVIDER_UNAUTHORIZED');
    expect(mapZuoraFailure(response(503, undefined), 'token')).toMatchObject({ disposition: 'retryable' });
    expect(mapZuoraFailure(new TransportError('timeout', 'timed out'), 'token')).toMatchObject({ disposition: 'retryable' });
    expect(mapZuoraFailure(response(200, { token_type: 'bearer' }), 'token')).toMatchObject({ disposition: 'retryable' });
    // A success-shaped failure of the token request is no refusal of anything: retryable, never final.
    expect(mapZuoraFailure(response(200, { success: false, reasons: [{ code: 50000000, message: 'Something went wrong' }] }), 'token')).toMatchObject({ disposition: 'retryable' });
  });
});

describe('isNotFound: what a read of an unknown id answers, and nothing else', () => {
  const read = (status: number, json: unknown) => mapZuoraFailure(response(status, json), 'read');
  it("is every reason in category 40, on Zuora's 200 with success false or on 404", () => {
    expect(isNotFound(read(200, envelope([50000040, "Cannot find entity by key: 'x'."])))).toBe(true);
    expect(isNotFound(read(404, envelope([50000040, 'The requested resource does not exist.'])))).toBe(true);
  });
  it('is not a 5xx naming a missing record, a mixed answer, another category, a bare 404, a transport failure or another error', () => {
    expect(isNotFound(read(500, envelope([50000040, 'not found'])))).toBe(false);
    expect(isNotFound(read(200, envelope([50000040, 'not found'], [50000060, 'internal error'])))).toBe(false);
    expect(isNotFound(read(200, envelope([50000020, 'invalid value'])))).toBe(false);
    expect(isNotFound(read(404, undefined))).toBe(false);
    expect(isNotFound(mapZuoraFailure(new TransportError('reset', 'socket hang up'), 'read'))).toBe(false);
    expect(isNotFound(new Error('not found'))).toBe(false);
  });
});
