import fc from 'fast-check';
import { PROVIDER_CODES, type InvoiceHeader, type InvoiceKind, type InvoiceOrigin, type InvoiceStatus, type ProviderCode } from '../domain/invoice';
import {
  decodeCursor,
  encodeCursor,
  INVOICE_ORDER_FIELDS,
  invoiceListRequest,
  OVERDUE_STATUSES,
  type InvoiceFilter,
  type InvoiceOrder,
  type PageArgs,
} from '../domain/invoice-query';
import { Decimal, money } from '../domain/money';
import type { Database } from './database';
import { countQuery, InvoiceList, pageQuery } from './invoice-list';
import { Ledger } from './ledger';
import { openTestDatabase, storeName } from '../../test/support/store';

const STATUSES: InvoiceStatus[] = ['DRAFT', 'ISSUED', 'PARTIALLY_PAID', 'PAID', 'VOID'];
const KINDS: InvoiceKind[] = ['INVOICE', 'CREDIT_NOTE'];
const ORIGINS: InvoiceOrigin[] = ['CREATED_HERE', 'EXTERNAL'];
const CURRENCIES = ['SAR', 'USD', 'EUR'];
const ORDER_IDS = ['o-1', 'o-2', 'o-3', 'o-4'];
// Few distinct values, so that ties (which seq breaks) are common; today's neighbours exercise `overdue`.
const utcDay = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
const DATES = ['2026-01-05', '2026-01-05', '2026-03-10', '2026-07-01', utcDay(-1), utcDay(0), utcDay(1), '2030-12-31'];
const TOTALS = ['0', '10.5', '10.50', '99.99', '-20', '1000', '115.12', '7'];

/** What the model knows of a recorded invoice: its filterable columns and its creation order. */
interface Row {
  id: string;
  tenantId: string;
  seq: bigint;
  provider: ProviderCode;
  status: InvoiceStatus;
  kind: InvoiceKind;
  origin: InvoiceOrigin;
  orderId: string;
  currencyCode: string;
  issueDate: string | null;
  dueDate: string | null;
  total: Decimal;
}

/** A small deterministic generator: the data set is the same on every run, the property runs vary the queries. */
function rng(seed: number) {
  let s = seed;
  return <T>(xs: readonly T[]): T => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return xs[s % xs.length]!;
  };
}

let counter = 0;
function header(pick: ReturnType<typeof rng>): InvoiceHeader {
  const currency = pick(CURRENCIES);
  counter++;
  return {
    provider: pick(PROVIDER_CODES),
    providerInvoiceId: `pi-${counter}`,
    orderId: pick(ORDER_IDS),
    number: `N-${counter}`,
    kind: pick(KINDS),
    status: pick(STATUSES),
    issueDate: pick([...DATES, null, null]),
    dueDate: pick([...DATES, null, null, null]),
    currencyCode: currency,
    subtotal: null,
    taxTotal: null,
    total: money(pick(TOTALS), currency),
    documentUrl: null,
  };
}

/** Records `n` invoices of a tenant through the ledger, some of them then marked as found at the provider. */
async function seed(db: Database, ledger: Ledger, tenantId: string, n: number, seedNo: number): Promise<Row[]> {
  const pick = rng(seedNo);
  const headers = Array.from({ length: n }, () => header(pick));
  const { attempt } = await ledger.claim({ tenantId, idempotencyKey: `seed-${tenantId}-${seedNo}-${counter}`, provider: 'SALLA', orderId: 'o-1', inputFingerprint: 'fp', input: {}, leaseMs: 30_000 });
  const invoices = await ledger.succeed(attempt.id, tenantId, headers);
  const external = invoices.filter(() => pick([true, false, false])).map((i) => i.id);
  await db.query(`UPDATE invoices SET origin = 'EXTERNAL', attempt_id = NULL WHERE id = ANY($1::uuid[])`, [external]);
  const seqs = new Map((await db.query<{ id: string; seq: string }>('SELECT id, seq::text AS seq FROM invoices WHERE id = ANY($1::uuid[])', [invoices.map((i) => i.id)])).map((r) => [r.id, BigInt(r.seq)]));
  return invoices.map((i, k) => ({
    id: i.id,
    tenantId,
    seq: seqs.get(i.id)!,
    provider: headers[k]!.provider,
    status: headers[k]!.status,
    kind: headers[k]!.kind,
    origin: external.includes(i.id) ? 'EXTERNAL' : 'CREATED_HERE',
    orderId: headers[k]!.orderId,
    currencyCode: headers[k]!.currencyCode,
    issueDate: headers[k]!.issueDate,
    dueDate: headers[k]!.dueDate,
    total: headers[k]!.total.amount,
  }));
}

