import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { Decimal, formatAmount } from '../../src/domain/money';
import type { SallaCreateInput } from '../../src/providers/salla/salla.input';
import { SallaProvider } from '../../src/providers/salla/salla.provider';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_SALLA_ISSUER_TOKEN, SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';

/**
 * Every create body our SallaProvider sends, captured as bytes at the emulator and held against the request schema of
 * Salla's OpenAPI (seed 003, components.schemas.invoice_request_body, copied to test/fixtures/salla): the JSON bodies
 * with ajv, the FILE upload (multipart, which that application/json schema does not describe) by its form fields.
 */

interface SchemaFixture {
  source: string;
  schema: { type: string; required: string[]; properties: Record<string, Record<string, unknown>> };
}

const seed = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'salla', 'request.invoice-request-body.schema.json'), 'utf8')) as SchemaFixture;

/** Our input's amounts and the wire fields they are sent as. */
const AMOUNTS = [
  ['subTotal', 'sub_total'],
  ['total', 'total'],
  ['shippingCost', 'shipping_cost'],
  ['cashOnDeliveryCost', 'cash_on_delivery_cost'],
  ['taxPercent', 'tax'],
  ['taxValue', 'tax_value'],
] as const;

/** OpenAPI's vendor extensions (x-apidog-*) in the schema: annotations that ajv's strict mode must be told about. */
function vendorKeywords(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) vendorKeywords(item, found);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('x-')) found.add(key);
      else vendorKeywords(value, found);
    }
  }
  return found;
}

function requestValidator(): ValidateFunction {
  const schema = structuredClone(seed.schema);
  // The seed's one documented error: tax_value is typed `integer`, yet its own example is 35.3 (and the create
  // response's example carries the same 35.3 as the tax amount). It is an amount like the others: `number`.
  expect(schema.properties.tax_value).toMatchObject({ type: 'integer', examples: [35.3] });
  schema.properties.tax_value!.type = 'number';
  // Strict mode stays on, so an unknown keyword still fails; `examples` is a JSON Schema annotation ajv knows.
  const ajv = new Ajv({ strict: true, allErrors: true });
  for (const keyword of vendorKeywords(schema)) ajv.addKeyword(keyword);
  return ajv.compile(schema);
}

const d = (v: string) => new Decimal(v);
const PDF = Buffer.from('%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1');

interface Case {
  name: string;
  /** `salla`: a store whose invoices Salla issues (the ORDER data type); `custom`: the merchant's own (the rest). */
  store: 'custom' | 'salla';
  input: SallaCreateInput;
  sent?: { contentType: string; raw: Buffer };
}

/** In order: a credit note needs the tax invoice before it. */
const CASES: Case[] = [
  {
    name: 'DATA tax invoice, every amount (tax and tax_value too)',
    store: 'custom',
    input: {
      orderId: '1371877152',
      type: 'tax_invoice',
      dataType: 'data',
      invoiceNumber: 'INV-1371877152',
      subTotal: d('90.50'),
      total: d('104.08'),
      shippingCost: d('0'),
      cashOnDeliveryCost: d('0.00'),
      taxPercent: d('15'),
      taxValue: d('13.58'),
    },
  },
  {
    name: 'DATA credit note',
    store: 'custom',
    input: {
      orderId: '1371877152',
      type: 'credit_note',
      dataType: 'data',
      invoiceNumber: 'CN-1371877152',
      subTotal: d('90.5'),
      total: d('104.075'),
      shippingCost: d('12.25'),
      cashOnDeliveryCost: d('0.1'),
      taxPercent: d('15.00'),
      taxValue: d('35.3'),
    },
  },
  {
    name: 'DATA tax invoice, amounts no float holds',
    store: 'custom',
    input: {
      orderId: '1818813486',
      type: 'tax_invoice',
      dataType: 'data',
      invoiceNumber: 'INV-1818813486',
      subTotal: d('9007199254740993.01'),
      total: d('12345678901234567.89'),
      shippingCost: d('0.30000000000000001'),
      cashOnDeliveryCost: d('1e-7'),
    },
  },
  { name: 'URL tax invoice', store: 'custom', input: { orderId: '389701957', type: 'tax_invoice', dataType: 'url', url: 'https://files.example.com/389701957.pdf' } },
  { name: 'URL credit note', store: 'custom', input: { orderId: '389701957', type: 'credit_note', dataType: 'url', url: 'https://files.example.com/389701957-credit.pdf' } },
  { name: 'ORDER tax invoice', store: 'salla', input: { orderId: '1056403210', type: 'tax_invoice', dataType: 'order' } },
  { name: 'ORDER credit note', store: 'salla', input: { orderId: '1056403210', type: 'credit_note', dataType: 'order' } },
  { name: 'FILE tax invoice', store: 'custom', input: { orderId: '213320125', type: 'tax_invoice', dataType: 'file', pdf: PDF } },
];

const json = CASES.filter((c) => c.input.dataType !== 'file');

