import { CreateInvoiceDocument, InvoiceWithDetailsDocument, type CreateInvoiceMutationVariables } from '../generated/graphql';
import { startHarness, type Harness } from '../support/harness';
import { storeName } from '../support/store';

type Input = CreateInvoiceMutationVariables['input'];

/**
 * Every provider through the same GraphQL surface, against its sandbox emulator over HTTP: a create returns a
 * normalised invoice whose lines, taxes and KPIs read back the same; documented refusals come back as userErrors
 * and write nothing at the provider.
 */
interface ProviderCase {
  provider: string;
  create: Input;
  order: string;
  total: { amount: string; currencyCode: string };
  lines: number;
  /** The documented refusals: an unknown order, and a second invoice where the provider allows only one. */
  unknownOrder: { input: Input; code: string; field: string[] };
  again: { code: string; field: unknown };
  /** How many documents exist at the provider's emulator. */
  documents(h: Harness): number;
}

const CASES: ProviderCase[] = [
  {
    provider: 'SALESFORCE',
    create: { salesforce: { fulfillmentOrderId: '0a3Dn000000cEXFIA2' } },
    order: '1OsDn000000KCduKAG',
    total: { amount: '292.20', currencyCode: 'USD' },
    lines: 2,
    unknownOrder: { input: { salesforce: { fulfillmentOrderId: '0a3Dn000000cZZZIA2' } }, code: 'ORDER_NOT_FOUND', field: ['salesforce', 'fulfillmentOrderId'] },
    again: { code: 'ALREADY_INVOICED', field: ['salesforce', 'fulfillmentOrderId'] },
    documents: (h) => h.salesforce.invoices().length,
  },
  {
    provider: 'ZUORA',
    // The whole line (24 of 24): a second fulfillment of it has nothing left to bill.
    create: { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70301', quantity: '24', fulfillmentDate: '2024-05-01' }] } },
    order: 'O-00000201',
    total: { amount: '483.41', currencyCode: 'USD' },
    lines: 1,
    unknownOrder: {
      input: { zuora: { fulfillments: [{ orderLineItemId: '0000000000000000000000000000dead', quantity: '1', fulfillmentDate: '2024-05-01' }] } },
      code: 'ORDER_NOT_FOUND',
      field: ['zuora', 'fulfillments', '0', 'orderLineItemId'],
    },
    again: { code: 'ALREADY_INVOICED', field: expect.anything() },
    documents: (h) => h.zuora.documents().length,
  },
  {
    provider: 'EXSITED',
    create: { exsited: { orderId: 'ORD-7K2M4P', invoiceNote: 'Thank you for your order' } },
    order: 'ORD-7K2M4P',
    total: { amount: '522.23', currencyCode: 'AUD' },
    lines: 2,
    unknownOrder: { input: { exsited: { orderId: 'ORD-NOPE00' } }, code: 'ORDER_NOT_FOUND', field: ['exsited', 'orderId'] },
    again: { code: 'ALREADY_INVOICED', field: ['exsited', 'orderId'] },
    documents: (h) => h.exsited.invoices().length,
  },
  {
    provider: 'COMMERCE',
    create: { commerce: { orderId: '69ab24db449866373d5e3e35' } },
    order: '69ab24db449866373d5e3e35',
    total: { amount: '104.89', currencyCode: 'USD' },
    lines: 2,
    unknownOrder: { input: { commerce: { orderId: '0123456789abcdef01234567' } }, code: 'ORDER_NOT_FOUND', field: ['commerce', 'orderId'] },
    again: { code: 'ALREADY_INVOICED', field: ['commerce', 'orderId'] },
    documents: (h) => h.commerce.invoices().length,
  },
];

describe.each(CASES)(`$provider through createInvoice and the read fields (${storeName()})`, (c) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('creates a normalised invoice whose lines, taxes and KPIs read back the same', async () => {
    const res = await h.execute(CreateInvoiceDocument, { input: c.create, idempotencyKey: `${c.provider}-1` });
    expect(res.errors).toBeUndefined();
    const { invoice, userErrors } = res.data!.createInvoice;
    expect(userErrors).toEqual([]);
    expect(invoice).toMatchObject({ provider: c.provider, order: { id: c.order }, total: c.total });
    expect(invoice!.lines).toHaveLength(c.lines);

    const read = await h.execute(InvoiceWithDetailsDocument, { id: invoice!.id });
    expect(read.errors).toBeUndefined();
    const { createdAt: _a, ...created } = invoice!;
    const { createdAt: _b, ...again } = read.data!.invoice!;
    expect(again).toEqual(created);
  });

  it('a retry with the same key returns the same invoice without a second document at the provider', async () => {
    const before = c.documents(h);
    const res = await h.execute(CreateInvoiceDocument, { input: c.create, idempotencyKey: `${c.provider}-1` });
    expect(res.data!.createInvoice.userErrors).toEqual([]);
    expect(c.documents(h)).toBe(before);
  });

  it('an unknown order is a userError at its field, and writes nothing', async () => {
    const before = c.documents(h);
    const res = await h.execute(CreateInvoiceDocument, { input: c.unknownOrder.input });
    expect(res.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: c.unknownOrder.code, field: c.unknownOrder.field })]);
    expect(c.documents(h)).toBe(before);
  });

  it('a second invoice for the order (new key) is refused as the provider refuses it', async () => {
    const before = c.documents(h);
    const res = await h.execute(CreateInvoiceDocument, { input: c.create, idempotencyKey: `${c.provider}-2` });
    expect(res.data!.createInvoice.userErrors).toEqual([expect.objectContaining(c.again)]);
    expect(res.data!.createInvoice.userErrors[0]!.providerMessage).toMatch(/\S/);
    expect(c.documents(h)).toBe(before);
  });
});

