/**
 * The SOQL the emulator understands: `SELECT f1, f2 FROM Object`, optionally `WHERE Field IN ('v1', 'v2')` (the form of
 * every read by id the project documents, PROVIDERS.md) or `WHERE Field <op> value` with one comparison, then
 * optionally `ORDER BY f1 [ASC|DESC] [NULLS FIRST|LAST], f2 …` and `LIMIT n`. That covers the change feed's
 * `SELECT Id, SystemModstamp FROM Invoice WHERE SystemModstamp > 2026-12-01T10:00:00Z ORDER BY SystemModstamp, Id`.
 * Keywords, object and field names are case-insensitive, as in Salesforce. A dateTime value is written unquoted in
 * one of the documented forms, YYYY-MM-DDThh:mm:ss followed by Z, +hh:mm or -hh:mm ("Date Formats and Date Literals
 * in WHERE", SOQL and SOSL Reference:
 * https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-dateformats.md);
 * fractional seconds are accepted too. Anything else is refused the way Salesforce refuses it: MALFORMED_QUERY with
 * the query echoed and a caret under the offending token. Not understood (refused as MALFORMED_QUERY although
 * Salesforce takes them): AND, OR and NOT (Logical Operators:
 * https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-logicaloperators.html),
 * date literals (TODAY), numbers other than LIMIT's, GROUP BY, OFFSET.
 */

export type SoqlOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** A value written in a comparison: a quoted string, or an unquoted dateTime (its instant in `epochMs`). */
export type SoqlValue = { kind: 'string'; value: string; position: number } | { kind: 'datetime'; value: string; epochMs: number; position: number };

export type SoqlFilter =
  | { kind: 'in'; field: string; position: number; values: Array<{ value: string; position: number }> }
  | { kind: 'compare'; field: string; position: number; operator: SoqlOperator; value: SoqlValue };

export interface SoqlSelect {
  /** As written (the caller's case); `position` is each one's 1-based column, for error messages. */
  fields: Array<{ name: string; position: number }>;
  object: { name: string; position: number };
  /** null: no WHERE clause, every row. */
  filter: SoqlFilter | null;
  /** [] without ORDER BY. Nulls sort first unless `nullsLast` (Salesforce's default, ORDER BY in the SOQL reference). */
  orderBy: Array<{ field: string; position: number; descending: boolean; nullsLast: boolean }>;
  /** null without LIMIT. */
  limit: number | null;
}

export class SoqlError extends Error {
  override readonly name = 'SoqlError';
  constructor(
    /** Salesforce's errorCode. */
    readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_TYPE' | 'INVALID_FIELD' | 'INVALID_QUERY_FILTER_OPERATOR',
    message: string,
  ) {
    super(message);
  }
}

interface Token {
  /** 'literal': an unquoted value that begins with a digit (a dateTime, a number). */
  kind: 'word' | 'literal' | 'string' | 'punct' | 'op' | 'end';
  text: string;
  /** 1-based column. */
  position: number;
}

/** Salesforce's positional error text: the query, a caret under the column, the row and column, the reason. */
export function positioned(soql: string, position: number, reason: string): string {
  return `\n${soql}\n${' '.repeat(Math.max(0, position - 1))}^\nERROR at Row:1:Column:${position}\n${reason}`;
}

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const c = soql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < soql.length && /[A-Za-z0-9_.]/.test(soql[i]!)) i++;
      tokens.push({ kind: 'word', text: soql.slice(start, i), position: start + 1 });
    } else if (c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= soql.length) throw new SoqlError('MALFORMED_QUERY', positioned(soql, soql.length + 1, 'unexpected token: <EOF>'));
        const d = soql[i]!;
        if (d === '\\' && i + 1 < soql.length) {
          value += soql[i + 1];
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else {
          value += d;
          i++;
        }
      }
      tokens.push({ kind: 'string', text: value, position: start + 1 });
    } else if (c === ',' || c === '(' || c === ')') {
      tokens.push({ kind: 'punct', text: c, position: i + 1 });
      i++;
    } else if (/[<>=!]/.test(c)) {
      const two = soql.slice(i, i + 2);
      const text = ['<=', '>=', '!=', '<>'].includes(two) ? two : c;
      tokens.push({ kind: 'op', text, position: i + 1 });
      i += text.length;
    } else {
      const start = i;
      while (i < soql.length && !/[\s,()'<>=!]/.test(soql[i]!)) i++;
      tokens.push({ kind: /[0-9]/.test(c) ? 'literal' : 'word', text: soql.slice(start, i), position: start + 1 });
    }
  }
  tokens.push({ kind: 'end', text: '<EOF>', position: soql.length + 1 });
  return tokens;
}

/** Words that are never a field or object name in the forms understood. */
const RESERVED = new Set(['SELECT', 'FROM', 'WHERE', 'IN', 'ORDER', 'BY', 'LIMIT', 'ASC', 'DESC', 'NULLS', 'AND', 'OR', 'NOT']);