let emulator: SallaEmulator;

beforeAll(async () => {
  emulator = new SallaEmulator();
  await emulator.start();
  let captured: Case['sent'];
  emulator.server.use(async (req, next) => {
    if (req.method === 'POST' && req.path.endsWith('/orders/invoices')) {
      if (captured) throw new Error('a second create body for one case');
      captured = { contentType: req.header('content-type') ?? '', raw: Buffer.from(req.rawBody) };
    }
    return next();
  });
  const providers = {
    custom: new SallaProvider({ baseUrl: emulator.baseUrl, accessToken: SALLA_SANDBOX_TOKEN, timeoutMs: 5_000 }),
    salla: new SallaProvider({ baseUrl: emulator.baseUrl, accessToken: SALLA_SANDBOX_SALLA_ISSUER_TOKEN, timeoutMs: 5_000 }),
  };
  for (const c of CASES) {
    captured = undefined;
    // Each create must succeed: the emulator refuses what the documented types refuse.
    await providers[c.store].create(c.input, { idempotencyKey: c.name });
    c.sent = captured;
  }
});

afterAll(() => emulator.stop());

describe("every create body SallaProvider sends, against the seed's request schema", () => {
  it('JSON bodies validate against invoice_request_body; the FILE upload sends only its documented form fields', async () => {
    const validate = requestValidator();
    // The validator does check types: a string amount or order id fails it.
    expect(validate({ order_id: 1, type: 'tax_invoice', data_type: 'data', sub_total: '90.50' })).toBe(false);
    expect(validate.errors).toEqual([expect.objectContaining({ instancePath: '/sub_total', message: 'must be number' })]);
    expect(validate({ order_id: '1', type: 'tax_invoice', data_type: 'url' })).toBe(false);

    for (const c of CASES) {
      expect({ case: c.name, sent: Boolean(c.sent) }).toEqual({ case: c.name, sent: true });
      const { contentType, raw } = c.sent!;
      if (c.input.dataType !== 'file') {
        expect({ case: c.name, contentType }).toEqual({ case: c.name, contentType: 'application/json' });
        const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        validate(body);
        expect({ case: c.name, errors: validate.errors ?? null }).toEqual({ case: c.name, errors: null });
        // The seed does not forbid other members; we send none it does not declare.
        expect({ case: c.name, undeclared: Object.keys(body).filter((k) => !(k in seed.schema.properties)) }).toEqual({ case: c.name, undeclared: [] });
      } else {
        // Multipart: every field is text, so the JSON schema's types cannot apply; the fields are checked instead.
        expect(contentType).toMatch(/^multipart\/form-data; ?boundary=/);
        const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
        expect([...form.keys()].sort()).toEqual(['data_type', 'file', 'order_id', 'type']);
        expect(form.get('order_id')).toBe(c.input.orderId);
        expect(form.get('order_id')).toMatch(/^[1-9]\d*$/);
        expect(seed.schema.properties.type!.enum).toContain(form.get('type'));
        expect(form.get('data_type')).toBe('file');
        const file = form.get('file') as File;
        expect(file.type).toBe('application/pdf');
        expect(Buffer.from(await file.arrayBuffer()).equals(PDF)).toBe(true);
      }
    }
  });

  it('amounts are JSON numbers whose text is the exact decimal text, the order id its digits; no amount is a string', () => {
    for (const c of json) {
      const text = c.sent!.raw.toString('utf8');
      expect({ case: c.name, orderId: text.includes(`"order_id":${c.input.orderId},`) }).toEqual({ case: c.name, orderId: true });
      const body = JSON.parse(text) as Record<string, unknown>;
      for (const [field, wire] of AMOUNTS) {
        const amount = c.input[field];
        if (amount == null) {
          expect({ case: c.name, wire, sent: wire in body }).toEqual({ case: c.name, wire, sent: false });
          continue;
        }
        expect({ case: c.name, wire, type: typeof body[wire] }).toEqual({ case: c.name, wire, type: 'number' });
        expect({ case: c.name, found: text.includes(`"${wire}":${formatAmount(amount)}`) }).toEqual({ case: c.name, found: true });
      }
    }
    // Spelled out for the cases that matter most: the decimal's canonical text, not a float's.
    const [data, credit, huge] = json.map((c) => c.sent!.raw.toString('utf8'));
    expect(data).toContain('"sub_total":90.5,"total":104.08,"shipping_cost":0,"cash_on_delivery_cost":0,"tax":15,"tax_value":13.58}');
    expect(credit).toContain('"total":104.075,"shipping_cost":12.25,"cash_on_delivery_cost":0.1,"tax":15,"tax_value":35.3}');
    expect(huge).toContain('"order_id":1818813486,');
    expect(huge).toContain('"sub_total":9007199254740993.01,"total":12345678901234567.89,"shipping_cost":0.30000000000000001,"cash_on_delivery_cost":0.0000001}');
  });
});