describe(`ZUORA: one call, several documents (${storeName()})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('bills fulfillments of two accounts as two invoices, and a return as a credit note, all recorded', async () => {
    const res = await h.execute(CreateInvoiceDocument, {
      input: {
        zuora: {
          fulfillments: [
            { orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70102', quantity: '1', fulfillmentDate: '2024-05-02' },
            { orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70601', quantity: '1', fulfillmentDate: '2024-05-02' },
          ],
        },
      },
    });
    expect(res.data!.createInvoice.userErrors).toEqual([]);
    const invoices = res.data!.createInvoice.invoices;
    expect(invoices).toHaveLength(2);
    expect(invoices.every((i) => i.kind === 'INVOICE')).toBe(true);

    const ret = await h.execute(CreateInvoiceDocument, {
      input: { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70102', quantity: '1', fulfillmentDate: '2024-05-03', fulfillmentType: 'RETURN' }] } },
    });
    expect(ret.data!.createInvoice.userErrors).toEqual([]);
    expect(ret.data!.createInvoice.invoice).toMatchObject({ kind: 'CREDIT_NOTE', provider: 'ZUORA', order: { id: 'O-00000101' } });
    expect(ret.data!.createInvoice.invoice!.lines!.length).toBe(1);
  });
});

/**
 * Zuora stores the first answer to an Idempotency-Key for 24 hours, failures included, and replays it
 * (https://developer.zuora.com/docs/guides/idempotent-requests): a retry of the same attempt must not meet a
 * day-old lock contention or internal error again.
 */
describe(`ZUORA: a failure Zuora stored under a key is not what every retry gets (${storeName()})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  const input: Input = { zuora: { fulfillments: [{ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70301', quantity: '2', fulfillmentDate: '2024-05-01' }] } };
  const keys = () => h.zuora.server.calls.filter((c) => c.path === '/v1/fulfillments').map((c) => String(c.headers['idempotency-key']));

  it('lock contention (nothing created, retryable): the retry with the same key creates under a new Zuora key', async () => {
    h.zuora.reset();
    h.zuora.failCreates({ reasons: [{ code: 59100050, message: 'Lock contention: the order line item is being updated by another request.' }] });
    const first = await h.execute(CreateInvoiceDocument, { input, idempotencyKey: 'zuora-lock-1' });
    expect(first.data!.createInvoice.userErrors).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', providerCode: '59100050' })]);
    const again = await h.execute(CreateInvoiceDocument, { input, idempotencyKey: 'zuora-lock-1' });
    expect(again.data!.createInvoice.userErrors).toEqual([]);
    expect(again.data!.createInvoice.invoice).toMatchObject({ provider: 'ZUORA', order: { id: 'O-00000201' } });
    expect(h.zuora.documents()).toHaveLength(1);
    // The first key once (its stored failure is not repeated), then the retry's take: the first key replayed, the second performed.
    const sent = keys();
    expect(sent).toEqual([sent[0], sent[0], `${sent[0]}.2`]);
  });

  it('an internal error (outcome unknown): the retry looks the attempt up by externalId, finds nothing, creates once under a new key', async () => {
    h.zuora.reset();
    h.zuora.failCreates({ status: 500, reasons: [{ code: 50000060, message: 'Internal Server Error' }] });
    const first = await h.execute(CreateInvoiceDocument, { input, idempotencyKey: 'zuora-500-1' });
    expect(first.data!.createInvoice.userErrors.map((e) => e.code)).toEqual(['PROVIDER_UNAVAILABLE']);
    expect(h.zuora.documents()).toHaveLength(0);
    const again = await h.execute(CreateInvoiceDocument, { input, idempotencyKey: 'zuora-500-1' });
    expect(again.data!.createInvoice.userErrors).toEqual([]);
    expect(h.zuora.documents()).toHaveLength(1);
    expect(h.zuora.server.countCalls('GET', '/object-query/fulfillments')).toBeGreaterThan(0);
    // A third call replays the recorded invoice: nothing more reaches Zuora's create.
    const posts = keys().length;
    const third = await h.execute(CreateInvoiceDocument, { input, idempotencyKey: 'zuora-500-1' });
    expect(third.data!.createInvoice.invoice!.id).toBe(again.data!.createInvoice.invoice!.id);
    expect(keys().length).toBe(posts);
  });
});
