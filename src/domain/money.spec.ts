import { parseAmount, parseCurrency, parseOptionalAmount, formatAmount, formatMoneyAmount, money, MoneyParseError } from './money';

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
