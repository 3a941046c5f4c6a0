import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { GraphQLDate, GraphQLDateTime } from 'graphql-scalars';
import { Decimal, isDecimalText } from '../domain/money';

function fromInput(value: unknown): Decimal {
  if (typeof value === 'string' && isDecimalText(value.trim())) return new Decimal(value.trim());
  // A JSON number in variables: read through its shortest round-trip text, which is what the client wrote.
  if (typeof value === 'number' && Number.isFinite(value)) return new Decimal(String(value));
  throw new GraphQLError(`Decimal must be a decimal number written as a string, such as "90.50"; got ${JSON.stringify(value)}.`);
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
