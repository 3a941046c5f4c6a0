import type { ExsitedCreateInput } from './exsited.input';
import { validateExsitedInput } from './exsited.rules';

const base: ExsitedCreateInput = { orderId: 'ORD-7K2M4P', invoiceId: null, invoiceNote: null };
const fields = (input: ExsitedCreateInput) => validateExsitedInput(input).map((e) => [e.code, e.field?.join('.')]);

describe('validateExsitedInput: what can be checked before any call', () => {
  it('accepts an order id alone, or with an id of our rule and any note', () => {
    expect(validateExsitedInput(base)).toEqual([]);
    expect(validateExsitedInput({ ...base, invoiceId: 'UNIQUE_INVOICE_ID', invoiceNote: 'Thanks — paid by card ✓' })).toEqual([]);
    expect(validateExsitedInput({ ...base, invoiceId: `I${'9'.repeat(39)}` })).toEqual([]);
  });

  it('refuses an invoice id Exsited would refuse: spaces, slashes, a leading hyphen, more than 40 characters', () => {
    for (const invoiceId of ['INV 1', 'INV/1', '-INV1', '', `I${'9'.repeat(40)}`]) {
      expect(fields({ ...base, invoiceId })).toEqual([['INVALID_INPUT', 'invoiceId']]);
    }
  });

  it('refuses an order id that cannot be an Exsited id, with every problem at once', () => {
    expect(fields({ orderId: 'ORD 1/2', invoiceId: 'a b' })).toEqual([
      ['INVALID_INPUT', 'orderId'],
      ['INVALID_INPUT', 'invoiceId'],
    ]);
  });
});
