import { WebhookReceiver, type ReceivedDelivery } from '../shared/webhook-receiver';
import { zuoraSignature, zuoraWebhooks } from '../../providers/zuora/zuora.webhooks';
import { ZuoraEmulator } from './zuora.emulator';

const SECRET = 'the-sandbox-callout-secret';

type Received = ReceivedDelivery<Record<string, unknown>>;

/** A local callout receiver answering with the statuses queued (200 once they run out). */
class Receiver extends WebhookReceiver<Received['body']> {
  constructor() {
    super('/webhooks/zuora');
  }
}

/** Posts one fulfillment billed at once through the emulator's API, as the subgraph does; the invoice's id. */
async function billThroughApi(emulator: ZuoraEmulator, quantity = 1): Promise<string> {
  const client = emulator.tenant.clients[0]!;
  const token = await fetch(`${emulator.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }),
  }).then((r) => r.json() as Promise<{ access_token: string }>);
  const lineItem = emulator.tenant.orders[0]!.lineItems[0]!;
  const res = await fetch(`${emulator.baseUrl}/v1/fulfillments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      fulfillments: [{ orderLineItemId: lineItem.id, quantity, fulfillmentDate: '2025-01-15', state: 'SentToBilling' }],
      processingOptions: { runBilling: true, billingOptions: { targetDate: '2025-01-31' } },
    }),
  });
  expect(res.status).toBe(200);
  return emulator.documents().filter((d) => d.kind === 'invoice').at(-1)!.id;
}

