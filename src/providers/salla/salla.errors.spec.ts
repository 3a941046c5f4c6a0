import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InvoiceErrorCode } from '../../domain/errors';
import { TransportError, type HttpResponse } from '../shared/http-client';
import { mapSallaFailure } from './salla.errors';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'salla');
const fixture = (prefix: string): { status: number; body: unknown } => {
  const file = readdirSync(FIXTURES).find((f) => f.startsWith(prefix));
  if (!file) throw new Error(`no fixture ${prefix}`);
  return JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
};
const response = (status: number, json: unknown, headers: Record<string, string> = {}): HttpResponse => ({ status, json, headers, text: json === undefined ? '' : JSON.stringify(json) });
const mapped = (prefix: string, operation: 'create' | 'read' = 'create') => {
  const f = fixture(prefix);
  return mapSallaFailure(response(f.status, f.body), operation);
};
const codes = (prefix: string) => mapped(prefix).userErrors.map((e) => [e.code, e.field?.join('.') ?? null]);

describe("mapSallaFailure: every error example of Salla's documentation", () => {
  it.each<[string, Array<[InvoiceErrorCode, string | null]>]>([
    ['response.422.example-6.', [['INVALID_INPUT', 'orderId'], ['INVALID_INPUT', 'type'], ['INVALID_INPUT', 'dataType']]],
    ['response.422.example-7.', [['PROVIDER_SETTINGS_MISMATCH', 'dataType']]],
    ['response.422.example-8.', [['ALREADY_INVOICED', 'orderId']]],
    ['response.422.example-9.', [['PROVIDER_SETTINGS_MISMATCH', 'dataType']]],
    ['response.422.example-10.', [['ALREADY_INVOICED', 'type']]],
    ['response.422.example-11.', [['ORDER_NOT_FOUND', 'orderId']]],
    ['response.422.example-12.', [['INVALID_INPUT', 'url']]],
    [
      'response.422.example-13.',
      [
        ['INVALID_INPUT', 'orderId'],
        ['INVALID_INPUT', 'type'],
        ['INVALID_INPUT', 'invoiceNumber'],
        ['INVALID_INPUT', 'total'],
        ['INVALID_INPUT', 'subTotal'],
        ['INVALID_INPUT', 'shippingCost'],
        ['INVALID_INPUT', 'cashOnDeliveryCost'],
      ],
    ],
    ['response.422.example-14.', [['ALREADY_INVOICED', 'type'], ['DUPLICATE_INVOICE_NUMBER', 'invoiceNumber']]],
    ['response.422.example-15.', [['INVALID_INPUT', 'type'], ['INVALID_INPUT', 'pdfBase64']]],
  ])('%s maps each field to its code and input path', (prefix, expected) => {
    expect(codes(prefix)).toEqual(expected);
    const err = mapped(prefix);
    expect(err.disposition).toBe('final');
    // Salla's own words travel with ours.
    for (const e of err.userErrors) expect(e.providerMessage).toMatch(/\S/);
  });

  it('401: PROVIDER_UNAUTHORIZED, final, with the scope message', () => {
    const err = mapped('response.401.');
    expect(err.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAUTHORIZED', providerCode: 'Unauthorized', providerMessage: expect.stringContaining('orders.read_write') })]);
    expect(err.disposition).toBe('final');
  });

  it('404 on create: the order; on read: the invoice is refused', () => {
    expect(mapped('response.404.').userErrors[0]).toMatchObject({ code: 'ORDER_NOT_FOUND', field: ['orderId'] });
    expect(mapped('response.404.', 'read').userErrors[0]!.code).toBe('PROVIDER_REFUSED');
  });

  it('429: RATE_LIMITED, retryable, with Retry-After in seconds', () => {
    const err = mapSallaFailure(response(429, { status: 429, success: false, error: { code: 'TooManyRequests', message: 'x' } }, { 'retry-after': '12' }), 'create');
    expect(err.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 12 });
    expect(err.disposition).toBe('retryable');
  });

  it('429 without Retry-After: the wait until X-RateLimit-Reset (an epoch second), not the epoch itself', () => {
    const reset = String(Math.floor(Date.now() / 1000) + 30);
    const err = mapSallaFailure(response(429, { status: 429, success: false, error: { code: 'TooManyRequests', message: 'x' } }, { 'x-ratelimit-reset': reset }), 'create');
    expect(err.userErrors[0]!.retryAfterSeconds).toBeGreaterThanOrEqual(29);
    expect(err.userErrors[0]!.retryAfterSeconds).toBeLessThanOrEqual(31);
  });

  it('5xx: PROVIDER_UNAVAILABLE; the create may have happened, a read may be retried', () => {
    expect(mapSallaFailure(response(502, undefined), 'create')).toMatchObject({ disposition: 'indeterminate' });
    expect(mapSallaFailure(response(500, { success: false, error: { message: 'boom' } }), 'read')).toMatchObject({ disposition: 'retryable' });
  });

  it('transport failures: a refused connection never reached Salla, a timeout on create may have', () => {
    expect(mapSallaFailure(new TransportError('unreachable', 'ECONNREFUSED'), 'create')).toMatchObject({ disposition: 'retryable' });
    expect(mapSallaFailure(new TransportError('timeout', 'timed out'), 'create')).toMatchObject({ disposition: 'indeterminate' });
    expect(mapSallaFailure(new TransportError('malformed', 'bad json', 200), 'create').userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('a success status with a body that is not Salla\'s: unknown outcome, never a success', () => {
    expect(mapSallaFailure(response(200, { weird: true }), 'create')).toMatchObject({ disposition: 'indeterminate' });
  });

  it('English messages (Accept-Language: en) classify the same way', () => {
    const english = (field: string, message: string) =>
      mapSallaFailure(response(422, { status: 422, success: false, error: { code: 'error', message: 'alert.invalid_fields', fields: { [field]: [message] } } }), 'create').userErrors[0]!.code;
    expect(english('type', 'An invoice has already been issued for this order.')).toBe('ALREADY_INVOICED');
    expect(english('invoice_number', 'The invoice number is duplicated.')).toBe('DUPLICATE_INVOICE_NUMBER');
    expect(english('order_id', 'The order id field is required.')).toBe('INVALID_INPUT');
    expect(english('order_id', 'The order number is incorrect.')).toBe('ORDER_NOT_FOUND');
    expect(english('type', 'A credit note cannot be issued before a tax invoice.')).toBe('NOTHING_TO_CREDIT');
  });

  it('a type refusal (an amount that is not a number, an order id that is not an integer) is INVALID_INPUT, in both languages', () => {
    const code = (field: string, message: string) =>
      mapSallaFailure(response(422, { status: 422, success: false, error: { code: 'error', message: 'alert.invalid_fields', fields: { [field]: [message] } } }), 'create').userErrors[0]!;
    expect(code('order_id', 'The order id field must be an integer.')).toMatchObject({ code: 'INVALID_INPUT', field: ['orderId'] });
    expect(code('order_id', 'يجب أن يكون حقل order id عددًا صحيحًا.')).toMatchObject({ code: 'INVALID_INPUT', field: ['orderId'] });
    expect(code('sub_total', 'The subtotal field must be a number.')).toMatchObject({ code: 'INVALID_INPUT', field: ['subTotal'] });
    expect(code('tax_value', 'يجب على حقل قيمة الضريبة أن يكون رقمًا.')).toMatchObject({ code: 'INVALID_INPUT', field: ['taxValue'] });
  });
});
