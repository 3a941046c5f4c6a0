import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decimal } from '../../domain/money';
import { statusOf, toDetails } from './commerce.mapper';
import { commerceInvoiceEnvelope, type CommerceInvoice } from './commerce.wire';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'commerce');
const sample = (): CommerceInvoice =>
  commerceInvoiceEnvelope.parse(JSON.parse(readFileSync(join(FIXTURES, 'response.201.created.json'), 'utf8')).body).data;

describe("the Commerce API's invoice, normalised", () => {
  it("reads the seed's sample: the configured currency, an exact total, the issue date from createdAt", () => {
    const d = toDetails(sample(), 'USD');
    expect(d.header).toEqual({
      provider: 'COMMERCE',
      providerInvoiceId: '693738682fa9114d9af87d29',
      orderId: '6932f96b8cd64c28a4fb5873',
      number: null,
      kind: 'INVOICE',
      status: 'ISSUED',
      issueDate: '2025-12-08',
      dueDate: null,
      currencyCode: 'USD',
      subtotal: null,
      taxTotal: null,
      total: { amount: expect.anything(), currencyCode: 'USD' },
      documentUrl: null,
    });
    expect(d.header.total.amount.toFixed()).toBe('3684.78');
  });

  it('keeps each line to what the API says, its quantity; nothing is invented', () => {
    const d = toDetails(sample(), 'EUR');
    expect(d.lines.map((l) => l.quantity.toFixed())).toEqual(['30', '20', '10', '5', '2']);
    for (const line of d.lines) {
      expect(line).toEqual({ description: null, sku: null, quantity: expect.anything(), unitPrice: null, subtotal: null, taxTotal: null, total: null, taxes: [] });
    }
    expect(d.taxes).toEqual([]);
    expect(d.kpis).toEqual({ outstanding: null, paid: null, overdue: null, lastPaymentDate: null, creditApplied: null });
    expect(d.header.currencyCode).toBe('EUR');
  });

  it('reads a total through its decimal text, never through float arithmetic', () => {
    expect(toDetails({ ...sample(), total: 0.3 }, 'USD').header.total.amount.toFixed()).toBe('0.3');
    expect(toDetails({ ...sample(), total: '1334.00' }, 'USD').header.total.amount.toFixed(2)).toBe('1334.00');
    expect(() => toDetails({ ...sample(), total: 'twelve' }, 'USD')).toThrow(/amount/);
  });

  it('accepts what a raw Mongoose read may send: `_id`, a populated order, upper-case hex', () => {
    const { id: _omit, ...withoutId } = sample();
    const raw = commerceInvoiceEnvelope.parse({
      success: true,
      data: { ...withoutId, _id: '693738682fa9114d9af87d29', order: { _id: '6932F96B8CD64C28A4FB5873', status: 'open' } },
    }).data;
    expect(toDetails(raw, 'USD').header).toMatchObject({ providerInvoiceId: '693738682fa9114d9af87d29', orderId: '6932f96b8cd64c28a4fb5873' });
  });

  it('refuses an invoice with no id rather than inventing one', () => {
    const { id: _omit, ...withoutId } = sample();
    expect(commerceInvoiceEnvelope.safeParse({ success: true, data: withoutId }).success).toBe(false);
  });

  it('leaves the issue date null when createdAt is missing or not a date', () => {
    expect(toDetails({ ...sample(), createdAt: undefined }, 'USD').header.issueDate).toBeNull();
    expect(toDetails({ ...sample(), createdAt: 'yesterday' }, 'USD').header.issueDate).toBeNull();
  });
});

describe('statusOf and the KPIs: what the sandbox adds to an invoice (an assumption: no public docs)', () => {
  const d = (v: string) => new Decimal(v);
  it.each<[string | null, string, string | null, string]>([
    [null, '100', null, 'ISSUED'],
    ['issued', '100', '0', 'ISSUED'],
    ['partially_paid', '100', '40', 'PARTIALLY_PAID'],
    ['paid', '100', '100', 'PAID'],
    ['void', '100', '0', 'VOID'],
    ['cancelled', '100', null, 'VOID'],
    [null, '0', '0', 'ISSUED'],
  ])('status %s, total %s, settled %s → %s', (status, total, settled, expected) => {
    expect(statusOf(status, d(total), settled === null ? null : d(settled))).toBe(expected);
  });

  it("the seed's invoice reports no payment: ISSUED, no KPIs", () => {
    expect(toDetails(sample(), 'USD').kpis).toEqual({ outstanding: null, paid: null, overdue: null, lastPaymentDate: null, creditApplied: null });
  });

  it('an invoice with paid, credited, balance and lastPaymentDate: exact KPIs, overdue unknown (no due date)', () => {
    const inv = { ...sample(), total: 100, status: 'partially_paid', paid: 60.1, credited: '9.90', balance: 30, lastPaymentDate: '2026-12-02' };
    const { header, kpis } = toDetails(inv, 'USD');
    expect([header.status, kpis.paid!.amount.toFixed(2), kpis.creditApplied!.amount.toFixed(2), kpis.outstanding!.amount.toFixed(2), kpis.lastPaymentDate, kpis.overdue]).toEqual([
      'PARTIALLY_PAID',
      '60.10',
      '9.90',
      '30.00',
      '2026-12-02',
      null,
    ]);
  });
});
