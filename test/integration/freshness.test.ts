import { createApp } from '../../src/server/app';
import Decimal from 'decimal.js';
import type { ProviderEmulator } from '../../src/sandbox/shared/provider-emulator';
import { CreateInvoiceDocument, CreateSallaInvoiceDocument, InvoiceStatusDocument } from '../generated/graphql';
import { startHarness, type Harness } from '../support/harness';
import { storeName } from '../support/store';
import pino from 'pino';

const ORDERS = ['1818813486', '389701957', '213320125'];

/** Creates a Salla tax invoice (by URL) for an order and returns its id. */
async function invoiceFor(h: Harness, orderId: string): Promise<string> {
  const res = await h.execute(CreateSallaInvoiceDocument, { input: { orderId, dataType: 'URL', url: `https://x.example/${orderId}.pdf` } });
  const id = res.data?.createInvoice.invoice?.id;
  if (!id) throw new Error(`create failed: ${JSON.stringify(res)}`);
  return id;
}

/** Reads status and kpis twice: the first answer is the stored one and asks for a refresh; the second shows it. */
async function readFreshly(h: Harness, id: string) {
  await h.execute(InvoiceStatusDocument, { id });
  await h.app.refresher.idle();
  const res = await h.execute(InvoiceStatusDocument, { id });
  expect(res.errors).toBeUndefined();
  await h.app.refresher.idle();
  return res.data!.invoice!;
}

const sallaReads = (h: Harness) => h.salla.server.calls.filter((c) => c.method === 'GET' && c.path.includes('/orders/invoices/')).length;

describe(`status and kpis: fresh reads cost nothing, stale ones answer at once and refresh in the background (${storeName()})`, () => {
  describe('within the freshness window', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ freshnessMs: 60_000 });
    });
    afterAll(() => h.close());

    it('a just-created invoice answers status and kpis from the ledger: no provider call, syncedAt null', async () => {
      const id = await invoiceFor(h, ORDERS[0]!);
      h.salla.server.resetCalls();
      const res = await h.execute(InvoiceStatusDocument, { id });
      expect(res.errors).toBeUndefined();
      expect(res.data!.invoice).toMatchObject({ id, status: 'ISSUED', syncedAt: null, origin: 'CREATED_HERE' });
      expect(res.data!.invoice!.kpis).not.toBeNull();
      await h.app.refresher.idle();
      expect(h.salla.server.calls).toHaveLength(0);
      expect(h.app.refresher.stats.refreshed).toBe(0);
    });
  });

  describe('past the freshness window', () => {
    let h: Harness;
    const logs: Array<Record<string, unknown>> = [];
    beforeAll(async () => {
      h = await startHarness({ freshnessMs: 0, refreshHoldMs: 60_000, logs });
    });
    afterAll(() => h.close());
    beforeEach(() => h.salla.server.resetCalls());

    it('concurrent stale reads answer at once and cause one background read, after which syncedAt is set', async () => {
      const id = await invoiceFor(h, ORDERS[0]!);
      h.salla.server.resetCalls();
      // The refresh's read is slow, so that it is still running when every one of the ten reads has asked for it (with a
      // freshness of 0, a read that came after it ended would rightly ask again: on PostgreSQL ten reads take longer).
      h.salla.server.injectFault({ method: 'GET', path: '/admin/v2/orders/invoices', delayMs: 500 });
      const before = Date.now();
      const answers = await Promise.all(Array.from({ length: 10 }, () => h.execute(InvoiceStatusDocument, { id })));
      for (const a of answers) expect(a.data!.invoice).toMatchObject({ status: 'ISSUED', syncedAt: null });
      await h.app.refresher.idle();
      expect(sallaReads(h)).toBe(1);
      const after = await h.execute(InvoiceStatusDocument, { id });
      const syncedAt = Date.parse(after.data!.invoice!.syncedAt as string);
      expect(syncedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(syncedAt).toBeLessThanOrEqual(Date.now());
    });

    it('two replicas on one ledger refresh a stale invoice once between them', async () => {
      const id = await invoiceFor(h, ORDERS[1]!);
      const replica = await createApp({ db: h.db, providers: h.providers.registry, logger: pino({ level: 'silent' }), production: false, freshnessMs: 0, refreshHoldMs: 60_000 });
      try {
        h.salla.server.resetCalls();
        const read = (app: typeof replica) =>
          app.apollo.executeOperation({ query: InvoiceStatusDocument, variables: { id } }, { contextValue: app.contextFor() });
        await Promise.all([read(h.app), read(replica), read(h.app), read(replica)]);
        await Promise.all([h.app.refresher.idle(), replica.refresher.idle()]);
        expect(sallaReads(h)).toBe(1);
      } finally {
        await replica.stop();
      }
    });

    it('a refresh that fails keeps the stored status and kpis, logs why, and is not retried within its hold', async () => {
      const id = await invoiceFor(h, ORDERS[2]!);
      const stored = await h.execute(InvoiceStatusDocument, { id });
      await h.app.refresher.idle();
      // The first read above refreshed it; age it again so the next read is stale.
      await h.db.query('UPDATE invoices SET synced_at = NULL, refresh_held_until = NULL WHERE id = $1', [id]);
      h.salla.server.injectFault({ method: 'GET', status: 503, times: Infinity });
      try {
        h.salla.server.resetCalls();
        logs.length = 0;
        const during = await h.execute(InvoiceStatusDocument, { id });
        expect(during.errors).toBeUndefined();
        expect(during.data!.invoice).toMatchObject({ status: stored.data!.invoice!.status, kpis: stored.data!.invoice!.kpis, syncedAt: null });
        await h.app.refresher.idle();
        const calls = sallaReads(h);
        expect(calls).toBeGreaterThanOrEqual(1);
        expect(logs).toContainEqual(expect.objectContaining({ provider: 'SALLA', msg: expect.stringMatching(/could not refresh invoices/) }));
        // Within the hold, further stale reads do not call the failing provider again.
        await h.execute(InvoiceStatusDocument, { id });
        await h.app.refresher.idle();
        expect(sallaReads(h)).toBe(calls);
        const later = await h.execute(InvoiceStatusDocument, { id });
        expect(later.data!.invoice).toMatchObject({ status: stored.data!.invoice!.status, kpis: stored.data!.invoice!.kpis, syncedAt: null });
      } finally {
        h.salla.server.clearFaults();
      }
    });
  });
});