/**
 * A SOQL dateTime literal's instant, or null when the text is not one: YYYY-MM-DDThh:mm:ss[.fff] then Z or ±hh:mm,
 * every part in range (no 13th month, no 30 February, no hour 24).
 */
export function soqlDateTime(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return null;
  const zone = m[8]!;
  if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) return null;
  const ms = Math.floor(Number(`0${m[7] ?? ''}`) * 1000);
  const offsetMinutes = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}

/** Parses the documented forms (see the top of this file); throws SoqlError (MALFORMED_QUERY) for anything else. */
export function parseSoql(soql: string): SoqlSelect {
  const tokens = tokenize(soql);
  let at = 0;
  const peek = () => tokens[at]!;
  const isKeyword = (t: Token, word: string) => t.kind === 'word' && t.text.toUpperCase() === word;
  const unexpected = (t: Token): never => {
    throw new SoqlError('MALFORMED_QUERY', positioned(soql, t.position, `unexpected token: ${t.kind === 'string' ? `'${t.text}'` : t.text}`));
  };
  const keyword = (word: string) => {
    const t = tokens[at++]!;
    if (!isKeyword(t, word)) unexpected(t);
  };
  const name = (): Token => {
    const t = tokens[at++]!;
    if (t.kind !== 'word' || RESERVED.has(t.text.toUpperCase())) unexpected(t);
    return t;
  };
  const punct = (p: string) => {
    const t = tokens[at++]!;
    if (t.kind !== 'punct' || t.text !== p) unexpected(t);
  };
  const value = (): SoqlValue => {
    const t = tokens[at++]!;
    if (t.kind === 'string') return { kind: 'string', value: t.text, position: t.position };
    if (t.kind !== 'literal') return unexpected(t);
    const epochMs = soqlDateTime(t.text);
    // Assumption: the reason's wording; Salesforce refuses a malformed dateTime as MALFORMED_QUERY (400).
    if (epochMs === null) throw new SoqlError('MALFORMED_QUERY', positioned(soql, t.position, `Invalid datetime: ${t.text}`));
    return { kind: 'datetime', value: t.text, epochMs, position: t.position };
  };

  keyword('SELECT');
  const fields: SoqlSelect['fields'] = [];
  for (;;) {
    const f = name();
    fields.push({ name: f.text, position: f.position });
    if (peek().kind === 'punct' && peek().text === ',') at++;
    else break;
  }
  keyword('FROM');
  const object = name();

  let filter: SoqlFilter | null = null;
  if (isKeyword(peek(), 'WHERE')) {
    at++;
    const filterField = name();
    if (peek().kind === 'op') {
      const op = tokens[at++]!;
      const operator = (op.text === '<>' ? '!=' : op.text) as SoqlOperator;
      if (!['=', '!=', '<', '<=', '>', '>='].includes(operator)) unexpected(op);
      filter = { kind: 'compare', field: filterField.text, position: filterField.position, operator, value: value() };
    } else {
      keyword('IN');
      punct('(');
      const values: Array<{ value: string; position: number }> = [];
      for (;;) {
        const v = tokens[at++]!;
        if (v.kind !== 'string') unexpected(v);
        values.push({ value: v.text, position: v.position });
        const sep = tokens[at++]!;
        if (sep.kind === 'punct' && sep.text === ')') break;
        if (sep.kind !== 'punct' || sep.text !== ',') unexpected(sep);
      }
      filter = { kind: 'in', field: filterField.text, position: filterField.position, values };
    }
  }

  const orderBy: SoqlSelect['orderBy'] = [];
  if (isKeyword(peek(), 'ORDER')) {
    at++;
    keyword('BY');
    for (;;) {
      const f = name();
      let descending = false;
      if (isKeyword(peek(), 'ASC') || isKeyword(peek(), 'DESC')) descending = tokens[at++]!.text.toUpperCase() === 'DESC';
      let nullsLast = false;
      if (isKeyword(peek(), 'NULLS')) {
        at++;
        const which = tokens[at++]!;
        if (!isKeyword(which, 'FIRST') && !isKeyword(which, 'LAST')) unexpected(which);
        nullsLast = which.text.toUpperCase() === 'LAST';
      }
      orderBy.push({ field: f.text, position: f.position, descending, nullsLast });
      if (peek().kind === 'punct' && peek().text === ',') at++;
      else break;
    }
  }

  let limit: number | null = null;
  if (isKeyword(peek(), 'LIMIT')) {
    at++;
    const n = tokens[at++]!;
    if (n.kind !== 'literal' || !/^\d+$/.test(n.text)) unexpected(n);
    limit = Number(n.text);
  }
  if (peek().kind !== 'end') unexpected(peek());

  const seen = new Set<string>();
  for (const f of fields) {
    const key = f.name.toLowerCase();
    if (seen.has(key)) throw new SoqlError('MALFORMED_QUERY', `duplicate field selected: ${f.name}`);
    seen.add(key);
  }
  return { fields, object: { name: object.text, position: object.position }, filter, orderBy, limit };
}
