import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { GraphQLDate, GraphQLDateTime } from 'graphql-scalars';
import { boundedDecimal, Decimal, INPUT_DECIMAL_LIMITS, MoneyParseError } from '../domain/money';

const { integerDigits, fractionDigits, length } = INPUT_DECIMAL_LIMITS;
const LIMITS_TEXT = `at most ${integerDigits} digits before the decimal point and ${fractionDigits} after it, in at most ${length} characters`;

/** A binary double holds every decimal of up to 15 significant digits exactly (DBL_DIG); past that, JSON.parse may have changed it. */
const EXACT_NUMBER_DIGITS = 15;

function significantDigits(numberText: string): number {
  return numberText.replace(/e.*$/i, '').replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '').length;
}

/** Reads a client's value, refusing it (before any arithmetic) when it is not a decimal within INPUT_DECIMAL_LIMITS. */
function fromInput(value: unknown): Decimal {
  if (typeof value === 'number' && Number.isFinite(value) && significantDigits(String(value)) > EXACT_NUMBER_DIGITS) {
    throw new GraphQLError(`Decimal ${value} arrived as a JSON number, which holds at most ${EXACT_NUMBER_DIGITS} significant digits exactly: write it as a string, such as "90.50".`, {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  // A JSON number of at most 15 significant digits: its shortest round-trip text is what the client wrote.
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
  if (text !== null) {
    try {
      return boundedDecimal(text, INPUT_DECIMAL_LIMITS);
    } catch (err) {
      if (!(err instanceof MoneyParseError)) throw err;
    }
  }
  const shown = JSON.stringify(value) ?? String(value);
  throw new GraphQLError(
    `Decimal must be a decimal number written as a string, such as "90.50", with ${LIMITS_TEXT}; got ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}.`,
    { extensions: { code: 'BAD_USER_INPUT' } },
  );
}

/**
 * Exact decimal numbers. Output is always a string ("90.50"); input accepts a string or a literal number, whose
 * source text is read as written, never through a binary float.
 */
export const DecimalScalar = new GraphQLScalarType<Decimal, string>({
  name: 'Decimal',
  description: 'An exact decimal number, as a string such as "1234.50". Never a binary float.',
  specifiedByURL: 'https://speleotrove.com/decimal/daconvs.html',
  serialize(value) {
    if (typeof value === 'string') return value;
    if (Decimal.isDecimal(value)) return (value as Decimal).toFixed();
    throw new GraphQLError('Decimal cannot represent a non-decimal value');
  },
  parseValue: fromInput,
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return fromInput(ast.value);
    throw new GraphQLError('Decimal must be a string such as "90.50" or a number literal.', { nodes: [ast] });
  },
});

/** Calendar dates (YYYY-MM-DD), as providers issue and due invoices. */
export const DateScalar = GraphQLDate;
/** Instants, in ISO 8601 with an offset. */
export const DateTimeScalar = GraphQLDateTime;