/** The plain in-memory filter the ledger's SQL must agree with. */
function matches(r: Row, f: InvoiceFilter): boolean {
  const today = utcDay(0);
  const overdue = r.dueDate !== null && r.dueDate < today && OVERDUE_STATUSES.includes(r.status);
  return (
    (!f.provider || f.provider.includes(r.provider)) &&
    (!f.status || f.status.includes(r.status)) &&
    (!f.kind || f.kind.includes(r.kind)) &&
    (!f.origin || f.origin.includes(r.origin)) &&
    (!f.orderId || f.orderId.includes(r.orderId)) &&
    (!f.currencyCode || f.currencyCode.includes(r.currencyCode)) &&
    (f.issuedFrom === undefined || (r.issueDate !== null && r.issueDate >= f.issuedFrom)) &&
    (f.issuedTo === undefined || (r.issueDate !== null && r.issueDate <= f.issuedTo)) &&
    (f.dueBefore === undefined || (r.dueDate !== null && r.dueDate < f.dueBefore)) &&
    (f.overdue === undefined || f.overdue === overdue)
  );
}

/** The plain in-memory sort: a missing issue date as the earliest, a missing due date as the latest, ties by seq, all of it reversed for DESC. */
function compare(order: InvoiceOrder) {
  const INFINITY = '9999-99-99';
  const MINUS_INFINITY = '0000-00-00';
  const primary = (a: Row, b: Row): number => {
    switch (order.field) {
      case 'ISSUE_DATE':
        return (a.issueDate ?? MINUS_INFINITY).localeCompare(b.issueDate ?? MINUS_INFINITY);
      case 'DUE_DATE':
        return (a.dueDate ?? INFINITY).localeCompare(b.dueDate ?? INFINITY);
      case 'TOTAL':
        return a.total.comparedTo(b.total);
      case 'CREATED_AT':
        return 0;
    }
  };
  return (a: Row, b: Row) => {
    const c = primary(a, b) || (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0);
    return order.direction === 'DESC' ? -c : c;
  };
}

const expected = (rows: Row[], tenantId: string, filter: InvoiceFilter, order: InvoiceOrder) =>
  rows.filter((r) => r.tenantId === tenantId && matches(r, filter)).sort(compare(order)).map((r) => r.id);

/** A condition in one run out of four, so that most runs keep enough rows to span several pages. */
const sometimes = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });
// Now and then an empty list, which matches nothing.
const subset = <T>(xs: readonly T[]) => sometimes(fc.oneof({ arbitrary: fc.subarray([...xs], { minLength: 1 }), weight: 9 }, { arbitrary: fc.constant([] as T[]), weight: 1 }));
const filterArb: fc.Arbitrary<InvoiceFilter> = fc
  .record(
    {
      provider: subset(PROVIDER_CODES),
      status: subset(STATUSES),
      kind: subset(KINDS),
      origin: subset(ORIGINS),
      orderId: subset([...ORDER_IDS, 'o-none']),
      currencyCode: subset([...CURRENCIES, 'GBP']),
      issuedFrom: sometimes(fc.constantFrom(...DATES)),
      issuedTo: sometimes(fc.constantFrom(...DATES)),
      dueBefore: sometimes(fc.constantFrom(...DATES)),
      overdue: sometimes(fc.boolean()),
    },
    { requiredKeys: [] },
  )
  .map((f) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as InvoiceFilter);