describe('Zuora emulator callout notifications', () => {
  let emulator: ZuoraEmulator;
  let receiver: Receiver;

  beforeEach(async () => {
    receiver = new Receiver();
    await receiver.start();
    emulator = new ZuoraEmulator({ now: () => new Date('2025-02-01T10:00:00Z'), callouts: { retryDelaysMs: [10, 20, 30] } });
    await emulator.start();
  });

  afterEach(async () => {
    await emulator.stop();
    await receiver.stop();
  });

  const configure = () => emulator.configureWebhook({ url: receiver.url, secret: SECRET });

  /** What the subgraph's intake would do with the delivery: verify, key, read. */
  const intakeOf = (r: Received) => {
    const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
    expect(zuoraWebhooks.verify(Buffer.from(r.raw), headers, SECRET)).toBe(true);
    return { key: zuoraWebhooks.deliveryKey(Buffer.from(r.raw), headers), changes: zuoraWebhooks.changesOf(JSON.parse(r.raw)) };
  };

  it('sends nothing when unconfigured, or after being unconfigured', async () => {
    const invoiceId = await billThroughApi(emulator);
    emulator.recordPayment(invoiceId, '1.00');
    await emulator.webhookIdle();
    expect(receiver.received).toHaveLength(0);
    expect(emulator.webhookDeliveries).toEqual([]);

    configure();
    emulator.configureWebhook(null);
    emulator.recordCredit(invoiceId, '1.00');
    await emulator.webhookIdle();
    expect(receiver.received).toHaveLength(0);
  });

  it('sends PaymentProcessed for a payment, signed, with Zuora\u2019s headers and the invoice in the payment-parts list', async () => {
    configure();
    const invoiceId = await billThroughApi(emulator);
    // Invoices created through the API send no callout.
    await emulator.webhookIdle();
    expect(receiver.received).toHaveLength(0);

    emulator.recordPayment(invoiceId, '5.00', '2025-02-01');
    await emulator.webhookIdle();
    expect(receiver.received).toHaveLength(1);
    const [r] = receiver.received;
    expect(r!.headers['content-type']).toBe('application/json');
    expect(r!.headers['x-zuora-signature']).toBe(zuoraSignature(r!.raw, SECRET));
    expect(r!.headers['zuora-notification-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(r!.headers['zuora-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(r!.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(r!.headers.authorization).toBeUndefined();
    const account = emulator.tenant.accounts.find((a) => a.accountNumber === emulator.documents()[0]!.accountNumber)!;
    expect(r!.body).toEqual({ event: 'PaymentProcessed', paymentId: expect.stringMatching(/^[0-9a-f]{32}$/), accountId: account.id, invoiceIds: `${invoiceId},` });
    expect(intakeOf(r!)).toEqual({ key: `notification:${r!.headers['zuora-notification-id']}`, changes: [{ provider: 'ZUORA', event: 'PaymentProcessed', orderId: null, providerInvoiceId: invoiceId }] });

    expect(emulator.webhookDeliveries).toEqual([
      expect.objectContaining({ event: 'PaymentProcessed', body: r!.raw, status: 200, attempts: 1, state: 'delivered', notificationId: r!.headers['zuora-notification-id'] }),
    ]);
    expect(emulator.webhookDeliveries[0]!.headers['X-Zuora-Signature']).toBe(r!.headers['x-zuora-signature']);
  });

  it('sends CreditMemoApplied for a credit and for a void (a reversal), naming the memo applied', async () => {
    configure();
    const credited = await billThroughApi(emulator);
    emulator.recordCredit(credited, '2.50');
    const voided = await billThroughApi(emulator);
    emulator.voidInvoice(voided);
    await emulator.webhookIdle();

    const memos = emulator.documents().filter((d) => d.kind === 'creditMemo');
    expect(receiver.received.map((r) => r.body)).toEqual([
      { event: 'CreditMemoApplied', creditMemoId: memos[0]!.id, invoiceId: credited },
      { event: 'CreditMemoApplied', creditMemoId: memos[1]!.id, invoiceId: voided },
    ]);
    expect(receiver.received.map((r) => intakeOf(r).changes)).toEqual([
      [{ provider: 'ZUORA', event: 'CreditMemoApplied', orderId: null, providerInvoiceId: credited }],
      [{ provider: 'ZUORA', event: 'CreditMemoApplied', orderId: null, providerInvoiceId: voided }],
    ]);
    // Two notifications, two keys.
    expect(new Set(receiver.received.map((r) => intakeOf(r).key)).size).toBe(2);
  });

  it('retries after a 500 with the same Zuora-Notification-Id and a new Zuora-Request-Id, then delivers', async () => {
    configure();
    const invoiceId = await billThroughApi(emulator);
    receiver.statuses.push(500, 503);
    emulator.recordPayment(invoiceId, '1.00');
    await emulator.webhookIdle();

    expect(receiver.received).toHaveLength(3);
    const ids = receiver.received.map((r) => r.headers['zuora-notification-id']);
    expect(new Set(ids).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.headers['zuora-request-id'])).size).toBe(3);
    // The same body, the same signature and so the same delivery key at the intake: the retries are one delivery.
    expect(new Set(receiver.received.map((r) => r.raw)).size).toBe(1);
    expect(new Set(receiver.received.map((r) => intakeOf(r).key)).size).toBe(1);
    expect(emulator.webhookDeliveries).toEqual([expect.objectContaining({ status: 200, attempts: 3, state: 'delivered' })]);
  });

  it('gives up after its retries, and does not retry what Zuora does not (400, 401)', async () => {
    configure();
    const invoiceId = await billThroughApi(emulator, 2);
    receiver.statuses.push(500, 500, 500, 500);
    emulator.recordPayment(invoiceId, '1.00');
    await emulator.webhookIdle();
    expect(receiver.received).toHaveLength(4);
    expect(emulator.webhookDeliveries).toEqual([expect.objectContaining({ status: 500, attempts: 4, state: 'failed' })]);

    for (const status of [400, 401]) {
      emulator.reset();
      receiver.received.length = 0;
      receiver.statuses.length = 0;
      receiver.statuses.push(status);
      const again = await billThroughApi(emulator);
      emulator.recordPayment(again, '1.00');
      await emulator.webhookIdle();
      expect(receiver.received).toHaveLength(1);
      expect(emulator.webhookDeliveries).toEqual([expect.objectContaining({ status, attempts: 1, state: 'failed' })]);
    }
  });

  it('retries when nothing answers, and records why', async () => {
    const dead = new Receiver();
    await dead.start();
    const url = dead.url;
    await dead.stop();
    emulator.configureWebhook({ url, secret: SECRET });
    const invoiceId = await billThroughApi(emulator);
    emulator.recordPayment(invoiceId, '1.00');
    await emulator.webhookIdle();
    expect(emulator.webhookDeliveries).toEqual([expect.objectContaining({ status: null, attempts: 4, state: 'failed', error: expect.stringMatching(/ECONNREFUSED/) })]);
  });

  it('sends in the background: the control returns before the callout is answered', async () => {
    configure();
    const invoiceId = await billThroughApi(emulator);
    emulator.recordPayment(invoiceId, '1.00');
    expect(emulator.webhookDeliveries).toEqual([expect.objectContaining({ state: 'pending' })]);
    expect(receiver.received).toHaveLength(0);
    await emulator.webhookIdle();
    expect(receiver.received).toHaveLength(1);
  });

  it('sends through the /_sandbox routes too', async () => {
    configure();
    const invoiceId = await billThroughApi(emulator);
    const res = await fetch(`${emulator.baseUrl}/_sandbox/invoices/${invoiceId}/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: '1.00' }) });
    expect(res.status).toBeLessThan(300);
    await emulator.webhookIdle();
    expect(receiver.received.map((r) => r.body.event)).toEqual(['PaymentProcessed']);
  });

  it('sends InvoiceCanceled when an invoice is canceled, InvoicePosted for an invoice billed outside the subgraph', async () => {
    configure();
    const lineItem = emulator.tenant.orders[0]!.lineItems[0]!;
    const outside = emulator.postInvoiceOutside(lineItem.id, 1, '2025-02-01');
    expect(outside).toEqual(expect.objectContaining({ kind: 'invoice', status: 'Posted', date: '2025-02-01', orderLineItemIds: [lineItem.id] }));
    emulator.cancelInvoice(outside.id);
    await emulator.webhookIdle();
    expect(receiver.received.map((r) => r.body)).toEqual([
      { event: 'InvoicePosted', invoiceId: outside.id, invoiceNumber: outside.number, accountId: expect.stringMatching(/./) },
      { event: 'InvoiceCanceled', invoiceId: outside.id, invoiceNumber: outside.number },
    ]);
    expect(receiver.received.flatMap((r) => intakeOf(r).changes.map((c) => `${c.event}:${c.providerInvoiceId}`))).toEqual([`InvoicePosted:${outside.id}`, `InvoiceCanceled:${outside.id}`]);
  });

  it('bills outside the subgraph by the same quantity rules', () => {
    const lineItem = emulator.tenant.orders[0]!.lineItems[0]!;
    expect(() => emulator.postInvoiceOutside('nope', 1)).toThrow(/no order line item/);
    expect(() => emulator.postInvoiceOutside(lineItem.id, 0)).toThrow(/greater than 0/);
    expect(() => emulator.postInvoiceOutside(lineItem.id, 'x')).toThrow(/must be a number/);
    expect(() => emulator.postInvoiceOutside(lineItem.id, Number(lineItem.quantity) + 1)).toThrow(/exceeds the quantity pending/);
  });

  it('forgets its log on reset, and keeps sending to the configured receiver', async () => {
    configure();
    const invoiceId = await billThroughApi(emulator);
    emulator.recordPayment(invoiceId, '1.00');
    await emulator.webhookIdle();
    emulator.reset();
    expect(emulator.webhookDeliveries).toEqual([]);
    const again = await billThroughApi(emulator);
    emulator.recordPayment(again, '1.00');
    await emulator.webhookIdle();
    expect(emulator.webhookDeliveries).toHaveLength(1);
  });

  it('refuses a configuration without an http(s) URL or a secret', () => {
    expect(() => emulator.configureWebhook({ url: 'ftp://x', secret: SECRET })).toThrow();
    expect(() => emulator.configureWebhook({ url: receiver.url, secret: '' })).toThrow();
  });
});
