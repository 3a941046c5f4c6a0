import { sallaSignature, sallaWebhooks } from './salla.webhooks';

const SECRET = 'a-webhook-secret-of-the-app';
const body = (o: unknown) => Buffer.from(JSON.stringify(o));
const orderEvent = { event: 'order.payment.updated', merchant: 1305146709, created_at: 'Wed Jun 30 2021 12:16:25 GMT+0300', data: { id: 1557892161, reference_id: 89013, status: { slug: 'completed' } } };

describe('Salla webhook verification', () => {
  const raw = body(orderEvent);
  const signed = { 'x-salla-signature': sallaSignature(raw, SECRET), 'x-salla-security-strategy': 'Signature' };

  it('accepts the HMAC-SHA256 of the raw body under the secret', () => {
    expect(sallaWebhooks.verify(raw, signed, SECRET)).toBe(true);
    // The strategy header is optional: Signature is Salla's default.
    expect(sallaWebhooks.verify(raw, { 'x-salla-signature': signed['x-salla-signature'] }, SECRET)).toBe(true);
  });

  it('refuses another secret, a changed body, a missing, truncated or non-hex signature', () => {
    expect(sallaWebhooks.verify(raw, signed, `${SECRET}x`)).toBe(false);
    expect(sallaWebhooks.verify(Buffer.concat([raw, Buffer.from(' ')]), signed, SECRET)).toBe(false);
    expect(sallaWebhooks.verify(raw, { 'x-salla-security-strategy': 'Signature' }, SECRET)).toBe(false);
    expect(sallaWebhooks.verify(raw, { ...signed, 'x-salla-signature': signed['x-salla-signature'].slice(0, 63) }, SECRET)).toBe(false);
    expect(sallaWebhooks.verify(raw, { ...signed, 'x-salla-signature': 'z'.repeat(64) }, SECRET)).toBe(false);
    expect(sallaWebhooks.verify(raw, { ...signed, 'x-salla-signature': '\u0000'.repeat(64) }, SECRET)).toBe(false);
  });

  it('reads the signature case-insensitively (hex) and refuses an unknown strategy', () => {
    expect(sallaWebhooks.verify(raw, { ...signed, 'x-salla-signature': signed['x-salla-signature'].toUpperCase() }, SECRET)).toBe(true);
    expect(sallaWebhooks.verify(raw, { ...signed, 'x-salla-security-strategy': 'None' }, SECRET)).toBe(false);
  });

  it('with the Token strategy, takes the secret from Authorization, and only the secret', () => {
    expect(sallaWebhooks.verify(raw, { 'x-salla-security-strategy': 'Token', authorization: SECRET }, SECRET)).toBe(true);
    expect(sallaWebhooks.verify(raw, { 'x-salla-security-strategy': 'Token', authorization: `Bearer ${SECRET}` }, SECRET)).toBe(true);
    expect(sallaWebhooks.verify(raw, { 'x-salla-security-strategy': 'Token', authorization: 'guess' }, SECRET)).toBe(false);
    expect(sallaWebhooks.verify(raw, { 'x-salla-security-strategy': 'Token' }, SECRET)).toBe(false);
    // A signature does not stand in for the token.
    expect(sallaWebhooks.verify(raw, { ...signed, 'x-salla-security-strategy': 'Token' }, SECRET)).toBe(false);
  });
});

describe('Salla webhook events', () => {
  it('names the order of an order event, whatever its kind', () => {
    for (const event of ['order.payment.updated', 'order.status.updated', 'order.cancelled', 'order.refunded', 'order.updated']) {
      expect(sallaWebhooks.changesOf({ ...orderEvent, event })).toEqual([{ provider: 'SALLA', event, orderId: '1557892161', providerInvoiceId: null }]);
    }
    // Some order events nest the order.
    expect(sallaWebhooks.changesOf({ event: 'order.status.updated', data: { order: { id: 42 }, status: 'completed' } })).toEqual([
      { provider: 'SALLA', event: 'order.status.updated', orderId: '42', providerInvoiceId: null },
    ]);
  });

  it('names the invoice and its order for invoice.created', () => {
    expect(sallaWebhooks.changesOf({ event: 'invoice.created', merchant: 1, data: { id: 219476, order_id: 1557892161, invoice_number: 'INV-1' } })).toEqual([
      { provider: 'SALLA', event: 'invoice.created', orderId: '1557892161', providerInvoiceId: '219476' },
    ]);
  });

  it('says nothing changed for events about other things', () => {
    expect(sallaWebhooks.changesOf({ event: 'product.updated', data: { id: 5 } })).toEqual([]);
    expect(sallaWebhooks.changesOf({ event: 'app.store.authorize', data: { access_token: 'x' } })).toEqual([]);
  });

  it('throws on a body that is no Salla event (the intake answers 400)', () => {
    for (const bad of [null, [], 'x', {}, { event: 'order.updated' }, { event: 'order.updated', data: { id: -1 } }, { event: 'order.updated', data: { id: '1e400' } }, { event: '', data: {} }]) {
      expect(() => sallaWebhooks.changesOf(bad)).toThrow();
    }
  });

  it('keys a delivery by its body: a redelivery has the same key, another event another', () => {
    const a = body(orderEvent);
    expect(sallaWebhooks.deliveryKey(a, {})).toBe(sallaWebhooks.deliveryKey(Buffer.from(a), {}));
    expect(sallaWebhooks.deliveryKey(body({ ...orderEvent, created_at: 'later' }), {})).not.toBe(sallaWebhooks.deliveryKey(a, {}));
  });
});
