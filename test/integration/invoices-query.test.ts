import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { InvoiceHeader, InvoiceStatus } from '../../src/domain/invoice';
import { Decimal, money } from '../../src/domain/money';
import { Ledger } from '../../src/ledger/ledger';
import { DEFAULT_TENANT } from '../../src/server/auth';
import {
  CreateSallaInvoiceDocument,
  InvoiceHeaderByIdDocument,
  InvoicePageDocument,
  InvoicePageWithCountDocument,
  type InvoiceFilter,
  type InvoiceOrder,
  type InvoicePageQuery,
  type InvoicePageQueryVariables,
} from '../generated/graphql';
import { startHarness, type Harness } from '../support/harness';
import { storeName } from '../support/store';

const SALLA_ORDERS = ['1818813486', '389701957', '213320125'];
const OTHER_TENANT = 'tenant-other';
const utcDay = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

type Node = InvoicePageQuery['invoices']['edges'][number]['node'];
type Body<T> = { data?: T | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

let counter = 0;
const header = (h: Partial<InvoiceHeader> & { amount: string }): InvoiceHeader => {
  counter++;
  const currencyCode = h.currencyCode ?? 'SAR';
  return {
    provider: 'ZUORA',
    providerInvoiceId: `list-${counter}`,
    orderId: 'ord-a',
    number: `L-${counter}`,
    kind: 'INVOICE',
    status: 'ISSUED',
    issueDate: '2026-06-01',
    dueDate: null,
    subtotal: null,
    taxTotal: null,
    documentUrl: null,
    ...h,
    currencyCode,
    total: money(h.amount, currencyCode),
  };
};

describe(`Query.invoices through the Apollo server (${storeName()})`, () => {
  let h: Harness;
  /** Every invoice of the default tenant in recording order, as the API shows it. */
  let all: Node[];

  /** Runs an operation as a tenant; the HTTP status is kept, to see that refusals are 4xx. */
  async function run<TData, TVars extends Record<string, unknown>>(doc: TypedDocumentNode<TData, TVars>, variables: TVars, tenantId = DEFAULT_TENANT, contextValue = h.app.contextFor({ tenantId, scopes: null })) {
    const res = await h.app.apollo.executeOperation({ query: doc, variables }, { contextValue });
    if (res.body.kind !== 'single') throw new Error('incremental delivery not expected');
    return { status: res.http.status ?? 200, ...(JSON.parse(JSON.stringify(res.body.singleResult)) as Body<TData>) };
  }

  async function page(variables: InvoicePageQueryVariables, tenantId?: string) {
    const res = await run(InvoicePageDocument, variables, tenantId);
    expect(res.errors).toBeUndefined();
    return res.data!.invoices;
  }

  /** Every page, forward (first/after) or backward (last/before); the ids in the ordering's order. */
  async function walk(variables: InvoicePageQueryVariables, size: number, backward = false, tenantId?: string): Promise<string[]> {
    const pages: string[][] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 200; i++) {
      const p = await page(backward ? { ...variables, last: size, before: cursor } : { ...variables, first: size, after: cursor }, tenantId);
      const ids = p.edges.map((e) => e.node.id);
      if (backward) pages.unshift(ids);
      else pages.push(ids);
      expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
      expect(p.pageInfo.endCursor).toBe(p.edges[p.edges.length - 1]?.cursor ?? null);
      expect(backward ? p.pageInfo.hasNextPage : p.pageInfo.hasPreviousPage).toBe(cursor !== null);
      const more = backward ? p.pageInfo.hasPreviousPage : p.pageInfo.hasNextPage;
      if (!more) return pages.flat();
      cursor = backward ? p.pageInfo.startCursor : p.pageInfo.endCursor;
    }
    throw new Error('does not end');
  }

  beforeAll(async () => {
    h = await startHarness();
    for (const orderId of SALLA_ORDERS) {
      const res = await h.execute(CreateSallaInvoiceDocument, { input: { orderId, dataType: 'URL', url: `https://x.example/${orderId}.pdf` } });
      expect(res.data!.createInvoice.userErrors).toEqual([]);
    }
    // More invoices, recorded directly, for what the Salla sandbox does not vary: ties, missing dates, currencies.
    const ledger = new Ledger(h.db);
    const record = async (tenantId: string, headers: InvoiceHeader[]) => {
      const { attempt } = await ledger.claim({ tenantId, idempotencyKey: `seed-${counter}`, provider: 'ZUORA', orderId: 'ord-a', inputFingerprint: 'fp', input: {}, leaseMs: 30_000 });
      return ledger.succeed(attempt.id, tenantId, headers);
    };
    const seeded = await record(DEFAULT_TENANT, [
      header({ amount: '10.50', issueDate: '2026-01-05', dueDate: utcDay(-3), status: 'ISSUED' }),
      header({ amount: '10.5', issueDate: '2026-01-05', dueDate: utcDay(-3), status: 'PARTIALLY_PAID', currencyCode: 'USD', orderId: 'ord-b' }),
      header({ amount: '99.99', issueDate: null, dueDate: utcDay(5), status: 'ISSUED', provider: 'EXSITED' }),
      header({ amount: '-20', issueDate: '2026-03-10', dueDate: utcDay(-1), status: 'PAID', kind: 'CREDIT_NOTE', currencyCode: 'EUR' }),
      header({ amount: '1000', issueDate: '2026-03-10', dueDate: null, status: 'DRAFT', provider: 'COMMERCE', orderId: 'ord-b' }),
      header({ amount: '7', issueDate: null, dueDate: utcDay(-10), status: 'VOID', provider: 'SALESFORCE' }),
      header({ amount: '0', issueDate: '2025-12-31', dueDate: '2026-01-31', status: 'ISSUED', currencyCode: 'USD' }),
      header({ amount: '250.25', issueDate: '2026-11-22', dueDate: utcDay(0), status: 'ISSUED', kind: 'CREDIT_NOTE' }),
    ]);
    await h.db.query(`UPDATE invoices SET origin = 'EXTERNAL', attempt_id = NULL WHERE id = ANY($1::uuid[])`, [[seeded[2]!.id, seeded[5]!.id]]);
    await record(OTHER_TENANT, [header({ amount: '5', orderId: 'ord-a' }), header({ amount: '6', orderId: SALLA_ORDERS[0]! })]);
    all = (await page({ orderBy: { field: 'CREATED_AT', direction: 'ASC' }, first: 100 })).edges.map((e) => e.node);
    expect(all).toHaveLength(SALLA_ORDERS.length + 8);
  });
  afterAll(() => h.close());

  const ids = (nodes: Node[]) => nodes.map((n) => n.id);
  const INFINITY = '9999-12-31';
  const MINUS_INFINITY = '0000-01-01';
  const sorted = (nodes: Node[], order: InvoiceOrder): Node[] => {
    const seq = (n: Node) => all.indexOf(n);
    const key = (n: Node): string | Decimal =>
      order.field === 'ISSUE_DATE' ? n.issueDate ?? MINUS_INFINITY : order.field === 'DUE_DATE' ? n.dueDate ?? INFINITY : order.field === 'TOTAL' ? new Decimal(n.total.amount) : '';
    return [...nodes].sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      const c = (typeof ka === 'string' ? ka.localeCompare(kb as string) : ka.comparedTo(kb as Decimal)) || seq(a) - seq(b);
      return order.direction === 'DESC' ? -c : c;
    });
  };

  it('defaults to ISSUE_DATE DESC, 20 to a page: newest first, invoices without an issue date after them', async () => {
    const p = await page({});
    expect(ids(p.edges.map((e) => e.node))).toEqual(ids(sorted(all, { field: 'ISSUE_DATE', direction: 'DESC' })));
    expect(p.edges[0]!.node.issueDate).not.toBeNull();
    expect(p.edges.at(-1)!.node.issueDate).toBeNull();
    expect(p.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
    expect(p.edges.some((e) => e.node.provider === 'SALLA')).toBe(true);
  });

  const today = utcDay(0);
  const OVERDUE: InvoiceStatus[] = ['ISSUED', 'PARTIALLY_PAID'];
  const isOverdue = (n: Node) => n.dueDate !== null && n.dueDate !== undefined && n.dueDate < today && OVERDUE.includes(n.status);
  it.each<[string, InvoiceFilter, (n: Node) => boolean]>([
    ['provider', { provider: ['EXSITED', 'COMMERCE'] }, (n) => ['EXSITED', 'COMMERCE'].includes(n.provider)],
    ['provider (Salla, created through the API)', { provider: ['SALLA'] }, (n) => n.provider === 'SALLA'],
    ['status', { status: ['PAID', 'VOID'] }, (n) => ['PAID', 'VOID'].includes(n.status)],
    ['kind', { kind: ['CREDIT_NOTE'] }, (n) => n.kind === 'CREDIT_NOTE'],
    ['origin', { origin: ['EXTERNAL'] }, (n) => n.origin === 'EXTERNAL'],
    ['orderId', { orderId: ['ord-b', SALLA_ORDERS[1]!] }, (n) => ['ord-b', SALLA_ORDERS[1]].includes(n.order.id)],
    ['currencyCode', { currencyCode: ['USD', 'EUR'] }, (n) => ['USD', 'EUR'].includes(n.total.currencyCode)],
    ['issuedFrom', { issuedFrom: '2026-03-10' }, (n) => !!n.issueDate && n.issueDate >= '2026-03-10'],
    ['issuedTo', { issuedTo: '2026-03-10' }, (n) => !!n.issueDate && n.issueDate <= '2026-03-10'],
    ['issuedFrom after issuedTo (an empty page)', { issuedFrom: '2026-04-01', issuedTo: '2026-03-01' }, () => false],
    ['dueBefore', { dueBefore: today }, (n) => !!n.dueDate && n.dueDate < today],
    ['overdue', { overdue: true }, isOverdue],
    ['not overdue (no due date counts as not overdue)', { overdue: false }, (n) => !isOverdue(n)],
    ['an empty list (matches nothing)', { status: [] }, () => false],
    ['several fields together', { currencyCode: ['SAR'], kind: ['INVOICE'], status: ['ISSUED'] }, (n) => n.total.currencyCode === 'SAR' && n.kind === 'INVOICE' && n.status === 'ISSUED'],
  ])('filters by %s, and totalCount counts the same', async (_name, filter, keep) => {
    const want = sorted(all.filter(keep), { field: 'ISSUE_DATE', direction: 'DESC' });
    const res = await run(InvoicePageWithCountDocument, { filter, first: 100 });
    expect(res.errors).toBeUndefined();
    expect(res.data!.invoices.nodes.map((n) => n.id)).toEqual(ids(want));
    expect(res.data!.invoices.totalCount).toBe(want.length);
    if (want.length === 0) expect(res.data!.invoices.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
  });

  it('the filters do filter: the seeded data holds both sides of each', () => {
    expect(all.filter(isOverdue).length).toBeGreaterThan(0);
    expect(all.filter((n) => !isOverdue(n) && !n.dueDate).length).toBeGreaterThan(0);
  });

  it.each<InvoiceOrder>(
    (['ISSUE_DATE', 'DUE_DATE', 'CREATED_AT', 'TOTAL'] as const).flatMap((field) => (['ASC', 'DESC'] as const).map((direction) => ({ field, direction }))),
  )('orders by %o: first/after and last/before walks give the whole list once', async (orderBy) => {
    const want = ids(sorted(all, orderBy));
    expect(await walk({ orderBy }, 3)).toEqual(want);
    expect(await walk({ orderBy }, 4, true)).toEqual(want);
    expect(await walk({ orderBy, filter: { currencyCode: ['SAR'] } }, 2)).toEqual(ids(sorted(all.filter((n) => n.total.currencyCode === 'SAR'), orderBy)));
  });

  it('a page costs one ledger query; totalCount one more; neither calls a provider', async () => {
    h.salla.server.resetCalls();
    let before = h.db.stats.queries;
    const p = await page({ first: 2, filter: { provider: ['SALLA', 'ZUORA'] } });
    expect(h.db.stats.queries - before).toBe(1);
    expect(p.pageInfo.hasNextPage).toBe(true);
    before = h.db.stats.queries;
    const counted = await run(InvoicePageWithCountDocument, { first: 2, after: p.pageInfo.endCursor, filter: { provider: ['SALLA', 'ZUORA'] } });
    expect(counted.data!.invoices.totalCount).toBe(all.filter((n) => ['SALLA', 'ZUORA'].includes(n.provider)).length);
    expect(h.db.stats.queries - before).toBe(2);
    expect(h.salla.server.calls).toHaveLength(0);
  });

  it('primes the request\'s invoice(id) loader: the page\'s invoices are then read without a ledger query', async () => {
    const contextValue = h.app.contextFor({ tenantId: DEFAULT_TENANT, scopes: null });
    const p = await run(InvoicePageDocument, { first: 3 }, DEFAULT_TENANT, contextValue);
    const before = h.db.stats.queries;
    const again = await run(InvoiceHeaderByIdDocument, { id: p.data!.invoices.edges[1]!.node.id }, DEFAULT_TENANT, contextValue);
    expect(again.data!.invoice!.id).toBe(p.data!.invoices.edges[1]!.node.id);
    expect(h.db.stats.queries - before).toBe(0);
  });

  describe('refusals: BAD_USER_INPUT with HTTP 400, naming the argument, before any ledger query', () => {
    let cursorOfIssueDesc: string;
    beforeAll(async () => {
      cursorOfIssueDesc = (await page({ first: 1 })).pageInfo.endCursor!;
    });

    const refused = async (variables: InvoicePageQueryVariables, argument: string | null, message: RegExp) => {
      const before = h.db.stats.queries;
      const res = await run(InvoicePageDocument, variables);
      expect(res.status).toBe(400);
      expect(res.data ?? null).toBeNull();
      expect(res.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(message), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
      if (argument) expect(res.errors![0]!.extensions!.argument).toBe(argument);
      expect(h.db.stats.queries - before).toBe(0);
      // A client's value is never echoed at length.
      expect(res.errors![0]!.message.length).toBeLessThan(1_100);
    };

    it.each<[string, () => InvoicePageQueryVariables, string, RegExp]>([
      ['a cursor that does not decode', () => ({ after: 'not-a-cursor' }), 'after', /after is not a cursor of this listing \(malformed\)/],
      ['a cursor of base64 junk', () => ({ after: Buffer.from('{"f":1}').toString('base64url') }), 'after', /after is not a cursor of this listing/],
      ['a forged cursor with SQL in it', () => ({ after: Buffer.from(JSON.stringify({ f: 'ISSUE_DATE', d: 'DESC', v: "2026-01-01'; DROP TABLE invoices; --", s: '1' })).toString('base64url') }), 'after', /malformed/],
      ['a cursor of another ordering', () => ({ after: cursorOfIssueDesc, orderBy: { field: 'TOTAL', direction: 'DESC' } }), 'after', /made for another ordering/],
      ['a cursor of the other direction', () => ({ before: cursorOfIssueDesc, last: 2, orderBy: { field: 'ISSUE_DATE', direction: 'ASC' } }), 'before', /made for another ordering/],
      ['first over 100', () => ({ first: 101 }), 'first', /first must be between 0 and 100/],
      ['a negative last', () => ({ last: -1 }), 'last', /last must be between 0 and 100/],
      ['first with last', () => ({ first: 1, last: 1 }), 'last', /cannot be given with first/],
      ['after with last', () => ({ last: 1, after: cursorOfIssueDesc }), 'after', /goes with first/],
      ['before with first', () => ({ first: 1, before: cursorOfIssueDesc }), 'before', /goes with last/],
      ['a 100,000-character orderId', () => ({ filter: { orderId: ['x'.repeat(100_000)] } }), 'filter.orderId[0]', /longer than 255/],
      ['a control character in orderId', () => ({ filter: { orderId: ['a\u0001b'] } }), 'filter.orderId[0]', /control character/],
      ['a lowercase currency code', () => ({ filter: { currencyCode: ['sar'] } }), 'filter.currencyCode[0]', /three letters/],
      ['101 order ids', () => ({ filter: { orderId: Array.from({ length: 101 }, (_, i) => `o${i}`) } }), 'filter.orderId', /at most 100/],
    ])('%s', async (_name, variables, argument, message) => {
      await refused(variables(), argument, message);
    });

    it.each([
      ['NUL', 'a\u0000b', /U\+0000/],
      ['a lone surrogate', '\uD800', /unpaired UTF-16 surrogate/],
    ])('text holding %s is refused before it reaches the resolver', async (_name, text, message) => {
      await refused({ filter: { orderId: [text] } }, null, message);
      await refused({ after: text }, null, message);
    });

    it('a Date that is not a day is refused by the scalar', async () => {
      const res = await run(InvoicePageDocument, { filter: { issuedFrom: '2026-02-30' } });
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('tenant scoping', () => {
    it("a tenant lists only its own invoices and counts only them", async () => {
      const mine = await run(InvoicePageWithCountDocument, { first: 100 });
      expect(mine.data!.invoices.totalCount).toBe(all.length);
      const theirs = await run(InvoicePageWithCountDocument, { first: 100 }, OTHER_TENANT);
      expect(theirs.data!.invoices.totalCount).toBe(2);
      const theirIds = theirs.data!.invoices.nodes.map((n) => n.id);
      expect(theirIds.filter((id) => ids(all).includes(id))).toEqual([]);
      // Filtering by an order both tenants have shows each only its own.
      const shared = await run(InvoicePageWithCountDocument, { filter: { orderId: [SALLA_ORDERS[0]!] } }, OTHER_TENANT);
      expect(shared.data!.invoices.totalCount).toBe(1);
      expect(theirIds).toContain(shared.data!.invoices.nodes[0]!.id);
    });

    it("a cursor from one tenant used by another only positions the other's own list", async () => {
      const orderBy: InvoiceOrder = { field: 'TOTAL', direction: 'ASC' };
      const mine = await page({ orderBy, first: 1 });
      const theirs = await page({ orderBy, first: 100, after: mine.pageInfo.endCursor }, OTHER_TENANT);
      expect(theirs.edges.map((e) => e.node.id).filter((id) => ids(all).includes(id))).toEqual([]);
      // The first of mine is the smallest total (-20): both of theirs come after it.
      expect(theirs.edges.map((e) => e.node.total.amount)).toEqual(['5.00', '6.00']);
    });
  });
});
