import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FailureDisposition, InvoiceErrorCode } from '../../domain/errors';
import { TransportError, type HttpResponse } from '../shared/http-client';
import { mapCommerceFailure } from './commerce.errors';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'commerce');
const fixture = (prefix: string): { status: number; body: unknown } => {
  const file = readdirSync(FIXTURES).find((f) => f.startsWith(prefix));
  if (!file) throw new Error(`no fixture ${prefix}`);
  return JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
};
const response = (status: number, json: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  json,
  headers,
  text: json === undefined ? '' : typeof json === 'string' ? json : JSON.stringify(json),
});
const mapped = (prefix: string, operation: 'create' | 'read' = 'create') => {
  const f = fixture(prefix);
  return mapCommerceFailure(response(f.status, f.body), operation);
};

describe("mapCommerceFailure: every error example of the seed", () => {
  it.each<[string, InvoiceErrorCode, string | null, FailureDisposition, string]>([
    ['response.400.', 'INVALID_INPUT', 'orderId', 'final', 'Validation error: orderId is required'],
    ['response.401.', 'PROVIDER_UNAUTHORIZED', null, 'final', 'Invalid or missing access token'],
    ['response.404.', 'ORDER_NOT_FOUND', 'orderId', 'final', 'Order not found'],
    // The create may have written before it failed.
    ['response.500.', 'PROVIDER_UNAVAILABLE', null, 'indeterminate', 'An error occurred while creating the invoice'],
  ])('%s on create → %s', (prefix, code, field, disposition, providerMessage) => {
    const err = mapped(prefix);
    expect(err.userErrors).toEqual([{ code, field: field ? [field] : null, message: expect.stringMatching(/\S/), providerCode: null, providerMessage }]);
    expect(err.disposition).toBe(disposition);
  });

  it('the same failures on a read: a 404 is about the invoice, a 500 may be retried', () => {
    expect(mapped('response.404.', 'read')).toMatchObject({ disposition: 'final', userErrors: [{ code: 'PROVIDER_REFUSED', field: null }] });
    expect(mapped('response.500.', 'read')).toMatchObject({ disposition: 'retryable', userErrors: [{ code: 'PROVIDER_UNAVAILABLE' }] });
  });
});

describe('mapCommerceFailure: beyond the examples', () => {
  const envelope = (message: string) => ({ success: false, message });

  it('a second invoice for the order (409, or a 400 saying so): ALREADY_INVOICED, final', () => {
    expect(mapCommerceFailure(response(409, envelope('Invoice already exists for this order')), 'create')).toMatchObject({
      disposition: 'final',
      userErrors: [{ code: 'ALREADY_INVOICED', field: ['orderId'], providerMessage: 'Invoice already exists for this order' }],
    });
    expect(mapCommerceFailure(response(400, envelope('Validation error: order already invoiced')), 'create').userErrors[0]!.code).toBe('ALREADY_INVOICED');
  });

  it('a 2xx saying `success: false` is a failure, read from its message', () => {
    const at200 = (message: string) => mapCommerceFailure(response(200, envelope(message)), 'create');
    expect(at200('Order not found')).toMatchObject({ disposition: 'final', userErrors: [{ code: 'ORDER_NOT_FOUND', field: ['orderId'] }] });
    expect(at200('Validation error: orderId is required')).toMatchObject({ disposition: 'final', userErrors: [{ code: 'INVALID_INPUT' }] });
    expect(at200('Invalid or missing access token').userErrors[0]!.code).toBe('PROVIDER_UNAUTHORIZED');
    expect(at200('Invoice already exists for this order').userErrors[0]!.code).toBe('ALREADY_INVOICED');
    // A failure it cannot place may have happened after a write.
    expect(at200('An error occurred while creating the invoice')).toMatchObject({ disposition: 'indeterminate', userErrors: [{ code: 'PROVIDER_UNAVAILABLE' }] });
  });

  it('a 2xx with a body that is neither envelope: unknown outcome, never a success', () => {
    expect(mapCommerceFailure(response(201, { id: 'x' }), 'create')).toMatchObject({ disposition: 'indeterminate', cause_: 'http:201:body' });
    expect(mapCommerceFailure(response(200, undefined), 'read')).toMatchObject({ disposition: 'retryable', userErrors: [{ code: 'PROVIDER_UNAVAILABLE' }] });
  });

  it("a 404 that is not the API's (a wrong base URL) names no order", () => {
    const err = mapCommerceFailure(response(404, 'Cannot POST /v2/invoices'), 'create');
    expect(err.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_REFUSED', field: null, providerMessage: 'Cannot POST /v2/invoices' })]);
  });

  it('403 is an authorisation failure too; 429 is retryable with its Retry-After', () => {
    expect(mapCommerceFailure(response(403, envelope('Forbidden')), 'create').userErrors[0]!.code).toBe('PROVIDER_UNAUTHORIZED');
    expect(mapCommerceFailure(response(429, envelope('Too many requests'), { 'retry-after': '7' }), 'create')).toMatchObject({
      disposition: 'retryable',
      userErrors: [{ code: 'RATE_LIMITED', retryAfterSeconds: 7 }],
    });
  });

  it('other statuses: 502 unknown on create, 422 a refusal with the API message', () => {
    expect(mapCommerceFailure(response(502, 'Bad Gateway'), 'create')).toMatchObject({ disposition: 'indeterminate', userErrors: [{ providerMessage: 'Bad Gateway' }] });
    expect(mapCommerceFailure(response(422, envelope('Order is cancelled')), 'create')).toMatchObject({
      disposition: 'final',
      userErrors: [{ code: 'PROVIDER_REFUSED', providerMessage: 'Order is cancelled' }],
    });
  });

  it('transport failures: a refused connection never reached the API, a timeout on create may have', () => {
    expect(mapCommerceFailure(new TransportError('unreachable', 'ECONNREFUSED'), 'create')).toMatchObject({ disposition: 'retryable', cause_: 'transport:unreachable' });
    expect(mapCommerceFailure(new TransportError('timeout', 'timed out'), 'create')).toMatchObject({ disposition: 'indeterminate' });
    expect(mapCommerceFailure(new TransportError('reset', 'socket hang up'), 'read')).toMatchObject({ disposition: 'retryable' });
    expect(mapCommerceFailure(new TransportError('malformed', 'bad json', 201), 'create').userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
  });
});
