import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InvoiceErrorCode } from '../../domain/errors';
import { TransportError, type HttpResponse } from '../shared/http-client';
import { mapSalesforceFailure, type SalesforceOperation } from './salesforce.errors';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'salesforce');
const fixture = (name: string): { status: number; body: any } => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const response = (status: number, json: unknown, headers: Record<string, string> = {}): HttpResponse => ({ status, json, headers, text: json === undefined ? '' : JSON.stringify(json) });
const mapped = (name: string, operation: SalesforceOperation = 'create', headers: Record<string, string> = {}) => {
  const f = fixture(name);
  return mapSalesforceFailure(response(f.status, f.body, headers), operation);
};
const summary = (err: ReturnType<typeof mapped>) => [err.userErrors.map((e) => [e.code, e.field?.join('.') ?? null, e.providerCode]), err.disposition];

describe("mapSalesforceFailure: every documented failure, from the fixtures' bodies", () => {
  it.each<[string, SalesforceOperation, InvoiceErrorCode, string | null, string, string]>([
    ['response.400.create-invoice.already-invoiced.json', 'create', 'ALREADY_INVOICED', 'fulfillmentOrderId', 'DUPLICATE_VALUE', 'final'],
    ['response.404.create-invoice.not-found.json', 'create', 'ORDER_NOT_FOUND', 'fulfillmentOrderId', 'NOT_FOUND', 'final'],
    ['response.400.create-invoice.invalid-id.json', 'create', 'INVALID_INPUT', 'fulfillmentOrderId', 'INVALID_ID_FIELD', 'final'],
    ['response.401.invalid-session.json', 'create', 'PROVIDER_UNAUTHORIZED', null, 'INVALID_SESSION_ID', 'final'],
    ['response.401.invalid-session.json', 'read', 'PROVIDER_UNAUTHORIZED', null, 'INVALID_SESSION_ID', 'final'],
    ['response.403.request-limit-exceeded.json', 'create', 'RATE_LIMITED', null, 'REQUEST_LIMIT_EXCEEDED', 'retryable'],
    ['response.403.request-limit-exceeded.json', 'read', 'RATE_LIMITED', null, 'REQUEST_LIMIT_EXCEEDED', 'retryable'],
    ['response.404.not-found.json', 'read', 'PROVIDER_REFUSED', null, 'NOT_FOUND', 'final'],
    // The platform's 404 (an API version or path the org does not serve) is no verdict on the fulfillment order.
    ['response.404.not-found.json', 'create', 'PROVIDER_REFUSED', null, 'NOT_FOUND', 'final'],
    ['response.400.malformed-query.json', 'read', 'PROVIDER_REFUSED', null, 'MALFORMED_QUERY', 'final'],
    ['response.400.invalid-field.json', 'read', 'PROVIDER_SETTINGS_MISMATCH', null, 'INVALID_FIELD', 'final'],
  ])('%s on %s → %s', (name, operation, code, field, providerCode, disposition) => {
    const err = mapped(name, operation);
    expect(summary(err)).toEqual([[[code, field, providerCode]], disposition]);
    // Salesforce's own words travel with ours, verbatim.
    const body = fixture(name).body;
    const message = Array.isArray(body) ? body[0].message : body.message;
    expect(err.userErrors[0]!.providerMessage).toBe(message.trim());
  });

  it("the platform's 404 points the operator at the configuration", () => {
    expect(mapped('response.404.not-found.json').userErrors[0]!.message).toMatch(/SALESFORCE_INSTANCE_URL and SALESFORCE_API_VERSION/);
  });

  it('an Error with Output and its output.errors saying the same thing are one error, not two', () => {
    expect(mapped('response.400.create-invoice.already-invoiced.json').userErrors).toHaveLength(1);
  });

  it('a success status whose output says success false: refused, final, with each of its errors', () => {
    const f = fixture('response.201.create-invoice.processing-errors.json');
    const err = mapSalesforceFailure(f.body, 'create');
    expect(summary(err)).toEqual([[['PROVIDER_REFUSED', 'fulfillmentOrderId', 'INVALID_STATUS']], 'final']);
    expect(err.userErrors[0]!.providerMessage).toMatch(/Cancelled/);
  });

  it('REQUEST_LIMIT_EXCEEDED: our message carries the Sforce-Limit-Info usage; no Retry-After is invented', () => {
    const err = mapped('response.403.request-limit-exceeded.json', 'read', { 'sforce-limit-info': 'api-usage=15000/15000' });
    expect(err.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: null, message: expect.stringContaining('api-usage=15000/15000') });
  });

  it('a second invoice is recognised by its conflicting invoice or its wording when the code is another', () => {
    const withOutput = { errorCode: 'INVALID_API_INPUT', message: 'Not allowed.', output: { errors: [], invoiceId: '3ttDn00CulDYWQGIE5', success: false } };
    expect(mapSalesforceFailure(response(400, withOutput), 'create').userErrors[0]!.code).toBe('ALREADY_INVOICED');
    const worded = [{ errorCode: 'INVALID_API_INPUT', message: 'This fulfillment order already has an invoice.' }];
    expect(mapSalesforceFailure(response(400, worded), 'create').userErrors[0]!.code).toBe('ALREADY_INVOICED');
  });

  it('org settings: Order Management off, or an object the org lacks', () => {
    expect(mapSalesforceFailure(response(403, [{ errorCode: 'FUNCTIONALITY_NOT_ENABLED', message: 'Order Management is not enabled.' }]), 'create').userErrors[0]!.code).toBe('PROVIDER_SETTINGS_MISMATCH');
    expect(mapSalesforceFailure(response(400, [{ errorCode: 'INVALID_TYPE', message: "sObject type 'Invoice' is not supported." }]), 'read').userErrors[0]!.code).toBe('PROVIDER_SETTINGS_MISMATCH');
  });

  it('another 403 is a permission the integration user lacks', () => {
    const err = mapSalesforceFailure(response(403, [{ errorCode: 'INSUFFICIENT_ACCESS', message: 'insufficient access rights on object id' }]), 'create');
    expect(summary(err)).toEqual([[['PROVIDER_UNAUTHORIZED', null, 'INSUFFICIENT_ACCESS']], 'final']);
  });

  it('5xx: PROVIDER_UNAVAILABLE; the create may have happened, a read may be retried', () => {
    const boom = [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'An unexpected error occurred. Please include this ErrorId if you contact support: 1-2 (-3)' }];
    expect(mapSalesforceFailure(response(500, boom), 'create')).toMatchObject({ disposition: 'indeterminate' });
    expect(mapSalesforceFailure(response(500, boom), 'read')).toMatchObject({ disposition: 'retryable' });
    expect(mapSalesforceFailure(response(503, undefined), 'create').userErrors[0]!.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('transport failures: a refused connection never reached Salesforce, a timeout on create may have', () => {
    expect(mapSalesforceFailure(new TransportError('unreachable', 'ECONNREFUSED'), 'create')).toMatchObject({ disposition: 'retryable' });
    expect(mapSalesforceFailure(new TransportError('timeout', 'timed out'), 'create')).toMatchObject({ disposition: 'indeterminate' });
    expect(mapSalesforceFailure(new TransportError('reset', 'socket hang up'), 'read')).toMatchObject({ disposition: 'retryable' });
  });

  it("a success status with a body that is not Salesforce's: unknown outcome, never a success", () => {
    expect(mapSalesforceFailure(response(201, { weird: true }), 'create')).toMatchObject({ disposition: 'indeterminate', cause_: 'http:201:body' });
  });

  it('an error body that is not JSON keeps its text as the provider message', () => {
    const err = mapSalesforceFailure({ status: 502, headers: {}, json: undefined, text: '<html>Bad Gateway</html>' }, 'read');
    expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', providerCode: null, providerMessage: '<html>Bad Gateway</html>' });
  });

  it('a record a query did not return: refused, with no provider words invented', () => {
    const err = mapSalesforceFailure({ missing: 'Invoice', id: '3ttDn00CulDYWQGIE5' }, 'read');
    expect(err.userErrors[0]).toMatchObject({ code: 'PROVIDER_REFUSED', providerCode: null, providerMessage: null, message: expect.stringContaining('3ttDn00CulDYWQGIE5') });
  });
});
