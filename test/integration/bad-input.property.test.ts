import fc from 'fast-check';
import { gql } from 'graphql-tag';
import { startHarness, type Harness } from '../support/harness';

const CREATE = gql`
  mutation ($input: CreateInvoiceInput!, $key: String) {
    createInvoice(input: $input, idempotencyKey: $key) {
      invoice { id }
      userErrors { code field providerMessage }
    }
  }
`;

/** Anything a client might send in a field: the right type or not. */
const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '-1', '1e309', 'NaN', '0x10', '１２３', '../etc', '%PDF-', 'https://x/a.pdf', 'http://', '00000000'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const decimalish = fc.oneof(fc.constantFrom('0', '-0.01', '10.50', '1e3', '99999999999999999999.999', 'abc'), fc.double(), junk);

/** One branch each, with fields drawn from valid-looking and invalid values alike. */
const BRANCHES: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  salla: fc.record(
    {
      orderId: fc.oneof(fc.constantFrom('1818813486', '999', 'abc'), junk),
      type: maybe(fc.oneof(fc.constantFrom('TAX_INVOICE', 'CREDIT_NOTE'), junk)),
      dataType: fc.oneof(fc.constantFrom('DATA', 'URL', 'FILE', 'ORDER'), junk),
      url: maybe(junk),
      pdfBase64: maybe(fc.oneof(fc.base64String({ maxLength: 40 }), junk)),
      invoiceNumber: maybe(junk),
      subTotal: maybe(decimalish),
      total: maybe(decimalish),
      shippingCost: maybe(decimalish),
      cashOnDeliveryCost: maybe(decimalish),
      taxPercent: maybe(decimalish),
      taxValue: maybe(decimalish),
    },
    { requiredKeys: ['orderId', 'dataType'] },
  ),
  salesforce: fc.record({ fulfillmentOrderId: fc.oneof(fc.constantFrom('0a3Dn000000cZZZIA2', '0a3', '001Dn000000cEXFIA2'), junk) }),
  zuora: fc.record({
    fulfillments: fc.oneof(
      fc.array(
        fc.record(
          {
            orderLineItemId: fc.oneof(hex(32), junk),
            quantity: decimalish,
            fulfillmentDate: fc.oneof(fc.constantFrom('2024-05-01', '2024-13-40'), junk),
            fulfillmentType: maybe(fc.oneof(fc.constantFrom('DELIVERY', 'RETURN'), junk)),
            state: maybe(fc.oneof(fc.constantFrom('SENT_TO_BILLING', 'BOOKED'), junk)),
          },
          { requiredKeys: ['orderLineItemId', 'quantity', 'fulfillmentDate'] },
        ),
        { maxLength: 3 },
      ),
      junk,
    ),
  }),
  exsited: fc.record({ orderId: fc.oneof(fc.constantFrom('ORD-NOPE00', '', 'ORD 1'), junk), invoiceId: maybe(junk), invoiceNote: maybe(junk) }, { requiredKeys: ['orderId'] }),
  commerce: fc.record({ orderId: fc.oneof(hex(24), junk) }),
};

/**
 * Property: whatever a client sends in any branch, the answer is a GraphQL validation error or userErrors, never
 * an internal error; and when our own validation refuses it (INVALID_INPUT), no provider hears of it.
 */
describe('bad input, generated (fast-check)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it.each(Object.keys(BRANCHES))('%s: only validation errors or userErrors, and nothing sent when we refuse', async (branch) => {
    await fc.assert(
      fc.asyncProperty(BRANCHES[branch]!, maybe(junk), async (fields, key) => {
        const emulators = Object.values(h.providers.emulators);
        const before = emulators.map((e) => e!.server.calls.length);
        const res = await h.execute(CREATE, { input: { [branch]: fields }, key: typeof key === 'string' ? key : undefined });
        const codes = (res.errors ?? []).map((e) => e.extensions?.code);
        expect(codes.filter((c) => c !== 'GRAPHQL_VALIDATION_FAILED' && c !== 'BAD_USER_INPUT')).toEqual([]);
        if (res.errors) return;
        const errors = (res.data as { createInvoice: { userErrors: Array<{ code: string; field: string[] | null; providerMessage: string | null }> } }).createInvoice.userErrors;
        if (errors.some((e) => e.code === 'INVALID_INPUT' && e.field?.[0] === branch) || errors.some((e) => e.field?.[0] === 'idempotencyKey')) {
          const after = emulators.map((e) => e!.server.calls.length);
          // A refusal of ours happens before any call; one of the provider's (its own field check) after one.
          if (errors.every((e) => e.providerMessage == null)) expect(after).toEqual(before);
        }
      }),
      { numRuns: 120 },
    );
  });
});
