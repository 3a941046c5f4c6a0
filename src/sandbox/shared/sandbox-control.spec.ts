import { Decimal } from '../../domain/money';
import type { InvoiceDetails } from '../../domain/invoice';
import type { InvoiceProvider } from '../../providers/provider';
import { CommerceProvider } from '../../providers/commerce/commerce.provider';
import { ExsitedProvider } from '../../providers/exsited/exsited.provider';
import { SalesforceProvider } from '../../providers/salesforce/salesforce.provider';
import { SallaProvider } from '../../providers/salla/salla.provider';
import { ZuoraProvider } from '../../providers/zuora/zuora.provider';
import { CommerceEmulator } from '../commerce/commerce.emulator';
import { COMMERCE_SAMPLE_ORDER_ID, COMMERCE_SANDBOX_TOKEN } from '../commerce/commerce.seed';
import { ExsitedEmulator } from '../exsited/exsited.emulator';
import { EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET } from '../exsited/exsited.seed';
import { SalesforceEmulator } from '../salesforce/salesforce.emulator';
import { SALESFORCE_SANDBOX_TOKEN } from '../salesforce/salesforce.seed';
import { SallaEmulator } from '../salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../salla/salla.seed';
import { ZuoraEmulator } from '../zuora/zuora.emulator';
import { ZUORA_SANDBOX_CLIENT_ID, ZUORA_SANDBOX_CLIENT_SECRET } from '../zuora/zuora.seed';
import { EmulatorServer } from './emulator-server';
import type { ProviderEmulator } from './provider-emulator';
import { registerSandboxRoutes, sandboxAmount, sandboxDate, SandboxError, type SandboxInvoiceState, type SandboxLedgerControl } from './sandbox-control';

const post = (url: string, body?: unknown, raw?: string) =>
  fetch(url, { method: 'POST', headers: body === undefined && raw === undefined ? {} : { 'content-type': 'application/json' }, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });

describe('sandbox control routes on a bare EmulatorServer', () => {
  const state = (id: string): SandboxInvoiceState => ({ providerInvoiceId: id, status: 'Open', total: '10.00', paid: '0.00', credited: '0.00', outstanding: '10.00', lastPaymentDate: null, voided: false });
  const seen: unknown[] = [];
  const control: SandboxLedgerControl = {
    recordPayment: (id, amount, date) => {
      if (id !== 'INV-1') throw new SandboxError('notFound', `no invoice ${id}`);
      seen.push(['payment', amount, date]);
      return { ...state(id), paid: amount };
    },
    recordCredit: (id, amount, date) => {
      seen.push(['credit', id, amount, date]);
      return state(id);
    },
    voidInvoice: (id) => {
      if (id === 'PAID-1') throw new SandboxError('invalid', 'paid');
      return { ...state(id), voided: true };
    },
  };
  let server: EmulatorServer;
  beforeAll(async () => {
    server = new EmulatorServer();
    // A provider guard that refuses everything: the control routes run before it.
    server.use(() => ({ status: 401, body: { error: 'unauthorized' } }));
    registerSandboxRoutes(server, control);
    await server.start();
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    seen.length = 0;
    server.resetCalls();
    server.clearFaults();
  });

  it('200 with the new state, past a guard that refuses everything, with no fault applied and nothing in the call log', async () => {
    server.injectFault({ status: 503, times: Infinity });
    const res = await post(`${server.url}/_sandbox/invoices/INV-1/payments`, { amount: '10.00', date: '2026-12-02' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ providerInvoiceId: 'INV-1', paid: '10.00' });
    expect(seen).toEqual([['payment', '10.00', '2026-12-02']]);
    expect(server.calls).toEqual([]);
    // The provider's own routes still see the fault.
    expect((await fetch(`${server.url}/anything`)).status).toBe(503);
  });

  it('credits and voids; a percent-encoded id is decoded', async () => {
    expect((await post(`${server.url}/_sandbox/invoices/INV%2F2/credits`, { amount: '5.00' })).status).toBe(200);
    expect(seen).toEqual([['credit', 'INV/2', '5.00', undefined]]);
    const voided = await post(`${server.url}/_sandbox/invoices/INV-3/void`);
    expect([voided.status, ((await voided.json()) as SandboxInvoiceState).voided]).toEqual([200, true]);
  });

  it('404 for an unknown invoice, 422 for a refused amount, date or void, 400 for a body that is no JSON object', async () => {
    expect((await post(`${server.url}/_sandbox/invoices/NOPE/payments`, { amount: '1.00' })).status).toBe(404);
    for (const amount of [10, '10.001', '-1.00', '0', 'ten', null]) {
      const res = await post(`${server.url}/_sandbox/invoices/INV-1/payments`, { amount });
      expect([amount, res.status]).toEqual([amount, 422]);
    }
    expect((await post(`${server.url}/_sandbox/invoices/INV-1/payments`, { amount: '1.00', date: 20261202 })).status).toBe(422);
    expect((await post(`${server.url}/_sandbox/invoices/PAID-1/void`)).status).toBe(422);
    expect((await post(`${server.url}/_sandbox/invoices/INV-1/payments`, undefined, '{not json')).status).toBe(400);
    expect((await post(`${server.url}/_sandbox/invoices/INV-1/payments`, ['1.00'])).status).toBe(400);
    expect(seen).toEqual([]);
  });

  it('reads the body as JSON whatever its content type (curl -d sends a form type)', async () => {
    const res = await fetch(`${server.url}/_sandbox/invoices/INV-1/payments`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '{"amount":"2.00"}' });
    expect(res.status).toBe(200);
    expect(seen).toEqual([['payment', '2.00', undefined]]);
  });

  it('other methods and paths under /_sandbox are not control routes', async () => {
    expect((await fetch(`${server.url}/_sandbox/invoices/INV-1/payments`)).status).toBe(401);
  });
});

