import { createHmac } from 'node:crypto';
import { MAX_INVOICES_PER_DELIVERY, zuoraSignature, zuoraWebhooks } from './zuora.webhooks';

const SECRET = 'the-zuora-webhook-secret';
const body = (o: unknown) => Buffer.from(JSON.stringify(o));
const id = (n: number) => n.toString(16).padStart(32, '0');
const INV = '8a90e08282f4ed040182f67bab2902ff';
const posted = { event: 'InvoicePosted', invoiceId: INV, invoiceNumber: 'INV00000042', accountId: '8a90e08282f4ed040182f67bab290200' };

describe('Zuora callout verification (HMAC-SHA256 of the body in X-Zuora-Signature)', () => {
  const raw = body(posted);
  const signed = { 'x-zuora-signature': zuoraSignature(raw, SECRET) };

  it('accepts the hex HMAC-SHA256 of the raw body under the secret, and the base64 one', () => {
    expect(zuoraWebhooks.verify(raw, signed, SECRET)).toBe(true);
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': zuoraSignature(raw, SECRET, 'base64') }, SECRET)).toBe(true);
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': signed['x-zuora-signature'].toUpperCase() }, SECRET)).toBe(true);
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': ` ${signed['x-zuora-signature']} ` }, SECRET)).toBe(true);
  });

  it('refuses another secret, a changed body, a missing, truncated or malformed signature', () => {
    expect(zuoraWebhooks.verify(raw, signed, `${SECRET}x`)).toBe(false);
    expect(zuoraWebhooks.verify(Buffer.concat([raw, Buffer.from(' ')]), signed, SECRET)).toBe(false);
    expect(zuoraWebhooks.verify(raw, {}, SECRET)).toBe(false);
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': '' }, SECRET)).toBe(false);
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': signed['x-zuora-signature'].slice(0, 63) }, SECRET)).toBe(false);
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': `sha256=${signed['x-zuora-signature']}` }, SECRET)).toBe(false);
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': 'z'.repeat(64) }, SECRET)).toBe(false);
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': '\u0000'.repeat(64) }, SECRET)).toBe(false);
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': 'a'.repeat(100_000) }, SECRET)).toBe(false);
    // The HMAC of another algorithm (the template's Algorithm set to SHA-1 or SHA-512) is not the contract's.
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': createHmac('sha512', SECRET).update(raw).digest('hex') }, SECRET)).toBe(false);
  });

  it('takes no credentials instead of the signature: Basic with the secret as password, or a bearer secret', () => {
    const basic = `Basic ${Buffer.from(`zuora:${SECRET}`).toString('base64')}`;
    expect(zuoraWebhooks.verify(raw, { authorization: basic }, SECRET)).toBe(false);
    expect(zuoraWebhooks.verify(raw, { authorization: `Bearer ${SECRET}` }, SECRET)).toBe(false);
    // Basic (or OAuth) configured on top of the HMAC is ignored.
    expect(zuoraWebhooks.verify(raw, { ...signed, authorization: basic }, SECRET)).toBe(true);
  });

  it('never verifies under an empty secret', () => {
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': zuoraSignature(raw, '') }, '')).toBe(false);
  });
});

describe('Zuora callout delivery keys', () => {
  const raw = body(posted);

  it('is Zuora-Notification-Id when there is one: the same on every retry, whatever Zuora-Request-Id', () => {
    const a = zuoraWebhooks.deliveryKey(raw, { 'zuora-notification-id': 'b1946ac92492d2347c6235b4d2611184', 'zuora-request-id': '1' });
    const b = zuoraWebhooks.deliveryKey(raw, { 'zuora-notification-id': 'b1946ac92492d2347c6235b4d2611184', 'zuora-request-id': '2' });
    expect(a).toBe('notification:b1946ac92492d2347c6235b4d2611184');
    expect(b).toBe(a);
    expect(zuoraWebhooks.deliveryKey(raw, { 'zuora-notification-id': 'another' })).not.toBe(a);
  });

  it('is the body digest without one, or when the header is no plain token', () => {
    const digest = zuoraWebhooks.deliveryKey(raw, {});
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(zuoraWebhooks.deliveryKey(Buffer.from(raw), {})).toBe(digest);
    expect(zuoraWebhooks.deliveryKey(body({ ...posted, invoiceNumber: 'x' }), {})).not.toBe(digest);
    for (const bad of ['', ' ', 'a\u0000b', 'a b', 'x'.repeat(129), '\ud800', 'ü']) {
      expect(zuoraWebhooks.deliveryKey(raw, { 'zuora-notification-id': bad })).toBe(digest);
    }
  });
});

