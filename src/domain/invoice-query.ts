/**
 * What a listing of invoices asks for (Query.invoices): the filter, the ordering, the page, and the opaque cursors
 * that mark a position in an ordering. Pure: no I/O, no GraphQL; the ledger runs it, the API validates with it.
 */
import { PROVIDER_CODES, type InvoiceKind, type InvoiceOrigin, type InvoiceStatus, type ProviderCode } from './invoice';
import { textProblem } from './text';

export const INVOICE_ORDER_FIELDS = ['ISSUE_DATE', 'DUE_DATE', 'CREATED_AT', 'TOTAL'] as const;
export type InvoiceOrderField = (typeof INVOICE_ORDER_FIELDS)[number];
export type OrderDirection = 'ASC' | 'DESC';

export interface InvoiceOrder {
  field: InvoiceOrderField;
  direction: OrderDirection;
}

/** Newest first, as admin UIs open. */
export const DEFAULT_INVOICE_ORDER: InvoiceOrder = Object.freeze({ field: 'ISSUE_DATE', direction: 'DESC' });

/** Every field optional; a list means "any of" (an empty list matches nothing); dates are YYYY-MM-DD. */
export interface InvoiceFilter {
  provider?: ProviderCode[];
  status?: InvoiceStatus[];
  kind?: InvoiceKind[];
  origin?: InvoiceOrigin[];
  orderId?: string[];
  currencyCode?: string[];
  /** issue_date on or after. */
  issuedFrom?: string;
  /** issue_date on or before. */
  issuedTo?: string;
  /** due_date strictly before. */
  dueBefore?: string;
  /** Due before today (UTC) and still ISSUED or PARTIALLY_PAID; false: the others, invoices without a due date included. */
  overdue?: boolean;
}

/** Statuses under which an invoice past its due date counts as overdue. */
export const OVERDUE_STATUSES: readonly InvoiceStatus[] = ['ISSUED', 'PARTIALLY_PAID'];

/**
 * A row's position in an ordering: its sort value (a date, a numeric amount as text, or null for a missing date,
 * which sorts as the earliest issue date or the latest due date; always null for CREATED_AT) and its seq (the unique tie-break, as decimal text).
 */
export interface SortKey {
  value: string | null;
  seq: string;
}

/** One page: forward (first/after) or backward (last/before), `size` rows from after/before `from`. */
export interface PageRequest {
  backward: boolean;
  size: number;
  from: SortKey | null;
}

export interface InvoiceListRequest {
  filter: InvoiceFilter;
  order: InvoiceOrder;
  page: PageRequest;
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_FILTER_VALUES = 100;
const MAX_ORDER_ID_LENGTH = 255;
const MAX_CURSOR_LENGTH = 512;

/** A listing argument that cannot be served; `argument` names it as the API spells it (e.g. `filter.orderId`). */
export class InvalidListArgument extends Error {
  override readonly name = 'InvalidListArgument';
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(`${argument} ${message}`);
  }
}