const orderArb = fc.record({ field: fc.constantFrom(...INVOICE_ORDER_FIELDS), direction: fc.constantFrom('ASC' as const, 'DESC' as const) });

describe(`InvoiceList: keyset pages of the ledger (${storeName()})`, () => {
  let db: Database;
  let ledger: Ledger;
  let list: InvoiceList;
  let rows: Row[];

  beforeAll(async () => {
    db = await openTestDatabase();
    ledger = new Ledger(db);
    list = new InvoiceList(db);
    rows = [...(await seed(db, ledger, 't1', 70, 1)), ...(await seed(db, ledger, 't2', 25, 2)), ...(await seed(db, ledger, 't1', 20, 3))];
  });
  afterAll(() => db.close());

  const request = (filter: InvoiceFilter, order: InvoiceOrder, args: PageArgs) => invoiceListRequest(filter, order, args);

  /** Every page forward from the start; the ids in order, and each page checked on the way. */
  async function walkForward(tenantId: string, filter: InvoiceFilter, order: InvoiceOrder, sizes: number[]): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (let i = 0; ; i++) {
      const size = sizes[i % sizes.length]!;
      const page = await list.page(tenantId, request(filter, order, { first: size, after }));
      expect(page.edges.length).toBeLessThanOrEqual(size);
      expect(page.hasPreviousPage).toBe(after !== null);
      // The page before said there was more: there is.
      if (after !== null) expect(page.edges.length).toBeGreaterThan(0);
      ids.push(...page.edges.map((e) => e.invoice.id));
      if (!page.hasNextPage) return ids;
      expect(page.edges).toHaveLength(size);
      after = encodeCursor(order, page.edges[page.edges.length - 1]!.key);
      if (i > 500) throw new Error('does not end');
    }
  }

  /** Every page backward from the end, turned back into the ordering's order. */
  async function walkBackward(tenantId: string, filter: InvoiceFilter, order: InvoiceOrder, sizes: number[]): Promise<string[]> {
    const pages: string[][] = [];
    let before: string | null = null;
    for (let i = 0; ; i++) {
      const size = sizes[i % sizes.length]!;
      const page = await list.page(tenantId, request(filter, order, { last: size, before }));
      expect(page.hasNextPage).toBe(before !== null);
      if (before !== null) expect(page.edges.length).toBeGreaterThan(0);
      pages.unshift(page.edges.map((e) => e.invoice.id));
      if (!page.hasPreviousPage) return pages.flat();
      expect(page.edges).toHaveLength(size);
      before = encodeCursor(order, page.edges[0]!.key);
      if (i > 500) throw new Error('does not end');
    }
  }

  it('walking every page forward, for random filters and every ordering, gives the in-memory filter and sort, and the count', async () => {
    await fc.assert(
      fc.asyncProperty(filterArb, orderArb, fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }), async (filter, order, sizes) => {
        const want = expected(rows, 't1', filter, order);
        const got = await walkForward('t1', filter, order, sizes);
        expect(new Set(got).size).toBe(got.length);
        expect(got).toEqual(want);
        expect(await list.count('t1', filter)).toBe(want.length);
      }),
      { numRuns: 40 },
    );
  });

  it('walking every page backward (last/before) gives the same list', async () => {
    await fc.assert(
      fc.asyncProperty(filterArb, orderArb, fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }), async (filter, order, sizes) => {
        const got = await walkBackward('t1', filter, order, sizes);
        expect(new Set(got).size).toBe(got.length);
        expect(got).toEqual(expected(rows, 't1', filter, order));
      }),
      { numRuns: 40 },
    );
  });

  it('every ordering and direction, unfiltered, in pages of 7, forward and backward', async () => {
    for (const field of INVOICE_ORDER_FIELDS) {
      for (const direction of ['ASC', 'DESC'] as const) {
        const want = expected(rows, 't1', {}, { field, direction });
        expect(await walkForward('t1', {}, { field, direction }, [7])).toEqual(want);
        expect(await walkBackward('t1', {}, { field, direction }, [7])).toEqual(want);
      }
    }
  });

  it('a missing issue date sorts as the earliest (last newest-first), a missing due date as the latest (last soonest-first)', async () => {
    const asc = await list.page('t1', request({}, { field: 'ISSUE_DATE', direction: 'DESC' }, { first: 100 }));
    const dates = asc.edges.map((e) => e.invoice.issueDate);
    const firstNull = dates.indexOf(null);
    expect(firstNull).toBeGreaterThan(0);
    expect(dates.slice(firstNull).every((d) => d === null)).toBe(true);
    const desc = await list.page('t1', request({}, { field: 'DUE_DATE', direction: 'DESC' }, { first: 5 }));
    expect(desc.edges.map((e) => e.invoice.dueDate)).toEqual([null, null, null, null, null]);
    expect(desc.edges[0]!.key.value).toBeNull();
  });

  it("cursors hold ISO dates whatever the server's DateStyle", async () => {
    const order: InvoiceOrder = { field: 'DUE_DATE', direction: 'ASC' };
    const page = await db.transaction(async (tx) => {
      await tx.query("SET LOCAL DateStyle = 'SQL, DMY'");
      return new InvoiceList(tx).page('t1', request({}, order, { first: 3 }));
    });
    const key = page.edges[2]!.key;
    expect(key.value).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(decodeCursor(encodeCursor(order, key), order, 'after')).toEqual(key);
  });

  it('first: 0 is an empty page that still says whether there is more', async () => {
    const page = await list.page('t1', request({}, { field: 'TOTAL', direction: 'ASC' }, { first: 0 }));
    expect(page).toEqual({ edges: [], hasNextPage: true, hasPreviousPage: false });
  });

  it('a page costs one ledger query, and the count one more', async () => {
    const before = db.stats.queries;
    await list.page('t1', request({ status: ['ISSUED'], currencyCode: ['SAR'] }, { field: 'DUE_DATE', direction: 'ASC' }, { first: 10 }));
    expect(db.stats.queries - before).toBe(1);
    await list.count('t1', { status: ['ISSUED'] });
    expect(db.stats.queries - before).toBe(2);
  });

  it('pages are ranges of the ordering\'s index, not sorts of the table', async () => {
    const { text, params } = pageQuery('t1', request({}, { field: 'ISSUE_DATE', direction: 'DESC' }, { first: 10, after: encodeCursor({ field: 'ISSUE_DATE', direction: 'DESC' }, { value: '2026-03-10', seq: '50' }) }));
    // A table this small would be read whole; with sequential scans off the planner shows the plan a big one gets.
    // SET LOCAL in a transaction: on PostgreSQL, the same pooled connection, and undone at its end.
    await db.query('VACUUM ANALYZE invoices');
    const plan = await db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      return (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, params)).map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index (Only )?Scan Backward using invoices_list_issue_date/);
    expect(plan).toMatch(/Index Cond: \(\(tenant_id = 't1'::text\) AND \(ROW\(\(?COALESCE\(issue_date, '-infinity'::date\)\)?, seq\) </);
    // Only the page's rows are then read, by id; nothing is sorted.
    expect(plan).toMatch(/Index Scan using invoices_pkey/);
    expect(plan).not.toMatch(/Sort/);
  });

  it('the count of overdue or unpaid invoices is a scan of the status index (migration 0006), not of the tenant', async () => {
    // Statistics and a visibility map, as a table of any size has them in production.
    await db.query('VACUUM ANALYZE invoices');
    const plans = await db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      const explain = async (filter: InvoiceFilter) => {
        const { text, params } = countQuery('t1', filter);
        return (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, params)).map((r) => r['QUERY PLAN']).join('\n');
      };
      return [await explain({ overdue: true }), await explain({ status: ['ISSUED', 'PARTIALLY_PAID'] })];
    });
    for (const plan of plans) expect(plan).toMatch(/Index (Only )?Scan using invoices_list_status_due[^\n]*\n\s*Index Cond: \(\(tenant_id = 't1'::text\) AND \(status = /);
  });

  describe('tenant scoping', () => {
    it("another tenant's invoices never appear, and counts leave them out", async () => {
      const t1 = await walkForward('t1', {}, { field: 'CREATED_AT', direction: 'ASC' }, [50]);
      const t2 = await walkForward('t2', {}, { field: 'CREATED_AT', direction: 'ASC' }, [50]);
      expect(t1).toEqual(rows.filter((r) => r.tenantId === 't1').map((r) => r.id));
      expect(t2).toEqual(rows.filter((r) => r.tenantId === 't2').map((r) => r.id));
      expect(await list.count('t2', {})).toBe(25);
      expect(await list.count('t3', {})).toBe(0);
      expect((await list.page('t3', request({}, { field: 'TOTAL', direction: 'DESC' }, {}))).edges).toEqual([]);
    });

    it("a cursor from tenant A used by tenant B only positions B's own list: nothing of A comes back", async () => {
      const order: InvoiceOrder = { field: 'TOTAL', direction: 'ASC' };
      const ofA = await list.page('t1', request({}, order, { first: 10 }));
      const cursor = encodeCursor(order, ofA.edges[9]!.key);
      const forB = await list.page('t2', request({}, order, { first: 100, after: cursor }));
      const key = ofA.edges[9]!.key;
      const bAfter = rows
        .filter((r) => r.tenantId === 't2')
        .sort(compare(order))
        .filter((r) => r.total.comparedTo(key.value!) > 0 || (r.total.comparedTo(key.value!) === 0 && r.seq > BigInt(key.seq)))
        .map((r) => r.id);
      expect(forB.edges.map((e) => e.invoice.id)).toEqual(bAfter);
      expect(forB.edges.every((e) => e.invoice.tenantId === 't2')).toBe(true);
    });
  });

  it('cursor stability: invoices added before and after the cursor neither repeat nor skip the rows already there', async () => {
    const all: Row[] = await seed(db, ledger, 't-stable', 30, 7);
    const sides = { before: 0, after: 0 };
    for (const order of [
      { field: 'ISSUE_DATE', direction: 'DESC' },
      { field: 'TOTAL', direction: 'ASC' },
      { field: 'CREATED_AT', direction: 'DESC' },
      { field: 'DUE_DATE', direction: 'ASC' },
    ] satisfies InvoiceOrder[]) {
      const first = await list.page('t-stable', request({}, order, { first: 8 }));
      const seen = first.edges.map((e) => e.invoice.id);
      const cursor = encodeCursor(order, first.edges[7]!.key);
      // New invoices with every date and total: some sort before the cursor, some after it.
      const added = await seed(db, ledger, 't-stable', 12, 11 + all.length);
      all.push(...added);
      const rest = await walkForwardFrom('t-stable', order, cursor);
      const preExisting = new Set(all.filter((r) => !added.includes(r)).map((r) => r.id));
      const sorted = all.sort(compare(order)).map((r) => r.id);
      const position = sorted.indexOf(seen[7]!);
      // Exactly everything that now sorts after the last row seen, once each, old and new alike.
      expect(rest).toEqual(sorted.slice(position + 1));
      expect(rest.filter((id) => seen.includes(id))).toEqual([]);
      const oldSeen = new Set([...seen, ...rest].filter((id) => preExisting.has(id)));
      expect(oldSeen.size).toBe(preExisting.size);
      for (const r of added) sides[sorted.indexOf(r.id) < position ? 'before' : 'after']++;
    }
    // The new rows did land on both sides of the cursors (CREATED_AT DESC puts them all before).
    expect(sides.before).toBeGreaterThan(0);
    expect(sides.after).toBeGreaterThan(0);
  });

  async function walkForwardFrom(tenantId: string, order: InvoiceOrder, after: string): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = after;
    while (cursor !== null) {
      const page = await list.page(tenantId, request({}, order, { first: 5, after: cursor }));
      ids.push(...page.edges.map((e) => e.invoice.id));
      cursor = page.hasNextPage ? encodeCursor(order, page.edges[page.edges.length - 1]!.key) : null;
    }
    return ids;
  }
});