describe('sandboxAmount and sandboxDate', () => {
  it('exact positive decimals with at most two places; dates as YYYY-MM-DD', () => {
    expect(sandboxAmount('10.5').equals(new Decimal('10.5'))).toBe(true);
    expect(() => sandboxAmount('0.00')).toThrow(SandboxError);
    expect(() => sandboxAmount(0.1)).toThrow(/decimal string/);
    expect(sandboxDate(undefined, () => new Date('2026-12-02T23:00:00Z'))).toBe('2026-12-02');
    expect(() => sandboxDate('2026-13-45', () => new Date())).toThrow(/YYYY-MM-DD/);
  });
});

/** Each emulator with its provider, and a way to create one invoice through the provider's API. */
interface Setup {
  name: string;
  emulator: ProviderEmulator;
  provider: () => InvoiceProvider;
  create: (p: InvoiceProvider) => Promise<InvoiceDetails[]>;
  /** Whether the provider reports a part payment (a Salla order is paid whole: its status says paid or not). */
  reportsPartPayments: boolean;
}

const ctx = { idempotencyKey: 'sandbox-control' };
const setups: Setup[] = [
  {
    name: 'Salesforce',
    emulator: new SalesforceEmulator(),
    provider: function (this: Setup) {
      return new SalesforceProvider({ instanceUrl: this.emulator.baseUrl, accessToken: SALESFORCE_SANDBOX_TOKEN, apiVersion: '62.0', timeoutMs: 2_000 });
    },
    create: (p) => p.create({ fulfillmentOrderId: '0a3Dn000000cEXFIA2' }, ctx),
    reportsPartPayments: true,
  },
  {
    name: 'Salla',
    emulator: new SallaEmulator(),
    provider: function (this: Setup) {
      return new SallaProvider({ baseUrl: this.emulator.baseUrl, accessToken: SALLA_SANDBOX_TOKEN, timeoutMs: 2_000 });
    },
    create: (p) => p.create({ orderId: '389701957', type: 'tax_invoice', dataType: 'url', url: 'https://x.example/i.pdf' }, ctx),
    reportsPartPayments: false,
  },
  {
    name: 'Zuora',
    emulator: new ZuoraEmulator(),
    provider: function (this: Setup) {
      return new ZuoraProvider({ baseUrl: this.emulator.baseUrl, credentials: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: ZUORA_SANDBOX_CLIENT_SECRET }, timeoutMs: 2_000 });
    },
    create: (p) =>
      p.create(
        {
          fulfillments: [
            {
              orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70301',
              quantity: new Decimal(1),
              fulfillmentDate: '2024-05-01',
              billTargetDate: null,
              fulfillmentType: 'Delivery',
              state: 'SentToBilling',
              externalId: null,
              trackingNumber: null,
              carrier: null,
              description: null,
            },
          ],
          processingOptions: { runBilling: true, collectPayment: false, documentDate: null, targetDate: null },
        },
        ctx,
      ),
    reportsPartPayments: true,
  },
  {
    name: 'Exsited',
    emulator: new ExsitedEmulator(),
    provider: function (this: Setup) {
      return new ExsitedProvider({ baseUrl: this.emulator.baseUrl, credentials: { clientId: EXSITED_SANDBOX_CLIENT_ID, clientSecret: EXSITED_SANDBOX_CLIENT_SECRET }, timeoutMs: 2_000 });
    },
    create: (p) => p.create({ orderId: 'ORD-7K2M4P', invoiceId: null, invoiceNote: null }, ctx),
    reportsPartPayments: true,
  },
  {
    name: 'Commerce',
    emulator: new CommerceEmulator(),
    provider: function (this: Setup) {
      return new CommerceProvider({ baseUrl: this.emulator.baseUrl, accessToken: COMMERCE_SANDBOX_TOKEN, currency: 'USD', timeoutMs: 2_000 });
    },
    create: (p) => p.create({ orderId: COMMERCE_SAMPLE_ORDER_ID }, ctx),
    reportsPartPayments: true,
  },
];

