import Decimal from 'decimal.js';

/**
 * Exact decimal money. Amounts are decimal.js values end to end; they become strings only at the
 * GraphQL and JSON edges, never JavaScript numbers.
 */
export { Decimal };

export interface Money {
  amount: Decimal;
  /** ISO 4217 code, upper case. */
  currencyCode: string;
}

/** Symbols and local spellings that providers send instead of an ISO code (Salla sends "ر.س"). */
const CURRENCY_ALIASES: Record<string, string> = {
  'ر.س': 'SAR',
  'ر.س.': 'SAR',
  'ريال': 'SAR',
  'د.إ': 'AED',
  'د.ك': 'KWD',
  'ر.ق': 'QAR',
  'د.ب': 'BHD',
  'ر.ع.': 'OMR',
  'ج.م': 'EGP',
  '$': 'USD',
  'US$': 'USD',
  '€': 'EUR',
  '£': 'GBP',
};

const ISO_CODE = /^[A-Z]{3}$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export class MoneyParseError extends Error {
  override readonly name = 'MoneyParseError';
}

/**
 * Parses an amount a provider sent as a JSON number or a string ("90.50", "1,234.00") into an exact decimal.
 * A JSON number is read through its shortest round-trip text, which is the text the provider wrote for any
 * amount with at most 15 significant digits.
 */
export function parseAmount(value: unknown): Decimal {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new MoneyParseError(`not a finite amount: ${value}`);
    return new Decimal(String(value));
  }
  if (typeof value === 'string') {
    const text = value.trim().replace(/,/g, '');
    if (!DECIMAL_TEXT.test(text)) throw new MoneyParseError(`not a decimal amount: ${JSON.stringify(value)}`);
    return new Decimal(text);
  }
  throw new MoneyParseError(`not an amount: ${JSON.stringify(value)}`);
}

/** Like parseAmount, but null and undefined (and the empty string) stay null. */
export function parseOptionalAmount(value: unknown): Decimal | null {
  if (value === null || value === undefined || value === '') return null;
  return parseAmount(value);
}

/** Normalises an ISO code or a known symbol to an ISO 4217 code; unknown symbols are an error, not a guess. */
export function parseCurrency(value: unknown): string {
  if (typeof value !== 'string') throw new MoneyParseError(`not a currency: ${JSON.stringify(value)}`);
  const text = value.trim();
  const upper = text.toUpperCase();
  if (ISO_CODE.test(upper)) return upper;
  const alias = CURRENCY_ALIASES[text];
  if (alias) return alias;
  throw new MoneyParseError(`unknown currency: ${JSON.stringify(value)}`);
}

export function money(amount: Decimal.Value, currencyCode: string): Money {
  return { amount: new Decimal(amount), currencyCode };
}

/** True when the text is a plain decimal literal (what the Decimal scalar accepts). */
export function isDecimalText(text: string): boolean {
  return DECIMAL_TEXT.test(text);
}

/** The canonical text of an amount: plain notation, no exponent, no trailing zeros. */
export function formatAmount(amount: Decimal): string {
  return amount.toFixed();
}

/** ISO 4217 minor units where they are not 2. */
const MINOR_UNITS: Record<string, number> = { BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3, IQD: 3, LYD: 3, JPY: 0, KRW: 0, CLP: 0, ISK: 0, VND: 0 };

/**
 * The text a UI shows: at least the currency's minor digits ("90.50 SAR"), more when the provider sent more
 * (a unit price of 0.125 stays 0.125). Never rounds.
 */
export function formatMoneyAmount(m: Money): string {
  const minor = MINOR_UNITS[m.currencyCode] ?? 2;
  return m.amount.decimalPlaces() < minor ? m.amount.toFixed(minor) : m.amount.toFixed();
}