describe('the Zuora tenant a callout names (X-Zuora-Tenant-Id)', () => {
  it('is the header\'s tenant id, trimmed; absent, null (the deployment\'s secret verifies it)', () => {
    expect(zuoraWebhooks.accountOf!({ 'x-zuora-tenant-id': '1003' })).toBe('1003');
    expect(zuoraWebhooks.accountOf!({ 'x-zuora-tenant-id': ' 12345678901234567890 ' })).toBe('12345678901234567890');
    expect(zuoraWebhooks.accountOf!({})).toBeNull();
  });

  it("is '' (names no tenant: refused) for anything but a tenant id: empty, words, NUL, control characters, lone surrogates, huge", () => {
    for (const bad of ['', ' ', 'tenant-1003', '1003,1004', '1e3', '-1', '1\u00000', '1\n2', '\ud800', '\u0661', '1'.repeat(21), '9'.repeat(100_000)]) {
      expect(zuoraWebhooks.accountOf!({ 'x-zuora-tenant-id': bad })).toBe('');
    }
  });
});

describe('Zuora callout events', () => {
  const change = (event: string, providerInvoiceId: string) => ({ provider: 'ZUORA', event, orderId: null, providerInvoiceId });

  it('names the invoice of InvoicePosted, InvoiceCanceled, PaymentApplied and CreditMemoApplied', () => {
    expect(zuoraWebhooks.changesOf(posted)).toEqual([change('InvoicePosted', INV)]);
    expect(zuoraWebhooks.changesOf({ event: 'InvoiceCanceled', invoiceId: INV, invoiceNumber: 'INV1' })).toEqual([change('InvoiceCanceled', INV)]);
    expect(zuoraWebhooks.changesOf({ event: 'PaymentApplied', paymentId: id(7), invoiceId: INV })).toEqual([change('PaymentApplied', INV)]);
    expect(zuoraWebhooks.changesOf({ event: 'CreditMemoApplied', creditMemoId: id(8), invoiceId: INV })).toEqual([change('CreditMemoApplied', INV)]);
  });

  it('names every invoice of a payment: the rendered merge-field loop (trailing comma, empty parts) or an array', () => {
    const loop = `${id(1)},${id(2)},,${id(3)},`;
    expect(zuoraWebhooks.changesOf({ event: 'PaymentProcessed', paymentId: id(9), invoiceIds: loop })).toEqual([change('PaymentProcessed', id(1)), change('PaymentProcessed', id(2)), change('PaymentProcessed', id(3))]);
    expect(zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds: [id(1), id(2)] })).toEqual([change('PaymentProcessed', id(1)), change('PaymentProcessed', id(2))]);
    // Spaces around the entries (a template written over several lines), repeats, invoiceId and invoiceIds together.
    expect(zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceId: id(1), invoiceIds: ` ${id(1)} ,\n${id(2)} ` })).toEqual([change('PaymentProcessed', id(1)), change('PaymentProcessed', id(2))]);
  });

  it('says nothing changed for a payment on no invoice, or another event naming none', () => {
    expect(zuoraWebhooks.changesOf({ event: 'PaymentProcessed', paymentId: id(9), invoiceIds: '' })).toEqual([]);
    expect(zuoraWebhooks.changesOf({ event: 'PaymentProcessed', paymentId: id(9), invoiceIds: ',,' })).toEqual([]);
    expect(zuoraWebhooks.changesOf({ event: 'AccountEdit', accountId: id(1) })).toEqual([]);
    // Another event that names invoices is read by the same rules (the subgraph only reads them again).
    expect(zuoraWebhooks.changesOf({ event: 'PaymentRefundProcessed', invoiceIds: [id(4)] })).toEqual([change('PaymentRefundProcessed', id(4))]);
  });

  it('throws on a contract event that names no invoice (a misconfigured template: the intake answers 400)', () => {
    for (const event of ['InvoicePosted', 'InvoiceCanceled', 'PaymentApplied', 'CreditMemoApplied']) {
      expect(() => zuoraWebhooks.changesOf({ event })).toThrow(/names its invoice/);
      expect(() => zuoraWebhooks.changesOf({ event, invoiceId: '' })).toThrow(/names its invoice/);
    }
  });

  it('throws on bodies that are no callout of the contract', () => {
    for (const bad of [null, [], 'x', 42, true, {}, { event: '' }, { event: 7, invoiceId: INV }, { event: ['InvoicePosted'], invoiceId: INV }, { event: 'Invoice Posted', invoiceId: INV }]) {
      expect(() => zuoraWebhooks.changesOf(bad)).toThrow();
    }
  });

  it('refuses ids of the wrong type or shape: numbers, objects, invoice numbers, NUL and control characters, lone surrogates', () => {
    const bad: unknown[] = [
      42,
      1e40,
      { id: INV },
      [INV],
      true,
      'INV00000042',
      INV.slice(1),
      `${INV}0`,
      `${INV.slice(0, 31)}g`,
      `${INV.slice(0, 31)}\u0000`,
      `${INV}\u0000`,
      `\u0000${INV}`,
      `${INV}\n`,
      `${INV.slice(0, 31)}\u001b`,
      `${INV.slice(0, 31)}\ud800`,
      `${INV.slice(0, 30)}\udc00\ud800`,
      `${INV.slice(0, 31)}\u0660`, // an Arabic-Indic digit is no hex digit
      'x'.repeat(1_000_000),
    ];
    for (const invoiceId of bad) {
      expect(() => zuoraWebhooks.changesOf({ event: 'InvoicePosted', invoiceId })).toThrow();
      expect(() => zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds: [invoiceId] })).toThrow();
    }
    for (const invoiceIds of [42, { 0: INV }, true, `${INV};${id(2)}`, `${INV},\u0000`, `${INV},${id(2)}\ud800`]) {
      expect(() => zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds })).toThrow();
    }
  });

  it('refuses the event name with NUL, control characters, lone surrogates or past 100 characters', () => {
    for (const event of ['Invoice\u0000Posted', 'InvoicePosted\n', '\u001bInvoicePosted', 'Invoice\ud800Posted', 'E'.repeat(101), 'x'.repeat(1_000_000)]) {
      expect(() => zuoraWebhooks.changesOf({ event, invoiceId: INV })).toThrow();
    }
    expect(zuoraWebhooks.changesOf({ event: 'E'.repeat(100), invoiceId: INV })).toHaveLength(1);
  });

  it(`caps a delivery at ${MAX_INVOICES_PER_DELIVERY} invoices, refused above, and refuses huge lists at once`, () => {
    const ids = Array.from({ length: MAX_INVOICES_PER_DELIVERY }, (_, i) => id(i + 1));
    expect(zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds: ids })).toHaveLength(MAX_INVOICES_PER_DELIVERY);
    expect(zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds: `${ids.join(',')},` })).toHaveLength(MAX_INVOICES_PER_DELIVERY);
    const over = [...ids, id(1000)];
    expect(() => zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds: over })).toThrow(/more than 100/);
    expect(() => zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds: over.join(',') })).toThrow(/more than 100/);
    // invoiceId beside a full list is the 101st.
    expect(() => zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceId: id(1000), invoiceIds: ids })).toThrow(/more than 100/);

    // A million entries (what a 1 MB body holds) is refused without reading them, in an array or a string.
    const started = Date.now();
    expect(() => zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds: new Array(1_000_000).fill(INV) })).toThrow(/more than 100/);
    expect(() => zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds: new Array(1_000_000).fill('').join(',') })).toThrow(/longer than/);
    expect(() => zuoraWebhooks.changesOf({ event: 'PaymentProcessed', invoiceIds: new Array(1_000_000).fill('') })).toThrow(/more than 100/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('ignores fields it does not read, whatever they hold', () => {
    expect(zuoraWebhooks.changesOf({ ...posted, invoiceNumber: 'x'.repeat(100_000), accountId: { nested: [1, 2, 3] }, extra: '\u0000\ud800' })).toEqual([change('InvoicePosted', INV)]);
  });

  it('reads what a parsed body holds, wherever it came from: the raw body of a signed delivery round-trips', () => {
    const raw = body({ event: 'PaymentProcessed', invoiceIds: `${id(1)},` });
    expect(zuoraWebhooks.verify(raw, { 'x-zuora-signature': zuoraSignature(raw, SECRET) }, SECRET)).toBe(true);
    expect(zuoraWebhooks.changesOf(JSON.parse(raw.toString('utf8')))).toEqual([change('PaymentProcessed', id(1))]);
  });
});
