import DecimalJs from 'decimal.js';

/**
 * Exact decimal money. Amounts are decimal.js values end to end; they become strings only at the
 * GraphQL and JSON edges, never JavaScript numbers. decimal.js rounds results to 20 significant digits by default;
 * 80 keeps every sum and product of two bounded values (DecimalLimits) exact.
 */
export const Decimal = DecimalJs.clone({ precision: 80 });
export type Decimal = DecimalJs;

/**
 * How large a decimal may be, checked on its text before decimal.js sees it: the work of parsing, comparing and
 * formatting a value is then bounded (an exponent such as 1e100000000 would otherwise take seconds and gigabytes
 * to write out).
 */
export interface DecimalLimits {
  /** Digits before the decimal point, once written out plainly ("1e3" has 4). */
  integerDigits: number;
  /** Digits after the point, trailing zeros not counted ("0.50" has 1). */
  fractionDigits: number;
  /** Characters of the text as sent, exponent included. */
  length: number;
}

/** What the API takes from a client: more than any provider stores (Salesforce currency is 18 digits, 2 after the point). */
export const INPUT_DECIMAL_LIMITS: DecimalLimits = { integerDigits: 18, fractionDigits: 12, length: 64 };
/** What we read from a provider: looser, only so that no answer can make arithmetic or formatting slow. */
export const PROVIDER_DECIMAL_LIMITS: DecimalLimits = { integerDigits: 30, fractionDigits: 30, length: 100 };

const DECIMAL_PARTS = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Why a decimal text is not acceptable under the limits, or null when it is. Linear in the text's length and
 * needs no arithmetic, so it runs before decimal.js is given the text.
 */
export function decimalTextProblem(text: string, limits: DecimalLimits): string | null {
  if (text.length > limits.length) return `is longer than ${limits.length} characters`;
  const m = DECIMAL_PARTS.exec(text);
  const whole = m?.[1] ?? '';
  const fraction = m?.[2] ?? '';
  if (!m || whole.length + fraction.length === 0) return 'is not a decimal number';
  // A bounded text holds an exponent of at most `length` digits: Number() reads it, Infinity included, without work.
  const exponent = m[3] === undefined ? 0 : Number(m[3]);
  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits.length === 0) return null;
  const leadingZeros = whole.length + fraction.length - digits.length;
  const significant = digits.replace(/0+$/, '').length;
  // Position of the decimal point relative to the first significant digit.
  const point = whole.length - leadingZeros + exponent;
  const integerDigits = Math.max(0, point);
  const fractionDigits = Math.max(0, significant - point);
  if (integerDigits > limits.integerDigits || fractionDigits > limits.fractionDigits) {
    return `has more than ${limits.integerDigits} digits before the decimal point or ${limits.fractionDigits} after it`;
  }
  return null;
}

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
    return boundedDecimal(String(value), PROVIDER_DECIMAL_LIMITS, value);
  }
  if (typeof value === 'string') return boundedDecimal(value.trim().replace(/,/g, ''), PROVIDER_DECIMAL_LIMITS, value);
  throw new MoneyParseError(`not an amount: ${shown(value)}`);
}

/** The decimal a text stands for, or a MoneyParseError saying why it is refused under the limits. */
export function boundedDecimal(text: string, limits: DecimalLimits, original: unknown = text): Decimal {
  const problem = decimalTextProblem(text, limits);
  if (problem) throw new MoneyParseError(`not an acceptable amount: ${shown(original)} ${problem}`);
  return new Decimal(text);
}

/** A value for an error message, cut short: the message must not grow with a hostile input. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
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

export function money(amount: DecimalJs.Value, currencyCode: string): Money {
  return { amount: new Decimal(amount), currencyCode };
}

/** The canonical text of an amount: plain notation, no exponent, no trailing zeros. */
export function formatAmount(amount: Decimal): string {
  return amount.toFixed();
}

/** A text formatAmount gives back unchanged: plain notation, no leading zeros, no trailing zeros after the point, no "-0". */
const CANONICAL_AMOUNT = /^(?:0|-?[1-9]\d*(?:\.\d*[1-9])?|-?0\.\d*[1-9])$/;

/**
 * formatAmount of `new Decimal(text)`, without decimal.js when the text is already canonical: the ledger stores
 * amounts as formatAmount wrote them, and a page of stored lines presents hundreds of them.
 */
export function formatAmountText(text: string): string {
  return CANONICAL_AMOUNT.test(text) ? text : formatAmount(new Decimal(text));
}

/** formatMoneyAmount of the amount `text` in that currency, likewise without decimal.js for a canonical text. */
export function formatMoneyAmountText(text: string, currencyCode: string): string {
  if (!CANONICAL_AMOUNT.test(text)) return formatMoneyAmount({ amount: new Decimal(text), currencyCode });
  const minor = MINOR_UNITS[currencyCode] ?? 2;
  const point = text.indexOf('.');
  const places = point < 0 ? 0 : text.length - point - 1;
  if (places >= minor) return text;
  return `${point < 0 ? `${text}.` : text}${'0'.repeat(minor - places)}`;
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
