import { Decimal } from '../../domain/money';
import type { SallaCreateInput } from './salla.input';
import { isPdfUrl, validateSallaInput } from './salla.rules';

const base: SallaCreateInput = { orderId: '1818813486', type: 'tax_invoice', dataType: 'url', url: 'https://x.example/a.pdf' };
const fields = (input: SallaCreateInput) => validateSallaInput(input).map((e) => e.field?.join('.'));

describe("validateSallaInput: Salla's documented rules, before any call", () => {
  it('accepts each data type with what it needs', () => {
    expect(validateSallaInput(base)).toEqual([]);
    expect(validateSallaInput({ ...base, dataType: 'order', url: null })).toEqual([]);
    expect(validateSallaInput({ ...base, dataType: 'file', url: null, pdf: Buffer.from('%PDF-1.7 ...') })).toEqual([]);
    const d = (v: string) => new Decimal(v);
    expect(validateSallaInput({ ...base, dataType: 'data', url: null, invoiceNumber: 'A1', subTotal: d('1'), total: d('1'), shippingCost: d('0'), cashOnDeliveryCost: d('0') })).toEqual([]);
  });

  it('DATA requires the number and the four amounts (all reported at once)', () => {
    expect(fields({ ...base, dataType: 'data', url: null })).toEqual(['invoiceNumber', 'subTotal', 'total', 'shippingCost', 'cashOnDeliveryCost']);
  });

  it('refuses negative amounts and a rate above 100 %', () => {
    const d = (v: string) => new Decimal(v);
    const errs = fields({ ...base, dataType: 'data', url: null, invoiceNumber: 'A', subTotal: d('-0.01'), total: d('1'), shippingCost: d('0'), cashOnDeliveryCost: d('0'), taxPercent: d('150') });
    expect(errs).toEqual(['subTotal', 'taxPercent']);
  });

  it('URL must end in .pdf and be http(s)', () => {
    expect(isPdfUrl('https://x.example/a.PDF')).toBe(true);
    expect(isPdfUrl('https://x.example/a.pdf?sig=1')).toBe(false);
    expect(isPdfUrl('https://x.example/a.png')).toBe(false);
    expect(isPdfUrl('ftp://x.example/a.pdf')).toBe(false);
    expect(fields({ ...base, url: 'https://x.example/a.pdf.png' })).toEqual(['url']);
  });

  it('FILE must be a PDF', () => {
    expect(fields({ ...base, dataType: 'file', url: null, pdf: Buffer.from('GIF89a') })).toEqual(['pdfBase64']);
    expect(fields({ ...base, dataType: 'file', url: null })).toEqual(['pdfBase64']);
  });

  it('refuses fields that the data type would silently ignore', () => {
    expect(fields({ ...base, invoiceNumber: 'X' })).toEqual(['invoiceNumber']);
    expect(fields({ ...base, dataType: 'order' })).toEqual(['url']);
  });

  it('Salla order ids are numbers: digits only, no leading zero, at most 15 digits', () => {
    expect(fields({ ...base, orderId: '12a' })).toEqual(['orderId']);
    expect(fields({ ...base, orderId: '-1' })).toEqual(['orderId']);
    expect(fields({ ...base, orderId: '1.0' })).toEqual(['orderId']);
    // Sent as the digits themselves: "0123" would be invalid JSON, and another ledger key for order 123.
    expect(fields({ ...base, orderId: '0123' })).toEqual(['orderId']);
    expect(fields({ ...base, orderId: '0' })).toEqual(['orderId']);
    expect(fields({ ...base, orderId: '999999999999999' })).toEqual([]);
    expect(fields({ ...base, orderId: '1000000000000000' })).toEqual(['orderId']);
  });
});
