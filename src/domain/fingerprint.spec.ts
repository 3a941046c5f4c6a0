import Decimal from 'decimal.js';
import { fingerprint } from './fingerprint';

describe('fingerprint', () => {
  it('ignores key order and omitted optionals', () => {
    expect(fingerprint({ a: 1, b: { c: 'x', d: undefined } })).toBe(fingerprint({ b: { c: 'x' }, a: 1 }));
  });

  it('tells different inputs apart', () => {
    expect(fingerprint({ orderId: '1', total: '10' })).not.toBe(fingerprint({ orderId: '1', total: '10.01' }));
    expect(fingerprint([1, 2])).not.toBe(fingerprint([2, 1]));
  });

  it('hashes decimals by value text', () => {
    expect(fingerprint({ total: new Decimal('10.5') })).toBe(fingerprint({ total: '10.5' }));
  });
});
