/**
 * The SOQL the emulator understands: `SELECT f1, f2 FROM Object WHERE Field IN ('v1', 'v2')`, the form of every read
 * the project documents (PROVIDERS.md), and `SELECT f1 FROM Object` without a filter (the Organization's one row). Keywords, object and field names are case-insensitive, as in Salesforce.
 * Anything else is refused the way Salesforce refuses it: MALFORMED_QUERY with the query echoed and a caret under
 * the offending token.
 */

export interface SoqlSelect {
  /** As written (the caller's case); `position` is each one's 1-based column, for error messages. */
  fields: Array<{ name: string; position: number }>;
  object: { name: string; position: number };
  /** null: no WHERE clause, every row. */
  filter: { field: string; position: number; values: Array<{ value: string; position: number }> } | null;
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
  kind: 'word' | 'string' | 'punct' | 'end';
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
    } else {
      const start = i;
      while (i < soql.length && !/[\s,()']/.test(soql[i]!)) i++;
      tokens.push({ kind: 'word', text: soql.slice(start, i), position: start + 1 });
    }
  }
  tokens.push({ kind: 'end', text: '<EOF>', position: soql.length + 1 });
  return tokens;
}

/** Parses the one documented form; throws SoqlError (MALFORMED_QUERY) for anything else. */
export function parseSoql(soql: string): SoqlSelect {
  const tokens = tokenize(soql);
  let at = 0;
  const peek = () => tokens[at]!;
  const unexpected = (t: Token): never => {
    throw new SoqlError('MALFORMED_QUERY', positioned(soql, t.position, `unexpected token: ${t.kind === 'string' ? `'${t.text}'` : t.text}`));
  };
  const keyword = (word: string) => {
    const t = tokens[at++]!;
    if (t.kind !== 'word' || t.text.toUpperCase() !== word) unexpected(t);
  };
  const name = (): Token => {
    const t = tokens[at++]!;
    if (t.kind !== 'word' || ['SELECT', 'FROM', 'WHERE', 'IN'].includes(t.text.toUpperCase())) unexpected(t);
    return t;
  };
  const punct = (p: string) => {
    const t = tokens[at++]!;
    if (t.kind !== 'punct' || t.text !== p) unexpected(t);
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
  let filter: SoqlSelect['filter'] = null;
  if (peek().kind !== 'end') {
    keyword('WHERE');
    const filterField = name();
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
    if (peek().kind !== 'end') unexpected(peek());
    filter = { field: filterField.text, position: filterField.position, values };
  }

  const seen = new Set<string>();
  for (const f of fields) {
    const key = f.name.toLowerCase();
    if (seen.has(key)) throw new SoqlError('MALFORMED_QUERY', `duplicate field selected: ${f.name}`);
    seen.add(key);
  }
  return { fields, object: { name: object.text, position: object.position }, filter };
}
