import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookReceiver, type ReceivedDelivery } from '../shared/webhook-receiver';
import { SallaEmulator, signSallaWebhook, type SallaWebhookConfig } from './salla.emulator';
import { SALLA_SANDBOX_SALLA_ISSUER_TOKEN, SALLA_SANDBOX_TOKEN } from './salla.seed';

type Received = ReceivedDelivery<{ event: string; merchant: number; created_at: string; data: any }>;

/** The receiver, with the events it got in order. */
class Receiver extends WebhookReceiver<Received['body']> {
  constructor() {
    super('/webhooks/salla');
  }

  events(): string[] {
    return this.received.map((r) => r.body.event);
  }
}

const SECRET = 'sandbox-webhook-secret';
const STORE_ID = 1305146709; // the custom-invoices store, SALLA_SANDBOX_TOKEN's
const ORDER = 389701957; // total 258.75, paid by mada
const COD_ORDER = 1818813486; // cash on delivery: under_review until paid

/** Verifies as a receiver must: HMAC-SHA256 of the raw body, compared in constant time. */
function verifies(r: Received, secret = SECRET): boolean {
  const expected = Buffer.from(createHmac('sha256', secret).update(r.raw).digest('hex'));
  const got = Buffer.from(String(r.headers['x-salla-signature'] ?? ''));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

describe('Salla emulator webhooks', () => {
  const receiver = new Receiver();
  let salla: SallaEmulator;
  let hook: SallaWebhookConfig;

  const api = async (path: string, token = SALLA_SANDBOX_TOKEN) => {
    const res = await fetch(`${salla.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return ((await res.json()) as { data: unknown }).data;
  };
  /** A tax invoice on `orderId` issued while no webhook is configured, so that its invoice.created is not in the way. */
  const quietInvoice = (orderId = ORDER): string => {
    salla.configureWebhook(null);
    const id = String(salla.issueStoreInvoice(orderId).id);
    salla.configureWebhook(hook);
    return id;
  };
  const settled = async () => {
    await salla.webhookIdle();
    return receiver.received;
  };

  beforeAll(async () => {
    await receiver.start();
    hook = { url: receiver.url, secret: SECRET };
    salla = new SallaEmulator({ webhook: hook, webhookRetryDelaysMs: [20, 20, 20], now: () => new Date('2026-05-19T09:05:05.000Z') });
    await salla.start();
  });
  afterAll(async () => {
    await salla.stop();
    await receiver.stop();
  });
  beforeEach(() => {
    salla.reset();
    salla.configureWebhook(hook);
    receiver.clear();
  });

  it('signs the raw body with the secret and sends the documented headers, no delivery id', async () => {
    salla.recordPayment(quietInvoice(), '10.00', '2026-05-19');
    const [got] = await settled();
    expect(verifies(got!)).toBe(true);
    expect(verifies(got!, 'another-secret')).toBe(false);
    expect(got!.headers['x-salla-signature']).toBe(signSallaWebhook(got!.raw, SECRET));
    expect(got!.headers['x-salla-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(got!.headers['x-salla-security-strategy']).toBe('Signature');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['user-agent']).toMatch(/^Salla-Webhooks-Sandbox\//);
    expect(got!.headers.authorization).toBeUndefined();
    expect(Object.keys(got!.headers).filter((h) => /delivery|event|idempot/i.test(h))).toEqual([]);
    // The log holds exactly what went out.
    const [logged] = salla.webhookDeliveries;
    expect(logged).toMatchObject({ index: 0, event: 'order.payment.updated', url: receiver.url, body: got!.raw, attempts: 1, status: 200, state: 'delivered' });
    expect(logged!.headers['X-Salla-Signature']).toBe(got!.headers['x-salla-signature']);
  });

  it('a payment in part: order.payment.updated with the order as GET /orders/{id} shows it, in the envelope', async () => {
    salla.recordPayment(quietInvoice(), '100.00');
    const [got, ...more] = await settled();
    expect(more).toEqual([]);
    expect(Object.keys(got!.body)).toEqual(['event', 'merchant', 'created_at', 'data']);
    expect(got!.body).toMatchObject({ event: 'order.payment.updated', merchant: STORE_ID, created_at: 'Tue May 19 2026 12:05:05 GMT+0300' });
    expect(got!.body.data).toEqual(await api(`/orders/${ORDER}`));
    expect(got!.body.data).toMatchObject({ id: ORDER, reference_id: ORDER, payment_method: 'mada', status: { slug: 'payment_pending' }, amounts: { total: { amount: 258.75, currency: 'SAR' } } });
  });

  it('a payment in full: order.payment.updated, then order.status.updated in its own model with the order inside', async () => {
    salla.recordPayment(quietInvoice(), '258.75');
    const got = await settled();
    expect(salla.webhookDeliveries.map((d) => d.event)).toEqual(['order.payment.updated', 'order.status.updated']);
    expect(receiver.events().sort()).toEqual(['order.payment.updated', 'order.status.updated']);
    const order = await api(`/orders/${ORDER}`);
    const status = got.find((r) => r.body.event === 'order.status.updated')!.body.data;
    expect(status).toEqual({
      id: expect.any(Number),
      status: 'In Progress',
      customized: { id: 1939592358, name: 'In Progress' },
      note: '',
      created_at: { date: '2026-05-19 12:05:05.000000', timezone_type: 3, timezone: 'Asia/Riyadh' },
      order,
    });
    expect(status.order.status.slug).toBe('in_progress');
    expect(got.find((r) => r.body.event === 'order.payment.updated')!.body.data).toEqual(order);
    expect(got.every((r) => verifies(r))).toBe(true);
  });

  it('a credit: order.refunded; credited in full, order.status.updated to restored too', async () => {
    const id = quietInvoice();
    salla.recordCredit(id, '58.75');
    await settled();
    expect(receiver.events()).toEqual(['order.refunded']);
    expect(receiver.received[0]!.body.data.status.slug).toBe('payment_pending');
    receiver.clear();
    salla.recordCredit(id, '200.00');
    await settled();
    expect(receiver.events().sort()).toEqual(['order.refunded', 'order.status.updated']);
    for (const r of receiver.received) {
      const order = r.body.event === 'order.refunded' ? r.body.data : r.body.data.order;
      expect(order.status.slug).toBe('restored');
    }
  });

  it('a void: order.cancelled and order.status.updated to canceled', async () => {
    salla.voidInvoice(quietInvoice());
    await settled();
    expect(salla.webhookDeliveries.map((d) => d.event)).toEqual(['order.cancelled', 'order.status.updated']);
    const cancelled = receiver.received.find((r) => r.body.event === 'order.cancelled')!;
    expect(cancelled.body.data).toEqual(await api(`/orders/${ORDER}`));
    expect(cancelled.body.data.status).toMatchObject({ slug: 'canceled', name: 'Canceled' });
  });

  it('setOrderStatus: order.status.updated when the status changes, nothing when it does not; canceled is a cancellation too', async () => {
    salla.setOrderStatus(COD_ORDER, 'delivered');
    await settled();
    expect(receiver.events()).toEqual(['order.status.updated']);
    expect(receiver.received[0]!.body.data).toMatchObject({ status: 'Delivered', order: { id: COD_ORDER, status: { slug: 'delivered' } } });
    expect(receiver.received[0]!.body.data.order).toEqual(await api(`/orders/${COD_ORDER}`));
    receiver.clear();
    salla.setOrderStatus(COD_ORDER, 'delivered');
    await settled();
    expect(receiver.received).toEqual([]);
    salla.setOrderStatus(COD_ORDER, 'canceled');
    await settled();
    expect(salla.webhookDeliveries.slice(1).map((d) => d.event)).toEqual(['order.cancelled', 'order.status.updated']);
    // Another store's order: that store's id as merchant.
    salla.setOrderStatus(COD_ORDER, 'shipped', { storeToken: SALLA_SANDBOX_SALLA_ISSUER_TOKEN });
    await settled();
    expect(receiver.received.at(-1)!.body.merchant).toBe(1305146710);
  });

  it('issueStoreInvoice: invoice.created with the invoice as GET /orders/invoices/{id} renders it', async () => {
    const invoice = salla.issueStoreInvoice(ORDER);
    const [got, ...more] = await settled();
    expect(more).toEqual([]);
    expect(got!.body).toMatchObject({ event: 'invoice.created', merchant: STORE_ID });
    expect(got!.body.data).toEqual(await api(`/orders/invoices/${invoice.id}`));
    expect(got!.body.data).toMatchObject({ id: invoice.id, order_id: ORDER, invoice_number: invoice.invoiceNumber, type: 'Tax Invoice', total: { amount: 258.75 } });
    expect(verifies(got!)).toBe(true);
  });

  it('retries an answer that is not 200 or 201 with the same bytes, and stops at the first accepted', async () => {
    receiver.statuses.push(500, 204);
    salla.recordPayment(quietInvoice(), '1.00');
    const got = await settled();
    expect(got).toHaveLength(3);
    expect(new Set(got.map((r) => r.raw)).size).toBe(1);
    expect(new Set(got.map((r) => r.headers['x-salla-signature'])).size).toBe(1);
    expect(salla.webhookDeliveries[0]).toMatchObject({ attempts: 3, status: 200, state: 'delivered' });
  });

  it('gives up after the retries: the final status is logged', async () => {
    receiver.statuses.push(500, 500, 500, 503);
    salla.recordPayment(quietInvoice(), '1.00');
    expect(await settled()).toHaveLength(4);
    expect(salla.webhookDeliveries[0]).toMatchObject({ attempts: 4, status: 503, state: 'failed' });
  });

  it('a receiver that is down: status 0, retried, never failing the control', async () => {
    const down = new Receiver();
    await down.start();
    await down.stop(); // its port is now closed
    const id = quietInvoice();
    salla.configureWebhook({ url: down.url, secret: SECRET });
    expect(salla.recordPayment(id, '1.00')).toMatchObject({ paid: '1.00' });
    await salla.webhookIdle();
    expect(salla.webhookDeliveries[0]).toMatchObject({ attempts: 4, status: 0, state: 'failed', error: expect.any(String) });
  });

  it('an answer slower than the timeout counts as none', async () => {
    const slow = new SallaEmulator({ webhook: hook, webhookRetryDelaysMs: [], webhookTimeoutMs: 100 });
    let open!: () => void;
    receiver.gate = new Promise((resolve) => (open = resolve));
    try {
      slow.issueStoreInvoice(ORDER);
      await slow.webhookIdle();
      expect(slow.webhookDeliveries[0]).toMatchObject({ attempts: 1, status: 0, state: 'failed' });
    } finally {
      open();
      await slow.stop();
    }
  });

  it('the /_sandbox control answers before the receiver does: deliveries never hold it up', async () => {
    let open!: () => void;
    receiver.gate = new Promise((resolve) => (open = resolve));
    const id = quietInvoice();
    const res = await fetch(`${salla.server.url}/_sandbox/invoices/${id}/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: '5.00' }) });
    expect(res.status).toBe(200);
    expect(salla.webhookDeliveries[0]).toMatchObject({ state: 'sending', status: null });
    open();
    await settled();
    expect(salla.webhookDeliveries[0]).toMatchObject({ state: 'delivered', status: 200 });
  });

  it('redeliver replays a delivery: the identical body and signature, logged as a replay', async () => {
    salla.recordPayment(quietInvoice(), '1.00');
    await settled();
    const replay = salla.redeliver(0);
    const [first, second] = await settled();
    expect(replay).toMatchObject({ index: 1, replayOf: 0, event: 'order.payment.updated' });
    expect(second!.raw).toBe(first!.raw);
    expect(second!.headers['x-salla-signature']).toBe(first!.headers['x-salla-signature']);
    expect(verifies(second!)).toBe(true);
    expect(salla.webhookDeliveries[1]).toMatchObject({ attempts: 1, status: 200, state: 'delivered' });
    expect(() => salla.redeliver(9)).toThrow(RangeError);
  });

  it('holds deliveries and releases them in the order asked, then the rest in log order', async () => {
    salla.holdWebhooks();
    const id = quietInvoice();
    salla.recordPayment(id, '10.00'); // 0: order.payment.updated
    salla.recordCredit(id, '5.00'); // 1: order.refunded
    salla.setOrderStatus(ORDER, 'shipped'); // 2: order.status.updated
    await salla.webhookIdle();
    expect(receiver.received).toEqual([]);
    expect(salla.webhookDeliveries.map((d) => d.state)).toEqual(['held', 'held', 'held']);
    expect(() => salla.releaseWebhooks([7])).toThrow(RangeError);
    await salla.releaseWebhooks([2, 0]);
    expect(receiver.events()).toEqual(['order.status.updated', 'order.payment.updated', 'order.refunded']);
    expect(salla.webhookDeliveries.map((d) => d.state)).toEqual(['delivered', 'delivered', 'delivered']);
    // The hold is over: the next one goes at once.
    salla.recordPayment(id, '1.00');
    await settled();
    expect(receiver.received).toHaveLength(4);
  });

  it('Token strategy: Authorization is the secret, no signature', async () => {
    salla.configureWebhook({ ...hook, strategy: 'Token' });
    salla.issueStoreInvoice(ORDER);
    const [got] = await settled();
    expect(got!.headers.authorization).toBe(SECRET);
    expect(got!.headers['x-salla-security-strategy']).toBe('Token');
    expect(got!.headers['x-salla-signature']).toBeUndefined();
  });

  it('sends and logs nothing without a webhook', async () => {
    salla.configureWebhook(null);
    const invoice = salla.issueStoreInvoice(ORDER);
    salla.recordPayment(String(invoice.id), '258.75');
    salla.setOrderStatus(COD_ORDER, 'delivered');
    await salla.webhookIdle();
    expect(salla.webhookDeliveries).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  it('reset() empties the log and drops held deliveries, and keeps the URL', async () => {
    salla.holdWebhooks();
    salla.issueStoreInvoice(ORDER);
    expect(salla.webhookDeliveries).toHaveLength(1);
    salla.reset();
    expect(salla.webhookDeliveries).toEqual([]);
    await salla.releaseWebhooks();
    salla.issueStoreInvoice(ORDER);
    await settled();
    expect(receiver.events()).toEqual(['invoice.created']);
  });

  it('refuses a webhook URL that is not http(s)', () => {
    expect(() => salla.configureWebhook({ url: 'ftp://x.example/hook', secret: SECRET })).toThrow(/http or https/);
    expect(() => salla.configureWebhook({ url: receiver.url, secret: '' })).toThrow(/secret/);
  });

  describe('/_sandbox order routes', () => {
    const post = (path: string, body?: unknown) =>
      fetch(`${salla.server.url}${path}`, { method: 'POST', headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

    it('POST /_sandbox/orders/:orderId/invoices issues a store invoice: 201 with the record, and invoice.created', async () => {
      const res = await post(`/_sandbox/orders/${ORDER}/invoices`);
      expect(res.status).toBe(201);
      const record = (await res.json()) as { id: number; source: string; type: string; orderId: number; total: string };
      expect(record).toMatchObject({ source: 'store', type: 'tax_invoice', orderId: ORDER, total: '258.75' });
      await settled();
      expect(receiver.received.map((r) => [r.body.event, r.body.data.id])).toEqual([['invoice.created', record.id]]);
      const note = await post(`/_sandbox/orders/${ORDER}/invoices`, { type: 'credit_note' });
      expect([note.status, ((await note.json()) as { type: string }).type]).toEqual([201, 'credit_note']);
    });

    it('invoices: 404 for an unknown order, 422 for an unknown type, 400 for a body that is no object', async () => {
      expect((await post('/_sandbox/orders/42/invoices')).status).toBe(404);
      expect((await post('/_sandbox/orders/abc/invoices')).status).toBe(404);
      expect((await post(`/_sandbox/orders/${ORDER}/invoices`, { type: 'receipt' })).status).toBe(422);
      expect((await post(`/_sandbox/orders/${ORDER}/invoices`, [1])).status).toBe(400);
      expect(salla.invoices()).toEqual([]);
    });

    it('POST /_sandbox/orders/:orderId/status sets the status: 200 with the order, and order.status.updated', async () => {
      const res = await post(`/_sandbox/orders/${COD_ORDER}/status`, { slug: 'delivered' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(await api(`/orders/${COD_ORDER}`));
      await settled();
      expect(receiver.events()).toEqual(['order.status.updated']);
      expect((await post(`/_sandbox/orders/${COD_ORDER}/status`, { slug: 'lost' })).status).toBe(422);
      expect((await post(`/_sandbox/orders/${COD_ORDER}/status`)).status).toBe(422);
      expect((await post('/_sandbox/orders/42/status', { slug: 'delivered' })).status).toBe(404);
    });
  });

  it('signSallaWebhook is hex HMAC-SHA256', () => {
    expect(signSallaWebhook('The quick brown fox jumps over the lazy dog', 'key')).toBe('f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });
});