describe.each(setups)('$name emulator: the /_sandbox routes over HTTP, without the provider\'s auth', (setup) => {
  const origin = () => setup.emulator.server.url;
  const provider = () => setup.provider.call(setup);
  beforeAll(() => setup.emulator.start(0));
  afterAll(() => setup.emulator.stop());
  beforeEach(() => setup.emulator.reset());

  it('pay part, credit, pay the rest: 200 with the new state each time; the provider read follows', async () => {
    const [made] = await setup.create(provider());
    const id = made!.header.providerInvoiceId;
    const total = made!.header.total.amount;
    setup.emulator.server.resetCalls();

    const pay = await post(`${origin()}/_sandbox/invoices/${encodeURIComponent(id)}/payments`, { amount: '1.00', date: '2026-12-01' });
    expect(pay.status).toBe(200);
    expect(await pay.json()).toMatchObject({ providerInvoiceId: id, paid: '1.00', outstanding: total.minus(1).toFixed(2), lastPaymentDate: '2026-12-01' });
    const credit = await post(`${origin()}/_sandbox/invoices/${encodeURIComponent(id)}/credits`, { amount: '0.50' });
    expect([credit.status, ((await credit.json()) as SandboxInvoiceState).credited]).toEqual([200, '0.50']);
    // Not the provider's API: nothing in its call log (and so nothing counted against its limits).
    expect(setup.emulator.server.calls).toEqual([]);

    let [d] = (await provider().loadDetails([{ provider: made!.header.provider, providerInvoiceId: id, orderId: made!.header.orderId }])) as InvoiceDetails[];
    expect(d!.header.status).toBe(setup.reportsPartPayments ? 'PARTIALLY_PAID' : 'ISSUED');

    const over = await post(`${origin()}/_sandbox/invoices/${encodeURIComponent(id)}/payments`, { amount: total.toFixed(2) });
    expect([over.status, ((await over.json()) as { message: string }).message]).toEqual([422, expect.stringMatching(/outstanding/)]);
    const rest = await post(`${origin()}/_sandbox/invoices/${encodeURIComponent(id)}/payments`, { amount: total.minus('1.50').toFixed(2), date: '2026-12-02' });
    expect([rest.status, ((await rest.json()) as SandboxInvoiceState).outstanding]).toEqual([200, '0.00']);
    [d] = (await provider().loadDetails([{ provider: made!.header.provider, providerInvoiceId: id, orderId: made!.header.orderId }])) as InvoiceDetails[];
    expect(d!.header.status).toBe('PAID');
  });

  it('void: 200 on an invoice with nothing applied; the provider read reports it void', async () => {
    const [made] = await setup.create(provider());
    const id = made!.header.providerInvoiceId;
    const res = await post(`${origin()}/_sandbox/invoices/${encodeURIComponent(id)}/void`);
    expect([res.status, ((await res.json()) as SandboxInvoiceState).voided]).toEqual([200, true]);
    const [d] = (await provider().loadDetails([{ provider: made!.header.provider, providerInvoiceId: id, orderId: made!.header.orderId }])) as InvoiceDetails[];
    expect(d!.header.status).toBe('VOID');
  });

  it('404 for an unknown invoice, 422 for a bad amount, 400 for a malformed body', async () => {
    expect((await post(`${origin()}/_sandbox/invoices/no-such-invoice/payments`, { amount: '1.00' })).status).toBe(404);
    expect((await post(`${origin()}/_sandbox/invoices/no-such-invoice/void`)).status).toBe(404);
    const [made] = await setup.create(provider());
    const id = encodeURIComponent(made!.header.providerInvoiceId);
    expect((await post(`${origin()}/_sandbox/invoices/${id}/payments`, { amount: 1.5 })).status).toBe(422);
    expect((await post(`${origin()}/_sandbox/invoices/${id}/credits`, { amount: '-2.00' })).status).toBe(422);
    expect((await post(`${origin()}/_sandbox/invoices/${id}/payments`, undefined, '{')).status).toBe(400);
  });
});