const STATUSES: readonly InvoiceStatus[] = ['DRAFT', 'ISSUED', 'PARTIALLY_PAID', 'PAID', 'VOID'];
const KINDS: readonly InvoiceKind[] = ['INVOICE', 'CREDIT_NOTE'];
const ORIGINS: readonly InvoiceOrigin[] = ['CREATED_HERE', 'EXTERNAL'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const CURRENCY = /^[A-Z]{3}$/;
const SEQ = /^[1-9]\d{0,18}$/;
/** What numeric::text gives for an amount; bounded so that a forged cursor cannot make the database parse megabytes. */
const NUMERIC = /^-?\d{1,40}(\.\d{1,40})?$/;

/** A real calendar day in YYYY-MM-DD (2026-02-30 is not). */
export function isIsoDate(text: string): boolean {
  if (!DATE.test(text)) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

function checkList<T>(argument: string, values: readonly T[] | undefined, each: (v: T) => string | null): void {
  if (values === undefined) return;
  if (values.length > MAX_FILTER_VALUES) throw new InvalidListArgument(argument, `holds ${values.length} values; at most ${MAX_FILTER_VALUES} are accepted.`);
  values.forEach((v, i) => {
    const problem = each(v);
    if (problem) throw new InvalidListArgument(`${argument}[${i}]`, problem);
  });
}

const oneOf = <T>(allowed: readonly T[]) => (v: T) => (allowed.includes(v) ? null : `is not one of ${allowed.join(', ')}.`);

/** Throws InvalidListArgument for the first field of the filter that cannot be served. Called before any query; costs a walk. */
export function checkInvoiceFilter(filter: InvoiceFilter): void {
  checkList('filter.provider', filter.provider, oneOf<ProviderCode>(PROVIDER_CODES));
  checkList('filter.status', filter.status, oneOf(STATUSES));
  checkList('filter.kind', filter.kind, oneOf(KINDS));
  checkList('filter.origin', filter.origin, oneOf(ORIGINS));
  checkList('filter.orderId', filter.orderId, (v) => {
    if (typeof v !== 'string') return 'is not a string.';
    if (v.length === 0) return 'is empty.';
    const problem = textProblem(v, { maxLength: MAX_ORDER_ID_LENGTH });
    return problem && `${problem}.`;
  });
  checkList('filter.currencyCode', filter.currencyCode, (v) => (typeof v === 'string' && CURRENCY.test(v) ? null : 'is not a currency code of three letters A-Z (ISO 4217).'));
  for (const key of ['issuedFrom', 'issuedTo', 'dueBefore'] as const) {
    const v = filter[key];
    if (v !== undefined && !isIsoDate(v)) throw new InvalidListArgument(`filter.${key}`, 'is not a date (YYYY-MM-DD).');
  }
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/**
 * The listing a query's arguments ask for, or InvalidListArgument: a bad filter, first with last, after with last
 * or before with first, a size outside 0..100, or a cursor that does not decode or was made for another ordering.
 */
export function invoiceListRequest(filter: InvoiceFilter, order: InvoiceOrder, args: PageArgs): InvoiceListRequest {
  checkInvoiceFilter(filter);
  if (!INVOICE_ORDER_FIELDS.includes(order.field)) throw new InvalidListArgument('orderBy.field', `is not one of ${INVOICE_ORDER_FIELDS.join(', ')}.`);
  if (order.direction !== 'ASC' && order.direction !== 'DESC') throw new InvalidListArgument('orderBy.direction', 'is not ASC or DESC.');
  const first = args.first ?? null;
  const last = args.last ?? null;
  const after = args.after ?? null;
  const before = args.before ?? null;
  if (first !== null && last !== null) throw new InvalidListArgument('last', 'cannot be given with first: ask for one page at a time, forward (first, after) or backward (last, before).');
  for (const [name, size] of [['first', first], ['last', last]] as const) {
    if (size !== null && (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE)) throw new InvalidListArgument(name, `must be between 0 and ${MAX_PAGE_SIZE}.`);
  }
  const backward = last !== null || (first === null && before !== null);
  if (backward && after !== null) throw new InvalidListArgument('after', 'goes with first; a backward page (last) starts from before.');
  if (!backward && before !== null) throw new InvalidListArgument('before', 'goes with last; a forward page (first) starts from after.');
  const cursor = backward ? before : after;
  return {
    filter,
    order,
    page: {
      backward,
      size: (backward ? last : first) ?? DEFAULT_PAGE_SIZE,
      from: cursor === null ? null : decodeCursor(cursor, order, backward ? 'before' : 'after'),
    },
  };
}

interface CursorJson {
  f: InvoiceOrderField;
  d: OrderDirection;
  v: string | null;
  s: string;
}

/** The opaque cursor of a row's position in an ordering: base64url of a small JSON. */
export function encodeCursor(order: InvoiceOrder, key: SortKey): string {
  const json: CursorJson = { f: order.field, d: order.direction, v: key.value, s: key.seq };
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

/** The position a cursor marks, if it was made for this ordering; else InvalidListArgument naming `argument`. */
export function decodeCursor(cursor: string, order: InvoiceOrder, argument: string): SortKey {
  const refuse = (why: string) => new InvalidListArgument(argument, `is not a cursor of this listing (${why}); use a cursor from a page with the same orderBy.`);
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuse('malformed');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse('malformed');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw refuse('malformed');
  const { f, d, v, s } = json as Partial<CursorJson>;
  if (f !== order.field || d !== order.direction) throw refuse('made for another ordering');
  if (typeof s !== 'string' || !SEQ.test(s)) throw refuse('malformed');
  const valueOk =
    f === 'CREATED_AT' ? v === null : f === 'TOTAL' ? typeof v === 'string' && NUMERIC.test(v) : v === null || (typeof v === 'string' && isIsoDate(v));
  if (!valueOk) throw refuse('malformed');
  return { value: v ?? null, seq: s };
}
