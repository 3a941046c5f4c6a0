import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import {
  SALLA_SANDBOX_ORDERS,
  SALLA_SANDBOX_READONLY_TOKEN,
  SALLA_SANDBOX_SALLA_ISSUER_TOKEN,
  SALLA_SANDBOX_TOKEN,
  sallaSandboxStores,
  type SallaOrderSeed,
} from '../../src/sandbox/salla/salla.seed';

/**
 * The Salla emulator against Salla's own examples (seed 003, copied to test/fixtures/salla), over real HTTP.
 * Each example is replayed with a request that produces it; the answer must equal the example except for
 * values no emulator can reproduce (generated ids, and the file URL that points at the emulator).
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'salla');

interface ResponseFixture {
  example?: string;
  summary: string;
  status: number;
  body: Record<string, any>;
}

const fixture = <T = ResponseFixture>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;

const PDF = Buffer.from('%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

interface CallOptions {
  token?: string | null;
  json?: unknown;
  form?: FormData;
  raw?: { contentType: string; body: string };
  lang?: string;
}

let emulator: SallaEmulator;
let now = new Date('2024-05-01T09:00:00Z');

async function call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = options.token === undefined ? SALLA_SANDBOX_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.lang) headers['accept-language'] = options.lang;
  let body: string | FormData | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  } else if (options.raw) {
    headers['content-type'] = options.raw.contentType;
    body = options.raw.body;
  }
  const url = path.startsWith('http') ? path : `${emulator.baseUrl}${path}`;
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const create = (json: unknown, options: Omit<CallOptions, 'json'> = {}) => call('POST', '/orders/invoices', { ...options, json });

function fileForm(fields: Record<string, string>, file: Buffer | null, filename = 'invoice.pdf'): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  if (file) form.set('file', new Blob([new Uint8Array(file)], { type: 'application/pdf' }), filename);
  return form;
}

const urlInvoice = (orderId: number, type = 'tax_invoice') => ({ order_id: orderId, type, data_type: 'url', url: 'https://i.ibb.co/jyqRQfQ/invoice.pdf' });
const dataInvoice = (orderId: number, invoiceNumber: string, type = 'tax_invoice') => ({
  order_id: orderId,
  type,
  data_type: 'data',
  invoice_number: invoiceNumber,
  sub_total: 100,
  total: 115,
  shipping_cost: 0,
  cash_on_delivery_cost: 0,
});

const expectOk = (a: Answer) => {
  if (a.status !== 200) throw new Error(`expected 200, got ${a.status}: ${JSON.stringify(a.body)}`);
  return a.body.data;
};

const validation = (fields: Record<string, string[]>) => ({
  status: 422,
  success: false,
  error: { code: 'error', message: 'alert.invalid_fields', fields },
});

beforeAll(async () => {
  emulator = new SallaEmulator({ now: () => now });
  await emulator.start();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(() => {
  emulator.reset();
  now = new Date('2024-05-01T09:00:00Z');
});

describe('the seed examples, replayed', () => {
  const request = fixture<{ body: Record<string, unknown> }>('request.create-invoice.json').body;

  it('request example (the schema property examples): creates a `data` invoice for order 1818813486', async () => {
    const example1 = fixture('response.200.example-1.data-data-type-response.json').body;
    const answer = await create(request);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      ...example1,
      data: {
        ...example1.data,
        id: answer.body.data.id,
        order_id: 1818813486,
        date: '2024-05-01',
        items: [
          {
            name: 'Wireless Earbuds',
            quantity: 1,
            price: { amount: '249.00', currency: 'SAR' },
            discount: { amount: '24.90', currency: 'SAR' },
            tax: { percent: '15.00', amount: { amount: '33.62', currency: 'SAR' } },
            total: { amount: 257.72, currency: 'SAR' },
          },
          {
            name: 'USB-C Charging Cable',
            quantity: 2,
            price: { amount: '29.95', currency: 'SAR' },
            discount: { amount: '0.00', currency: 'SAR' },
            tax: { percent: '15.00', amount: { amount: '8.99', currency: 'SAR' } },
            total: { amount: 68.89, currency: 'SAR' },
          },
        ],
      },
    });
  });

  // Each entry: the fixture, and the request(s) that produce it. The last answer is compared.
  const scenarios: Record<string, { now?: string; run: () => Promise<Answer>; generated?: (body: any) => Record<string, unknown> }> = {
    'response.200.example-1.data-data-type-response.json': {
      now: '2022-03-23T09:00:00Z',
      run: () => create({ ...request, order_id: 1371877152 }),
      generated: (body) => ({ id: body.data.id }),
    },
    'response.200.example-3.url-data-type-response.json': {
      now: '2022-12-31T09:00:00Z',
      run: () => create(urlInvoice(389701957)),
      generated: (body) => ({ id: body.data.id }),
    },
    'response.200.example-4.file-data-type-response.json': {
      now: '2022-02-27T09:00:00Z',
      run: () => call('POST', '/orders/invoices', { form: fileForm({ order_id: '213320125', type: 'tax_invoice', data_type: 'file' }, PDF) }),
      // The document is served by the emulator, not by i.ibb.co.
      generated: (body) => ({ id: body.data.id, url: body.data.url }),
    },
    'response.401.unauthorized.json': {
      run: () => create(urlInvoice(389701957), { token: SALLA_SANDBOX_READONLY_TOKEN }),
    },
    'response.404.not-found.json': {
      run: () => call('GET', '/orders/invoices/123456789'),
    },
    'response.422.example-6.required-fields.json': {
      run: () => create({}),
    },
    'response.422.example-7.inactivated-settings.json': {
      run: () => create(urlInvoice(389701957), { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN }),
    },
    'response.422.example-8.invalid-order.json': {
      run: async () => {
        expectOk(await create(urlInvoice(389701957)));
        expectOk(await create(urlInvoice(389701957, 'credit_note')));
        return create(urlInvoice(389701957, 'credit_note'));
      },
    },
    'response.422.example-9.salla-inactivated.json': {
      run: () => create({ order_id: 389701957, type: 'tax_invoice', data_type: 'order' }),
    },
    'response.422.example-10.invoice-already-issued.json': {
      run: async () => {
        expectOk(await create(urlInvoice(389701957)));
        return create(urlInvoice(389701957));
      },
    },
    'response.422.example-11.invalid-order-id.json': {
      run: () => create(urlInvoice(1)),
    },
    'response.422.example-12.invalid-url.json': {
      run: () => create({ ...urlInvoice(389701957), url: 'https://i.ibb.co/jyqRQfQ/invoice.png' }),
    },
    'response.422.example-13.required-fields-for-data-data-type.json': {
      run: () => create({ data_type: 'data' }),
    },
    'response.422.example-14.data-data-type-order-already-issued.json': {
      run: async () => {
        expectOk(await create(dataInvoice(1056403210, 'INV-1001')));
        return create(dataInvoice(1056403210, 'INV-1001'));
      },
    },
    'response.422.example-15.file-data-type-invalid-fields.json': {
      run: () => call('POST', '/orders/invoices', { form: fileForm({ order_id: '213320125', type: 'invoice', data_type: 'file' }, PNG, 'invoice.png') }),
    },
  };

  it('covers every response fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.startsWith('response.'));
    expect(Object.keys(scenarios).sort()).toEqual(files.sort());
  });

  it.each(Object.keys(scenarios))('%s', async (name) => {
    const expected = fixture(name);
    const scenario = scenarios[name]!;
    if (scenario.now) now = new Date(scenario.now);
    const answer = await scenario.run();
    expect(answer.status).toBe(expected.status);
    const generated = scenario.generated?.(answer.body) ?? {};
    expect(answer.body).toEqual(Object.keys(generated).length ? { ...expected.body, data: { ...expected.body.data, ...generated } } : expected.body);
    if ('id' in generated) expect(String(generated.id)).toMatch(/^\d{9,10}$/);
  });

  it('example 4: the uploaded PDF is served back at the returned .pdf URL, without auth', async () => {
    const data = expectOk(await call('POST', '/orders/invoices', { form: fileForm({ order_id: '213320125', type: 'tax_invoice', data_type: 'file' }, PDF) }));
    expect(data.url).toBe(`${emulator.server.url}/files/invoices/${data.id}.pdf`);
    const res = await fetch(data.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await res.arrayBuffer()).equals(PDF)).toBe(true);
    expect((await fetch(`${emulator.server.url}/files/invoices/1.pdf`)).status).toBe(404);
  });
});

describe('authentication and scopes', () => {
  it('refuses a missing or unknown token with the 401 shape', async () => {
    const missing = await create(urlInvoice(389701957), { token: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ status: 401, success: false, error: { code: 'Unauthorized', message: 'The access token is missing.' } });
    const unknown = await call('GET', '/orders/invoices', { token: 'not-a-token' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ status: 401, success: false, error: { code: 'Unauthorized', message: 'The access token is invalid.' } });
    expect(emulator.invoices()).toEqual([]);
  });

  it('lets the orders.read token read what the store created', async () => {
    const created = expectOk(await create(urlInvoice(389701957)));
    const read = await call('GET', `/orders/invoices/${created.id}`, { token: SALLA_SANDBOX_READONLY_TOKEN });
    expect(read.status).toBe(200);
    expect(read.body.data.id).toBe(created.id);
  });
});

describe('validation rules', () => {
  it('rejects an unknown type or data_type value', async () => {
    const answer = await create({ order_id: 389701957, type: 'proforma', data_type: 'pdf' });
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual(validation({ type: ['حقل نوع الفاتورة غير صالحٍ'], data_type: ['حقل نوع بيانات الفاتورة  غير صالحٍ'] }));
  });

  it('lists the missing `data` fields together with missing order_id and type', async () => {
    const answer = await create({ data_type: 'data', invoice_number: 'A-1', total: 10 });
    expect(Object.keys(answer.body.error.fields)).toEqual(['order_id', 'type', 'sub_total', 'shipping_cost', 'cash_on_delivery_cost']);
  });

  it('requires numeric, non-negative amounts', async () => {
    const answer = await create({ ...dataInvoice(389701957, 'A-1'), sub_total: 'abc', shipping_cost: -1, tax_value: '1,5' });
    expect(answer.body).toEqual(
      validation({
        sub_total: ['يجب على حقل الاجمالي  أن يكون رقمًا.'],
        shipping_cost: ['يجب أن تكون قيمة حقل سعر الشحن مساوية أو أكبر من 0.'],
        tax_value: ['يجب على حقل قيمة الضريبة أن يكون رقمًا.'],
      }),
    );
  });

  it('refuses amounts and an order id sent as JSON strings, naming each field, as the documented types say', async () => {
    const strings = { order_id: '389701957', type: 'tax_invoice', data_type: 'data', invoice_number: 'S-1', sub_total: '200.10', total: '259.37', shipping_cost: '25.00', cash_on_delivery_cost: '0', tax: '15', tax_value: '34.27' };
    const ar = await create(strings);
    expect(ar.status).toBe(422);
    expect(ar.body).toEqual(
      validation({
        order_id: ['يجب أن يكون حقل order id عددًا صحيحًا.'],
        total: ['يجب على حقل الاجمالي الكلي أن يكون رقمًا.'],
        sub_total: ['يجب على حقل الاجمالي  أن يكون رقمًا.'],
        shipping_cost: ['يجب على حقل سعر الشحن أن يكون رقمًا.'],
        cash_on_delivery_cost: ['يجب على حقل سعر الدفع عند الإستلام أن يكون رقمًا.'],
        tax: ['يجب على حقل الضريبة أن يكون رقمًا.'],
        tax_value: ['يجب على حقل قيمة الضريبة أن يكون رقمًا.'],
      }),
    );
    const en = await create({ ...dataInvoice(389701957, 'S-1'), sub_total: '200.10' }, { lang: 'en' });
    expect(en.body).toEqual(validation({ sub_total: ['The subtotal field must be a number.'] }));
    // Neither a fraction nor an exponent is an integer order id; an integer that names no order is example 11's answer.
    for (const orderId of ['389701957.0', '3.89701957e8', 'true', '[389701957]']) {
      const answer = await call('POST', '/orders/invoices', { raw: { contentType: 'application/json', body: `{"order_id":${orderId},"type":"tax_invoice","data_type":"order"}` }, lang: 'en' });
      expect(answer.body.error.fields.order_id).toEqual(['The order id field must be an integer.']);
    }
    expect((await create(urlInvoice(-389701957), { lang: 'en' })).body.error.fields).toEqual({ order_id: ['The order number is incorrect.'] });
    expect(emulator.invoices()).toEqual([]);
  });

  it('reads JSON numbers exactly, as the client wrote them, not through a float', async () => {
    const body =
      '{"order_id":389701957,"type":"tax_invoice","data_type":"data","invoice_number":"X-1","sub_total":12345678901234567.89,' +
      '"total":9007199254740993,"shipping_cost":90.50,"cash_on_delivery_cost":1e-2,"tax":15,"tax_value":35.3}';
    const answer = await call('POST', '/orders/invoices', { raw: { contentType: 'application/json', body } });
    expect(answer.status).toBe(200);
    expect(emulator.invoices(SALLA_SANDBOX_TOKEN)[0]).toMatchObject({ subTotal: '12345678901234567.89', total: '9007199254740993.00', shippingCost: '90.50', cashOnDeliveryCost: '0.01', taxPercent: '15.00', tax: '35.30' });
  });

  it('requires a url for data_type url, a valid one ending in .pdf', async () => {
    expect((await create({ order_id: 389701957, type: 'tax_invoice', data_type: 'url' })).body).toEqual(
      validation({ url: ['حقل عنوان (url) مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي url.'] }),
    );
    expect((await create({ ...urlInvoice(389701957), url: 'https://example.com/invoice.pdf?download=1' })).body.error.fields).toEqual({
      url: ['يجب أن ينتهي  عنوان (url)  بأحد القيم التالية: .pdf'],
    });
    expect((await create({ ...urlInvoice(389701957), url: 'invoice.pdf' })).body.error.fields).toEqual({ url: ['صيغة رابط عنوان (url) غير صحيحة.'] });
  });

  it('requires a PDF file for data_type file, checking its bytes rather than its name', async () => {
    const fields = { order_id: '213320125', type: 'tax_invoice', data_type: 'file' };
    const missing = await call('POST', '/orders/invoices', { form: fileForm(fields, null) });
    expect(missing.body).toEqual(validation({ file: ['حقل الملف مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي file.'] }));
    const disguised = await call('POST', '/orders/invoices', { form: fileForm(fields, PNG, 'invoice.pdf') });
    expect(disguised.body).toEqual(validation({ file: ['يجب أن يكون حقل ملفًا من نوع : pdf.'] }));
    const asJson = await create({ order_id: 213320125, type: 'tax_invoice', data_type: 'file', file: PDF.toString('base64') });
    expect(asJson.body).toEqual(validation({ file: ['يجب أن يكون حقل ملفًا من نوع : pdf.'] }));
    expect(emulator.invoices()).toEqual([]);
  });

  it('reads a malformed JSON body as no input (Laravel does), answering the required fields', async () => {
    const answer = await call('POST', '/orders/invoices', { raw: { contentType: 'application/json', body: '{"order_id": 389701957,' } });
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual(fixture('response.422.example-6.required-fields.json').body);
  });

  it('refuses `order` on a custom-issuer store and data/url/file on a Salla-issuer store', async () => {
    for (const body of [dataInvoice(389701957, 'X-1'), urlInvoice(389701957)]) {
      expect((await create(body, { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN })).body.error.fields).toEqual(
        fixture('response.422.example-7.inactivated-settings.json').body.error.fields,
      );
    }
    expect(expectOk(await create({ order_id: 389701957, type: 'tax_invoice', data_type: 'order' }, { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN })).type).toBe('Tax Invoice');
  });

  it('refuses an invoice number already used on another order of the store, but not of another store', async () => {
    expectOk(await create(dataInvoice(389701957, 'INV-7')));
    const again = await create(dataInvoice(213320125, 'INV-7'));
    expect(again.body).toEqual(validation({ invoice_number: ['رقم الفاتورة مكرر'] }));
    expect(emulator.invoices(SALLA_SANDBOX_TOKEN)).toHaveLength(1);
    expect(emulator.invoices(SALLA_SANDBOX_SALLA_ISSUER_TOKEN)).toHaveLength(0);
  });

  it('needs a tax invoice on the order before a credit note', async () => {
    const early = await create(urlInvoice(389701957, 'credit_note'));
    expect(early.body).toEqual(validation({ type: ['لا يمكن اصدار إشعار دائن للطلب قبل اصدار فاتورة ضريبية له'] }));
    const early2 = await create(urlInvoice(389701957, 'credit_note'), { lang: 'en' });
    expect(early2.body).toEqual(validation({ type: ['A credit note cannot be issued for the order before a tax invoice.'] }));
  });

  it('issues a credit note that reverses the order in positive amounts', async () => {
    const tax = expectOk(await create({ order_id: 1124455667, type: 'tax_invoice', data_type: 'order' }, { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN }));
    const credit = expectOk(await create({ order_id: 1124455667, type: 'credit_note', data_type: 'order' }, { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN }));
    expect(credit.type).toBe('Credit Note');
    expect(credit.id).not.toBe(tax.id);
    for (const key of ['subtotal', 'shipping_cost', 'cod_cost', 'discount', 'tax', 'total', 'items'] as const) {
      if (key === 'items') expect(credit.items.map(({ id: _id, ...rest }: any) => rest)).toEqual(tax.items.map(({ id: _id, ...rest }: any) => rest));
      else expect(credit[key]).toEqual(tax[key]);
    }
    expect(credit.total).toEqual({ amount: 282.14, currency: 'ر.س' });
  });

  it('answers in English with Accept-Language: en, keeping message alert.invalid_fields', async () => {
    const en = (json: unknown, token = SALLA_SANDBOX_TOKEN) => create(json, { lang: 'en-US,en;q=0.9', token });
    expect((await en({})).body).toEqual(
      validation({ order_id: ['The order id field is required.'], type: ['The invoice type field is required.'], data_type: ['The invoice data type field is required.'] }),
    );
    expect((await en({ data_type: 'data' })).body.error.fields).toEqual({
      order_id: ['The order id field is required.'],
      type: ['The invoice type field is required.'],
      invoice_number: ['The invoice number field is required when invoice data type is data.'],
      total: ['The grand total field is required when invoice data type is data.'],
      sub_total: ['The subtotal field is required when invoice data type is data.'],
      shipping_cost: ['The shipping cost field is required when invoice data type is data.'],
      cash_on_delivery_cost: ['The cash on delivery cost field is required when invoice data type is data.'],
    });
    expect((await en({ order_id: 5, type: 'x', data_type: 'url', url: 'https://a.b/c.doc' })).body.error.fields).toEqual({
      order_id: ['The order number is incorrect.'],
      type: ['The selected invoice type is invalid.'],
      url: ['The url must end with one of the following: .pdf'],
    });
    expect((await en(urlInvoice(389701957), SALLA_SANDBOX_SALLA_ISSUER_TOKEN)).body.error.fields).toEqual({
      invoice_provider: ["An invoice cannot be added to the order: the store's invoice issuing settings follow the default provider."],
    });
    expect((await en({ order_id: 389701957, type: 'tax_invoice', data_type: 'order' })).body.error.fields).toEqual({
      data_type: ['This type does not match the invoice issuing method settings in your store.'],
    });
    expectOk(await en(dataInvoice(389701957, 'E-1')));
    expect((await en(dataInvoice(389701957, 'E-1'))).body.error.fields).toEqual({
      type: ['An invoice has already been issued for the order.'],
      invoice_number: ['The invoice number is duplicated.'],
    });
    expectOk(await en(dataInvoice(389701957, 'E-2', 'credit_note')));
    expect((await en(dataInvoice(389701957, 'E-3', 'credit_note'))).body.error.fields).toEqual({
      order: ['The invoice cannot be added: there is a previous invoice for this order.'],
    });
    const form = fileForm({ order_id: '213320125', type: 'tax_invoice', data_type: 'file' }, PNG);
    expect((await call('POST', '/orders/invoices', { form, lang: 'en' })).body.error.fields).toEqual({ file: ['The file must be a file of type: pdf.'] });
    expect((await call('GET', '/orders/invoices/42', { lang: 'en' })).body).toEqual({
      status: 404,
      success: false,
      error: { code: 'error', message: 'The content you are trying to access is not available.' },
    });
  });
});

describe('reading invoices', () => {
  /** Hand-computed: VAT 15 % per item on its net; header VAT on subtotal − discount + shipping + COD. */
  const expectedTotals: Record<number, { subtotal: number; discount: string; shipping: string; cod: number; tax: number; total: number }> = {
    1371877152: { subtotal: 90.5, discount: '0.00', shipping: '0.00', cod: 0, tax: 13.58, total: 104.08 },
    389701957: { subtotal: 200, discount: '0.00', shipping: '25.00', cod: 0, tax: 33.75, total: 258.75 },
    213320125: { subtotal: 187.5, discount: '20.00', shipping: '18.00', cod: 0, tax: 27.83, total: 213.33 },
    1818813486: { subtotal: 284, discount: '0.00', shipping: '30.00', cod: 15, tax: 49.35, total: 378.35 },
    1056403210: { subtotal: 471, discount: '50.00', shipping: '0.00', cod: 10, tax: 64.65, total: 495.65 },
    1124455667: { subtotal: 237.84, discount: '15.00', shipping: '22.50', cod: 0, tax: 36.8, total: 282.14 },
  };

  it('seeds exactly the six documented orders in both stores', () => {
    expect(SALLA_SANDBOX_ORDERS.map((o) => o.id).sort()).toEqual(Object.keys(expectedTotals).map(Number).sort());
    for (const store of sallaSandboxStores()) expect(store.orders.map((o) => o.id)).toEqual(SALLA_SANDBOX_ORDERS.map((o) => o.id));
  });

  it.each(SALLA_SANDBOX_ORDERS.map((o) => [o.id, o] as const))('order %s: Salla computes the invoice from the order exactly', async (id, order: SallaOrderSeed) => {
    const created = expectOk(await create({ order_id: id, type: 'tax_invoice', data_type: 'order' }, { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN }));
    const read = await call('GET', `/orders/invoices/${created.id}`, { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN });
    expect(read.body.data).toEqual(created);
    const e = expectedTotals[id]!;
    expect(created).toMatchObject({
      subtotal: { amount: e.subtotal, currency: 'ر.س' },
      shipping_cost: { amount: e.shipping, taxable: true, currency: 'ر.س' },
      cod_cost: { amount: e.cod, taxable: true, currency: 'ر.س' },
      discount: { amount: e.discount, currency: 'ر.س' },
      tax: { percent: 15, amount: { amount: e.tax, currency: 'ر.س' } },
      total: { amount: e.total, currency: 'ر.س' },
    });
    expect(created.items.map((i: any) => [i.item_id, i.sku, i.quantity, i.price.amount, i.discount.amount])).toEqual(
      order.items.map((i) => [String(i.itemId), i.sku, i.quantity, i.price, i.discount]),
    );
  });

  it('returns the InvoiceDetails schema with Salla’s mixed number/string amounts', async () => {
    now = new Date('2023-10-01T21:30:00Z'); // already 2 October in Riyadh
    const created = expectOk(await create({ order_id: 1371877152, type: 'tax_invoice', data_type: 'order' }, { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN }));
    const read = await call('GET', `/orders/invoices/${created.id}`, { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN });
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      status: 200,
      success: true,
      data: {
        id: created.id,
        invoice_number: '1',
        uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        order_id: 1371877152,
        invoice_reference_id: null,
        type: 'Tax Invoice',
        date: '2023-10-02',
        qr_code: expect.any(String),
        payment_method: 'credit_card',
        subtotal: { amount: 90.5, currency: 'ر.س' },
        shipping_cost: { amount: '0.00', taxable: true, currency: 'ر.س' },
        cod_cost: { amount: 0, taxable: true, currency: 'ر.س' },
        discount: { amount: '0.00', currency: 'ر.س' },
        tax: { percent: 15, amount: { amount: 13.58, currency: 'ر.س' } },
        total: { amount: 104.08, currency: 'ر.س' },
        items: [
          {
            id: expect.stringMatching(/^\d{9,10}$/),
            item_id: '50114011',
            product_id: '1906433311',
            name: 'فستان فراولة',
            sku: 'DRESS-STRAWBERRY-M',
            quantity: 1,
            type: 'product',
            price: { amount: '90.50', currency: 'SAR' },
            discount: { amount: '0.00', currency: 'SAR' },
            tax: { percent: '15.00', amount: { amount: '13.58', currency: 'SAR' } },
            total: { amount: 104.08, currency: 'SAR' },
          },
        ],
      },
    });
    // ZATCA TLV: seller, VAT number, timestamp, total, VAT.
    const tlv = Buffer.from(read.body.data.qr_code, 'base64');
    const values: string[] = [];
    for (let i = 0; i < tlv.length; i += 2 + tlv[i + 1]!) values.push(tlv.subarray(i + 2, i + 2 + tlv[i + 1]!).toString('utf8'));
    expect(values).toEqual(['Salla Sandbox Store (Salla invoices)', '310122393500003', '2023-10-01T21:30:00.000Z', '104.08', '13.58']);
  });

  // Salla's InvoiceDetails (seed 003's schema; https://docs.salla.dev/5394158e0) has no `url`: only the create answer
  // of a url or file invoice carries the link (examples 3 and 4).
  it('reads a url, file or data invoice back with the order’s lines and no document url', async () => {
    const url = expectOk(await create(urlInvoice(389701957)));
    expect(url.url).toBe('https://i.ibb.co/jyqRQfQ/invoice.pdf');
    const read = (await call('GET', `/orders/invoices/${url.id}`)).body.data;
    expect(read).toMatchObject({ id: url.id, total: { amount: 258.75, currency: 'ر.س' }, qr_code: null });
    expect(read).not.toHaveProperty('url');
    expect(read.items).toHaveLength(2);

    const data = expectOk(await create(dataInvoice(213320125, 'M-1')));
    const readData = (await call('GET', `/orders/invoices/${data.id}`)).body.data;
    expect(readData).toMatchObject({ invoice_number: 'M-1', invoice_reference_id: 'M-1', subtotal: { amount: 100 }, total: { amount: 115 }, discount: { amount: '20.00' } });
    expect(readData).not.toHaveProperty('url');
  });

  it('answers the seed’s 404 for an unknown id or another store’s invoice', async () => {
    const notFound = fixture('response.404.not-found.json').body;
    const other = expectOk(await create({ order_id: 389701957, type: 'tax_invoice', data_type: 'order' }, { token: SALLA_SANDBOX_SALLA_ISSUER_TOKEN }));
    const answer = await call('GET', `/orders/invoices/${other.id}`);
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual(notFound);
    expect((await call('GET', '/orders/invoices/not-a-number')).body).toEqual(notFound);
  });

  it('answers the 404 shape for an unknown path, inside or outside the API', async () => {
    const notFound = fixture('response.404.not-found.json').body;
    const inside = await call('GET', '/orders/unknown');
    expect(inside.status).toBe(404);
    expect(inside.body).toEqual(notFound);
    expect(inside.headers.get('x-ratelimit-limit')).toBe('720');
    const outside = await call('DELETE', `${emulator.server.url}/nowhere`);
    expect(outside.status).toBe(404);
    expect(outside.body).toEqual(notFound);
  });
});

