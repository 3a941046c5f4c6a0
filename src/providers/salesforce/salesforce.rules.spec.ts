import { SALESFORCE_SANDBOX_ORDER_SUMMARIES, SALESFORCE_SANDBOX_PRODUCTS } from '../../sandbox/salesforce/salesforce.seed';
import { canonicalSalesforceId, validateSalesforceInput } from './salesforce.rules';

const errors = (fulfillmentOrderId: string) => validateSalesforceInput({ fulfillmentOrderId }).map((e) => [e.code, e.field?.join('.'), e.message]);

describe('canonicalSalesforceId: the 18-character form Salesforce itself computes', () => {
  it.each([
    // Worked by hand from Salesforce's published algorithm: one suffix character per 5 characters, one bit per capital.
    ['001A0000006Vm9r', '001A0000006Vm9rIAC'],
    ['00D000000000062', '00D000000000062EAA'],
    ['0a3Dn000000cEXI', '0a3Dn000000cEXIIA2'],
  ])('%s → %s', (id15, id18) => {
    expect(canonicalSalesforceId(id15)).toBe(id18);
    expect(canonicalSalesforceId(id18)).toBe(id18);
  });

  it('reads an 18-character id in any letter case, as Salesforce does, and restores its case', () => {
    expect(canonicalSalesforceId('0A3DN000000CEXIIA2')).toBe('0a3Dn000000cEXIIA2');
    expect(canonicalSalesforceId('0a3dn000000cexiia2')).toBe('0a3Dn000000cEXIIA2');
    // The suffix decides: AAA says every letter is lower case, which is another record.
    expect(canonicalSalesforceId('0a3Dn000000cEXIAAA')).toBe('0a3dn000000cexiAAA');
  });

  it('refuses a suffix that claims a capital where there is a digit, and text that is not an id', () => {
    // 'B' marks the first character upper case; it is the digit 0.
    expect(canonicalSalesforceId('0a3Dn000000cEXIBA2')).toBeNull();
    expect(canonicalSalesforceId('0a3Dn000000cEXIIA9')).toBeNull();
    expect(canonicalSalesforceId('0a3Dn000000cEX')).toBeNull();
    expect(canonicalSalesforceId('0a3Dn000000cEXI-A2')).toBeNull();
  });

  it("the sandbox's seeded ids are all canonical", () => {
    const ids = [
      ...SALESFORCE_SANDBOX_ORDER_SUMMARIES.flatMap((os) => [os.id, ...os.fulfillmentOrders.map((fo) => fo.id)]),
      ...Object.values(SALESFORCE_SANDBOX_PRODUCTS).map((p) => p.id),
    ];
    for (const id of ids) expect(canonicalSalesforceId(id)).toBe(id);
  });
});

describe('validateSalesforceInput: the fulfillment order id, before any call', () => {
  it('accepts a FulfillmentOrder id of 15 or 18 characters', () => {
    expect(validateSalesforceInput({ fulfillmentOrderId: '0a3Dn000000cEXIIA2' })).toEqual([]);
    expect(validateSalesforceInput({ fulfillmentOrderId: '0a3Dn000000cEXI' })).toEqual([]);
  });

  it('refuses a missing id', () => {
    expect(errors('')).toEqual([['INVALID_INPUT', 'fulfillmentOrderId', 'fulfillmentOrderId is required.']]);
  });

  it.each([
    ['too short', '0a3Dn000000cEX'],
    ['16 characters', '0a3Dn000000cEXIA'],
    ['a wrong checksum', '0a3Dn000000cEXIBA2'],
    ['not alphanumeric', '0a3Dn000000cEX-I'],
    ["another provider's id (Salla's numbers)", '1818813486'],
  ])('refuses an id with %s', (_why, id) => {
    expect(errors(id)).toEqual([['INVALID_INPUT', 'fulfillmentOrderId', expect.stringContaining('15 or 18 letters and digits')]]);
  });

  it('says so when given the order summary instead of its fulfillment order', () => {
    expect(errors('1OsDn000000KCdwKAG')).toEqual([['INVALID_INPUT', 'fulfillmentOrderId', expect.stringContaining('OrderSummary id')]]);
  });

  it('refuses a record id of another object (a product)', () => {
    expect(errors('01tDn000000WQvRIAW')).toEqual([['INVALID_INPUT', 'fulfillmentOrderId', 'This is not a FulfillmentOrder id: those start with 0a3, this one with 01t.']]);
  });
});
