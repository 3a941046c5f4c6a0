import { validateCommerceInput } from './commerce.rules';

const errors = (orderId: string) => validateCommerceInput({ orderId }).map((e) => [e.code, e.field?.join('.'), e.message]);

describe('validateCommerceInput: the order id, before any call', () => {
  it("accepts a MongoDB ObjectId, in either case (the seed's ids)", () => {
    expect(validateCommerceInput({ orderId: '69ab24db449866373d5e3e35' })).toEqual([]);
    expect(validateCommerceInput({ orderId: '6932F96B8CD64C28A4FB5873' })).toEqual([]);
  });

  it('refuses a missing id with the reason the API would give', () => {
    expect(errors('')).toEqual([['INVALID_INPUT', 'orderId', 'orderId is required.']]);
    expect(errors('   ')).toEqual([['INVALID_INPUT', 'orderId', 'orderId is required.']]);
  });

  it.each([
    ['one digit short', '69ab24db449866373d5e3e3'],
    ['one digit long', '69ab24db449866373d5e3e355'],
    ['not hexadecimal', '69ab24db449866373d5e3e3g'],
    ["another provider's id (Salla's numbers)", '1818813486'],
    ['surrounded by spaces', ' 69ab24db449866373d5e3e35 '],
  ])('refuses an id that is %s', (_why, orderId) => {
    expect(errors(orderId)).toEqual([['INVALID_INPUT', 'orderId', expect.stringContaining('24 hexadecimal characters')]]);
  });
});