describe('listing invoices', () => {
  const manyOrders = (n: number): SallaOrderSeed[] =>
    Array.from({ length: n }, (_, i) => ({ ...SALLA_SANDBOX_ORDERS[0]!, id: 500000000 + i }));
  let big: SallaEmulator;

  beforeAll(async () => {
    const [custom] = sallaSandboxStores();
    big = new SallaEmulator({ stores: [{ ...custom!, orders: manyOrders(70) }] });
    await big.start();
    for (let i = 0; i < 70; i++) {
      const res = await fetch(`${big.baseUrl}/orders/invoices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SALLA_SANDBOX_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(urlInvoice(500000000 + i)),
      });
      expect(res.status).toBe(200);
    }
  });

  afterAll(() => big.stop());

  const list = async (query: string) => {
    const res = await fetch(`${big.baseUrl}/orders/invoices${query}`, { headers: { authorization: `Bearer ${SALLA_SANDBOX_READONLY_TOKEN}` } });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('pages 15 by default, newest first', async () => {
    const { status, body } = await list('');
    expect(status).toBe(200);
    expect(body.success).toBe(true);
    expect(body.data).toHaveLength(15);
    expect(body.data[0].order_id).toBe(500000069);
    expect(body.pagination).toEqual({
      count: 15,
      total: 70,
      perPage: 15,
      currentPage: 1,
      totalPages: 5,
      links: { next: `${big.baseUrl}/orders/invoices?page=2&per_page=15` },
    });
  });

  it('caps per_page at 60', async () => {
    const second = await list('?per_page=100&page=2');
    expect(second.body.pagination).toEqual({
      count: 10,
      total: 70,
      perPage: 60,
      currentPage: 2,
      totalPages: 2,
      links: { previous: `${big.baseUrl}/orders/invoices?page=1&per_page=60` },
    });
    expect(second.body.data.map((i: any) => i.order_id)).toEqual(Array.from({ length: 10 }, (_, i) => 500000009 - i));
  });

  it('filters by order_id', async () => {
    const one = await list('?order_id=500000007');
    expect(one.body.data).toHaveLength(1);
    expect(one.body.data[0]).toMatchObject({ order_id: 500000007, type: 'Tax Invoice' });
    expect(one.body.data[0]).not.toHaveProperty('url');
    expect(one.body.pagination).toMatchObject({ count: 1, total: 1, totalPages: 1, links: {} });
    const none = await list('?order_id=1');
    expect(none.body).toMatchObject({ data: [], pagination: { count: 0, total: 0, currentPage: 1, totalPages: 1 } });
  });
});

describe('rate limit', () => {
  it('drains a leaky bucket per store and answers 429 with Retry-After past it', async () => {
    let clock = 1_700_000_000_000;
    const limited = new SallaEmulator({ rateLimitPerMinute: 3, clock: () => clock });
    await limited.start();
    try {
      const get = (token = SALLA_SANDBOX_TOKEN) => fetch(`${limited.baseUrl}/orders/invoices`, { headers: { authorization: `Bearer ${token}` } });
      const first = await get();
      expect(first.status).toBe(200);
      expect([first.headers.get('x-ratelimit-limit'), first.headers.get('x-ratelimit-remaining')]).toEqual(['3', '2']);
      expect(Number(first.headers.get('x-ratelimit-reset'))).toBe(Math.ceil((clock + 20_000) / 1000));
      await get();
      // The read-only token is the same store: it shares the bucket.
      expect((await get(SALLA_SANDBOX_READONLY_TOKEN)).headers.get('x-ratelimit-remaining')).toBe('0');

      const refused = await get();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('20');
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(await refused.json()).toEqual({ status: 429, success: false, error: { code: 'TooManyRequests', message: 'Too Many Attempts.' } });

      // Another store has its own bucket.
      expect((await get(SALLA_SANDBOX_SALLA_ISSUER_TOKEN)).status).toBe(200);

      clock += 20_000; // one request's worth drains
      const again = await get();
      expect(again.status).toBe(200);
      expect(again.headers.get('x-ratelimit-remaining')).toBe('0');
      expect((await get()).status).toBe(429);
    } finally {
      await limited.stop();
    }
  });

  it('puts the rate-limit headers on errors too', async () => {
    const answer = await create({});
    expect(answer.status).toBe(422);
    expect(answer.headers.get('x-ratelimit-limit')).toBe('720');
    expect(Number(answer.headers.get('x-ratelimit-remaining'))).toBe(719);
  });
});

describe('emulator controls', () => {
  it('reset() drops created invoices and their files', async () => {
    const created = expectOk(await call('POST', '/orders/invoices', { form: fileForm({ order_id: '213320125', type: 'tax_invoice', data_type: 'file' }, PDF) }));
    expect(emulator.invoices(SALLA_SANDBOX_TOKEN)).toMatchObject([{ id: created.id, orderId: 213320125, dataType: 'file', total: '213.33' }]);
    expect(emulator.invoices(SALLA_SANDBOX_TOKEN)[0]!.file!.equals(PDF)).toBe(true);
    emulator.reset();
    expect(emulator.invoices()).toEqual([]);
    expect((await call('GET', `/orders/invoices/${created.id}`)).status).toBe(404);
    expect((await fetch(created.url)).status).toBe(404);
    expectOk(await create(urlInvoice(213320125)));
  });

  it('exposes the call log and fault injection of its server', async () => {
    emulator.server.injectFault({ method: 'POST', path: '/admin/v2/orders/invoices', status: 503, body: 'upstream unavailable' });
    const failed = await fetch(`${emulator.baseUrl}/orders/invoices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SALLA_SANDBOX_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(urlInvoice(389701957)),
    });
    expect(failed.status).toBe(503);
    expect(await failed.text()).toBe('upstream unavailable');
    expect(emulator.invoices()).toEqual([]);
    expectOk(await create(urlInvoice(389701957)));
    expect(emulator.server.countCalls('POST', '/admin/v2/orders/invoices')).toBe(2);
    expect(emulator.server.calls.map((c) => c.status)).toEqual([503, 200]);
  });
});
