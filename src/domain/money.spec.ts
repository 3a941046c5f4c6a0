import fc from 'fast-check';
import { boundedDecimal, decimalTextProblem, Decimal, INPUT_DECIMAL_LIMITS, parseAmount, parseCurrency, parseOptionalAmount, formatAmount, formatMoneyAmount, money, MoneyParseError } from './money';

describe('parseAmount', () => {
  it('reads numbers and strings to the same exact decimal', () => {
    expect(formatAmount(parseAmount(90.5))).toBe('90.5');
    expect(formatAmount(parseAmount('90.50'))).toBe('90.5');
    expect(parseAmount('90.50').equals(parseAmount(90.5))).toBe(true);
  });

  it('does not pick up binary float error in sums', () => {
    const sum = parseAmount(0.1).plus(parseAmount(0.2));
    expect(formatAmount(sum)).toBe('0.3');
  });

  it('accepts thousands separators and keeps large amounts exact', () => {
    expect(formatAmount(parseAmount('1,234,567,890.12'))).toBe('1234567890.12');
  });

  it('rejects what is not an amount instead of guessing', () => {
    expect(() => parseAmount('12,5 SAR')).toThrow(MoneyParseError);
    expect(() => parseAmount(Number.NaN)).toThrow(MoneyParseError);
    expect(() => parseAmount({ amount: 1 })).toThrow(MoneyParseError);
    expect(() => parseAmount(null)).toThrow(MoneyParseError);
  });

  it('keeps absent amounts absent', () => {
    expect(parseOptionalAmount(undefined)).toBeNull();
    expect(parseOptionalAmount(null)).toBeNull();
    expect(formatAmount(parseOptionalAmount('0.00')!)).toBe('0');
  });
});

describe('parseCurrency', () => {
  it('maps symbols to ISO codes', () => {
    expect(parseCurrency('ر.س')).toBe('SAR');
    expect(parseCurrency('SAR')).toBe('SAR');
    expect(parseCurrency('sar')).toBe('SAR');
  });

  it('refuses an unknown symbol', () => {
    expect(() => parseCurrency('¤')).toThrow(MoneyParseError);
    expect(() => parseCurrency(undefined)).toThrow(MoneyParseError);
  });
});

describe('formatMoneyAmount', () => {
  it('pads to the currency minor units and never rounds', () => {
    expect(formatMoneyAmount(money('90.5', 'SAR'))).toBe('90.50');
    expect(formatMoneyAmount(money('0.125', 'SAR'))).toBe('0.125');
    expect(formatMoneyAmount(money('1.5', 'KWD'))).toBe('1.500');
    expect(formatMoneyAmount(money('100', 'JPY'))).toBe('100');
  });
});

describe('bounded decimals (issue 10: a 150-byte quantity "1e100000000" held the event loop 15 s at 3.6 GB)', () => {
  it('refuses exponents and scales past the limits on the text, before decimal.js sees it', () => {
    for (const text of ['1e100000000', '1e-10000000', '9'.repeat(19), '0.' + '0'.repeat(12) + '1', '1e18', '1' + '0'.repeat(70)]) {
      expect(decimalTextProblem(text, INPUT_DECIMAL_LIMITS)).not.toBeNull();
      expect(() => boundedDecimal(text, INPUT_DECIMAL_LIMITS)).toThrow(MoneyParseError);
    }
  });

  it('takes what a price, quantity or rate can be, written plainly or with an exponent', () => {
    for (const [text, plain] of [['90.50', '90.5'], ['1.5e3', '1500'], ['125E-3', '0.125'], ['-0.01', '-0.01'], ['9'.repeat(18), '9'.repeat(18)], ['0.000000000001', '0.000000000001'], ['1.50000000000000000000', '1.5'], ['0e999999999999999999', '0']]) {
      expect(formatAmount(boundedDecimal(text, INPUT_DECIMAL_LIMITS))).toBe(plain);
    }
  });

  it('property: whatever the text, it is refused or its plain form is short', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 30 });
    const decimalish = fc
      .tuple(fc.constantFrom('', '-', '+'), digits, fc.option(digits), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '-', '+'), fc.oneof(digits, fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String)))))
      .map(([sign, whole, fraction, exp]) => `${sign}${whole}${fraction === null ? '' : `.${fraction}`}${exp ? exp.join('') : ''}`);
    fc.assert(
      fc.property(fc.oneof(decimalish, fc.string({ maxLength: 80 })), (text) => {
        if (decimalTextProblem(text, INPUT_DECIMAL_LIMITS) !== null) return;
        const plain = formatAmount(new Decimal(text));
        expect(plain.replace(/^-/, '').length).toBeLessThanOrEqual(18 + 1 + 12);
      }),
      { numRuns: 2000 },
    );
  });

  it('bounds what providers send too, more loosely', () => {
    expect(() => parseAmount('1e100000000')).toThrow(MoneyParseError);
    expect(() => parseAmount(1e300)).toThrow(MoneyParseError);
    expect(formatAmount(parseAmount('123456789012345678901234567890.5'))).toBe('123456789012345678901234567890.5');
  });

  it('keeps sums of bounded values exact (decimal.js alone rounds at 20 digits)', () => {
    const a = boundedDecimal('999999999999999999.999999999999', INPUT_DECIMAL_LIMITS);
    expect(formatAmount(a.plus('0.000000000001'))).toBe('1000000000000000000');
  });
});