/** One invoice per provider whose invoices report payments; Salla's are read from the order (below). */
const PAYABLE: Array<{ provider: string; input: Record<string, unknown>; voidInput: Record<string, unknown>; emulator: (h: Harness) => ProviderEmulator }> = [
  { provider: 'SALESFORCE', input: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXFIA2' } }, voidInput: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXGIA2' } }, emulator: (h) => h.salesforce },
  {
    provider: 'ZUORA',
    input: { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70201', quantity: '2', fulfillmentDate: '2024-05-01' }] } },
    voidInput: { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70201', quantity: '1', fulfillmentDate: '2024-05-02' }] } },
    emulator: (h) => h.zuora,
  },
  { provider: 'EXSITED', input: { exsited: { orderId: 'ORD-7K2M4P' } }, voidInput: { exsited: { orderId: 'ORD-8N3Q5R' } }, emulator: (h) => h.exsited },
  { provider: 'COMMERCE', input: { commerce: { orderId: '69ab24db449866373d5e3e35' } }, voidInput: { commerce: { orderId: '6932f96b8cd64c28a4fb5873' } }, emulator: (h) => h.commerce },
];

describe.each(PAYABLE)(`$provider: status follows payments, credits and voids recorded at the provider (${storeName()})`, (c) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ freshnessMs: 0 });
  });
  afterAll(() => h.close());

  const readFresh = (id: string) => readFreshly(h, id);
  const created = async (input: Record<string, unknown>) => {
    const res = await h.execute(CreateInvoiceDocument, { input: input as never });
    expect(res.data!.createInvoice.userErrors).toEqual([]);
    return res.data!.createInvoice.invoice!;
  };

  it('a partial payment, then the rest: ISSUED, PARTIALLY_PAID, PAID, with paid and outstanding exact', async () => {
    const invoice = await created(c.input);
    expect(invoice.status).toBe('ISSUED');
    const total = new Decimal(invoice.total.amount);
    c.emulator(h).recordPayment(invoice.providerInvoiceId, '1.00', '2026-11-30');
    const part = await readFresh(invoice.id);
    expect(part.status).toBe('PARTIALLY_PAID');
    expect(part.syncedAt).not.toBeNull();
    expect(new Decimal(part.kpis!.paid!.amount).eq('1.00')).toBe(true);
    expect(new Decimal(part.kpis!.outstanding!.amount).eq(total.minus('1.00'))).toBe(true);
    c.emulator(h).recordPayment(invoice.providerInvoiceId, total.minus('1.00').toFixed(2));
    const paid = await readFresh(invoice.id);
    expect(paid.status).toBe('PAID');
    expect(new Decimal(paid.kpis!.outstanding!.amount).eq(0)).toBe(true);
  });

  it('a void: VOID', async () => {
    const invoice = await created(c.voidInput);
    c.emulator(h).voidInvoice(invoice.providerInvoiceId);
    expect((await readFresh(invoice.id)).status).toBe('VOID');
  });
});

describe(`SALLA: status follows the order, where Salla keeps payment and cancellation (${storeName()})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ freshnessMs: 0 });
  });
  afterAll(() => h.close());

  const readFresh = (id: string) => readFreshly(h, id);
  const providerIdOf = (orderId: string) => String(h.salla.invoices().find((i) => String(i.orderId) === orderId)!.id);

  it('awaiting payment: ISSUED, all of it outstanding even part paid (an order is paid whole); paid: PAID', async () => {
    const id = await invoiceFor(h, '213320125');
    const pid = providerIdOf('213320125');
    h.salla.recordPayment(pid, '1.00');
    const part = await readFresh(id);
    expect([part.status, part.kpis!.paid!.amount]).toEqual(['ISSUED', '0.00']);
    const total = new Decimal(part.kpis!.outstanding!.amount);
    h.salla.recordPayment(pid, total.minus('1.00').toFixed(2));
    const paid = await readFresh(id);
    expect([paid.status, paid.kpis!.outstanding!.amount, paid.kpis!.paid!.amount]).toEqual(['PAID', '0.00', total.toFixed(2)]);
  });

  it('a canceled order: VOID; cash on delivery: PAID once delivered', async () => {
    const canceled = await invoiceFor(h, '1124455667');
    h.salla.voidInvoice(providerIdOf('1124455667'));
    expect((await readFresh(canceled)).status).toBe('VOID');
    const cod = await invoiceFor(h, '1056403210');
    h.salla.setOrderStatus(1056403210, 'shipped');
    expect((await readFresh(cod)).status).toBe('ISSUED');
    h.salla.setOrderStatus(1056403210, 'delivered');
    expect((await readFresh(cod)).status).toBe('PAID');
  });
});
