import { decodeCursor, encodeCursor, InvalidListArgument, invoiceListRequest, type InvoiceOrder } from './invoice-query';

describe('invoiceListRequest and cursors (pure)', () => {
  const order: InvoiceOrder = { field: 'ISSUE_DATE', direction: 'DESC' };
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof InvalidListArgument) return err.argument;
      throw err;
    }
    throw new Error('not refused');
  };

  it('defaults to a forward page of 20 from the start', () => {
    expect(invoiceListRequest({}, order, {}).page).toEqual({ backward: false, size: 20, from: null });
    expect(invoiceListRequest({}, order, { before: encodeCursor(order, { value: null, seq: '3' }) }).page).toEqual({ backward: true, size: 20, from: { value: null, seq: '3' } });
  });

  it('refuses mixed directions, sizes out of range and cursors of another ordering, naming the argument', () => {
    const c = encodeCursor(order, { value: '2026-01-05', seq: '12' });
    expect(refusal(() => invoiceListRequest({}, order, { first: 1, last: 1 }))).toBe('last');
    expect(refusal(() => invoiceListRequest({}, order, { first: 101 }))).toBe('first');
    expect(refusal(() => invoiceListRequest({}, order, { first: -1 }))).toBe('first');
    expect(refusal(() => invoiceListRequest({}, order, { last: 101 }))).toBe('last');
    expect(refusal(() => invoiceListRequest({}, order, { last: 2, after: c }))).toBe('after');
    expect(refusal(() => invoiceListRequest({}, order, { first: 2, before: c }))).toBe('before');
    expect(refusal(() => invoiceListRequest({}, { field: 'ISSUE_DATE', direction: 'ASC' }, { after: c }))).toBe('after');
    expect(refusal(() => invoiceListRequest({}, { field: 'TOTAL', direction: 'DESC' }, { after: c }))).toBe('after');
    for (const bad of ['', 'not a cursor!', 'e30', Buffer.from('{"f":"ISSUE_DATE","d":"DESC","v":"2026-02-30","s":"1"}').toString('base64url'), Buffer.from('{"f":"ISSUE_DATE","d":"DESC","v":null,"s":"1; DROP"}').toString('base64url'), 'x'.repeat(600)]) {
      expect(refusal(() => invoiceListRequest({}, order, { after: bad }))).toBe('after');
    }
    expect(decodeCursor(c, order, 'after')).toEqual({ value: '2026-01-05', seq: '12' });
  });

  it('refuses filter text that cannot be stored or is too long, and long lists', () => {
    expect(refusal(() => invoiceListRequest({ orderId: ['a\u0000'] }, order, {}))).toBe('filter.orderId[0]');
    expect(refusal(() => invoiceListRequest({ orderId: ['ok', '\uD800'] }, order, {}))).toBe('filter.orderId[1]');
    expect(refusal(() => invoiceListRequest({ orderId: ['a\u0007b'] }, order, {}))).toBe('filter.orderId[0]');
    expect(refusal(() => invoiceListRequest({ orderId: ['x'.repeat(256)] }, order, {}))).toBe('filter.orderId[0]');
    expect(refusal(() => invoiceListRequest({ orderId: Array.from({ length: 101 }, (_, i) => `o${i}`) }, order, {}))).toBe('filter.orderId');
    expect(refusal(() => invoiceListRequest({ currencyCode: ['sar'] }, order, {}))).toBe('filter.currencyCode[0]');
    expect(refusal(() => invoiceListRequest({ currencyCode: ['SARS'] }, order, {}))).toBe('filter.currencyCode[0]');
    expect(refusal(() => invoiceListRequest({ issuedFrom: '2026-13-01' }, order, {}))).toBe('filter.issuedFrom');
    expect(invoiceListRequest({ orderId: ['x'.repeat(255)], issuedFrom: '2026-05-01', issuedTo: '2026-01-01' }, order, {}).filter.issuedTo).toBe('2026-01-01');
  });
});
