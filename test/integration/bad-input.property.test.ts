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

const ENTITIES = gql`
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) { ... on Order { id invoices { id } } ... on Invoice { id } }
  }
`;

/**
 * What an attacker sends (issue 10): NUL and other control characters, lone and paired surrogates, very long text,
 * exponents that would take seconds to write out, and lists far longer than any provider takes.
 */
const hostileText = fc.oneof(
  fc.string({ unit: fc.constantFrom('\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\uD800', '\uDBFF', '\uDC00', '\uD83D\uDE00', '\uFFFF', 'a', '1', '\n', '.'), maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.integer({ min: 256, max: 50_000 }).map((n) => 'x'.repeat(n)),
);
const hugeNumbers = fc.oneof(
  fc.constantFrom('1e100000000', '1e-10000000', '-1e+999999999999999999', '0.' + '0'.repeat(5_000) + '1', '9'.repeat(400), '1'.repeat(19), '1e18'),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.bigInt({ min: 19n, max: 10n ** 12n })).map(([m, e]) => `${m}e${e}`),
  fc.constantFrom(1e308, -1e300, 5e-324),
);
const hugeList = fc.integer({ min: 101, max: 3_000 }).map((n) => Array.from({ length: n }, () => 'x'));

/** Anything a client might send in a field: the right type or not. */
const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  hostileText,
  hugeNumbers,
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
const decimalish = fc.oneof(fc.constantFrom('0', '-0.01', '10.50', '1e3', '99999999999999999999.999', 'abc'), fc.double(), hugeNumbers, junk);

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
      hugeList.map((items) => items.map(() => ({ orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70201', quantity: '1', fulfillmentDate: '2024-05-01' }))),
      // Past graphql-js's 50 coercion errors, and with fields the input type does not have.
      hugeList.map((items) => items.map((_, i) => (i % 2 ? {} : { orderLineItemId: 'x', nope: i }))),
      junk,
    ),
  }),
  exsited: fc.record({ orderId: fc.oneof(fc.constantFrom('ORD-NOPE00', '', 'ORD 1'), junk), invoiceId: maybe(junk), invoiceNote: maybe(junk) }, { requiredKeys: ['orderId'] }),
  commerce: fc.record({ orderId: fc.oneof(hex(24), junk) }),
};

/**
 * Property: whatever a client sends in any branch, the answer is a GraphQL validation error, BAD_USER_INPUT or
 * userErrors, never an internal error; and when our own validation refuses it (INVALID_INPUT), no provider hears of it.
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
        // A refused request reached no provider.
        if (res.errors) return expect(emulators.map((e) => e!.server.calls.length)).toEqual(before);
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

  it('_entities: hostile representations get BAD_USER_INPUT or an answer, never an internal error', async () => {
    const representation = fc.oneof(fc.record({ __typename: fc.constantFrom('Order', 'Invoice', 'Nope'), id: fc.oneof(hostileText, junk) }), junk);
    await fc.assert(
      fc.asyncProperty(fc.array(representation, { maxLength: 5 }), async (representations) => {
        const res = await h.execute(ENTITIES, { representations });
        expect((res.errors ?? []).map((e) => e.extensions?.code).filter((c) => c !== 'BAD_USER_INPUT' && c !== 'GRAPHQL_VALIDATION_FAILED')).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});
